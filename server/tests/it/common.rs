//! What the server's integration tests (and benches) share: one configuration for tests, one
//! way to start a server on loopback, and `on_both!` to run a test on SQLite and PostgreSQL.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use server::{AppState, Application, Config};

/// Settings for tests: a data directory, a database URL, port 0.
pub fn config_for(data_dir: &Path, database_url: &str) -> Config {
    Config {
        data_dir: data_dir.to_owned(),
        database_url: Some(database_url.to_owned()),
        db_pool: None,
        listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        folder_roots: None,
        // The tests' fakes of Dropbox, Slack and S3 listen on loopback.
        connector_endpoints: Some("http://127.0.0.1:*".into()),
        public_url: None,
        site_root: PathBuf::from("target/site"),
        admin_email: Some("admin@example.com".into()),
        admin_password: Some("admin-password".into()),
        // Tests run jobs themselves (`run_due_now`), deterministically.
        workers: 0,
        schedule_minutes: "20-30".into(),
        sync_batch: 500,
        max_file_mb: 1024,
        // The test binary is not `tributary`: tests that need the children name it.
        extractor: Some(PathBuf::from("in-process")),
        extract_secs: 30,
        header_timeout_secs: 10,
        job_lease_secs: 60,
        wallet_key: None,
        amqp_url: None,
        amqp_queue: "tributary.spyder-jobs".into(),
    }
}

/// A server started on loopback by [`start`].
pub struct Running {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub state: AppState,
    pub server: tokio::task::JoinHandle<()>,
}

/// Builds the application from `config` and serves it on a task of its own.
pub async fn start(config: Config) -> Running {
    let app = Application::build(config).await.expect("app");
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state.clone();
    let server = tokio::spawn(async move {
        let _ = app.run_until(std::future::pending()).await;
    });
    Running {
        base,
        state,
        server,
    }
}

/// An HTTP client that shows redirects instead of following them.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Runs each test on both backends, as a test of its own. `on_both!(a, b)` calls
/// `super::a("sqlite")`; `on_both!(spawn => a, b)` calls `super::a(&fixture)` with the fixture
/// `super::spawn(backend)` makes, and ends it with its `finish()`.
macro_rules! on_both {
    (spawn => $($name:ident),+ $(,)?) => {
        mod sqlite { $(#[tokio::test] async fn $name() { let app = super::spawn("sqlite").await; super::$name(&app).await; app.finish().await; })+ }
        mod postgres { $(#[tokio::test] async fn $name() { let app = super::spawn("postgres").await; super::$name(&app).await; app.finish().await; })+ }
    };
    ($($name:ident),+ $(,)?) => {
        mod sqlite { $(#[tokio::test] async fn $name() { super::$name("sqlite").await })+ }
        mod postgres { $(#[tokio::test] async fn $name() { super::$name("postgres").await })+ }
    };
}
#[allow(unused_imports)]
pub(crate) use on_both;
