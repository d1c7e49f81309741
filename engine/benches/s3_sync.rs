//! An `auto` re-sync from S3 after `gen_corpus.py mutate`, beside `rclone sync` from the same
//! S3 server, in one run. Run through `bench/s3_sync.sh`, which starts moto_server, loads the
//! corpus into a bucket and sets:
//!   S3_ENDPOINT, S3_BUCKET   the server and bucket
//!   S3_SRC                   the folder the bucket mirrors (mutated here between runs)
//!   S3_WORK                  scratch space
//!   RUNS                     re-syncs to time (default 3)
//!   RCLONE_DEFAULTS=0        skip rclone with its defaults (a HEAD per object: minutes a run)
//!
//! Both tools first sync the whole bucket (timed, for information). Then each run mutates the
//! folder (1% changed, 1% deleted; a different seed each run), carries it over to the bucket,
//! and times Tributary's re-sync (`@sendToSpyder` and the spyder run to `synced`) beside
//! `rclone sync` twice: with its defaults (modification times from object metadata, a HEAD per
//! object that has one) and with `--fast-list --use-server-modtime` (listing only, as Tributary
//! does). After every run all of them must hold exactly the folder's files and sizes.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::{median, setup, tmpdir};
use serde_json::json;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run bench/s3_sync.sh"))
}

/// Every file under `root` with its size, by relative path.
fn files(root: &Path) -> BTreeMap<String, i64> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, i64>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, e.metadata().unwrap().len() as i64);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn rclone_sync(dst: &Path, fast: bool) -> f64 {
    let mut cmd = Command::new("rclone");
    cmd.args(["sync", "--transfers", "4", "--checkers", "8"]);
    if fast {
        cmd.args(["--fast-list", "--use-server-modtime"]);
    }
    let endpoint = env("S3_ENDPOINT");
    // The machine's AWS_CA_BUNDLE (for real AWS) breaks rclone's plain-HTTP endpoint.
    cmd.env_remove("AWS_CA_BUNDLE")
        .env("RCLONE_CONFIG_MOTO_TYPE", "s3")
        .env("RCLONE_CONFIG_MOTO_PROVIDER", "Other")
        .env("RCLONE_CONFIG_MOTO_ENDPOINT", &endpoint)
        .env("RCLONE_CONFIG_MOTO_ACCESS_KEY_ID", "bench")
        .env("RCLONE_CONFIG_MOTO_SECRET_ACCESS_KEY", "bench")
        .env("RCLONE_CONFIG_MOTO_REGION", "us-east-1")
        .arg(format!("moto:{}", env("S3_BUCKET")))
        .arg(dst);
    let t = Instant::now();
    let status = cmd.status().expect("rclone (apt-get install rclone)");
    assert!(status.success());
    t.elapsed().as_secs_f64()
}

fn run_script(args: &[&str]) {
    let out = Command::new("python3").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::main]
async fn main() {
    let (endpoint, bucket) = (env("S3_ENDPOINT"), env("S3_BUCKET"));
    let src = PathBuf::from(env("S3_SRC"));
    let work = PathBuf::from(env("S3_WORK"));
    let runs: u64 = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let generator = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench/gen_corpus.py");
    let mirror = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/s3_mirror.py");
    let db = tmpdir("s3");
    let (e, m, u) = setup(&db, &db).await;
    let t = Instant::now();
    let ds = e
        .create_datasource(
            &u,
            &json!({"@type": "S3Datasource", "title": "corpus", "bucket": bucket,
                    "endpoint": endpoint, "region": "us-east-1", "type_sync": "auto",
                    "access_key_id": "bench", "secret_access_key": "bench"}),
        )
        .await
        .unwrap();
    m.run_due_now().await.unwrap();
    let first = t.elapsed().as_secs_f64();
    let (dst, dst_fast) = (work.join("rclone"), work.join("rclone-fast"));
    let defaults = std::env::var("RCLONE_DEFAULTS").as_deref() != Ok("0");
    let r_first = if defaults {
        rclone_sync(&dst, false)
    } else {
        f64::NAN
    };
    let r_first_fast = rclone_sync(&dst_fast, true);
    let ours = |e: engine::Engine, id: String| async move {
        let known = e.store().known_after(&id, "", u32::MAX).await.unwrap();
        known
            .into_iter()
            .map(|k| (k.source_id, k.size))
            .collect::<BTreeMap<_, _>>()
    };
    let want = files(&src);
    assert_eq!(ours(e.clone(), ds.id.clone()).await, want);
    println!(
        "first full sync of {} objects: tributary {first:.2} s, rclone {r_first:.2} s, rclone --fast-list --use-server-modtime {r_first_fast:.2} s",
        want.len()
    );

    let (mut a, mut b, mut c) = (vec![], vec![], vec![]);
    for run in 1..=runs {
        run_script(&[
            generator.to_str().unwrap(),
            "mutate",
            src.to_str().unwrap(),
            "--seed",
            &(100 + run).to_string(),
        ]);
        run_script(&[
            mirror.to_str().unwrap(),
            &endpoint,
            &bucket,
            src.to_str().unwrap(),
        ]);
        let t = Instant::now();
        e.send_to_spyder(&u, &ds.id, false).await.unwrap();
        m.run_due_now().await.unwrap();
        let t_ours = t.elapsed().as_secs_f64();
        let r = if defaults {
            rclone_sync(&dst, false)
        } else {
            f64::NAN
        };
        let r_fast = rclone_sync(&dst_fast, true);
        let want = files(&src);
        assert_eq!(ours(e.clone(), ds.id.clone()).await, want, "tributary");
        if defaults {
            assert_eq!(files(&dst), want, "rclone");
        }
        assert_eq!(files(&dst_fast), want, "rclone --fast-list");
        let last = &e.sync_history(&u, &ds.id, 1).await.unwrap()[0];
        println!(
            "run {run}: re-sync {t_ours:.2} s ({} updated, {} deleted); rclone sync {r:.2} s ({:.2}x); rclone --fast-list --use-server-modtime {r_fast:.2} s ({:.2}x)",
            last.updated,
            last.deleted,
            t_ours / r,
            t_ours / r_fast
        );
        a.push(t_ours);
        b.push(r);
        c.push(r_fast);
    }
    let (a, b, c) = (median(a), median(b), median(c));
    println!(
        "median of {runs}: auto re-sync {a:.2} s vs rclone sync {b:.2} s = {:.2}x, vs rclone --fast-list --use-server-modtime {c:.2} s = {:.2}x (target <= 1.0x); same end state each run",
        a / b,
        a / c
    );
}
