//! The REST API and the pages over real HTTP on loopback, on SQLite and PostgreSQL alike.

use engine::domain::AccountRole;
use engine::testing::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::Application;

use crate::common::on_both;

struct TestApp {
    base: String,
    http: reqwest::Client,
    token: String,
    db: TestDb,
    state: server::AppState,
    _server: tokio::task::JoinHandle<()>,
}

const ADMIN: (&str, &str) = ("admin@example.com", "admin-password");

async fn spawn(backend: &str) -> TestApp {
    let db = TestDb::new(backend).await.expect("database");
    let crate::common::Running {
        base,
        state,
        server,
    } = crate::common::start(crate::common::config_for(db.dir.path(), &db.url)).await;
    let http = crate::common::http();
    let r = http
        .post(format!("{base}/api/@login"))
        .json(&json!({"username": ADMIN.0, "password": ADMIN.1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    TestApp {
        base,
        http,
        token,
        db,
        state,
        _server: server,
    }
}

impl TestApp {
    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
    /// A page as the browser gets it, signed in with the admin's session cookie.
    async fn page_html(&self, path: &str) -> String {
        self.http
            .get(self.url(path))
            .header("cookie", format!("tributary_session={}", self.token))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
    async fn count(&self) -> i64 {
        self.get("/api/datasources").await.1["total"]
            .as_i64()
            .unwrap()
    }
    fn folder(&self, name: &str) -> String {
        let p = self.db.folder_root().join(name);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::canonicalize(p).unwrap().display().to_string()
    }
    async fn finish(self) {
        self._server.abort();
        self.db.cleanup().await.unwrap();
    }
}

on_both!(
    spawn =>
    users_api,
    throttled_login,
    auth_is_required,
    datasource_lifecycle,
    bad_input_is_refused_and_changes_nothing,
    seed_paging_loop,
    strangers_get_404,
    openapi_matches_routes,
    pages_and_server_functions,
    live_events,
    withdrawals_reach_who_lost_sight,
    search_api,
    listing_and_bulk_api,
    flashes_ride_the_redirect,
    every_connector_reaches_form_api_and_openapi
);

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

async fn auth_is_required(app: &TestApp) {
    let r = app
        .http
        .get(app.url("/api/datasources"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    let r = app
        .http
        .get(app.url("/api/datasources"))
        .bearer_auth("forged")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .http
        .post(app.url("/api/@login"))
        .json(&json!({"username": ADMIN.0, "password": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .http
        .post(app.url("/api/@login"))
        .json(&json!({"username": ADMIN.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        app.http
            .get(app.url("/health"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
}

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

async fn pages_and_server_functions(app: &TestApp) {
    let r = app.http.get(app.url("/datasources")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?next=/datasources");
    let cookie = format!("tributary_session={}", app.token);
    let page = app
        .http
        .get(app.url("/datasources"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("data-testid=\"empty-state\""),
        "a fresh database shows the empty state"
    );
    assert!(html.contains(ADMIN.0), "the header names who is signed in");

    app.post(
        "/api/datasources",
        json!({"@type": "S3Datasource", "title": "Listed on the page", "bucket": "abc"}),
    )
    .await;
    let html = app.page_html("/datasources").await;
    assert!(html.contains("Listed on the page"));
    assert!(!html.contains("empty-state"));

    // The server function behind the page, as the browser calls it (browsers say where a
    // request comes from; a request from another site, or none at all, is refused).
    for (header, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "http://evil.example"),
        ("x-none", "no origin headers"),
    ] {
        let r = app
            .http
            .post(app.url("/rpc/create_datasource"))
            .header("cookie", &cookie)
            .header(header, value)
            .form(&[
                ("kind", "S3Datasource"),
                ("title", "forged"),
                ("bucket", "abc"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{header}: {value}");
        assert!(r.text().await.unwrap().contains("cross-site"));
    }
    assert_eq!(app.count().await, 1, "forged requests created nothing");
    let r = app
        .http
        .post(app.url("/rpc/list_datasources"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .form(&[("page_size", "5")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["title"], "Listed on the page");
    let r = app
        .http
        .post(app.url("/rpc/list_datasources"))
        .form(&[("page_size", "5")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], 401);
}

#[tokio::test]
async fn bad_database_url_is_a_one_line_error() {
    let dir = engine::testing::tempfile_dir::Dir::new().unwrap();
    for url in ["mysql://x", "postgres://nobody@127.0.0.1:1/x"] {
        let Err(e) = Application::build(crate::common::config_for(dir.path(), url)).await else {
            panic!("{url} accepted")
        };
        assert!(!e.contains('\n') && !e.is_empty(), "{e}");
        assert!(
            !e.contains("internal error"),
            "the cause, not a category: {e}"
        );
        if url.contains(":1/") {
            assert!(
                e.contains("refused"),
                "the real cause, not a pool timeout: {e}"
            );
        }
    }
}

#[tokio::test]
async fn an_unreachable_rabbitmq_is_a_one_line_error() {
    let db = TestDb::new("sqlite").await.unwrap();
    let mut config = crate::common::config_for(db.dir.path(), &db.url);
    config.amqp_url = Some("amqp://guest:guest@127.0.0.1:1/%2f".into());
    let Err(e) = Application::build(config).await else {
        panic!("an unreachable broker accepted")
    };
    assert!(
        !e.contains('\n') && e.starts_with("TRIBUTARY_AMQP_URL: "),
        "{e}"
    );
    assert!(
        !e.contains("guest:guest"),
        "no password in the message: {e}"
    );
    db.cleanup().await.unwrap();
}

async fn users_api(app: &TestApp) {
    let (s, created) = app
        .post(
            "/api/users",
            json!({"email": "carol@example.com", "password": "carol-password", "role": "member"}),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["role"], "member");
    assert!(created.get("password").is_none() && !created.to_string().contains("carol-password"));
    let (s, dup) = app
        .post(
            "/api/users",
            json!({"email": "carol@example.com", "password": "carol-password"}),
        )
        .await;
    assert_eq!(
        (s.as_u16(), dup["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    let (s, list) = app.get("/api/users").await;
    assert_eq!((s.as_u16(), list["total"].as_i64()), (200, Some(2)));

    let r = app
        .http
        .post(app.url("/api/@login"))
        .json(&json!({"username": "carol@example.com", "password": "carol-password"}))
        .send()
        .await
        .unwrap();
    let carol = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .http
        .get(app.url("/api/users"))
        .bearer_auth(&carol)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .http
        .post(app.url("/api/users"))
        .bearer_auth(&carol)
        .body(r#"{"email":"d@x.io","password":"password123"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    let url = created["@id"].as_str().unwrap();
    let (s, off) = app
        .send(reqwest::Method::PATCH, url, Some(json!({"active": false})))
        .await;
    assert_eq!((s.as_u16(), off["active"].as_bool()), (200, Some(false)));
    let r = app
        .http
        .get(app.url("/api/datasources"))
        .bearer_auth(&carol)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a deactivated user's token stops working");
}

async fn throttled_login(app: &TestApp) {
    app.post(
        "/api/users",
        json!({"email": "dan@example.com", "password": "dan-password"}),
    )
    .await;
    let login = |pw: &'static str| {
        app.http
            .post(app.url("/api/@login"))
            .body(json!({"username": "dan@example.com", "password": pw}).to_string())
            .send()
    };
    for _ in 0..engine::service::throttle::FREE_ATTEMPTS {
        assert_eq!(login("wrong").await.unwrap().status(), 401);
    }
    let r = login("dan-password").await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "too_many_attempts"
    );
}

/// A server-sent event stream read over real HTTP.
struct EventStream {
    resp: reqwest::Response,
    buf: String,
}

impl EventStream {
    async fn open(app: &TestApp, token: &str) -> Self {
        Self::open_at(&app.http, &app.base, token).await
    }

    async fn open_at(http: &reqwest::Client, base: &str, token: &str) -> Self {
        let resp = http
            .get(format!("{base}/api/@events"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let mut s = Self {
            resp,
            buf: String::new(),
        };
        assert_eq!(s.next().await.0, "ready");
        s
    }

    /// The next event as (name, data); panics after 10 s of silence.
    async fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if data.is_empty() {
                    continue; // keep-alive comment
                }
                return (name, serde_json::from_str(&data).unwrap());
            }
            let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), self.resp.chunk())
                .await
                .expect("an event within 10 s")
                .unwrap()
                .expect("the stream stays open");
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Events up to and including the first about `marker`.
    async fn until(&mut self, marker: &str) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        loop {
            let e = self.next().await;
            let done = e.1["datasource_id"] == marker;
            out.push(e);
            if done {
                return out;
            }
        }
    }
}

async fn login_as(app: &TestApp, email: &str) -> String {
    let (s, _) = app
        .post(
            "/api/users",
            json!({"email": email, "password": "long-enough-password", "role": "member"}),
        )
        .await;
    assert_eq!(s, 201);
    let r = app
        .http
        .post(app.url("/api/@login"))
        .json(&json!({"username": email, "password": "long-enough-password"}))
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A datasource of `who`'s own; its first event marks "everything before has been sent".
async fn marker(app: &TestApp, token: &str, name: &str) -> String {
    let r = app
        .http
        .post(app.url("/api/datasources"))
        .bearer_auth(token)
        .json(&json!({"@type": "S3Datasource", "title": name, "bucket": "marker-bucket"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn live_events(app: &TestApp) {
    let bob = login_as(app, "bob@example.com").await;
    let eve = login_as(app, "eve@example.com").await;
    let mut admin_s = EventStream::open(app, &app.token).await;
    let mut bob_s = EventStream::open(app, &bob).await;
    let mut eve_s = EventStream::open(app, &eve).await;

    let path = app.folder("live");
    for i in 0..3 {
        std::fs::write(format!("{path}/f{i}.txt"), format!("file {i}")).unwrap();
    }
    let (s, ds) = app
        .post(
            "/api/datasources",
            json!({"@type": "FolderDatasource", "title": "Live", "path": path}),
        )
        .await;
    assert_eq!(s, 201);
    let id = ds["id"].as_str().unwrap().to_owned();
    app.state.manager.run_due_now().await.unwrap();
    let (s, _) = app
        .post(
            &format!("/api/datasources/{id}/@invite"),
            json!({"email": "bob@example.com"}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = app
        .get(&format!("/api/datasources/{id}/@sendToSpyder?force=true"))
        .await;
    assert_eq!(s, 202);
    app.state.manager.run_due_now().await.unwrap();
    let bob_mark = marker(app, &bob, "bob-mark").await;
    let eve_mark = marker(app, &eve, "eve-mark").await;

    // The owner follows both runs: queued, collecting, a committed batch, done; the
    // invitation in between.
    let mut seen = Vec::new();
    while seen.len() < 9 {
        seen.push(admin_s.next().await);
    }
    let brief: Vec<String> = seen
        .iter()
        .map(|(n, d)| match n.as_str() {
            "status" => format!("status:{}", d["sync_status"].as_str().unwrap()),
            "progress" => format!("progress:{}+{}", d["seen"], d["added"]),
            other => other.to_owned(),
        })
        .collect();
    assert_eq!(
        brief,
        [
            "status:pending",
            "status:syncing",
            "progress:3+3",
            "status:synced",
            "updated",
            "status:pending",
            "status:syncing",
            "progress:3+0",
            "status:synced"
        ],
        "{seen:?}"
    );
    assert!(seen.iter().all(|(_, d)| d["datasource_id"] == id.as_str()));
    assert!(
        seen[3].1["status_reason"]
            .as_str()
            .unwrap()
            .contains("3 added")
    );

    // Bob, only invited, hears that it changed (the invitation) and nothing of its syncing.
    let heard = bob_s.until(&bob_mark).await;
    let about: Vec<&str> = heard
        .iter()
        .filter(|(_, d)| d["datasource_id"] == id.as_str())
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(about, ["updated"], "{heard:?}");
    // Eve, a stranger, hears nothing of it at all.
    let heard = eve_s.until(&eve_mark).await;
    assert!(
        heard.iter().all(|(_, d)| d["datasource_id"] != id.as_str()),
        "{heard:?}"
    );

    // Processing its resources is news to the owner (one batch, one event), not to the
    // invitee or the stranger.
    assert_eq!(app.state.pipeline.drain().await.unwrap(), 3);
    let about = |heard: &[(String, Value)]| -> Vec<String> {
        heard
            .iter()
            .filter(|(_, d)| d["datasource_id"] == id.as_str())
            .map(|(n, _)| n.clone())
            .collect()
    };
    let admin_mark = marker(app, &app.token, "admin-processed").await;
    assert_eq!(about(&admin_s.until(&admin_mark).await), ["processed"]);
    let bob_mark = marker(app, &bob, "bob-processed").await;
    assert!(about(&bob_s.until(&bob_mark).await).is_empty());
    let eve_mark = marker(app, &eve, "eve-processed").await;
    assert!(about(&eve_s.until(&eve_mark).await).is_empty());

    // Deleting it reaches the invitee too, but not the stranger.
    let (s, _) = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/datasources/{id}"),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let gone = bob_s.next().await;
    assert_eq!(
        (gone.0.as_str(), &gone.1["datasource_id"]),
        ("deleted", &json!(id))
    );
    let eve_mark2 = marker(app, &eve, "eve-mark-2").await;
    let heard = eve_s.until(&eve_mark2).await;
    assert_eq!(heard.len(), 1, "only her own marker: {heard:?}");

    // Without credentials there is no stream.
    let r = app.http.get(app.url("/api/@events")).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

/// Someone who loses sight of a datasource (an invitation revoked or declined, a member
/// removed) hears it on their stream, though they may no longer see it: their invitations and
/// lists follow. A stranger still hears nothing.
async fn withdrawals_reach_who_lost_sight(app: &TestApp) {
    let bob = login_as(app, "bob@example.com").await;
    let eve = login_as(app, "eve@example.com").await;
    let mut bob_s = EventStream::open(app, &bob).await;
    let mut eve_s = EventStream::open(app, &eve).await;
    let mut ids = Vec::new();
    for title in ["Revoked", "Removed"] {
        let (s, ds) = app
            .post(
                "/api/datasources",
                json!({"@type": "S3Datasource", "title": title, "bucket": "abc", "type_sync": "arch", "endpoint": "http://127.0.0.1:9"}),
            )
            .await;
        assert_eq!(s, 201, "{ds}");
        ids.push(ds["id"].as_str().unwrap().to_owned());
    }
    let invite = |id: String| async move {
        let (s, inv) = app
            .post(
                &format!("/api/datasources/{id}/@invite"),
                json!({"email": "bob@example.com"}),
            )
            .await;
        assert_eq!(s, 201, "{inv}");
        inv["id"].as_str().unwrap().to_owned()
    };
    // What Bob hears about `id` until his marker.
    let heard_about = |heard: Vec<(String, Value)>, id: &str| -> Vec<String> {
        heard
            .into_iter()
            .filter(|(_, d)| d["datasource_id"] == id)
            .map(|(n, _)| n)
            .collect()
    };

    // Invited, then revoked: he hears both. (Each is heard before the next is made: whether he
    // may hear a change is decided when it reaches his stream, so an invitation revoked before
    // its news reached him is rightly never told.)
    let inv = invite(ids[0].clone()).await;
    let mark = marker(app, &bob, "bob-invited").await;
    assert_eq!(heard_about(bob_s.until(&mark).await, &ids[0]), ["updated"]);
    let (s, _) = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/datasources/{}/@invite/{inv}", ids[0]),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let mark = marker(app, &bob, "bob-revoked").await;
    assert_eq!(heard_about(bob_s.until(&mark).await, &ids[0]), ["updated"]);

    // A member, then removed: he hears that too.
    let inv = invite(ids[1].clone()).await;
    let r = app
        .http
        .post(app.url(&format!("/api/invitations/{inv}/@accept")))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mark = marker(app, &bob, "bob-member").await;
    let _ = bob_s.until(&mark).await;
    let (s, v) = app
        .post(
            &format!("/api/datasources/{}/@sharing", ids[1]),
            json!({"roles": [{"user": "bob@example.com", "role": null}]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let mark = marker(app, &bob, "bob-removed").await;
    assert_eq!(heard_about(bob_s.until(&mark).await, &ids[1]), ["updated"]);

    // And nothing after: later changes to either are no longer his to hear.
    for id in &ids {
        let (s, v) = app
            .send(
                reqwest::Method::PATCH,
                &format!("/api/datasources/{id}"),
                Some(json!({"title": "Renamed later"})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    let mark = marker(app, &bob, "bob-after").await;
    let heard = bob_s.until(&mark).await;
    assert!(
        heard
            .iter()
            .all(|(_, d)| !ids.iter().any(|id| d["datasource_id"] == id.as_str())),
        "{heard:?}"
    );

    // Eve, who never had a role or an invitation, heard nothing of either.
    let mark = marker(app, &eve, "eve-mark").await;
    let heard = eve_s.until(&mark).await;
    assert!(
        heard
            .iter()
            .all(|(_, d)| !ids.iter().any(|id| d["datasource_id"] == id.as_str())),
        "{heard:?}"
    );
}

async fn search_api(app: &TestApp) {
    let path = app.folder("searchable");
    std::fs::write(format!("{path}/plan.txt"), "the quarterly apiword plan").unwrap();
    std::fs::write(
        format!("{path}/report.pdf"),
        engine::testing::sample_pdf("pdfword <b>inside</b>"),
    )
    .unwrap();
    let (s, ds) = app
        .post(
            "/api/datasources",
            json!({"@type": "FolderDatasource", "title": "Searchable", "path": path}),
        )
        .await;
    assert_eq!(s, 201);
    let url = ds["@id"].as_str().unwrap().to_owned();
    app.state.manager.run_due_now().await.unwrap();
    assert_eq!(app.state.pipeline.drain().await.unwrap(), 2);

    // On the datasource and everywhere: the seed's answer shape.
    for at in [
        format!("{url}/@frontsearch"),
        "/api/@frontsearch".to_owned(),
    ] {
        let (s, r) = app.post(&at, json!({"query": "pdfword"})).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["total"], 1);
        let hit = &r["items"][0];
        assert_eq!(hit["name"], "report.pdf");
        assert_eq!(hit["media_type"], "application/pdf");
        assert_eq!(hit["processing_status"], "processed");
        assert!(
            hit["@id"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{url}/resources/"))
        );
        assert!(hit["score"].as_f64().unwrap() > 0.0);
        let snippet = hit["snippet"].as_str().unwrap();
        assert!(snippet.contains("<mark>pdfword</mark>"), "{snippet}");
        assert!(!snippet.contains("<b>"), "text is escaped: {snippet}");
        assert!(r["cursor"].is_null());
    }
    let (s, r) = app
        .post(
            "/api/@frontsearch",
            json!({"advanced": {"and": [{"text_contains": [{"var": "extracted_text"}, "apiword"]}]}}),
        )
        .await;
    assert_eq!(
        (s.as_u16(), r["items"][0]["name"].as_str()),
        (200, Some("plan.txt"))
    );
    let (s, r) = app
        .post("/api/@frontsearch", json!({"query": "\"unclosed"}))
        .await;
    assert_eq!(
        (s.as_u16(), r["error"]["field"].as_str()),
        (422, Some("query")),
        "{r}"
    );

    // @sendToCompute: 202 with how many; a resource of its own; unknown ones are 404s.
    let (s, r) = app.get(&format!("{url}/@sendToCompute")).await;
    assert_eq!((s.as_u16(), r["queued"].as_i64()), (202, Some(2)));
    let rid = app
        .post(&format!("{url}/@frontsearch"), json!({"query": "apiword"}))
        .await
        .1["items"][0]["@id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, r) = app.get(&format!("{rid}/@sendToCompute")).await;
    assert_eq!((s.as_u16(), r["queued"].as_i64()), (202, Some(1)));
    // POST does the same; a body with fields is refused (it takes none).
    let (s, r) = app.post(&format!("{url}/@sendToCompute"), json!({})).await;
    assert_eq!((s.as_u16(), r["queued"].as_i64()), (202, Some(2)), "{r}");
    let (s, r) = app
        .post(&format!("{rid}/@sendToCompute"), Value::Null)
        .await;
    assert_eq!((s.as_u16(), r["queued"].as_i64()), (202, Some(1)), "{r}");
    let (s, r) = app
        .post(&format!("{rid}/@sendToCompute"), json!({"priority": 1}))
        .await;
    assert_eq!(
        (s.as_u16(), r["error"]["field"].as_str()),
        (422, Some("priority"))
    );
    let (s, _) = app
        .get(&format!("{url}/resources/nope/@sendToCompute"))
        .await;
    assert_eq!(s, 404);
    let (s, r) = app.get(&format!("{url}/children-of-nothing")).await;
    assert_eq!(s, 404, "{r}");
    let (_, got) = app.get(&rid).await;
    assert_eq!(got["processing_status"], "pending");
    app.state.pipeline.drain().await.unwrap();
    let (_, got) = app.get(&rid).await;
    assert_eq!(got["processing_status"], "processed");
}

/// `GET /api/datasources` filtered and sorted (following the cursors as a script would), the
/// page rendered with the same filters, and `@bulk` with its per-item outcomes.
async fn listing_and_bulk_api(app: &TestApp) {
    let mut ids = Vec::new();
    for title in ["Charlie", "alpha", "Bravo", "delta"] {
        let (s, v) = app
            .post(
                "/api/datasources",
                json!({"@type": "S3Datasource", "title": title, "bucket": "abc", "type_sync": "arch"}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    app.post(
        "/api/datasources",
        json!({"@type": "FolderDatasource", "title": "folder", "path": app.folder("f")}),
    )
    .await;

    // Title order, two at a time.
    let mut titles = Vec::new();
    let mut url = "/api/datasources?sort=title&kind=S3Datasource&page_size=2".to_owned();
    loop {
        let (s, v) = app.get(&url).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["total"], 4);
        titles.extend(
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["title"].as_str().unwrap().to_owned()),
        );
        match v["cursor"].as_str() {
            Some(c) => {
                url =
                    format!("/api/datasources?sort=title&kind=S3Datasource&page_size=2&scroll={c}")
            }
            None => break,
        }
    }
    assert_eq!(titles, ["alpha", "Bravo", "Charlie", "delta"]);
    let (_, first) = app.get("/api/datasources?sort=title&page_size=2").await;
    let c = first["cursor"].as_str().unwrap();
    let (s, v) = app
        .get(&format!(
            "/api/datasources?sort=newest&page_size=2&scroll={c}"
        ))
        .await;
    assert_eq!(s, 400, "a cursor of another order: {v}");
    let (_, v) = app.get("/api/datasources?q=LT&type_sync=arch").await;
    assert_eq!(v["items"][0]["title"], "delta");
    assert_eq!(v["total"], 1);
    for (query, field) in [
        ("status=sunny", "status"),
        ("kind=FtpDatasource", "kind"),
        ("type_sync=often", "type_sync"),
        ("sort=random", "sort"),
    ] {
        let (s, v) = app.get(&format!("/api/datasources?{query}")).await;
        assert_eq!(s, 422, "{query}: {v}");
        assert_eq!(v["error"]["field"], field, "{query}");
    }

    // Bulk: pause two and a stranger's id; one answer per datasource.
    let (s, v) = app
        .post(
            "/api/datasources/@bulk",
            json!({"action": "pause", "ids": [ids[0], "no-such-id", ids[2]]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(
        (items[0]["ok"].as_bool(), items[0]["sync_status"].as_str()),
        (Some(true), Some("paused"))
    );
    assert_eq!(items[1]["ok"], false);
    assert_eq!(items[1]["error"]["code"], "not_found");
    assert_eq!(items[2]["title"], "Bravo");
    // Pausing again is refused for each, naming the status.
    let (_, v) = app
        .post(
            "/api/datasources/@bulk",
            json!({"action": "pause", "ids": [ids[0]]}),
        )
        .await;
    assert_eq!(v["items"][0]["ok"], false);
    assert!(
        v["items"][0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("paused"),
        "{v}"
    );
    let (_, v) = app.get("/api/datasources?status=paused&sort=title").await;
    let paused: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(paused, ["Bravo", "Charlie"]);
    for (body, field) in [
        (json!({"action": "explode", "ids": [ids[0]]}), "action"),
        (json!({"action": "pause", "ids": []}), "ids"),
        (json!({"action": "pause", "ids": [1]}), "ids[0]"),
        (json!({"action": "pause"}), "ids"),
        (
            json!({"action": "pause", "ids": [ids[0]], "extra": 1}),
            "extra",
        ),
    ] {
        let (s, v) = app.post("/api/datasources/@bulk", body.clone()).await;
        assert_eq!(s, 422, "{body}: {v}");
        assert_eq!(v["error"]["field"], field, "{body}");
    }
    let (_, v) = app.get("/api/datasources?status=paused").await;
    assert_eq!(v["total"], 2, "refused bulk actions changed nothing");

    // The page, rendered with the same filters: counts per status, only the matching rows.
    let html = app
        .page_html("/datasources?status=paused&sort=-title")
        .await;
    let charlie = html.find(">Charlie<").expect("Charlie listed");
    let bravo = html.find(">Bravo<").expect("Bravo listed");
    assert!(charlie < bravo, "Z–A order");
    assert!(
        !html.contains(">alpha<") && !html.contains(">delta<"),
        "only paused rows"
    );
    assert!(
        html.contains("data-status-count=\"paused\""),
        "the counts are shown"
    );
    assert!(html.contains("2 datasources match"));
}

/// The flash cookies a response set (name → value) and the ones it cleared.
fn flash_cookies(r: &reqwest::Response) -> (Vec<(String, String)>, Vec<String>) {
    let (mut set, mut cleared) = (Vec::new(), Vec::new());
    for v in r.headers().get_all("set-cookie") {
        let v = v.to_str().unwrap();
        let Some((name, rest)) = v.split_once('=') else {
            continue;
        };
        if !name.starts_with("tributary_flash") {
            continue;
        }
        let value = rest.split(';').next().unwrap_or("");
        if v.contains("Max-Age=0") {
            cleared.push(name.to_owned());
        } else {
            set.push((name.to_owned(), value.to_owned()));
        }
    }
    (set, cleared)
}

/// What a form said, carried over its redirect in cookies (as the page's script and a browser
/// without JavaScript both post forms): a page of bulk results with long titles and refusals
/// comes back whole over several cookies, is read once, and a later flash is not mixed with
/// an earlier one's leftovers; a live refetch leaves it alone.
async fn flashes_ride_the_redirect(app: &TestApp) {
    let session = format!("tributary_session={}", app.token);
    let title = |i: usize| format!("{} {i:02}", "Архив договоров и переписки ".repeat(6));
    let mut ids = Vec::new();
    for i in 0..20 {
        let (s, v) = app
            .post(
                "/api/datasources",
                json!({"@type": "S3Datasource", "title": title(i), "bucket": "abc", "type_sync": "arch", "endpoint": "http://127.0.0.1:9"}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    let list = app.url("/datasources?sort=title");
    let bulk = |action: &'static str, cookie: String| {
        let mut form: Vec<(String, String)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (format!("ids[{i}]"), id.clone()))
            .collect();
        form.push(("action".into(), action.into()));
        app.http
            .post(app.url("/rpc/bulk_form"))
            .header("cookie", cookie)
            .header("accept", "text/html")
            .header("sec-fetch-site", "same-origin")
            .header("referer", &list)
            .form(&form)
            .send()
    };
    let with = |cookies: &[(String, String)]| {
        std::iter::once(session.clone())
            .chain(cookies.iter().map(|(n, v)| format!("{n}={v}")))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let page = |cookie: String, live: bool| {
        let mut req = app.http.get(&list).header("cookie", cookie);
        if live {
            req = req.header("x-tributary-live", "1");
        }
        req.send()
    };

    // Pausing them all, then again: twenty refusals, each with its whole reason.
    let r = bulk("pause", session.clone()).await.unwrap();
    assert_eq!(r.status(), 302);
    let r = page(with(&flash_cookies(&r).0), false).await.unwrap();
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Paused 20 of 20 datasources")
    );
    let r = bulk("pause", session.clone()).await.unwrap();
    assert_eq!(r.status(), 302);
    let (chunks, _) = flash_cookies(&r);
    assert!(
        chunks.len() > 1,
        "more than a cookie's worth: {}",
        chunks.len()
    );
    assert!(chunks.iter().all(|(_, v)| v.len() < 4000));

    // A live refetch neither shows nor clears it.
    let r = page(with(&chunks), true).await.unwrap();
    assert_eq!(flash_cookies(&r), (vec![], vec![]));
    let html = r.text().await.unwrap();
    assert!(!html.contains("data-testid=\"bulk-result\""));

    // The page it returns to shows every row whole, and clears every cookie it read.
    let r = page(with(&chunks), false).await.unwrap();
    let (_, cleared) = flash_cookies(&r);
    assert_eq!(cleared.len(), chunks.len());
    let html = r.text().await.unwrap();
    assert!(html.contains("Paused 0 of 20 datasources"));
    assert_eq!(html.matches("data-testid=\"bulk-result\"").count(), 20);
    assert_eq!(
        html.matches("cannot pause a datasource whose status is &#39;paused&#39;")
            .count()
            + html
                .matches("cannot pause a datasource whose status is 'paused'")
                .count(),
        20,
        "each refusal whole"
    );
    for i in 0..20 {
        assert!(html.contains(&title(i)), "title {i} whole");
    }

    // That long flash left unread, a short one: its answer clears the leftovers, so the page
    // shows the short one.
    let r = bulk("pause", session.clone()).await.unwrap();
    let (long, _) = flash_cookies(&r);
    let r = app
        .http
        .post(app.url("/rpc/resume_datasource"))
        .header("cookie", with(&long))
        .header("accept", "text/html")
        .header("sec-fetch-site", "same-origin")
        .header("referer", &list)
        .form(&[("id", ids[0].as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let (short, cleared) = flash_cookies(&r);
    assert_eq!(short.len(), 1);
    assert_eq!(
        cleared.len(),
        long.len() - 1,
        "the long flash's other cookies"
    );
    let r = page(with(&short), false).await.unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains("Resuming from where it paused"));
    assert!(!html.contains("data-testid=\"bulk-result\""));
}

/// Two servers on one PostgreSQL database, as two processes behind a load balancer: each has
/// its own pool, caches, search index and live events, and a browser on either hears what the
/// other did, with the same rules of who may see what.
#[tokio::test]
async fn live_events_cross_servers() {
    let app = spawn("postgres").await;
    let eve = login_as(&app, "eve@example.com").await;
    let dir = engine::testing::tempfile_dir::Dir::new().unwrap();
    let other = Application::build(crate::common::config_for(dir.path(), &app.db.url))
        .await
        .expect("a second server");
    let other_base = format!("http://127.0.0.1:{}", other.port());
    let other_server = tokio::spawn(async move {
        let _ = other.run_until(std::future::pending()).await;
    });
    // The same sessions work on both: they are in the database.
    let mut admin_s = EventStream::open_at(&app.http, &other_base, &app.token).await;
    let mut eve_s = EventStream::open_at(&app.http, &other_base, &eve).await;

    let path = app.folder("far");
    std::fs::write(format!("{path}/a.txt"), "collected on the first server").unwrap();
    let (s, ds) = app
        .post(
            "/api/datasources",
            json!({"@type": "FolderDatasource", "title": "Far", "path": path}),
        )
        .await;
    assert_eq!(s, 201);
    let id = ds["id"].as_str().unwrap().to_owned();
    app.state.manager.run_due_now().await.unwrap();

    // The second server's admin follows the first server's sync to its end.
    let mut statuses = Vec::new();
    while statuses.last().map(String::as_str) != Some("synced") {
        let (name, data) = admin_s.next().await;
        assert_eq!(data["datasource_id"], id.as_str());
        if name == "status" {
            statuses.push(data["sync_status"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(statuses, ["pending", "syncing", "synced"]);
    // And reads the result there at once: the events dropped what it kept of the datasource.
    let r = app
        .http
        .get(format!("{other_base}/api/datasources/{id}"))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    let seen: Value = r.json().await.unwrap();
    assert_eq!(
        (
            seen["sync_status"].as_str(),
            seen["resource_count"].as_i64()
        ),
        (Some("synced"), Some(1))
    );
    // Eve may not see it, on either server: her first event is her own datasource's.
    let eve_mark = marker(&app, &eve, "eve-far").await;
    let (_, first) = eve_s.next().await;
    assert_eq!(first["datasource_id"], eve_mark.as_str());

    other_server.abort();
    app.finish().await;
}

/// `tributary <args>` on the test's database, as an admin runs it beside the running server;
/// its standard error when it fails.
fn command_line(app: &TestApp, args: &[&str], new_password: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args(args)
        .env("TRIBUTARY_DATA_DIR", app.db.dir.path())
        .env("DATABASE_URL", &app.db.url)
        .env("TRIBUTARY_NEW_PASSWORD", new_password)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the tributary binary");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "tributary {args:?}: {stderr}");
    stderr
}

#[tokio::test]
async fn the_command_line_tells_the_running_server_at_once_on_postgres() {
    let app = spawn("postgres").await;
    let eve = login_as(&app, "eve@example.com").await;
    let id = marker(&app, &app.token, "seeded").await;
    let mut admin_s = EventStream::open(&app, &app.token).await;
    // The server keeps what it just read: eve's token, then the datasource row.
    let token_kept = std::time::Instant::now();
    let me = app
        .http
        .get(app.url("/api/@me"))
        .bearer_auth(&eve)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    // Eve's password is reset by a command, and resources are seeded by another.
    let said = command_line(
        &app,
        &["user", "reset-password", "eve@example.com"],
        "a-brand-new-password",
    );
    assert!(!said.contains("warning"), "{said}");
    let row_kept = std::time::Instant::now();
    let (_, ds) = app.get(&format!("/api/datasources/{id}")).await;
    assert_eq!(ds["resource_count"], 0);
    command_line(&app, &["seed-children", &id, "--count", "5"], "");

    // The open stream hears the seeding (the commands' notifications arrive in the order they
    // were sent, so the reset was heard before it).
    loop {
        let (name, data) = admin_s.next().await;
        if name == "updated" && data["datasource_id"] == id.as_str() {
            break;
        }
    }
    let (_, ds) = app.get(&format!("/api/datasources/{id}")).await;
    assert_eq!(ds["resource_count"], 5, "the kept row was dropped");
    let me = app
        .http
        .get(app.url("/api/@me"))
        .bearer_auth(&eve)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401, "eve's kept token was dropped");
    // Both read back before what the server kept would have expired anyway.
    assert!(row_kept.elapsed() < engine::store::cached::TTL);
    assert!(token_kept.elapsed() < engine::service::AUTH_CACHE_TTL);
    app.finish().await;
}
