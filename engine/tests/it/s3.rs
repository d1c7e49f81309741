//! The S3 spyder against a real S3-compatible server on loopback (`moto_server`, from PyPI;
//! `scripts/test` installs it), on SQLite and PostgreSQL: a mirror follows adds, changes and
//! deletions; credentials live sealed in the wallet and never in settings; a missing bucket is
//! an `error` with the reason.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use engine::domain::{AccountRole, SyncStatus};
use engine::manager::{ManagerConfig, SpyderManager};
use engine::testing::TestDb;
use serde_json::json;

struct Moto {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn moto() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server (pip install 'moto[server]'; scripts/test installs it)");
    // From here on `Moto`'s Drop kills and waits for the server, whatever happens.
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
        http: reqwest::Client::new(),
    };
    for _ in 0..200 {
        if moto.http.get(&moto.url).send().await.is_ok() {
            return moto;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("moto_server did not start");
}

impl Moto {
    /// Objects are written as a client would, signed with the test keys.
    fn client(&self, bucket: &str) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region("us-east-1")
            .with_endpoint(&self.url)
            .with_allow_http(true)
            .with_access_key_id("AKIDTESTING")
            .with_secret_access_key("very-secret-key-123")
            .build()
            .unwrap()
    }
    async fn put(&self, bucket: &str, key: &str, body: &str) {
        use object_store::ObjectStore;
        self.client(bucket)
            .put(&key.into(), body.to_owned().into())
            .await
            .unwrap();
    }
    async fn delete(&self, bucket: &str, key: &str) {
        use object_store::ObjectStore;
        self.client(bucket).delete(&key.into()).await.unwrap();
    }
    async fn bucket(&self, bucket: &str) {
        let r = self
            .http
            .put(format!("{}/{bucket}", self.url))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
}

async fn contents(e: &engine::Engine, m: &SpyderManager, id: &str) -> BTreeMap<String, String> {
    engine::testing::collected(e, m.blobs(), id).await.unwrap()
}

async fn s3_mirror(backend: &str) {
    let s3 = moto().await;
    s3.bucket("docs").await;
    let mut source = BTreeMap::new();
    for i in 0..30 {
        let key = format!("team/{}/doc{i:02}.txt", ["a", "b", "c"][i % 3]);
        let body = format!("document {i}");
        s3.put("docs", &key, &body).await;
        source.insert(key, body);
    }
    s3.put("docs", "other/outside-prefix.txt", "not collected")
        .await;

    let db = TestDb::new(backend).await.unwrap();
    let e = db.engine().await.unwrap();
    let mut cfg = ManagerConfig::new(db.dir.path().join("blobs"));
    cfg.batch = 8;
    let m = SpyderManager::new(e.clone(), cfg);
    let u = e
        .create_user("s3@example.com", "", "password123", AccountRole::Member)
        .await
        .unwrap();
    let ds = e
        .create_datasource(
            &u,
            &json!({"@type": "S3Datasource", "title": "docs", "bucket": "docs", "prefix": "team/",
                    "endpoint": s3.url, "region": "us-east-1", "type_sync": "auto",
                    "access_key_id": "AKIDTESTING", "secret_access_key": "very-secret-key-123"}),
        )
        .await
        .unwrap();
    assert_eq!(ds.sync_status, SyncStatus::Pending);
    // The keys are in the wallet, sealed; not in the settings.
    assert!(
        !serde_json::to_string(&ds.settings)
            .unwrap()
            .contains("very-secret-key-123")
    );
    let sealed = e.store().secrets(&ds.id).await.unwrap();
    assert_eq!(sealed.len(), 2);
    assert!(
        sealed
            .iter()
            .all(|(_, s)| !s.contains("very-secret") && !s.contains("AKIDTESTING"))
    );
    assert_eq!(
        e.credential_names(&ds.id).await.unwrap(),
        vec!["access_key_id", "secret_access_key"]
    );

    m.run_due_now().await.unwrap();
    let stored = e.store().datasource(&ds.id).await.unwrap().unwrap();
    assert_eq!(
        stored.sync_status,
        SyncStatus::Synced,
        "{:?}",
        stored.status_reason
    );
    assert_eq!(contents(&e, &m, &ds.id).await, source);

    // Change one, delete one, add one: the mirror follows.
    s3.put("docs", "team/a/doc00.txt", "changed").await;
    source.insert("team/a/doc00.txt".into(), "changed".into());
    s3.delete("docs", "team/b/doc01.txt").await;
    source.remove("team/b/doc01.txt");
    s3.put("docs", "team/new.txt", "new").await;
    source.insert("team/new.txt".into(), "new".into());
    e.send_to_spyder(&u, &ds.id, false).await.unwrap();
    m.run_due_now().await.unwrap();
    assert_eq!(contents(&e, &m, &ds.id).await, source);
    let runs = e.sync_history(&u, &ds.id, 5).await.unwrap();
    assert_eq!(
        (runs[0].added, runs[0].updated, runs[0].deleted),
        (1, 1, 1),
        "{:?}",
        runs[0]
    );

    // Refreshing credentials: only the kind's fields, both keys together.
    assert_eq!(
        e.refresh_credentials(&u, &ds.id, &json!({"access_key_id": "x"}))
            .await
            .unwrap_err()
            .field(),
        Some("secret_access_key")
    );
    assert!(
        e.refresh_credentials(&u, &ds.id, &json!({"password": "x"}))
            .await
            .is_err()
    );
    e.refresh_credentials(
        &u,
        &ds.id,
        &json!({"access_key_id": "AKID2", "secret_access_key": "another-secret"}),
    )
    .await
    .unwrap();

    // A bucket that does not exist: error, with the reason, until a person acts.
    let missing = e
        .create_datasource(
            &u,
            &json!({"@type": "S3Datasource", "title": "gone", "bucket": "no-such-bucket", "endpoint": s3.url}),
        )
        .await
        .unwrap();
    m.run_due_now().await.unwrap();
    let gone = e.store().datasource(&missing.id).await.unwrap().unwrap();
    assert_eq!(
        gone.sync_status,
        SyncStatus::Error,
        "{:?}",
        gone.status_reason
    );
    db.cleanup().await.unwrap();
}

#[tokio::test]
async fn sqlite_s3_mirror() {
    s3_mirror("sqlite").await;
}

#[tokio::test]
async fn postgres_s3_mirror() {
    s3_mirror("postgres").await;
}

/// A TCP relay in front of moto_server. At the first connection it lets `on_first` run (the
/// test pauses the datasource there, while the spyder's request is in flight), then it either
/// relays every connection to moto or drops them all, like a network that went away.
async fn relay<F, Fut>(target: String, forward: bool, on_first: F) -> String
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let target = target.trim_start_matches("http://").to_owned();
    tokio::spawn(async move {
        let mut on_first = Some(on_first);
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            if let Some(f) = on_first.take() {
                f().await;
            }
            if !forward {
                drop(inbound);
                continue;
            }
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    url
}

/// A pause that lands while a run is between its last look at the status and its end wins:
/// a run that fails then, or finishes then, leaves the datasource paused and its job where
/// resume finds it, never holding a worker or waiting out a retry delay.
async fn a_pause_during_the_last_request_wins(backend: &str) {
    let s3 = moto().await;
    s3.bucket("full").await;
    for i in 0..5 {
        s3.put("full", &format!("doc{i}.txt"), &format!("document {i}"))
            .await;
    }
    s3.bucket("empty").await;
    let db = TestDb::new(backend).await.unwrap();
    let e = db.engine().await.unwrap();
    let m = SpyderManager::new(e.clone(), ManagerConfig::new(db.dir.path().join("blobs")));
    let u = e
        .create_user("pause@example.com", "", "password123", AccountRole::Member)
        .await
        .unwrap();
    let create = |title: &str, bucket: &str, endpoint: &str| {
        let (e, u) = (e.clone(), u.clone());
        let body = json!({"@type": "S3Datasource", "title": title, "bucket": bucket,
                          "endpoint": endpoint, "type_sync": "auto",
                          "access_key_id": "AKIDTESTING", "secret_access_key": "very-secret-key-123"});
        async move { e.create_datasource(&u, &body).await.unwrap().id }
    };
    let status = |id: String| {
        let e = e.clone();
        async move {
            e.store()
                .datasource(&id)
                .await
                .unwrap()
                .unwrap()
                .sync_status
        }
    };
    let pauser = |id: std::sync::Arc<std::sync::OnceLock<String>>| {
        let (e, u) = (e.clone(), u.clone());
        move || async move {
            e.pause(&u, id.get().expect("the datasource exists"))
                .await
                .unwrap();
        }
    };

    // 1. The listing fails (the connection drops) after the pause landed.
    let slot = std::sync::Arc::new(std::sync::OnceLock::new());
    let dead = relay(s3.url.clone(), false, pauser(slot.clone())).await;
    let failing = create("fails while pausing", "full", &dead).await;
    slot.set(failing.clone()).unwrap();
    assert_eq!(m.run_due_now().await.unwrap(), 1);
    assert_eq!(status(failing.clone()).await, SyncStatus::Paused);
    let job = e.store().paused_job(&failing).await.unwrap();
    let job = job.expect("the job waits for resume");
    assert!(job.last_error.is_some(), "{job:?}");
    let runs = e.sync_history(&u, &failing, 5).await.unwrap();
    assert_eq!(runs[0].outcome, "failed", "{:?}", runs[0]);
    // Resumed against a reachable endpoint, it runs at once and finishes.
    let mut ds = e.store().datasource(&failing).await.unwrap().unwrap();
    ds.settings["endpoint"] = json!(s3.url);
    e.store().update_datasource(&ds).await.unwrap();
    // Credentials are sealed to the endpoint they were given for: pointed elsewhere behind the
    // API's back, the datasource needs them again for the new one.
    e.refresh_credentials(
        &u,
        &failing,
        &json!({"access_key_id": "AKIDTESTING", "secret_access_key": "very-secret-key-123"}),
    )
    .await
    .unwrap();
    e.resume(&u, &failing).await.unwrap();
    assert_eq!(m.run_due_now().await.unwrap(), 1, "queued now, not in 30 s");
    assert_eq!(status(failing.clone()).await, SyncStatus::Synced);
    assert_eq!(contents(&e, &m, &failing).await.len(), 5);

    // 2. The listing succeeds (an empty bucket: the run ends with it) after the pause landed.
    let slot = std::sync::Arc::new(std::sync::OnceLock::new());
    let live = relay(s3.url.clone(), true, pauser(slot.clone())).await;
    let ending = create("ends while pausing", "empty", &live).await;
    slot.set(ending.clone()).unwrap();
    assert_eq!(m.run_due_now().await.unwrap(), 1);
    assert_eq!(status(ending.clone()).await, SyncStatus::Paused);
    let runs = e.sync_history(&u, &ending, 5).await.unwrap();
    assert_eq!(runs[0].outcome, "synced", "{:?}", runs[0]);
    let ds = e.store().datasource(&ending).await.unwrap().unwrap();
    assert_eq!(ds.next_sync_due_at, None, "a pause stops the schedule");
    assert!(e.store().live_job(&ending).await.unwrap().is_none());
    e.resume(&u, &ending).await.unwrap();
    assert_eq!(m.run_due_now().await.unwrap(), 1, "resume queues a run");
    assert_eq!(status(ending.clone()).await, SyncStatus::Synced);
    db.cleanup().await.unwrap();
}

#[tokio::test]
async fn sqlite_a_pause_during_the_last_request_wins() {
    a_pause_during_the_last_request_wins("sqlite").await;
}

#[tokio::test]
async fn postgres_a_pause_during_the_last_request_wins() {
    a_pause_during_the_last_request_wins("postgres").await;
}
