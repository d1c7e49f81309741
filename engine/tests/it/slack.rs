//! The Slack spyder against a server on loopback that speaks the Slack Web API methods the
//! spyder uses (`conversations.list`, `conversations.history`, `oauth.v2.access`), on SQLite
//! and PostgreSQL: each message is a resource; an expired token is refreshed with the rotating
//! refresh token, and both new tokens are kept in the wallet (the second refresh needs the
//! rotated one); a mirror follows edits, deletions and new messages; a channel the app is not
//! in is named in the status and keeps a mirror from deleting.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use engine::domain::{AccountRole, SyncStatus};
use engine::manager::{ManagerConfig, SpyderManager};
use engine::testing::TestDb;
use serde_json::{Value, json};

/// A channel's messages: ts → (text, when it was edited).
type Messages = BTreeMap<String, (String, Option<String>)>;

#[derive(Default)]
struct Fake {
    /// channel id → (name, messages); `None` messages: the app is not a member.
    channels: BTreeMap<String, (String, Option<Messages>)>,
    access: String,
    refresh: String,
    refreshes: usize,
}

type Shared = Arc<Mutex<Fake>>;

fn form(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            (
                k.to_owned(),
                v.replace("%2C", ",").replace('+', " ").replace("%2D", "-"),
            )
        })
        .collect()
}

/// Two items a page, the cursor the index of the next.
fn paged(items: Vec<Value>, cursor: Option<&String>, key: &str) -> Value {
    let from: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
    let end = (from + 2).min(items.len());
    let next = if end < items.len() {
        end.to_string()
    } else {
        String::new()
    };
    json!({"ok": true, key: items[from..end], "has_more": end < items.len(),
           "response_metadata": {"next_cursor": next}})
}

async fn method(
    State(s): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut f = s.lock().unwrap();
    let p = form(&body);
    if name == "oauth.v2.access" {
        let ok = p.get("grant_type").map(String::as_str) == Some("refresh_token")
            && p.get("refresh_token") == Some(&f.refresh)
            && p.get("client_id").map(String::as_str) == Some("C-123")
            && p.get("client_secret").map(String::as_str) == Some("app-secret");
        if !ok {
            return axum::Json(json!({"ok": false, "error": "invalid_refresh_token"}))
                .into_response();
        }
        f.refreshes += 1;
        f.access = format!("xoxe.xoxb-{}", f.refreshes);
        f.refresh = format!("xoxe-1-refresh-{}", f.refreshes + 1);
        return axum::Json(json!({"ok": true, "access_token": f.access,
            "refresh_token": f.refresh, "expires_in": 43200, "token_type": "bot"}))
        .into_response();
    }
    let bearer = format!("Bearer {}", f.access);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(bearer.as_str()) {
        return axum::Json(json!({"ok": false, "error": "token_expired"})).into_response();
    }
    match name.as_str() {
        "conversations.list" => {
            assert_eq!(p["types"], "public_channel,private_channel");
            let all = f
                .channels
                .iter()
                .map(|(id, (name, _))| json!({"id": id, "name": name, "is_channel": true}))
                .collect();
            axum::Json(paged(all, p.get("cursor"), "channels")).into_response()
        }
        "conversations.history" => match f.channels.get(&p["channel"]) {
            None => axum::Json(json!({"ok": false, "error": "channel_not_found"})).into_response(),
            Some((_, None)) => {
                axum::Json(json!({"ok": false, "error": "not_in_channel"})).into_response()
            }
            Some((_, Some(messages))) => {
                // Newest first, as Slack answers.
                let all = messages
                    .iter()
                    .rev()
                    .map(|(ts, (text, edited))| {
                        let mut m =
                            json!({"type": "message", "user": "U042", "text": text, "ts": ts});
                        if let Some(e) = edited {
                            m["edited"] = json!({"user": "U042", "ts": e});
                        }
                        m
                    })
                    .collect();
                axum::Json(paged(all, p.get("cursor"), "messages")).into_response()
            }
        },
        other => axum::Json(json!({"ok": false, "error": format!("unknown_method {other}")}))
            .into_response(),
    }
}

async fn fake_slack(fake: Fake) -> (String, Shared) {
    let shared = Arc::new(Mutex::new(fake));
    let app = Router::new()
        .route("/api/{method}", post(method))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
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

fn messages(list: &[(&str, &str)]) -> Option<Messages> {
    Some(
        list.iter()
            .map(|(ts, text)| (ts.to_string(), (text.to_string(), None)))
            .collect(),
    )
}

async fn slack_mirror(backend: &str) {
    let mut channels = BTreeMap::new();
    channels.insert(
        "C1".to_owned(),
        (
            "general".to_owned(),
            messages(&[
                ("1700000000.000100", "welcome to the workspace"),
                ("1700000100.000200", "the budget is due friday"),
                ("1700000200.000300", "lunch?"),
            ]),
        ),
    );
    channels.insert(
        "C2".to_owned(),
        (
            "random".to_owned(),
            messages(&[
                ("1700000300.000400", "a cat picture"),
                ("1700000400.000500", "another one"),
            ]),
        ),
    );
    channels.insert("C3".to_owned(), ("secret".to_owned(), None));
    let (url, fake) = fake_slack(Fake {
        channels,
        access: "issued-elsewhere".into(),
        refresh: "xoxe-1-refresh-1".into(),
        ..Fake::default()
    })
    .await;

    let db = TestDb::new(backend).await.unwrap();
    let e = db.engine().await.unwrap();
    let mut cfg = ManagerConfig::new(db.dir.path().join("blobs"));
    cfg.batch = 2;
    let m = SpyderManager::new(e.clone(), cfg);
    let u = e
        .create_user("slack@example.com", "", "password123", AccountRole::Member)
        .await
        .unwrap();

    let ds = e
        .create_datasource(
            &u,
            &json!({"@type": "SlackDatasource", "title": "chat", "workspace": "acme",
                    "channels": "general, #random", "client_id": "C-123", "endpoint": url,
                    "type_sync": "auto", "Authorization": "Bearer xoxb-stale",
                    "X-Auth-Secret": "xoxe-1-refresh-1", "client_secret": "app-secret"}),
        )
        .await
        .unwrap();
    assert_eq!(ds.sync_status, SyncStatus::Pending);
    assert!(
        !serde_json::to_string(&ds.settings)
            .unwrap()
            .contains("app-secret")
    );
    m.run_due_now().await.unwrap();
    let (s, why) = status(&e, &ds.id).await;
    assert_eq!(s, SyncStatus::Synced, "{why}");
    let got = contents(&e, &m, &ds.id).await;
    assert_eq!(
        got.keys().cloned().collect::<Vec<_>>(),
        vec![
            "general/1700000000.000100.txt",
            "general/1700000100.000200.txt",
            "general/1700000200.000300.txt",
            "random/1700000300.000400.txt",
            "random/1700000400.000500.txt",
        ]
    );
    assert_eq!(
        got["general/1700000100.000200.txt"],
        "From: U042\nChannel: #general\nDate: 2023-11-14T22:15:00.000200+00:00\n\nthe budget is due friday\n"
    );
    assert_eq!(fake.lock().unwrap().refreshes, 1);

    // The token expires again: the refresh must use the rotated refresh token the first
    // refresh saved. Meanwhile a message was edited, one deleted and one posted.
    {
        let mut f = fake.lock().unwrap();
        f.access = "expired-again".into();
        let general = f.channels.get_mut("C1").unwrap().1.as_mut().unwrap();
        general.insert(
            "1700000100.000200".into(),
            (
                "the budget is due monday".into(),
                Some("1700009999.000001".into()),
            ),
        );
        general.remove("1700000200.000300");
        general.insert("1700000500.000600".into(), ("new message".into(), None));
    }
    e.send_to_spyder(&u, &ds.id, false).await.unwrap();
    m.run_due_now().await.unwrap();
    let (s, why) = status(&e, &ds.id).await;
    assert_eq!(s, SyncStatus::Synced, "{why}");
    assert_eq!(
        fake.lock().unwrap().refreshes,
        2,
        "refreshed with the rotated token"
    );
    let got = contents(&e, &m, &ds.id).await;
    assert!(got["general/1700000100.000200.txt"].ends_with("due monday\n"));
    assert!(!got.contains_key("general/1700000200.000300.txt"));
    assert!(got.contains_key("general/1700000500.000600.txt"));
    let runs = e.sync_history(&u, &ds.id, 5).await.unwrap();
    assert_eq!(
        (runs[0].added, runs[0].updated, runs[0].deleted),
        (1, 1, 1),
        "{:?}",
        runs[0]
    );

    // Every channel: the one the app is not in is named, and a mirror deletes nothing while
    // it is missing.
    let token = format!("Bearer {}", fake.lock().unwrap().access);
    let all = e
        .create_datasource(
            &u,
            &json!({"@type": "SlackDatasource", "title": "everything", "endpoint": url,
                    "Authorization": token}),
        )
        .await
        .unwrap();
    m.run_due_now().await.unwrap();
    let (s, why) = status(&e, &all.id).await;
    assert_eq!(s, SyncStatus::Synced, "{why}");
    assert!(
        why.contains("#secret could not be read (not_in_channel)"),
        "{why}"
    );
    assert_eq!(contents(&e, &m, &all.id).await.len(), 5);
    fake.lock()
        .unwrap()
        .channels
        .get_mut("C2")
        .unwrap()
        .1
        .as_mut()
        .unwrap()
        .clear();
    e.send_to_spyder(&u, &all.id, true).await.unwrap();
    m.run_due_now().await.unwrap();
    let (_, why) = status(&e, &all.id).await;
    assert!(why.contains("deleted nothing"), "{why}");
    assert_eq!(contents(&e, &m, &all.id).await.len(), 5);

    // A token Slack refuses, with nothing to refresh it with: error, with the reason.
    let refused = e
        .create_datasource(
            &u,
            &json!({"@type": "SlackDatasource", "title": "refused", "endpoint": url,
                    "Authorization": "Bearer xoxb-revoked"}),
        )
        .await
        .unwrap();
    m.run_due_now().await.unwrap();
    let (s, why) = status(&e, &refused.id).await;
    assert_eq!(s, SyncStatus::Error, "{why}");
    assert!(why.contains("cannot be refreshed"), "{why}");
    db.cleanup().await.unwrap();
}

#[tokio::test]
async fn sqlite_slack_mirror() {
    slack_mirror("sqlite").await;
}

#[tokio::test]
async fn postgres_slack_mirror() {
    slack_mirror("postgres").await;
}
