//! Folder sync beside `rclone copy`, in one run, on the shared corpus (`gen_corpus.py`).
//!
//!   bench/sync.sh                          # generates the corpus once, runs everything
//!   CORPUS=/tmp/c20k RUNS=5 cargo bench -p engine --bench folder_sync
//!
//! Prints, per run and as medians: a first full sync of the corpus into a fresh SQLite
//! database (files hashed and copied into the blob store, metadata committed) beside a fresh
//! `rclone copy` of the same folder; then a forced re-run with nothing changed beside rclone's
//! no-change run. With `MEMORY_CORPORA=dirA:dirB` it also measures the peak resident memory of
//! one full sync of each corpus, each in its own process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod common;

use common::{median, setup, tmpdir};
use engine::Engine;
use engine::manager::SpyderManager;
use serde_json::json;

fn rclone_copy(src: &Path, dst: &Path) -> Duration {
    let t = Instant::now();
    let status = Command::new("rclone")
        .args(["copy", "--transfers", "4", "--checkers", "8"])
        .arg(src)
        .arg(dst)
        .status()
        .expect("rclone (apt-get install rclone)");
    assert!(status.success());
    t.elapsed()
}

/// One full sync of `corpus`: (wall time, datasource id, engine, manager, user).
async fn first_sync(
    work: &Path,
    corpus: &Path,
) -> (Duration, String, Engine, SpyderManager, engine::model::User) {
    let (e, m, u) = setup(work, corpus.parent().unwrap_or(Path::new("/"))).await;
    let path = std::fs::canonicalize(corpus).unwrap();
    let t = Instant::now();
    let ds = e
        .create_datasource(
            &u,
            &json!({"@type": "FolderDatasource", "title": "corpus", "path": path.display().to_string()}),
        )
        .await
        .unwrap();
    m.run_due_now().await.unwrap();
    let took = t.elapsed();
    let stored = e.store().datasource(&ds.id).await.unwrap().unwrap();
    assert_eq!(
        stored.sync_status,
        engine::domain::SyncStatus::Synced,
        "{:?}",
        stored.status_reason
    );
    (took, ds.id, e, m, u)
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    // Child mode: one sync, then print the peak memory.
    if let Ok(corpus) = std::env::var("MEMORY_ONE") {
        let work = tmpdir("mem");
        let (took, id, e, _, _) = first_sync(&work, Path::new(&corpus)).await;
        let n = e.store().count_children(&id).await.unwrap();
        println!("{n} {} {:.2}", peak_rss_kb(), took.as_secs_f64());
        let _ = std::fs::remove_dir_all(&work);
        return;
    }
    let corpus = PathBuf::from(
        std::env::var("CORPUS").unwrap_or_else(|_| "/tmp/tributary-corpus-20k".into()),
    );
    assert!(
        corpus.is_dir(),
        "{} missing: python3 ../shared/bench/gen_corpus.py generate {} (or run bench/sync.sh)",
        corpus.display(),
        corpus.display()
    );
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let (mut ours, mut theirs, mut ours_nc, mut theirs_nc) = (vec![], vec![], vec![], vec![]);
    let mut files = 0;
    for run in 1..=runs {
        let work = tmpdir("sync");
        let dst = work.join("rclone-dst");
        let r = rclone_copy(&corpus, &dst).as_secs_f64();
        let r_nc = rclone_copy(&corpus, &dst).as_secs_f64();
        let (t, id, e, m, u) = first_sync(&work, &corpus).await;
        files = e.store().count_children(&id).await.unwrap();
        let t0 = Instant::now();
        e.send_to_spyder(&u, &id, true).await.unwrap();
        m.run_due_now().await.unwrap();
        let t_nc = t0.elapsed().as_secs_f64();
        let runs_seen = e.sync_history(&u, &id, 5).await.unwrap();
        assert_eq!(
            (runs_seen[0].added, runs_seen[0].updated),
            (0, 0),
            "nothing changed"
        );
        println!(
            "run {run}: full sync {:.2} s (rclone copy {r:.2} s, {:.2}x); no-change re-run {t_nc:.2} s (rclone {r_nc:.2} s, {:.2}x)",
            t.as_secs_f64(),
            t.as_secs_f64() / r,
            t_nc / r_nc
        );
        ours.push(t.as_secs_f64());
        theirs.push(r);
        ours_nc.push(t_nc);
        theirs_nc.push(r_nc);
        let _ = std::fs::remove_dir_all(&work);
    }
    let (a, b, c, d) = (
        median(ours),
        median(theirs),
        median(ours_nc),
        median(theirs_nc),
    );
    println!(
        "median of {runs} ({files} files): full sync {a:.2} s vs rclone copy {b:.2} s = {:.2}x (target <= 1.5x); \
         no-change {c:.2} s vs rclone {d:.2} s = {:.2}x (target <= 1.0x)",
        a / b,
        c / d
    );

    if let Ok(corpora) = std::env::var("MEMORY_CORPORA") {
        let exe = std::env::current_exe().unwrap();
        let mut peaks = Vec::new();
        for c in corpora.split(':') {
            let out = Command::new(&exe).env("MEMORY_ONE", c).output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let line = text.lines().last().unwrap_or_default().to_owned();
            let parts: Vec<&str> = line.split_whitespace().collect();
            let (n, kb): (i64, u64) = (
                parts.first().and_then(|p| p.parse().ok()).unwrap_or(0),
                parts.get(1).and_then(|p| p.parse().ok()).unwrap_or(0),
            );
            println!(
                "peak memory syncing {c}: {n} files, {} MB ({} s)",
                kb / 1024,
                parts.get(2).unwrap_or(&"?")
            );
            peaks.push((n, kb));
        }
        if let [(n1, k1), (n2, k2)] = peaks[..] {
            println!(
                "peak memory ratio {n2} vs {n1} files: {:.2}x (target <= 2x)",
                k2 as f64 / k1.max(1) as f64
            );
        }
    }
}
