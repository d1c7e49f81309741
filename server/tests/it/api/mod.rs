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

mod accounts;
mod datasources;
mod live;
mod pages;
mod search;
