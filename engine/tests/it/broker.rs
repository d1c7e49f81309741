//! Spyder jobs announced on the real RabbitMQ at 127.0.0.1:5672 (`TEST_AMQP_URL` to use
//! another), on SQLite and PostgreSQL: `@sendToSpyder` publishes a persistent JSON message
//! naming the job and the datasource; a spyder manager whose workers would otherwise sleep for
//! an hour between polls collects a new datasource and a requested sync within seconds,
//! because the announcement wakes them.

use std::time::Duration;

use engine::broker::Broker;
use engine::domain::{AccountRole, SyncStatus};
use engine::manager::{ManagerConfig, SpyderManager};
use engine::testing::TestDb;
use lapin::options::{BasicGetOptions, QueueDeleteOptions};
use serde_json::{Value, json};

fn amqp_url() -> String {
    std::env::var("TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A queue of this test's own, deleted at the end.
fn queue_name(what: &str) -> String {
    format!("tributary-test-{what}-{}", uuid::Uuid::new_v4().simple())
}

/// A second connection, as another tool following the queue would have.
async fn side_channel() -> (lapin::Connection, lapin::Channel) {
    let c = lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default())
        .await
        .expect("RabbitMQ at 127.0.0.1:5672 (guest/guest)");
    let ch = c.create_channel().await.unwrap();
    (c, ch)
}

async fn status_of(e: &engine::Engine, id: &str) -> SyncStatus {
    e.store().datasource(id).await.unwrap().unwrap().sync_status
}

/// Waits up to `secs` for `id` to have finished `runs` runs.
async fn synced_runs(e: &engine::Engine, id: &str, runs: i64, secs: u64) -> bool {
    for _ in 0..secs * 10 {
        let n = e
            .store()
            .datasource(id)
            .await
            .unwrap()
            .and_then(|d| d.last_sync_finished_at)
            .map(|_| ());
        if n.is_some() && status_of(e, id).await == SyncStatus::Synced {
            let count = e.store().list_sync_runs(id, 10).await.unwrap().len() as i64;
            if count >= runs {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn send_to_spyder_publishes_the_job(backend: &str) {
    let queue = queue_name("publish");
    let broker = Broker::connect(&amqp_url(), &queue).await.unwrap();
    let db = TestDb::new(backend).await.unwrap();
    let e = db.engine().await.unwrap().with_broker(broker);
    let u = e
        .create_user("mq@example.com", "", "password123", AccountRole::Admin)
        .await
        .unwrap();
    let folder = db.folder_root().join("announced");
    std::fs::create_dir_all(&folder).unwrap();
    let ds = e
        .create_datasource(
            &u,
            &json!({"@type": "FolderDatasource", "title": "announced",
                    "path": std::fs::canonicalize(&folder).unwrap()}),
        )
        .await
        .unwrap();
    let (job, new) = e.send_to_spyder(&u, &ds.id, false).await.unwrap();
    assert!(!new, "the first sync's job is queued already");

    // Two messages, both naming that job: the first sync's, and the one @sendToSpyder sent.
    let (_c, ch) = side_channel().await;
    let mut got = Vec::new();
    for _ in 0..2 {
        let m = ch
            .basic_get(&queue, BasicGetOptions { no_ack: true })
            .await
            .unwrap()
            .expect("an announcement in the queue");
        assert_eq!(
            m.delivery.properties.delivery_mode(),
            &Some(2),
            "persistent"
        );
        got.push(serde_json::from_slice::<Value>(&m.delivery.data).unwrap());
    }
    for m in &got {
        assert_eq!(m["job"], job.id, "{m}");
        assert_eq!(m["datasource"], ds.id, "{m}");
        assert_eq!(m["force"], false, "{m}");
        assert!(m["run_after"].is_string(), "{m}");
    }
    assert!(
        ch.basic_get(&queue, BasicGetOptions { no_ack: true })
            .await
            .unwrap()
            .is_none()
    );
    ch.queue_delete(&queue, QueueDeleteOptions::default())
        .await
        .unwrap();
    db.cleanup().await.unwrap();
}

async fn announcements_wake_the_workers(backend: &str) {
    let queue = queue_name("wake");
    let broker = Broker::connect(&amqp_url(), &queue).await.unwrap();
    let db = TestDb::new(backend).await.unwrap();
    let e = db.engine().await.unwrap().with_broker(broker);
    let mut cfg = ManagerConfig::new(db.dir.path().join("blobs"));
    cfg.workers = 1;
    // Without the announcements nothing would be collected within the test's patience.
    cfg.idle_poll = Duration::from_secs(3600);
    let m = SpyderManager::new(e.clone(), cfg);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let pool = m.spawn(async move {
        let _ = stopped.await;
    });
    // Let the worker find the queue empty and go to sleep.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let u = e
        .create_user("mq2@example.com", "", "password123", AccountRole::Admin)
        .await
        .unwrap();
    let folder = db.folder_root().join("woken");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("a.txt"), "first").unwrap();
    let ds = e
        .create_datasource(
            &u,
            &json!({"@type": "FolderDatasource", "title": "woken",
                    "path": std::fs::canonicalize(&folder).unwrap()}),
        )
        .await
        .unwrap();
    assert!(
        synced_runs(&e, &ds.id, 1, 20).await,
        "the first sync ran at once"
    );
    std::fs::write(folder.join("b.txt"), "second").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    e.send_to_spyder(&u, &ds.id, true).await.unwrap();
    assert!(
        synced_runs(&e, &ds.id, 2, 20).await,
        "the requested sync ran at once"
    );
    assert_eq!(
        e.store()
            .datasource(&ds.id)
            .await
            .unwrap()
            .unwrap()
            .resource_count,
        2
    );
    // Shutting down does not wait for the hour-long poll.
    let t = std::time::Instant::now();
    stop.send(()).unwrap();
    pool.await.unwrap();
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    let (_c, ch) = side_channel().await;
    ch.queue_delete(&queue, QueueDeleteOptions::default())
        .await
        .unwrap();
    db.cleanup().await.unwrap();
}

#[tokio::test]
async fn sqlite_send_to_spyder_publishes_the_job() {
    send_to_spyder_publishes_the_job("sqlite").await;
}

#[tokio::test]
async fn postgres_send_to_spyder_publishes_the_job() {
    send_to_spyder_publishes_the_job("postgres").await;
}

#[tokio::test]
async fn sqlite_announcements_wake_the_workers() {
    announcements_wake_the_workers("sqlite").await;
}

#[tokio::test]
async fn postgres_announcements_wake_the_workers() {
    announcements_wake_the_workers("postgres").await;
}
