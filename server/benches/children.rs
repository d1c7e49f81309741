//! `@getAllChildren` latency with 1,000,000 children: the first page and a page 500,000 items
//! deep, over HTTP on loopback, on SQLite and PostgreSQL. Prints figures; asserts nothing about
//! time. Run: `cargo bench -p server --bench children` (`CHILDREN=N` to change the size).

#[path = "../tests/it/common.rs"]
#[allow(dead_code, unused_macros)]
mod common;

use std::time::{Duration, Instant};

use engine::domain::Cursor;
use engine::testing::TestDb;
use serde_json::{Value, json};
use server::Application;

const REQUESTS: usize = 200;

fn median_p95(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (
        ms(v[v.len() / 2]),
        ms(v[(v.len() * 95 / 100).min(v.len() - 1)]),
    )
}

async fn run(backend: &str, n: usize) {
    let db = TestDb::new(backend).await.expect("database");
    let app = Application::build(common::config_for(db.dir.path(), &db.url))
        .await
        .expect("app");
    let base = format!("http://127.0.0.1:{}", app.port());
    let engine = app.state.engine.clone();
    let server = tokio::spawn(async move {
        let _ = app.run_until(std::future::pending()).await;
    });
    let http = reqwest::Client::new();
    let token = http
        .post(format!("{base}/api/@login"))
        .json(&json!({"username": "admin@example.com", "password": "admin-password"}))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("login")
        .json::<Value>()
        .await
        .expect("token")["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let ds: Value = http
        .post(format!("{base}/api/datasources"))
        .bearer_auth(&token)
        .json(&json!({"@type": "S3Datasource", "title": "bench", "bucket": "bench"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let id = ds["id"].as_str().expect("id").to_owned();

    let t = Instant::now();
    let chunk = 5_000;
    for start in (0..n).step_by(chunk) {
        let rs: Vec<_> = (start..(start + chunk).min(n))
            .map(|i| engine::service::sample_resource(&id, i))
            .collect();
        engine.add_resources(&id, &rs).await.expect("insert");
    }
    let fill = t.elapsed();

    // The key of the item just before position n/2, found once, so the deep cursor is exactly
    // what a client holds after paging that far.
    let first = engine
        .store()
        .list_children(&id, 0, 1)
        .await
        .expect("first")
        .rows[0]
        .0;
    let deep_cursor = Cursor::new(format!("children:{id}"), first + (n / 2) as i64 - 1).encode();

    let url = format!("{base}/api/datasources/{id}/@getAllChildren");
    let mut report = Vec::new();
    for (label, scroll) in [("first page", None), ("page at 500,000", Some(deep_cursor))] {
        let body = match &scroll {
            Some(c) => json!({"page_size": 20, "scroll": c}),
            None => json!({"page_size": 20}),
        };
        let mut times = Vec::with_capacity(REQUESTS);
        for i in 0..REQUESTS + 20 {
            let t = Instant::now();
            let r: Value = http
                .post(&url)
                .bearer_auth(&token)
                .body(body.to_string())
                .send()
                .await
                .expect("page")
                .json()
                .await
                .expect("json");
            let e = t.elapsed();
            assert_eq!(r["items"].as_array().map(Vec::len), Some(20), "{r}");
            if i >= 20 {
                times.push(e); // the first 20 warm caches
            }
        }
        let (med, p95) = median_p95(times);
        report.push((label, med, p95));
    }
    println!(
        "{backend}: filled {n} children in {:.1} s",
        fill.as_secs_f64()
    );
    for (label, med, p95) in &report {
        println!(
            "  {backend:8} {label:16} median {med:6.2} ms   p95 {p95:6.2} ms   ({REQUESTS} requests)"
        );
    }
    println!(
        "  {backend:8} deep/first median ratio: {:.2}",
        report[1].1 / report[0].1
    );
    server.abort();
    db.cleanup().await.expect("cleanup");
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("CHILDREN")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let backends: Vec<String> = std::env::var("BACKENDS")
        .map(|s| s.split(',').map(str::to_owned).collect())
        .unwrap_or_else(|_| vec!["sqlite".into(), "postgres".into()]);
    for b in backends {
        run(&b, n).await;
    }
}
