//! The hostile corpus (`tests/hostile/corpus`, made by `make.py` there): files made to hurt an
//! extractor. The real `tributary` binary collects them as a Folder datasource and processes
//! them with its extraction children; it survives all of them, each gets its outcome (most a
//! reason), and the ordinary files in the same batch are processed and found.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use engine::testing::TestDb;
use serde_json::{Value, json};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn copy_corpus(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile/corpus");
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[tokio::test]
async fn the_server_survives_the_hostile_corpus() {
    let db = TestDb::new("sqlite").await.unwrap();
    let data = db.dir.path();
    let folder = data.join("folders").join("hostile");
    copy_corpus(&folder);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let server = Server(
        Command::new(env!("CARGO_BIN_EXE_tributary"))
            .env("TRIBUTARY_DATA_DIR", data)
            .env("DATABASE_URL", &db.url)
            .env("TRIBUTARY_LISTEN", format!("127.0.0.1:{port}"))
            .env("TRIBUTARY_ADMIN_EMAIL", "admin@example.com")
            .env("TRIBUTARY_ADMIN_PASSWORD", "admin-password")
            .env("TRIBUTARY_WORKERS", "1")
            // A runaway extraction is stopped after this long (the default is 30 s).
            .env("TRIBUTARY_EXTRACT_SECS", "5")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server binary"),
    );
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http.get(format!("{base}/health")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = http
        .post(format!("{base}/api/@login"))
        .json(&json!({"username": "admin@example.com", "password": "admin-password"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = std::fs::canonicalize(&folder).unwrap();
    let ds: Value = http
        .post(format!("{base}/api/datasources"))
        .bearer_auth(&token)
        .json(&json!({"@type": "FolderDatasource", "title": "Hostile", "path": path}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = ds["id"].as_str().unwrap().to_owned();
    let files = std::fs::read_dir(&folder).unwrap().count();

    // Every file reaches an outcome, the server answering all along (a crash would refuse
    // the connection; a crash loop would never finish).
    let mut children = Value::Null;
    for _ in 0..600 {
        let health = http.get(format!("{base}/health")).send().await;
        assert!(
            health.is_ok_and(|r| r.status() == 200),
            "the server went down"
        );
        children = http
            .get(format!(
                "{base}/api/datasources/{id}/@getAllChildren?page_size=100"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = children["items"].as_array().cloned().unwrap_or_default();
        let done = items
            .iter()
            .filter(|r| {
                matches!(
                    r["processing_status"].as_str(),
                    Some("processed" | "failed")
                )
            })
            .count();
        if items.len() == files && done == files {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let items = children["items"].as_array().unwrap();
    assert_eq!(items.len(), files, "{children}");
    let outcome = |name: &str| {
        let r = items
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} not collected: {children}"));
        (
            r["processing_status"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            r["processing_error"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };
    for r in items {
        let status = r["processing_status"].as_str().unwrap();
        assert!(
            status == "processed" || status == "failed",
            "{} is {status}",
            r["name"]
        );
        if status == "failed" {
            assert!(
                !r["processing_error"]
                    .as_str()
                    .unwrap_or_default()
                    .is_empty(),
                "a failure says why: {r}"
            );
        }
    }
    for bomb in [
        "bomb.docx",
        "bomb.pptx",
        "bomb.xlsx",
        "bomb.odt",
        "bomb.ods",
        "bomb.odp",
        "parts.docx",
    ] {
        let (status, why) = outcome(bomb);
        assert_eq!(status, "failed", "{bomb}");
        assert!(why.contains("too large"), "{bomb}: {why}");
    }
    assert_eq!(outcome("ok.txt").0, "processed");
    assert_eq!(outcome("ok.html").0, "processed");
    // Parsing HTML nested 25,000 deep is slow (the parser looks through the open elements at
    // every tag): it either finishes or is stopped at the limit, and never crashes the server.
    let deep = outcome("deep.html");
    assert!(
        deep.0 == "processed" || deep.1.starts_with("timed out"),
        "{deep:?}"
    );
    assert_eq!(outcome("huge.xlsx").0, "processed");
    let pdf = outcome("loop.pdf");
    assert_eq!(pdf.0, "failed", "{pdf:?}");
    // What was processed is searchable: the ordinary files, and the deep page's text.
    for (word, name) in [
        ("survivor", "ok.txt"),
        ("survivor-html-needle", "ok.html"),
        ("invalid-utf8-needle", "bad.txt"),
    ] {
        // The index commits about once a second behind the pipeline.
        let mut found = Value::Null;
        for _ in 0..100 {
            found = http
                .post(format!("{base}/api/datasources/{id}/@frontsearch"))
                .bearer_auth(&token)
                .json(&json!({"query": word}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if found.to_string().contains(name) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            found.to_string().contains(name),
            "{word} finds {name}: {found}"
        );
    }
    drop(server);
    db.cleanup().await.unwrap();
}
