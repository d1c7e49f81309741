//! Kill the server (SIGKILL) at random points of a large Folder sync, several times, restart
//! it each time, and check the end state against the source: every file there exactly once,
//! with the right content in the blob store, and the counts right. On SQLite and PostgreSQL.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use engine::testing::TestDb;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    base: String,
}

fn start(data: &Path, db_url: &str, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .env("TRIBUTARY_DATA_DIR", data)
        .env("DATABASE_URL", db_url)
        .env("TRIBUTARY_LISTEN", format!("127.0.0.1:{port}"))
        .env("TRIBUTARY_ADMIN_EMAIL", "admin@example.com")
        .env("TRIBUTARY_ADMIN_PASSWORD", "admin-password")
        .env("TRIBUTARY_WORKERS", "1")
        .env("TRIBUTARY_SYNC_BATCH", "40")
        .env("TRIBUTARY_JOB_LEASE_SECS", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server binary");
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

async fn wait_up(http: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if http.get(format!("{base}/health")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not start");
}

async fn token(http: &reqwest::Client, base: &str) -> String {
    let r = http
        .post(format!("{base}/api/@login"))
        .json(&json!({"username": "admin@example.com", "password": "admin-password"}))
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn get_json(http: &reqwest::Client, url: &str, auth: &str) -> Value {
    http.get(url)
        .header("authorization", auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn make_source(root: &Path, n: usize) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for i in 0..n {
        let rel = format!("d{:02}/e{:02}/file_{i:05}.txt", i % 17, i % 5);
        let text = format!("file {i} {}", "x".repeat(i % 300));
        let p = root.join(&rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &text).unwrap();
        files.insert(rel, text);
    }
    files
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn crash_and_restart(backend: &str) {
    let db = TestDb::new(backend).await.unwrap();
    let data = db.dir.path().join("data");
    let root = data.join("folders").join("big");
    let source = make_source(&root, 1500);
    let http = reqwest::Client::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);

    let port = free_port();
    let mut server = start(&data, &db.url, port);
    wait_up(&http, &server.base).await;
    let auth = format!("Bearer {}", token(&http, &server.base).await);
    let canonical = std::fs::canonicalize(&root).unwrap();
    let ds: Value = http
        .post(format!("{}/api/datasources", server.base))
        .header("authorization", &auth)
        .json(&json!({"@type": "FolderDatasource", "title": "big", "path": canonical}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = ds["@id"].as_str().unwrap().to_owned();

    // Kill it mid-sync a few times, each time once more files were committed than at the last
    // kill (so the sync had resumed from its checkpoint and gone on); each restart picks the job
    // up after its lease runs out.
    let mut kills = 0;
    let mut committed_at_kill = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while kills < 3 && Instant::now() < deadline {
        let status = get_json(&http, &url, &auth).await;
        if status["sync_status"] == "synced" {
            break;
        }
        let committed = status["resource_count"].as_u64().unwrap_or(0);
        if committed <= committed_at_kill {
            tokio::time::sleep(Duration::from_millis(rng.gen_range(5..30))).await;
            continue;
        }
        println!(
            "{backend}: kill at {committed} of {} files ({})",
            source.len(),
            status["sync_status"]
        );
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
        kills += 1;
        committed_at_kill = committed;
        server = start(&data, &db.url, port);
        wait_up(&http, &server.base).await;
    }
    assert!(
        kills >= 1,
        "the sync finished before any kill mid-sync: make the source bigger"
    );

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let v = get_json(&http, &url, &auth).await;
        if v["sync_status"] == "synced" {
            assert_eq!(v["resource_count"], source.len(), "{v}");
            let bytes: usize = source.values().map(String::len).sum();
            assert_eq!(v["byte_count"], bytes);
            break;
        }
        assert!(Instant::now() < deadline, "never synced: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Every file exactly once, with its content.
    let mut seen = BTreeMap::new();
    let mut scroll: Option<String> = None;
    loop {
        let mut body = json!({"page_size": 1000});
        if let Some(s) = &scroll {
            body["scroll"] = json!(s);
        }
        let page: Value = http
            .post(format!("{url}/@getAllChildren"))
            .header("authorization", &auth)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for item in page["items"].as_array().unwrap() {
            let id = item["source_id"].as_str().unwrap().to_owned();
            let hash = item["content_hash"].as_str().unwrap().to_owned();
            assert!(seen.insert(id.clone(), hash).is_none(), "{id} twice");
        }
        match page["cursor"].as_str() {
            Some(c) => scroll = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen.keys().collect::<Vec<_>>(),
        source.keys().collect::<Vec<_>>()
    );
    // The blob store as a new process finds it on disk (packs and their indexes).
    let blobs = engine::blobs::BlobStore::new(data.join("blobs"));
    for (rel, text) in &source {
        assert_eq!(seen[rel], sha256_hex(text), "{rel}");
        let blob = blobs.read(&seen[rel]).unwrap();
        assert_eq!(blob, text.as_bytes(), "{rel}'s blob");
    }
    println!(
        "{backend}: {kills} kills, {} files, end state matches",
        source.len()
    );
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    db.cleanup().await.unwrap();
}

#[tokio::test]
async fn sqlite_survives_sigkill() {
    crash_and_restart("sqlite").await;
}

#[tokio::test]
async fn postgres_survives_sigkill() {
    crash_and_restart("postgres").await;
}
