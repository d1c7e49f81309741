//! No password, session secret or token appears in the logs or in an API response, except the
//! one answer that hands a token out. Everything the server logs (every target, at TRACE) is
//! captured while a user's whole account life runs over HTTP, then searched for each secret.

#[path = "it/common.rs"]
#[allow(dead_code, unused_macros)]
mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use engine::testing::TestDb;
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every response body (and the headers that are not the one Set-Cookie handing out a session).
#[derive(Default)]
struct Seen {
    texts: Vec<(String, String)>,
}

impl Seen {
    fn add(&mut self, what: &str, text: String) {
        self.texts.push((what.to_owned(), text));
    }
    fn assert_absent(&self, secret: &str, name: &str, except: &[&str]) {
        for (what, text) in &self.texts {
            if except.contains(&what.as_str()) {
                continue;
            }
            assert!(
                !text.contains(secret),
                "the {name} appears in the answer to {what}"
            );
        }
    }
}

#[tokio::test]
async fn secrets_stay_out_of_logs_and_answers() {
    let logs = Capture::default();
    let sink = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .init();
    for backend in ["sqlite", "postgres"] {
        run(backend, &logs).await;
    }
    request_ids_name_every_line_of_a_request(&logs).await;
}

/// Every answer carries the id of its request (made by the server: a client's own is
/// dropped), and every log line written while serving a request names it.
async fn request_ids_name_every_line_of_a_request(logs: &Capture) {
    let db = TestDb::new("sqlite").await.unwrap();
    let common::Running { base, server, .. } =
        common::start(common::config_for(db.dir.path(), &db.url)).await;
    let r = common::http()
        .get(format!("{base}/api/datasources"))
        .header("x-request-id", "forged-request-id")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(id, "forged-request-id");
    assert_eq!(id.len(), 36, "a UUID: {id}");
    server.abort();
    db.cleanup().await.unwrap();
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        !text.contains("forged-request-id"),
        "a client's id reached the logs"
    );
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("started processing request"))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("request{{id={id}"))),
        "no line names {id}: {}",
        text.lines()
            .filter(|l| l.contains("request{"))
            .take(3)
            .collect::<Vec<_>>()
            .join("\n")
    );
    for l in lines {
        let after = l.split("request{id=").nth(1).unwrap_or("");
        assert!(
            after.len() > 36 && after.as_bytes()[36] == b' ',
            "a line without its request's id: {l}"
        );
    }
}

async fn run(backend: &str, logs: &Capture) {
    let db = TestDb::new(backend).await.unwrap();
    let common::Running { base, server, .. } =
        common::start(common::config_for(db.dir.path(), &db.url)).await;
    let http = common::http();
    let mut seen = Seen::default();
    let admin_password = "admin-password";
    let carol_password = "carol-first-secret-pw";
    let carol_new_password = "carol-second-secret-pw";
    let wrong_password = "carol-wrong-guess-pw";
    let s3_key_id = "AKIASECRETKEYID0001";
    let s3_secret = "s3-secret-access-key-value";
    let dropbox_token = "sl.dropbox-access-token-value";
    let dropbox_refresh = "dropbox-refresh-token-value";
    let dropbox_new_token = "sl.replaced-dropbox-access-token";

    // Admin logs in over the API and creates Carol.
    let r = http
        .post(format!("{base}/api/@login"))
        .body(json!({"username": "admin@example.com", "password": admin_password}).to_string())
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    let admin_token = serde_json::from_str::<Value>(&text).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    seen.add("@login", text);
    let call = |method: reqwest::Method, path: &str, token: &str, body: Option<Value>| {
        let mut req = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        req.send()
    };
    let r = call(
        reqwest::Method::POST,
        "/api/users",
        &admin_token,
        Some(json!({"email": "carol@example.com", "password": carol_password})),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    seen.add("POST /api/users", r.text().await.unwrap());
    // S3 keys go to the wallet: no answer ever carries them.
    let r = call(
        reqwest::Method::POST,
        "/api/datasources",
        &admin_token,
        Some(
            json!({"@type": "S3Datasource", "title": "keys", "bucket": "keys-bucket",
                    "access_key_id": s3_key_id, "secret_access_key": s3_secret}),
        ),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let text = r.text().await.unwrap();
    let ds_url = serde_json::from_str::<Value>(&text).unwrap()["@id"]
        .as_str()
        .unwrap()
        .to_owned();
    seen.add("POST /api/datasources", text);
    let r = call(
        reqwest::Method::POST,
        &format!(
            "{}/@refreshServiceCredentials",
            ds_url.trim_start_matches(&base)
        ),
        &admin_token,
        Some(json!({"access_key_id": s3_key_id, "secret_access_key": s3_secret})),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 204);
    seen.add("@refreshServiceCredentials", r.text().await.unwrap());
    for path in [
        ds_url.trim_start_matches(&base).to_owned(),
        "/api/datasources".to_owned(),
    ] {
        let r = call(reqwest::Method::GET, &path, &admin_token, None)
            .await
            .unwrap();
        seen.add("GET datasource", r.text().await.unwrap());
    }
    for path in ["/api/users", "/api/@me"] {
        let r = call(reqwest::Method::GET, path, &admin_token, None)
            .await
            .unwrap();
        seen.add(path, r.text().await.unwrap());
    }

    // A wrong guess, then Carol logs in through the login form (a server function).
    let r = http
        .post(format!("{base}/rpc/login"))
        .form(&[("email", "carol@example.com"), ("password", wrong_password)])
        .send()
        .await
        .unwrap();
    seen.add("wrong login", r.text().await.unwrap());
    let r = http
        .post(format!("{base}/rpc/login"))
        .form(&[("email", "carol@example.com"), ("password", carol_password)])
        .send()
        .await
        .unwrap();
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("tributary_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    assert!(session.len() >= 32);
    let cookie = format!("tributary_session={session}");
    seen.add("rpc login", r.text().await.unwrap());

    // Pages and server functions the browser uses, with the cookie.
    for page in ["/datasources", "/account", "/invitations"] {
        let r = http
            .get(format!("{base}{page}"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{page}");
        seen.add(page, r.text().await.unwrap());
    }
    // A Dropbox datasource through the browser's form, without JavaScript: its OAuth tokens go
    // to the wallet, and with them it is queued at once. (Its endpoint is a closed port on
    // loopback, so the spyder's attempts fail fast and reach no one.)
    let r = http
        .post(format!("{base}/rpc/create_datasource"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .header("accept", "text/html")
        .form(&[
            ("kind", "DropboxDatasource"),
            ("title", "Legal box"),
            ("type_sync", "arch"),
            ("root", "/Legal"),
            ("app_key", "app-key-1"),
            ("endpoint", "http://127.0.0.1:9"),
            ("access_token", dropbox_token),
            ("refresh_token", dropbox_refresh),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302, "the form redirects to the new datasource");
    let page = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(page.starts_with("/datasources/"), "{page}");
    seen.add("rpc create_datasource", r.text().await.unwrap());
    let id = page.trim_start_matches("/datasources/");
    let r = call(
        reqwest::Method::GET,
        &format!("/api/datasources/{id}"),
        &session,
        None,
    )
    .await
    .unwrap();
    let text = r.text().await.unwrap();
    let ds: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(ds["@type"], "DropboxDatasource", "{text}");
    assert_eq!(ds["root"], "/Legal", "{text}");
    assert_eq!(ds["app_key"], "app-key-1", "{text}");
    assert_ne!(
        ds["sync_status"], "created",
        "it has its credentials: {text}"
    );
    seen.add("GET the Dropbox datasource", text);
    let r = http
        .get(format!("{base}{page}"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    seen.add("the Dropbox datasource's page", r.text().await.unwrap());
    // The Settings tab's credentials form replaces the access token.
    let r = http
        .post(format!("{base}/rpc/replace_credentials"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .form(&[("id", id), ("access_token", dropbox_new_token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    seen.add("rpc replace_credentials", r.text().await.unwrap());

    for f in ["me", "list_tokens", "my_invitations"] {
        let r = http
            .post(format!("{base}/rpc/{f}"))
            .header("cookie", &cookie)
            .header("sec-fetch-site", "same-origin")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{f}");
        seen.add(f, r.text().await.unwrap());
    }

    // A personal token: its secret is in the creating answer only.
    let r = call(
        reqwest::Method::POST,
        "/api/@me/tokens",
        &session,
        Some(json!({"name": "nightly"})),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let text = r.text().await.unwrap();
    let personal = serde_json::from_str::<Value>(&text).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    seen.add("POST /api/@me/tokens", text);
    let r = call(reqwest::Method::GET, "/api/@me/tokens", &personal, None)
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the personal token works");
    seen.add("GET /api/@me/tokens", r.text().await.unwrap());

    // Password change, a wrong one first.
    for (current, want) in [(wrong_password, 422), (carol_password, 204)] {
        let r = call(
            reqwest::Method::POST,
            "/api/@me/@password",
            &session,
            Some(json!({"current_password": current, "new_password": carol_new_password})),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), want);
        seen.add("POST /api/@me/@password", r.text().await.unwrap());
    }
    let r = http
        .post(format!("{base}/api/@login"))
        .body(json!({"username": "carol@example.com", "password": carol_new_password}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let carol_api = serde_json::from_str::<Value>(&text).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    seen.add("@login carol", text);

    server.abort();
    db.cleanup().await.unwrap();

    let log = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        log.contains("DEBUG") || log.contains("TRACE"),
        "the capture saw the server's logs"
    );
    for (secret, name) in [
        (admin_password, "admin password"),
        (carol_password, "password"),
        (carol_new_password, "new password"),
        (wrong_password, "wrong password"),
        (admin_token.as_str(), "admin's API token"),
        (session.as_str(), "session secret"),
        (personal.as_str(), "personal token"),
        (carol_api.as_str(), "Carol's API token"),
        (s3_key_id, "S3 access key id"),
        (s3_secret, "S3 secret key"),
        (dropbox_token, "Dropbox access token"),
        (dropbox_refresh, "Dropbox refresh token"),
        (dropbox_new_token, "replaced Dropbox access token"),
    ] {
        assert!(!log.contains(secret), "the {name} appears in the logs");
        let issuer: &[&str] = match name {
            "admin's API token" => &["@login"],
            "personal token" => &["POST /api/@me/tokens"],
            "Carol's API token" => &["@login carol"],
            _ => &[],
        };
        seen.assert_absent(secret, name, issuer);
    }
    seen.assert_absent("$argon2", "password hash", &[]);
}
