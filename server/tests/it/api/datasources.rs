//! Datasources over the REST API: the lifecycle, bad input, paging as the seed's scripts do, strangers, the connector registry and the OpenAPI document.

use super::*;

on_both!(
    spawn =>
    every_connector_reaches_form_api_and_openapi,
    datasource_lifecycle,
    bad_input_is_refused_and_changes_nothing,
    seed_paging_loop,
    strangers_get_404,
    openapi_matches_routes,
);

async fn datasource_lifecycle(app: &TestApp) {
    let path = app.folder("docs");
    for f in ["a.txt", "sub/b.md"] {
        let p = std::path::Path::new(&path).join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, f).unwrap();
    }
    // The seed's way: a JSON string body with no Content-Type.
    let r = app
        .http
        .post(app.url("/api/datasources"))
        .bearer_auth(&app.token)
        .body(json!({"@type": "FolderDatasource", "title": "Docs", "path": path}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let ds: Value = r.json().await.unwrap();
    assert_eq!(ds["@id"], location);
    assert_eq!(ds["@type"], "FolderDatasource");
    assert_eq!(ds["type_sync"], "one");
    assert_eq!(
        ds["sync_status"], "pending",
        "queued for its first sync at creation"
    );
    assert_eq!(ds["path"], path);
    let id = ds["id"].as_str().unwrap();
    assert!(location.ends_with(&format!("/api/datasources/{id}")));

    let (s, got) = app.get(&location).await;
    assert_eq!((s, &got), (StatusCode::OK, &ds));

    // @sendToSpyder while the first run is queued: 202 with that same job, never a second.
    let (s, job) = app.get(&format!("{location}/@sendToSpyder")).await;
    assert_eq!(
        (s.as_u16(), job["new"].as_bool()),
        (202, Some(false)),
        "{job}"
    );
    assert_eq!(app.state.manager.run_due_now().await.unwrap(), 1);
    let (_, synced) = app.get(&location).await;
    assert_eq!(synced["sync_status"], "synced", "{synced}");
    assert_eq!(synced["resource_count"], 2);
    let (_, children) = app.get(&format!("{location}/@getAllChildren")).await;
    assert_eq!(children["total"], 2);
    let (_, history) = app.get(&format!("{location}/@history")).await;
    assert_eq!(history["items"][0]["outcome"], "synced");
    assert_eq!(history["items"][0]["added"], 2);
    // A finished one-time datasource: 409 unless forced; a bad force is a 422.
    let (s, refused) = app.get(&format!("{location}/@sendToSpyder")).await;
    assert_eq!(s, 409, "{refused}");
    let (s, _) = app
        .get(&format!("{location}/@sendToSpyder?force=maybe"))
        .await;
    assert_eq!(s, 422);
    let (s, forced) = app
        .get(&format!("{location}/@sendToSpyder?force=true"))
        .await;
    assert_eq!((s.as_u16(), forced["new"].as_bool()), (202, Some(true)));
    // POST does the same (a script may well post an action), with force in the body or query;
    // a bad body is refused, naming the field, and queues nothing.
    let spyder = format!("{location}/@sendToSpyder");
    for (body, status, field) in [
        (json!({"force": "yes"}), 422, Some("force")),
        (json!({"forse": true}), 422, Some("forse")),
        (json!([true]), 400, None),
    ] {
        let (s, e) = app.post(&spyder, body.clone()).await;
        assert_eq!(s.as_u16(), status, "{body}: {e}");
        assert_eq!(e["error"]["field"].as_str(), field, "{e}");
    }
    let (s, e) = app
        .post(&format!("{spyder}?force=true"), json!({"force": false}))
        .await;
    assert_eq!(
        (s.as_u16(), e["error"]["field"].as_str()),
        (422, Some("force"))
    );
    let (s, same) = app.post(&spyder, json!({"force": true})).await;
    assert_eq!(
        (s.as_u16(), same["new"].as_bool(), &same["id"]),
        (202, Some(false), &forced["id"]),
        "the forced job is still the one queued: {same}"
    );
    // Any other method: a 405 in the API's error shape, with the methods it takes.
    let r = app
        .http
        .put(&spyder)
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let allow = r.headers()["allow"].to_str().unwrap().to_owned();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "method_not_allowed", "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("PUT"),
        "{e}"
    );
    let (s, paused) = app.post(&format!("{location}/@pause"), json!({})).await;
    assert_eq!(
        (s.as_u16(), paused["sync_status"].as_str()),
        (200, Some("paused"))
    );
    assert_eq!(
        app.state.manager.run_due_now().await.unwrap(),
        0,
        "paused: nothing runs"
    );
    let (s, resumed) = app.post(&format!("{location}/@resume"), json!({})).await;
    assert_eq!(
        (s.as_u16(), resumed["sync_status"].as_str()),
        (200, Some("resuming"))
    );
    app.state.manager.run_due_now().await.unwrap();
    assert_eq!(app.get(&location).await.1["sync_status"], "synced");
    // Finished again: a POST without force is refused like the GET, with force it collects.
    assert_eq!(app.post(&spyder, Value::Null).await.0, 409);
    let (s, again) = app.post(&spyder, json!({"force": true})).await;
    assert_eq!(
        (s.as_u16(), again["new"].as_bool()),
        (202, Some(true)),
        "{again}"
    );
    app.state.manager.run_due_now().await.unwrap();
    assert_eq!(app.get(&location).await.1["sync_status"], "synced");

    let (s, edited) = app
        .send(
            reqwest::Method::PATCH,
            &location,
            Some(json!({"title": "Docs 2"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(edited["title"], "Docs 2");
    assert_eq!(app.get(&location).await.1["title"], "Docs 2");

    let (s, list) = app.get("/api/datasources?page_size=1").await;
    assert_eq!(s, 200);
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["@id"], location);

    let (s, _) = app.send(reqwest::Method::DELETE, &location, None).await;
    assert_eq!(s, 204);
    assert_eq!(app.get(&location).await.0, 404);
    assert_eq!(app.count().await, 0);
}

async fn bad_input_is_refused_and_changes_nothing(app: &TestApp) {
    let path = app.folder("bad");
    let (s, keep) = app
        .post(
            "/api/datasources",
            json!({"@type": "S3Datasource", "title": "keep", "bucket": "abc"}),
        )
        .await;
    assert_eq!(s, 201);
    let keep_url = keep["@id"].as_str().unwrap().to_owned();

    let raw_cases: [(&str, u16); 3] = [("{not json", 400), ("[1,2]", 400), ("", 400)];
    for (body, status) in raw_cases {
        let r = app
            .http
            .post(app.url("/api/datasources"))
            .bearer_auth(&app.token)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{body}");
        let v: Value = r.json().await.unwrap();
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{v}"
        );
    }
    let cases = [
        (json!({"title": "x"}), "@type"),
        (json!({"@type": "NopeDatasource", "title": "x"}), "@type"),
        (
            json!({"@type": "FolderDatasource", "title": "x", "path": path, "type_sync": "auto"}),
            "type_sync",
        ),
        (
            json!({"@type": "FolderDatasource", "title": "x", "path": path, "type_sync": "arch"}),
            "type_sync",
        ),
        (
            json!({"@type": "FolderDatasource", "title": "x", "path": "/etc"}),
            "path",
        ),
        (
            json!({"@type": "FolderDatasource", "title": "x", "path": format!("{path}/../../..")}),
            "path",
        ),
        (
            json!({"@type": "FolderDatasource", "title": "", "path": path}),
            "title",
        ),
        (
            json!({"@type": "FolderDatasource", "title": ["x"], "path": path}),
            "title",
        ),
        (json!({"@type": "S3Datasource", "title": "x"}), "bucket"),
        (
            json!({"@type": "S3Datasource", "title": "x", "bucket": "abc", "sync_status": "synced"}),
            "sync_status",
        ),
        (
            json!({"@type": "S3Datasource", "title": "x", "bucket": "abc", "sync_status": null}),
            "sync_status",
        ),
        (
            json!({"@type": "S3Datasource", "title": "x", "bucket": "abc", "unknown": 1}),
            "unknown",
        ),
    ];
    for (body, field) in cases {
        let (s, v) = app.post("/api/datasources", body.clone()).await;
        assert_eq!(s, 422, "{body}: {v}");
        assert_eq!(v["error"]["field"], field, "{body}: {v}");
    }
    for patch in [
        json!({"type_sync": "weekly"}),
        json!({"title": ""}),
        json!({"bucket": "NO"}),
        json!({"@type": "FolderDatasource"}),
    ] {
        let (s, v) = app
            .send(reqwest::Method::PATCH, &keep_url, Some(patch.clone()))
            .await;
        assert_eq!(s, 422, "{patch}: {v}");
    }
    let (s, v) = app
        .get(&format!("{keep_url}/@getAllChildren?page_size=1001"))
        .await;
    assert_eq!(
        (s.as_u16(), v["error"]["field"].as_str()),
        (422, Some("page_size"))
    );
    let (s, v) = app
        .get(&format!("{keep_url}/@getAllChildren?page_size=abc"))
        .await;
    assert_eq!(
        (s.as_u16(), v["error"]["field"].as_str()),
        (422, Some("page_size"))
    );
    let (s, v) = app
        .post(
            &format!("{keep_url}/@getAllChildren"),
            json!({"page_size": "7"}),
        )
        .await;
    assert_eq!(
        (s.as_u16(), v["error"]["field"].as_str()),
        (422, Some("page_size"))
    );
    let (s, _) = app
        .get(&format!("{keep_url}/@getAllChildren?scroll=tampered"))
        .await;
    assert_eq!(s, 400);

    assert_eq!(app.count().await, 1, "nothing was created");
    assert_eq!(app.get(&keep_url).await.1, keep, "nothing was changed");
}

async fn seed_paging_loop(app: &TestApp) {
    let (_, ds) = app
        .post(
            "/api/datasources",
            json!({"@type": "S3Datasource", "title": "big", "bucket": "abc"}),
        )
        .await;
    let (_, other) = app
        .post(
            "/api/datasources",
            json!({"@type": "S3Datasource", "title": "other", "bucket": "abc"}),
        )
        .await;
    let id = ds["id"].as_str().unwrap();
    let resources: Vec<_> = (0..50)
        .map(|i| engine::service::sample_resource(id, i))
        .collect();
    app.state
        .engine
        .add_resources(id, &resources)
        .await
        .unwrap();

    // Exactly as the seed's script pages: POST with a JSON string body, no Content-Type.
    let url = format!("{}/@getAllChildren", ds["@id"].as_str().unwrap());
    let mut body = json!({"page_size": 7});
    let mut seen = Vec::new();
    let mut first_cursor = None;
    loop {
        let r = app
            .http
            .post(&url)
            .bearer_auth(&app.token)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let resp: Value = r.json().await.unwrap();
        assert_eq!(resp["total"], 50);
        for item in resp["items"].as_array().unwrap() {
            let (s, one) = app.get(item["@id"].as_str().unwrap()).await;
            assert_eq!(s, 200, "every child's @id answers");
            assert_eq!(&one, item);
            seen.push(item["source_id"].as_str().unwrap().to_owned());
        }
        match resp["cursor"].as_str() {
            Some(c) => {
                first_cursor.get_or_insert(c.to_owned());
                body = json!({"page_size": 7, "scroll": c});
            }
            None => break,
        }
    }
    let want: Vec<_> = resources.iter().map(|r| r.source_id.clone()).collect();
    assert_eq!(seen, want, "every child exactly once, in order");

    let (s, page) = app.get(&format!("{url}?page_size=20")).await;
    assert_eq!(
        (s.as_u16(), page["items"].as_array().unwrap().len()),
        (200, 20)
    );
    let (s, page) = app
        .get(&format!(
            "{url}?page_size=20&scroll={}",
            page["cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        (s.as_u16(), page["items"][0]["source_id"].as_str()),
        (200, Some(want[20].as_str()))
    );
    let foreign = format!("{}/@getAllChildren", other["@id"].as_str().unwrap());
    let (s, v) = app
        .post(
            &foreign,
            json!({"page_size": 7, "scroll": first_cursor.unwrap()}),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["error"]["code"], "bad_request");
}

async fn strangers_get_404(app: &TestApp) {
    let (_, ds) = app
        .post(
            "/api/datasources",
            json!({"@type": "S3Datasource", "title": "private", "bucket": "abc"}),
        )
        .await;
    app.state
        .engine
        .create_user(
            "eve@example.com",
            "Eve",
            "eve-password",
            AccountRole::Member,
        )
        .await
        .unwrap();
    let r = app
        .http
        .post(app.url("/api/@login"))
        .json(&json!({"username": "eve@example.com", "password": "eve-password"}))
        .send()
        .await
        .unwrap();
    let eve = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = ds["@id"].as_str().unwrap();
    for (method, path) in [
        ("GET", url.to_owned()),
        ("PATCH", url.to_owned()),
        ("DELETE", url.to_owned()),
        ("GET", format!("{url}/@getAllChildren")),
    ] {
        let r = app
            .http
            .request(method.parse().unwrap(), &path)
            .bearer_auth(&eve)
            .body("{\"title\":\"x\"}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{method} {path}");
    }
    let r = app
        .http
        .get(app.url("/api/datasources"))
        .bearer_auth(&eve)
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["total"], 0);
    assert_eq!(app.get(url).await.1["title"], "private");
}

/// The connector registry is the only list of connectors: each registered one is offered by
/// the new-datasource form with all its inputs, taken by the API with its own fields, and
/// described by the OpenAPI document. A connector missing from any of them fails here.
async fn every_connector_reaches_form_api_and_openapi(app: &TestApp) {
    let (_, doc) = app.get("/api/openapi.json").await;
    let input = &doc["components"]["schemas"]["DatasourceInput"];
    let credentials = &doc["components"]["schemas"]["Credentials"]["properties"];
    let kinds = input["properties"]["@type"]["enum"].as_array().unwrap();
    assert_eq!(kinds.len(), engine::connector::REGISTRY.len());
    let list_page = app.page_html("/datasources").await;
    for spec in engine::connector::specs() {
        let kind = spec.kind.as_str();
        // OpenAPI.
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} not in the OpenAPI @type enum"
        );
        for s in spec.settings {
            let p = &input["properties"][s.name];
            assert!(
                p.is_object(),
                "{kind}.{}: not in the OpenAPI document",
                s.name
            );
            assert!(p["description"].as_str().unwrap().contains(kind));
        }
        for c in spec.credentials.fields {
            assert!(
                credentials[c.name].is_object(),
                "{kind}: credential {} undocumented",
                c.name
            );
        }
        // The form: its tab, each setting and credential input, the sync types it allows.
        let html = app
            .page_html(&format!("/datasources/new?kind={kind}"))
            .await;
        assert!(
            html.contains(&format!("data-kind=\"{kind}\"")),
            "{kind}: no tab"
        );
        assert!(
            html.contains(&format!("name=\"kind\" value=\"{kind}\"")),
            "{kind}: not chosen"
        );
        for s in spec.settings {
            assert!(
                html.contains(&format!("name=\"{}\"", s.name)),
                "{kind}: no {} input",
                s.name
            );
            assert!(html.contains(s.label), "{kind}: no label {}", s.label);
        }
        for c in spec.credentials.fields {
            assert!(
                html.contains(&format!("name=\"{}\"", c.input)),
                "{kind}: no {} input",
                c.input
            );
        }
        for t in engine::domain::SyncType::ALL {
            let disabled = html.contains(&format!("data-testid=\"unsupported-{t}\""));
            assert_eq!(
                disabled,
                !spec.sync_types.contains(t),
                "{kind}: sync type {t}"
            );
        }
        // The list's kind filter.
        assert!(
            list_page.contains(&format!("<option value=\"{kind}\"")),
            "{kind}: not a filter"
        );
        // The API knows its fields (and names them when refusing another).
        let (status, body) = app
            .post(
                "/api/datasources",
                json!({"@type": kind, "title": "t", "not_a_field": "x"}),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        for s in spec.settings {
            assert!(message.contains(s.name), "{kind}: {message}");
        }
    }
    assert_eq!(app.count().await, 0, "nothing was created");
}

async fn openapi_matches_routes(app: &TestApp) {
    let (s, doc) = app.get("/api/openapi.json").await;
    assert_eq!(s, 200);
    let (_, ds) = app
        .post(
            "/api/datasources",
            json!({"@type": "S3Datasource", "title": "o", "bucket": "abc"}),
        )
        .await;
    let id = ds["id"].as_str().unwrap();
    let admin_id = app.get("/api/users").await.1["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ops: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .filter(|m| *m != "parameters")
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    ops.sort_by_key(|(m, _)| m == "delete"); // delete last, or later calls would find nothing
    let mut checked = 0;
    {
        for (method, path) in &ops {
            let p = if path.starts_with("/api/users/") {
                path.replace("{id}", &admin_id)
            } else {
                path.replace("{id}", id)
                    .replace("{rid}", "none")
                    .replace("{invitation}", "none")
            };
            let r = app
                .http
                .request(method.to_uppercase().parse().unwrap(), app.url(&p))
                .bearer_auth(&app.token)
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = r.status();
            if path == "/api/@events" {
                // An endless stream: its head is the answer.
                assert_eq!(status, 200);
                assert_eq!(r.headers()["content-type"], "text/event-stream");
                checked += 1;
                continue;
            }
            let body = r.text().await.unwrap();
            // A 404 about the object is fine (ids here are made up); a 404 from the router's
            // fallback means the documented route does not exist.
            assert!(
                status != 405 && !(status == 404 && body.contains("this API route")),
                "{method} {path}: {status} {body}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 9);
    assert_eq!(app.get("/api/no-such-route").await.0, 404);
}
