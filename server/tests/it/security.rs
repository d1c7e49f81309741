//! Attacks on the trust boundaries, each performed over real HTTP on loopback against a real
//! server (SQLite and PostgreSQL), with real servers standing in for the attacker's machine and
//! the internal network. Each test fails on the code before its fix.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode as AxStatus, Uri};
use axum::response::{IntoResponse, Response};
use engine::testing::TestDb;
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::Application;

use crate::common::on_both;

/// Every request a stand-in server received: method, path, headers and body, as text.
#[derive(Clone, Default)]
struct Heard(Arc<Mutex<Vec<String>>>);

impl Heard {
    fn all(&self) -> String {
        self.0.lock().unwrap().join("\n---\n")
    }
    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// A server on loopback that records every request and answers with `answer`.
async fn stand_in(
    answer: impl Fn(&Method, &str) -> Response + Clone + Send + Sync + 'static,
) -> (String, Heard) {
    let heard = Heard::default();
    let log = heard.clone();
    let app = Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            let answer = answer.clone();
            async move {
                let mut text = format!("{method} {uri}\n");
                for (k, v) in &headers {
                    text.push_str(&format!("{k}: {}\n", v.to_str().unwrap_or("")));
                }
                text.push_str(&String::from_utf8_lossy(&body));
                log.0.lock().unwrap().push(text);
                answer(&method, uri.path())
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, heard)
}

struct TestApp {
    base: String,
    http: reqwest::Client,
    db: TestDb,
    state: server::AppState,
    server: tokio::task::JoinHandle<()>,
}

const ADMIN: (&str, &str) = ("admin@example.com", "admin-password");

/// A server whose connectors may reach only what `endpoints` lists (`None`: the services'
/// public hosts only, the default).
async fn spawn(backend: &str, endpoints: Option<&str>) -> TestApp {
    let db = TestDb::new(backend).await.expect("database");
    let mut config = crate::common::config_for(db.dir.path(), &db.url);
    config.connector_endpoints = endpoints.map(str::to_owned);
    let crate::common::Running {
        base,
        state,
        server,
    } = crate::common::start(config).await;
    TestApp {
        base,
        http: crate::common::http(),
        db,
        state,
        server,
    }
}

impl TestApp {
    async fn login(&self, email: &str, password: &str) -> String {
        let r = self
            .http
            .post(format!("{}/api/@login", self.base))
            .json(&json!({"username": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login of {email}");
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
    async fn call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
    /// A member account, signed in.
    async fn member(&self, admin: &str, email: &str) -> String {
        let (s, _) = self
            .call(
                admin,
                reqwest::Method::POST,
                "/api/users",
                Some(json!({"email": email, "password": "member-password-1"})),
            )
            .await;
        assert_eq!(s, 201);
        self.login(email, "member-password-1").await
    }
    /// Shares datasource `id` with `email` as `role`, accepted.
    async fn share(&self, owner: &str, id: &str, who: &str, email: &str, role: &str) {
        let (s, inv) = self
            .call(
                owner,
                reqwest::Method::POST,
                &format!("/api/datasources/{id}/@invite"),
                Some(json!({"email": email, "role": role})),
            )
            .await;
        assert_eq!(s, 201, "{inv}");
        let inv = inv["id"].as_str().unwrap();
        let (s, _) = self
            .call(
                who,
                reqwest::Method::POST,
                &format!("/api/invitations/{inv}/@accept"),
                None,
            )
            .await;
        assert_eq!(s, 200);
    }
    async fn finish(self) {
        self.server.abort();
        self.db.cleanup().await.unwrap();
    }
}

on_both!(
    an_editor_cannot_send_the_owners_tokens_elsewhere,
    pointing_a_datasource_elsewhere_drops_its_credentials,
    members_cannot_make_the_server_fetch_internal_addresses,
    redirects_and_error_bodies_do_not_carry_internal_answers,
    members_are_not_offered_admin_only_connectors,
);

/// The new-datasource form offers members only what they may create: no Folder datasources
/// (the server's disks are for account admins); admins see every connector.
async fn members_are_not_offered_admin_only_connectors(backend: &str) {
    let app = spawn(backend, None).await;
    let admin = app.login(ADMIN.0, ADMIN.1).await;
    let member = app.member(&admin, "mo@example.com").await;
    let page = |token: String| {
        let http = app.http.clone();
        let url = format!("{}/datasources/new?kind=FolderDatasource", app.base);
        async move {
            http.get(url)
                .header("cookie", format!("tributary_session={token}"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let as_admin = page(admin).await;
    let as_member = page(member).await;
    for spec in engine::connector::specs() {
        let tab = format!("data-kind=\"{}\"", spec.kind);
        assert!(as_admin.contains(&tab), "admins are offered {}", spec.kind);
        assert_eq!(
            as_member.contains(&tab),
            spec.admin_only.is_none(),
            "members and {}",
            spec.kind
        );
    }
    // Asking for a Folder by link gives a member the first kind they may create instead.
    assert!(!as_member.contains("name=\"kind\" value=\"FolderDatasource\""));
    app.finish().await;
}

const ACCESS: &str = "sl.owner-access-token-0001";
const REFRESH: &str = "owner-refresh-token-0001";
const SLACK_SECRET: &str = "owner-client-secret-0001";

/// An answer that looks like an expired token to both Dropbox and Slack, so a spyder would
/// refresh and send its refresh token and client secret too.
fn expired(_: &Method, _: &str) -> Response {
    (
        AxStatus::UNAUTHORIZED,
        [("content-type", "application/json")],
        r#"{"ok": false, "error": "token_expired", "error_summary": "expired_access_token/"}"#,
    )
        .into_response()
}

/// Finding 1: an editor points the owner's Dropbox and Slack datasources at a server of their
/// own and asks for a sync. Before the fix the worker sent the owner's bearer token, then the
/// refresh token and client secret, to it.
async fn an_editor_cannot_send_the_owners_tokens_elsewhere(backend: &str) {
    let app = spawn(backend, Some("http://127.0.0.1:*")).await;
    let owner = app.login(ADMIN.0, ADMIN.1).await;
    let editor = app.member(&owner, "mallory@example.com").await;
    let (legit, legit_heard) = stand_in(expired).await;
    let (evil, evil_heard) = stand_in(expired).await;
    for body in [
        json!({"@type": "DropboxDatasource", "title": "Owner's Dropbox", "endpoint": legit,
               "app_key": "owner-app", "Authorization": format!("Bearer {ACCESS}"),
               "X-Auth-Secret": REFRESH}),
        json!({"@type": "SlackDatasource", "title": "Owner's Slack", "endpoint": legit,
               "client_id": "owner-client", "Authorization": format!("Bearer {ACCESS}"),
               "X-Auth-Secret": REFRESH, "client_secret": SLACK_SECRET}),
    ] {
        let (s, ds) = app
            .call(
                &owner,
                reqwest::Method::POST,
                "/api/datasources",
                Some(body),
            )
            .await;
        assert_eq!(s, 201, "{ds}");
        let id = ds["id"].as_str().unwrap().to_owned();
        app.share(&owner, &id, &editor, "mallory@example.com", "editor")
            .await;
        // The editor may still configure what does not move the credentials.
        let (s, _) = app
            .call(
                &editor,
                reqwest::Method::PATCH,
                &format!("/api/datasources/{id}"),
                Some(json!({"title": "Renamed by the editor"})),
            )
            .await;
        assert_eq!(s, 200);
        // Pointing it elsewhere, alone or with the app's id, is the owner's to do.
        let key = if ds["@type"] == "DropboxDatasource" {
            "app_key"
        } else {
            "client_id"
        };
        for patch in [
            json!({"endpoint": evil}),
            json!({key: "evil-app"}),
            json!({"endpoint": evil, key: "evil-app"}),
        ] {
            let (s, e) = app
                .call(
                    &editor,
                    reqwest::Method::PATCH,
                    &format!("/api/datasources/{id}"),
                    Some(patch.clone()),
                )
                .await;
            assert_eq!(s, 403, "{patch}: {e}");
            assert!(
                e.to_string().contains("only owners"),
                "the refusal says why: {e}"
            );
        }
        let (_, now) = app
            .call(
                &owner,
                reqwest::Method::GET,
                &format!("/api/datasources/{id}"),
                None,
            )
            .await;
        assert_eq!(now["endpoint"], legit, "nothing changed");
        // The sync the editor asks for goes where the owner said.
        let (s, _) = app
            .call(
                &editor,
                reqwest::Method::GET,
                &format!("/api/datasources/{id}/@sendToSpyder"),
                None,
            )
            .await;
        assert!(s.is_success(), "{s}");
        app.state.manager.run_due_now().await.unwrap();
    }
    assert_eq!(evil_heard.count(), 0, "the editor's server heard nothing");
    let heard = legit_heard.all();
    assert!(
        heard.contains(ACCESS) && heard.contains(REFRESH),
        "the owner's server got the sync (the test reached the spyders)"
    );
    app.finish().await;
}

/// Finding 1, the owner's side: pointing a datasource elsewhere drops its credentials unless
/// the same request brings new ones; it waits in `created`, and the old tokens never reach the
/// new server.
async fn pointing_a_datasource_elsewhere_drops_its_credentials(backend: &str) {
    let app = spawn(backend, Some("http://127.0.0.1:*")).await;
    let owner = app.login(ADMIN.0, ADMIN.1).await;
    let (legit, _) = stand_in(expired).await;
    let (other, other_heard) = stand_in(expired).await;
    let (s, ds) = app
        .call(
            &owner,
            reqwest::Method::POST,
            "/api/datasources",
            Some(
                json!({"@type": "DropboxDatasource", "title": "Moves", "endpoint": legit,
                        "app_key": "app", "Authorization": format!("Bearer {ACCESS}"),
                        "X-Auth-Secret": REFRESH}),
            ),
        )
        .await;
    assert_eq!(s, 201);
    let id = ds["id"].as_str().unwrap().to_owned();
    let path = format!("/api/datasources/{id}");
    let (s, moved) = app
        .call(
            &owner,
            reqwest::Method::PATCH,
            &path,
            Some(json!({"endpoint": other})),
        )
        .await;
    assert_eq!(s, 200, "{moved}");
    assert_eq!(moved["sync_status"], "created", "{moved}");
    assert!(
        moved["status_reason"]
            .as_str()
            .unwrap()
            .contains("new credentials"),
        "{moved}"
    );
    assert!(
        app.state
            .engine
            .credential_names(&id)
            .await
            .unwrap()
            .is_empty()
    );
    let (s, e) = app
        .call(
            &owner,
            reqwest::Method::GET,
            &format!("{path}/@sendToSpyder"),
            None,
        )
        .await;
    assert_eq!(s, 409, "no credentials, no sync: {e}");
    app.state.manager.run_due_now().await.unwrap();
    assert_eq!(other_heard.count(), 0, "the queued run did not go there");
    // New tokens for the new server: it syncs there, with them only.
    let (s, _) = app
        .call(
            &owner,
            reqwest::Method::POST,
            &format!("{path}/@refreshServiceCredentials"),
            Some(json!({"Authorization": "Bearer new-token-for-other", "X-Auth-Secret": "new-refresh"})),
        )
        .await;
    assert!(s.is_success(), "{s}");
    app.state.manager.run_due_now().await.unwrap();
    let heard = other_heard.all();
    assert!(heard.contains("new-token-for-other"), "{heard}");
    assert!(!heard.contains(ACCESS) && !heard.contains(REFRESH));
    // Moving and bringing new credentials in one request keeps it going.
    let (s, moved) = app
        .call(
            &owner,
            reqwest::Method::PATCH,
            &path,
            Some(json!({"endpoint": legit, "Authorization": "Bearer third"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_ne!(moved["sync_status"], "created", "{moved}");
    assert_eq!(
        app.state.engine.credential_names(&id).await.unwrap(),
        vec!["Authorization".to_owned()],
        "only what came with the move is kept"
    );
    app.finish().await;
}

/// Finding 2: with the default fence no member can name loopback, a private range or the
/// metadata service as an endpoint, and nothing is fetched from them.
async fn members_cannot_make_the_server_fetch_internal_addresses(backend: &str) {
    let app = spawn(backend, None).await;
    let admin = app.login(ADMIN.0, ADMIN.1).await;
    let member = app.member(&admin, "eve@example.com").await;
    let (internal, internal_heard) = stand_in(|_, _| "internal secret".into_response()).await;
    for endpoint in [
        internal.as_str(),
        "http://169.254.169.254",
        "http://10.0.0.1:9000",
        "http://[::1]:9000",
        "http://localhost:9000",
        "https://api.dropboxapi.com.attacker.example",
    ] {
        for kind in [
            json!({"@type": "S3Datasource", "bucket": "b-bucket"}),
            json!({"@type": "DropboxDatasource"}),
            json!({"@type": "SlackDatasource"}),
        ] {
            let mut body = kind.clone();
            body["title"] = json!("Probe");
            body["endpoint"] = json!(endpoint);
            let (s, e) = app
                .call(
                    &member,
                    reqwest::Method::POST,
                    "/api/datasources",
                    Some(body),
                )
                .await;
            assert_eq!(s, 422, "{endpoint} {kind}: {e}");
            assert!(e.to_string().contains("endpoint"), "{e}");
        }
    }
    // Nor by editing one that was fine.
    let (s, ds) = app
        .call(
            &member,
            reqwest::Method::POST,
            "/api/datasources",
            Some(json!({"@type": "S3Datasource", "title": "Public", "bucket": "b-bucket"})),
        )
        .await;
    assert_eq!(s, 201);
    let id = ds["id"].as_str().unwrap();
    let (s, _) = app
        .call(
            &member,
            reqwest::Method::PATCH,
            &format!("/api/datasources/{id}"),
            Some(json!({"endpoint": internal})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(internal_heard.count(), 0);
    // The total stayed: nothing refused was created.
    let (_, list) = app
        .call(&member, reqwest::Method::GET, "/api/datasources", None)
        .await;
    assert_eq!(list["total"], 1);
    app.finish().await;
}

/// Finding 2: an allowed server that answers with a redirect to an internal address, or with
/// an error page, cannot make the server fetch the internal address or show what it said.
async fn redirects_and_error_bodies_do_not_carry_internal_answers(backend: &str) {
    let (internal, internal_heard) =
        stand_in(|_, _| "INTERNAL-METADATA-CONTENT iam/security-credentials/role".into_response())
            .await;
    let target = format!("{internal}/latest/meta-data");
    // Only the stand-in for Dropbox is allowed: the internal server is not.
    let listing = json!({"entries": [{".tag": "file", "path_lower": "/a.txt", "path_display": "/a.txt",
                                      "size": 10, "server_modified": "2026-01-01T00:00:00Z"}],
                         "cursor": "c", "has_more": false});
    let (dropbox, _) = stand_in(move |_, path| match path {
        "/2/files/list_folder" => axum::Json(listing.clone()).into_response(),
        _ => (AxStatus::FOUND, [("location", target.clone())]).into_response(),
    })
    .await;
    let (chatty, _) = stand_in(|_, _| {
        (
            AxStatus::INTERNAL_SERVER_ERROR,
            "<html>INTERNAL-ADMIN-PAGE root password is hunter2</html>",
        )
            .into_response()
    })
    .await;
    let app = spawn(backend, Some(&format!("{dropbox},{chatty}"))).await;
    let owner = app.login(ADMIN.0, ADMIN.1).await;
    let mut ids = Vec::new();
    for endpoint in [&dropbox, &chatty] {
        let (s, ds) = app
            .call(
                &owner,
                reqwest::Method::POST,
                "/api/datasources",
                Some(
                    json!({"@type": "DropboxDatasource", "title": "Redirects", "endpoint": endpoint,
                            "Authorization": "Bearer t"}),
                ),
            )
            .await;
        assert_eq!(s, 201, "{ds}");
        ids.push(ds["id"].as_str().unwrap().to_owned());
    }
    // Retries of the failing one are due later; run what is due now, twice.
    app.state.manager.run_due_now().await.unwrap();
    app.state.manager.run_due_now().await.unwrap();
    assert_eq!(internal_heard.count(), 0, "the redirect was not followed");
    for id in &ids {
        let mut seen = String::new();
        for what in ["", "/@history", "/@getAllChildren"] {
            let (_, v) = app
                .call(
                    &owner,
                    reqwest::Method::GET,
                    &format!("/api/datasources/{id}{what}"),
                    None,
                )
                .await;
            seen.push_str(&v.to_string());
        }
        let (_, ds) = app
            .call(
                &owner,
                reqwest::Method::GET,
                &format!("/api/datasources/{id}"),
                None,
            )
            .await;
        for leak in ["INTERNAL-", "hunter2", "<html>"] {
            assert!(!seen.contains(leak), "{leak} leaked: {seen}");
        }
        assert!(
            ds["status_reason"].as_str().is_some_and(|r| r.len() < 300),
            "{ds}"
        );
    }
    app.finish().await;
}

mod browser {
    use super::*;

    #[tokio::test]
    async fn login_never_redirects_off_site() {
        let app = spawn("sqlite", None).await;
        for next in [
            "/\t/evil.example",
            "/\n/evil.example",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "/%09/evil.example",
        ] {
            let form = format!(
                "email=admin%40example.com&password=admin-password&next={}",
                urlencode(next)
            );
            let r = app
                .http
                .post(format!("{}/rpc/login", app.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "text/html")
                .header("sec-fetch-site", "same-origin")
                .body(form)
                .send()
                .await
                .unwrap();
            let location = r
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            assert!(r.status().is_redirection(), "{next:?}: {}", r.status());
            let resolved = reqwest::Url::parse(&app.base)
                .unwrap()
                .join(&location)
                .unwrap();
            assert_eq!(
                resolved.host_str(),
                Some("127.0.0.1"),
                "{next:?} went to {location:?}"
            );
            assert!(
                !location.contains("evil") || location.starts_with("/%09"),
                "{next:?} went to {location:?}"
            );
        }
        // A path of the site is still where the login lands.
        let r = app
            .http
            .post(format!("{}/rpc/login", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "text/html")
            .header("sec-fetch-site", "same-origin")
            .body("email=admin%40example.com&password=admin-password&next=%2Fsearch%3Fq%3Dx")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["location"], "/search?q=x");
        app.finish().await;
    }

    fn urlencode(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    #[tokio::test]
    async fn every_response_carries_the_security_headers() {
        let app = spawn("sqlite", None).await;
        let token = app.login(ADMIN.0, ADMIN.1).await;
        for (path, cookie) in [
            ("/login", false),
            ("/datasources", true),
            ("/health", false),
            ("/api/datasources", false),
            ("/no-such-page", true),
        ] {
            let mut req = app.http.get(format!("{}{path}", app.base));
            if cookie {
                req = req.header("cookie", format!("tributary_session={token}"));
            }
            let r = req.send().await.unwrap();
            let h = r.headers().clone();
            let csp = h
                .get("content-security-policy")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("{path}: no CSP"))
                .to_owned();
            for part in [
                "default-src 'self'",
                "'wasm-unsafe-eval'",
                "frame-ancestors 'none'",
                "object-src 'none'",
                "base-uri 'none'",
            ] {
                assert!(csp.contains(part), "{path}: {csp}");
            }
            assert!(
                !csp.contains("'unsafe-inline'; ")
                    || !csp.contains("script-src 'self' 'unsafe-inline'")
            );
            assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
            assert_eq!(h["x-frame-options"], "DENY", "{path}");
            assert_eq!(h["referrer-policy"], "same-origin", "{path}");
            if path == "/datasources" {
                // The page's inline scripts carry this response's nonce, and only they run.
                let nonce = csp
                    .split("'nonce-")
                    .nth(1)
                    .and_then(|r| r.split('\'').next())
                    .unwrap()
                    .to_owned();
                let html = r.text().await.unwrap();
                let scripts = html.matches("<script").count();
                assert!(scripts > 0, "the page has scripts");
                assert_eq!(
                    html.matches(&format!("nonce=\"{nonce}\"")).count(),
                    html.matches("<script").count() - html.matches("<script src=").count(),
                    "every inline script carries the nonce: {html}"
                );
            }
        }
        // A fresh nonce each time.
        let a = app
            .http
            .get(format!("{}/login", app.base))
            .send()
            .await
            .unwrap();
        let b = app
            .http
            .get(format!("{}/login", app.base))
            .send()
            .await
            .unwrap();
        assert_ne!(
            a.headers()["content-security-policy"],
            b.headers()["content-security-policy"]
        );
        app.finish().await;
    }

    /// The seed's GETs that change state work with a bearer token and are refused when only
    /// the session cookie authenticates them (a link or an image on another site would fire
    /// them); an `Authorization` header that authenticates nothing exempts nothing.
    #[tokio::test]
    async fn state_changing_gets_need_a_bearer_token() {
        let app = spawn("sqlite", None).await;
        let token = app.login(ADMIN.0, ADMIN.1).await;
        let (s, ds) = app
            .call(
                &token,
                reqwest::Method::POST,
                "/api/datasources",
                Some(json!({"@type": "S3Datasource", "title": "G", "bucket": "g-bucket"})),
            )
            .await;
        assert_eq!(s, 201);
        let id = ds["id"].as_str().unwrap();
        for action in ["@sendToSpyder", "@sendToCompute"] {
            let url = format!("{}/api/datasources/{id}/{action}", app.base);
            let r = app
                .http
                .get(&url)
                .header("cookie", format!("tributary_session={token}"))
                .header("sec-fetch-site", "cross-site")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{action} by cookie from another site");
            let r = app
                .http
                .get(&url)
                .header("cookie", format!("tributary_session={token}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{action} by cookie");
            let r = app.http.get(&url).bearer_auth(&token).send().await.unwrap();
            assert!(
                r.status().is_success(),
                "{action} by bearer: {}",
                r.status()
            );
        }
        // A POST with the cookie and an Authorization header that is not a bearer token is
        // still a cookie request from nowhere.
        let r = app
            .http
            .post(format!("{}/api/datasources", app.base))
            .header("cookie", format!("tributary_session={token}"))
            .header("authorization", "Basic dTpw")
            .json(&json!({"@type": "S3Datasource", "title": "Forged", "bucket": "f-bucket"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        app.finish().await;
    }

    /// Twenty wrong logins at once do not stall the server (hashing runs off its workers), one
    /// address guessing across accounts is throttled, and unknown or deactivated accounts are
    /// refused exactly like wrong passwords. Two workers, as on the two-core server.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wrong_logins_neither_stall_the_server_nor_go_on_for_ever() {
        let app = spawn("sqlite", None).await;
        let base = app.base.clone();
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut logins = tokio::task::JoinSet::new();
        for i in 0..20 {
            let (http, base, done) = (app.http.clone(), base.clone(), done.clone());
            logins.spawn(async move {
                let s = http
                    .post(format!("{base}/api/@login"))
                    .json(&json!({"username": format!("nobody{i}@example.com"), "password": "wrong-password"}))
                    .send()
                    .await
                    .unwrap()
                    .status();
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                s
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let health = app.http.get(format!("{base}/health")).send().await.unwrap();
        let finished = done.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(health.status(), 200);
        assert!(
            finished < 10,
            "health answered only after {finished} of 20 logins had ended"
        );
        let statuses: Vec<_> = logins.join_all().await;
        assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
        // Twenty failures from one address: now even the right password waits.
        let r = app
            .http
            .post(format!("{base}/api/@login"))
            .json(&json!({"username": ADMIN.0, "password": ADMIN.1}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        assert!(r.headers().contains_key("retry-after"));
        app.finish().await;
    }
}

/// One user cannot hold an unbounded number of live-event streams open.
#[tokio::test]
async fn live_event_streams_are_capped_per_user() {
    let app = spawn("sqlite", None).await;
    let token = app.login(ADMIN.0, ADMIN.1).await;
    let open = || {
        app.http
            .get(format!("{}/api/@events", app.base))
            .bearer_auth(&token)
            .send()
    };
    let mut streams = Vec::new();
    for _ in 0..16 {
        let r = open().await.unwrap();
        assert_eq!(r.status(), 200);
        streams.push(r);
    }
    let refused = open().await.unwrap();
    assert_eq!(refused.status(), 429);
    // Another user is not affected, and a closed stream frees its place.
    drop(streams.pop());
    // The server notices the closed connection at the latest when its next keep-alive (every
    // 15 s) cannot be written.
    let mut again = None;
    for _ in 0..1_000 {
        let r = open().await.unwrap();
        if r.status() == 200 {
            again = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "a closed stream gives its place back");
    app.finish().await;
}

/// `@id`s come from the public URL the operator set, never from forwarded headers anyone can
/// send; over HTTPS cookies are `Secure` and browsers are told to keep to HTTPS.
#[tokio::test]
async fn public_url_not_forwarded_headers() {
    let app = spawn("sqlite", None).await;
    let token = app.login(ADMIN.0, ADMIN.1).await;
    let r = app
        .http
        .get(format!("{}/api/datasources", app.base))
        .bearer_auth(&token)
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(!text.contains("evil.example"), "{text}");
    app.finish().await;

    let db = TestDb::new("sqlite").await.unwrap();
    let mut config = crate::common::config_for(db.dir.path(), &db.url);
    config.public_url = Some("https://tributary.example.org/".into());
    let server = Application::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", server.port());
    let task = tokio::spawn(async move {
        let _ = server.run_until(std::future::pending()).await;
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .post(format!("{base}/rpc/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "text/html")
        .header("sec-fetch-site", "same-origin")
        .body("email=admin%40example.com&password=admin-password")
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(r.headers().contains_key("strict-transport-security"));
    let token = cookie
        .split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v.to_owned())
        .unwrap();
    let r = http
        .post(format!("{base}/api/datasources"))
        .bearer_auth(&token)
        .json(&json!({"@type": "S3Datasource", "title": "Ids", "bucket": "ids-bucket"}))
        .send()
        .await
        .unwrap();
    let ds: Value = r.json().await.unwrap();
    assert!(
        ds["@id"]
            .as_str()
            .unwrap()
            .starts_with("https://tributary.example.org/api/datasources/"),
        "{ds}"
    );
    task.abort();
    db.cleanup().await.unwrap();
}

/// A client that opens a connection and sends its request head slowly, or leaves a
/// keep-alive connection idle, loses the connection after the header timeout.
#[tokio::test]
async fn slow_and_idle_connections_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = TestDb::new("sqlite").await.unwrap();
    let mut config = crate::common::config_for(db.dir.path(), &db.url);
    config.header_timeout_secs = 1;
    let app = Application::build(config).await.unwrap();
    let addr = format!("127.0.0.1:{}", app.port());
    let server = tokio::spawn(async move {
        let _ = app.run_until(std::future::pending()).await;
    });
    let closed_within = |mut s: tokio::net::TcpStream| async move {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match tokio::time::timeout(std::time::Duration::from_secs(10), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return Ok(String::from_utf8_lossy(&seen).into_owned()),
                Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
                Err(_) => return Err(String::from_utf8_lossy(&seen).into_owned()),
            }
        }
    };
    // Half a request head, then nothing.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let said = closed_within(slow)
        .await
        .expect("the slow connection was closed");
    assert!(!said.contains("200 OK"), "{said}");
    // A whole request, answered, then an idle keep-alive connection.
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let said = closed_within(idle)
        .await
        .expect("the idle connection was closed");
    assert!(said.starts_with("HTTP/1.1 200"), "{said}");
    server.abort();
    db.cleanup().await.unwrap();
}
