//! Search and the datasources listing with its bulk actions over the REST API.

use super::*;

on_both!(
    spawn =>
    search_api,
    listing_and_bulk_api,
);

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
