//! The Dropbox spyder against a server on loopback that speaks Dropbox's HTTP API v2 (the
//! routes the spyder uses: `files/list_folder`, `files/list_folder/continue`,
//! `files/download`, `oauth2/token`), on SQLite and PostgreSQL: an expired access token is
//! refreshed with the refresh token and the new one kept in the wallet; a mirror follows adds,
//! changes and deletions; a datasource without credentials waits in `created` until
//! `@refreshServiceCredentials` brings them; a refused refresh is an `error` with the reason.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use engine::domain::{AccountRole, SyncStatus};
use engine::manager::{ManagerConfig, SpyderManager};
use engine::testing::TestDb;
use serde_json::{Value, json};

/// What the Dropbox on loopback holds and which token it takes.
#[derive(Default)]
struct Fake {
    /// path_display → content.
    files: BTreeMap<String, String>,
    /// The one access token accepted; every other is "expired".
    token: String,
    refresh_token: String,
    app_key: String,
    refreshes: usize,
    downloads: usize,
}

type Shared = Arc<Mutex<Fake>>;

fn dropbox_error(status: StatusCode, summary: &str) -> Response {
    let tag = summary.split('/').next().unwrap_or_default();
    (
        status,
        axum::Json(json!({"error_summary": summary, "error": {".tag": tag}})),
    )
        .into_response()
}

fn authorized(f: &Fake, headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", f.token))
}

/// Entries under `root`, folders included, in no particular order, two to a page.
fn listing(f: &Fake, root: &str) -> Vec<Value> {
    let prefix = format!("{}/", root.to_lowercase());
    let mut out = Vec::new();
    let mut folders = std::collections::BTreeSet::new();
    for (path, body) in f.files.iter().rev() {
        let lower = path.to_lowercase();
        if !lower.starts_with(&prefix) {
            continue;
        }
        if let Some((dir, _)) = path.rsplit_once('/')
            && dir.len() > root.len()
        {
            folders.insert(dir.to_owned());
        }
        out.push(
            json!({".tag": "file", "name": path.rsplit('/').next(), "id": format!("id:{lower}"),
            "path_lower": lower, "path_display": path, "size": body.len(),
            "server_modified": "2026-11-20T10:00:00Z", "client_modified": "2026-11-20T09:00:00Z",
            "rev": "015f", "content_hash": "x"}),
        );
    }
    for d in folders {
        out.push(
            json!({".tag": "folder", "name": d.rsplit('/').next(), "path_lower": d.to_lowercase(),
            "path_display": d, "id": format!("id:{d}")}),
        );
    }
    out
}

fn page(all: &[Value], from: usize) -> Value {
    let end = (from + 2).min(all.len());
    json!({"entries": all[from..end], "cursor": end.to_string(), "has_more": end < all.len()})
}

async fn list_folder(State(s): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let f = s.lock().unwrap();
    if !authorized(&f, &headers) {
        return dropbox_error(StatusCode::UNAUTHORIZED, "expired_access_token/");
    }
    let req: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(req["recursive"], true);
    let root = req["path"].as_str().unwrap().to_owned();
    let all = listing(&f, &root);
    if all.is_empty() {
        return dropbox_error(StatusCode::CONFLICT, "path/not_found/..");
    }
    // The cursor says where the next page starts and which root (kept simple: the root is
    // recomputed by the continue route from the files, as Dropbox keeps it in the cursor).
    let mut p = page(&all, 0);
    p["cursor"] = json!(format!("{}|{root}", p["cursor"].as_str().unwrap()));
    axum::Json(p).into_response()
}

async fn list_continue(State(s): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let f = s.lock().unwrap();
    if !authorized(&f, &headers) {
        return dropbox_error(StatusCode::UNAUTHORIZED, "expired_access_token/");
    }
    let req: Value = serde_json::from_str(&body).unwrap();
    let (from, root) = req["cursor"].as_str().unwrap().split_once('|').unwrap();
    let all = listing(&f, root);
    let mut p = page(&all, from.parse().unwrap());
    p["cursor"] = json!(format!("{}|{root}", p["cursor"].as_str().unwrap()));
    axum::Json(p).into_response()
}

async fn download(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let mut f = s.lock().unwrap();
    if !authorized(&f, &headers) {
        return dropbox_error(StatusCode::UNAUTHORIZED, "expired_access_token/");
    }
    // Dropbox's header rule: the argument is JSON in ASCII.
    let arg = headers
        .get("dropbox-api-arg")
        .expect("Dropbox-API-Arg")
        .to_str()
        .expect("an ASCII header");
    let path = serde_json::from_str::<Value>(arg).unwrap()["path"]
        .as_str()
        .unwrap()
        .to_lowercase();
    f.downloads += 1;
    match f.files.iter().find(|(p, _)| p.to_lowercase() == path) {
        Some((_, body)) => body.clone().into_response(),
        None => dropbox_error(StatusCode::CONFLICT, "path/not_found/.."),
    }
}

async fn token(State(s): State<Shared>, body: String) -> Response {
    let mut f = s.lock().unwrap();
    let form: BTreeMap<String, String> = body
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace("%2D", "-").replace("%2d", "-")))
        .collect();
    if form.get("grant_type").map(String::as_str) != Some("refresh_token")
        || form.get("refresh_token") != Some(&f.refresh_token)
        || form.get("client_id") != Some(&f.app_key)
    {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_grant", "error_description": "refresh token is malformed"})),
        )
            .into_response();
    }
    f.refreshes += 1;
    f.token = format!("fresh-{}", f.refreshes);
    axum::Json(json!({"access_token": f.token, "token_type": "bearer", "expires_in": 14400}))
        .into_response()
}

async fn fake_dropbox(fake: Fake) -> (String, Shared) {
    let shared = Arc::new(Mutex::new(fake));
    let app = Router::new()
        .route("/2/files/list_folder", post(list_folder))
        .route("/2/files/list_folder/continue", post(list_continue))
        .route("/2/files/download", post(download))
        .route("/oauth2/token", post(token))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, shared)
}

async fn contents(e: &engine::Engine, m: &SpyderManager, id: &str) -> BTreeMap<String, String> {
    engine::testing::collected(e, m.blobs(), id).await.unwrap()
}

async fn status(e: &engine::Engine, id: &str) -> (SyncStatus, String) {
    let d = e.store().datasource(id).await.unwrap().unwrap();
    (d.sync_status, d.status_reason.unwrap_or_default())
}

async fn dropbox_mirror(backend: &str) {
    let mut files = BTreeMap::new();
    for (path, body) in [
        ("/Docs/Report.txt", "the quarterly report"),
        ("/Docs/notes/Meeting.md", "# meeting notes"),
        (
            "/Docs/notes/Ünïcode é.txt",
            "non-ASCII names travel in the header",
        ),
        ("/Docs/a/b/c/deep.txt", "deep inside"),
        ("/Docs/zeta.txt", "last"),
        ("/Other/outside.txt", "not under the root"),
    ] {
        files.insert(path.to_owned(), body.to_owned());
    }
    let (url, fake) = fake_dropbox(Fake {
        files,
        token: "issued-elsewhere".into(),
        refresh_token: "refresh-1".into(),
        app_key: "app-key".into(),
        ..Fake::default()
    })
    .await;

    let db = TestDb::new(backend).await.unwrap();
    let e = db.engine().await.unwrap();
    let mut cfg = ManagerConfig::new(db.dir.path().join("blobs"));
    cfg.batch = 2;
    let m = SpyderManager::new(e.clone(), cfg);
    let u = e
        .create_user(
            "dropbox@example.com",
            "",
            "password123",
            AccountRole::Member,
        )
        .await
        .unwrap();

    // An access token Dropbox calls expired: the spyder refreshes it and goes on.
    let ds = e
        .create_datasource(
            &u,
            &json!({"@type": "DropboxDatasource", "title": "docs", "root": "/Docs/",
                    "endpoint": url, "app_key": "app-key", "type_sync": "auto",
                    "Authorization": "Bearer stale-token", "X-Auth-Secret": "refresh-1"}),
        )
        .await
        .unwrap();
    assert_eq!(ds.sync_status, SyncStatus::Pending);
    assert_eq!(ds.settings["root"], "/Docs/");
    assert!(
        !serde_json::to_string(&ds.settings)
            .unwrap()
            .contains("refresh-1")
    );
    m.run_due_now().await.unwrap();
    let (s, why) = status(&e, &ds.id).await;
    assert_eq!(s, SyncStatus::Synced, "{why}");
    let expected: BTreeMap<String, String> = [
        ("Report.txt", "the quarterly report"),
        ("a/b/c/deep.txt", "deep inside"),
        ("notes/Meeting.md", "# meeting notes"),
        (
            "notes/Ünïcode é.txt",
            "non-ASCII names travel in the header",
        ),
        ("zeta.txt", "last"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(contents(&e, &m, &ds.id).await, expected);
    assert_eq!(fake.lock().unwrap().refreshes, 1);

    // The refreshed token was kept: the next run needs no refresh. The mirror follows a
    // change, a deletion and an addition.
    {
        let mut f = fake.lock().unwrap();
        f.files
            .insert("/Docs/Report.txt".into(), "the revised report".into());
        f.files.remove("/Docs/zeta.txt");
        f.files.insert("/Docs/new.txt".into(), "new".into());
        f.downloads = 0;
    }
    let mut expected = expected;
    expected.insert("Report.txt".into(), "the revised report".into());
    expected.remove("zeta.txt");
    expected.insert("new.txt".into(), "new".into());
    e.send_to_spyder(&u, &ds.id, false).await.unwrap();
    m.run_due_now().await.unwrap();
    let (s, why) = status(&e, &ds.id).await;
    assert_eq!(s, SyncStatus::Synced, "{why}");
    assert_eq!(contents(&e, &m, &ds.id).await, expected);
    let (refreshes, downloads) = {
        let f = fake.lock().unwrap();
        (f.refreshes, f.downloads)
    };
    assert_eq!(refreshes, 1, "the saved token was used");
    assert_eq!(
        downloads, 2,
        "only the changed and the new file were fetched"
    );
    let runs = e.sync_history(&u, &ds.id, 5).await.unwrap();
    assert_eq!(
        (runs[0].added, runs[0].updated, runs[0].deleted),
        (1, 1, 1),
        "{:?}",
        runs[0]
    );

    // Without credentials it waits in `created`, says why, and cannot be sent to the spyder;
    // @refreshServiceCredentials brings them and queues its first sync.
    let waiting = e
        .create_datasource(
            &u,
            &json!({"@type": "DropboxDatasource", "title": "later", "root": "/Docs/notes",
                    "endpoint": url, "app_key": "app-key"}),
        )
        .await
        .unwrap();
    assert_eq!(waiting.sync_status, SyncStatus::Created);
    assert!(
        waiting
            .status_reason
            .as_deref()
            .unwrap_or_default()
            .contains("@refreshServiceCredentials"),
        "{:?}",
        waiting.status_reason
    );
    assert!(e.send_to_spyder(&u, &waiting.id, false).await.is_err());
    m.run_due_now().await.unwrap();
    assert_eq!(status(&e, &waiting.id).await.0, SyncStatus::Created);
    let token = format!("Bearer {}", fake.lock().unwrap().token);
    e.refresh_credentials(
        &u,
        &waiting.id,
        &json!({"Authorization": token, "X-Auth-Secret": "refresh-1"}),
    )
    .await
    .unwrap();
    assert_eq!(status(&e, &waiting.id).await.0, SyncStatus::Pending);
    m.run_due_now().await.unwrap();
    let (s, why) = status(&e, &waiting.id).await;
    assert_eq!(s, SyncStatus::Synced, "{why}");
    assert_eq!(
        contents(&e, &m, &waiting.id)
            .await
            .into_keys()
            .collect::<Vec<_>>(),
        vec!["Meeting.md", "Ünïcode é.txt"]
    );

    // Only a refresh token: the spyder gets an access token with it before anything else.
    let before = fake.lock().unwrap().refreshes;
    let refresh_only = e
        .create_datasource(
            &u,
            &json!({"@type": "DropboxDatasource", "title": "refresh only", "root": "/Docs/a",
                    "endpoint": url, "app_key": "app-key", "X-Auth-Secret": "refresh-1"}),
        )
        .await
        .unwrap();
    m.run_due_now().await.unwrap();
    let (s, why) = status(&e, &refresh_only.id).await;
    assert_eq!(s, SyncStatus::Synced, "{why}");
    assert_eq!(fake.lock().unwrap().refreshes, before + 1);
    assert_eq!(
        contents(&e, &m, &refresh_only.id)
            .await
            .into_keys()
            .collect::<Vec<_>>(),
        vec!["b/c/deep.txt"]
    );

    // A refresh token Dropbox refuses: error, with Dropbox's reason, until a person acts.
    let refused = e
        .create_datasource(
            &u,
            &json!({"@type": "DropboxDatasource", "title": "refused", "endpoint": url,
                    "app_key": "app-key", "Authorization": "Bearer old", "X-Auth-Secret": "revoked"}),
        )
        .await
        .unwrap();
    m.run_due_now().await.unwrap();
    let (s, why) = status(&e, &refused.id).await;
    assert_eq!(s, SyncStatus::Error, "{why}");
    assert!(why.contains("refresh token is malformed"), "{why}");

    // A root that is not there: error, with the reason.
    let token = format!("Bearer {}", fake.lock().unwrap().token);
    let missing = e
        .create_datasource(
            &u,
            &json!({"@type": "DropboxDatasource", "title": "missing", "root": "/Nowhere",
                    "endpoint": url, "Authorization": token}),
        )
        .await
        .unwrap();
    m.run_due_now().await.unwrap();
    let (s, why) = status(&e, &missing.id).await;
    assert_eq!(s, SyncStatus::Error, "{why}");
    assert!(why.contains("not there"), "{why}");
    db.cleanup().await.unwrap();
}

#[tokio::test]
async fn sqlite_dropbox_mirror() {
    dropbox_mirror("sqlite").await;
}

#[tokio::test]
async fn postgres_dropbox_mirror() {
    dropbox_mirror("postgres").await;
}
