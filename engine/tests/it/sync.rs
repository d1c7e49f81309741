//! Syncing Folder datasources through the job queue, on SQLite and PostgreSQL: statuses,
//! sync semantics (`auto` mirrors, `arch` keeps, `one` collects once), pause and resume from
//! the checkpoint, a dead worker's job reclaimed, deletions held for a person, and a property
//! test of random source histories. Jobs run with `run_due_now` (no sleeps).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use engine::domain::{AccountRole, JobState, SyncStatus};
use engine::manager::{ManagerConfig, SpyderManager};
use engine::model::User;
use engine::service::ChildrenQuery;
use engine::testing::TestDb;
use engine::{Engine, EngineError};
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::common::on_both;

on_both!(
    folder_sync_statuses_and_history,
    send_to_spyder_rules,
    pause_and_resume_continue_from_the_checkpoint,
    a_dead_workers_job_is_reclaimed,
    mass_deletion_waits_for_a_person,
    missing_folder_is_an_error_until_a_person_acts,
    random_histories_keep_every_mode_right,
);

struct Ctx {
    e: Engine,
    m: SpyderManager,
    u: User,
    db: TestDb,
}

async fn run<F, Fut>(backend: &str, f: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: std::future::Future<Output = TestDb>,
{
    let db = TestDb::new(backend).await.expect("database");
    let e = db.engine().await.expect("engine");
    let mut cfg = ManagerConfig::new(db.dir.path().join("blobs"));
    cfg.batch = 7; // many small batches: checkpoints get exercised
    let m = SpyderManager::new(e.clone(), cfg);
    let u = e
        .create_user("owner@example.com", "", "password123", AccountRole::Admin)
        .await
        .unwrap();
    let db = f(Ctx { e, m, u, db }).await;
    db.cleanup().await.unwrap();
}

impl Ctx {
    fn folder(&self, name: &str) -> PathBuf {
        let p = self.db.folder_root().join(name);
        fs::create_dir_all(&p).unwrap();
        fs::canonicalize(p).unwrap()
    }

    async fn folder_ds(&self, path: &Path, type_sync: &str) -> String {
        // Folder datasources are `one`; the mirror/archive semantics are tested by switching
        // the stored type directly (the S3 spyder will offer them to users).
        let ds = self
            .e
            .create_datasource(
                &self.u,
                &json!({"@type": "FolderDatasource", "title": "f", "path": path.display().to_string()}),
            )
            .await
            .unwrap();
        if type_sync != "one" {
            let mut d = ds.clone();
            d.type_sync = type_sync.parse().unwrap();
            self.e.store().update_datasource(&d).await.unwrap();
        }
        ds.id
    }

    async fn status(&self, id: &str) -> SyncStatus {
        self.e
            .store()
            .datasource(id)
            .await
            .unwrap()
            .unwrap()
            .sync_status
    }

    /// source_id → (size, content hash) of every resource, and whether it is marked deleted.
    async fn contents(&self, id: &str) -> BTreeMap<String, (String, bool)> {
        let mut out = BTreeMap::new();
        let mut after = String::new();
        loop {
            let page = self.e.store().known_after(id, &after, 100).await.unwrap();
            if page.is_empty() {
                break;
            }
            for k in &page {
                let blob = self.m.blobs().read(k.content_hash.as_deref().unwrap());
                let text = String::from_utf8(blob.unwrap()).unwrap();
                assert!(
                    out.insert(k.source_id.clone(), (text, k.source_deleted_at.is_some()))
                        .is_none(),
                    "duplicate {}",
                    k.source_id
                );
            }
            after = page.last().unwrap().source_id.clone();
        }
        out
    }

    /// Makes `run_due_now` find the next scheduled run due now.
    async fn due_now(&self, id: &str) {
        let (job, _) = self.e.send_to_spyder(&self.u, id, true).await.unwrap();
        assert!(job.state == JobState::Queued || job.state == JobState::Running);
    }
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn snapshot(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                walk(root, &e.path(), out);
            } else if ft.is_file() {
                let rel = e.path().strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, fs::read_to_string(e.path()).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn live(c: &BTreeMap<String, (String, bool)>) -> BTreeMap<String, String> {
    c.iter()
        .filter(|(_, (_, deleted))| !deleted)
        .map(|(k, (v, _))| (k.clone(), v.clone()))
        .collect()
}

async fn folder_sync_statuses_and_history(c: Ctx) -> TestDb {
    let root = c.folder("docs");
    for i in 0..20 {
        write(
            &root,
            &format!("d{}/file{i:02}.txt", i % 3),
            &format!("text {i}"),
        );
    }
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/hostname", root.join("escape")).unwrap();
    let id = c.folder_ds(&root, "one").await;
    assert_eq!(
        c.status(&id).await,
        SyncStatus::Pending,
        "queued at creation"
    );
    assert_eq!(c.m.run_due_now().await.unwrap(), 1);
    assert_eq!(c.status(&id).await, SyncStatus::Synced);
    let got = c.contents(&id).await;
    assert_eq!(live(&got), snapshot(&root), "the symlink was not followed");
    let ds = c.e.store().datasource(&id).await.unwrap().unwrap();
    assert_eq!(ds.resource_count, 20);
    assert_eq!(
        ds.byte_count,
        snapshot(&root)
            .values()
            .map(|v| v.len() as i64)
            .sum::<i64>()
    );
    assert!(ds.last_sync_started_at.is_some() && ds.last_sync_finished_at.is_some());
    assert!(ds.next_sync_due_at.is_none(), "one-time: nothing scheduled");
    let history = c.e.sync_history(&c.u, &id, 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].outcome.as_str(), history[0].added),
        ("synced", 20)
    );
    assert_eq!(c.m.run_due_now().await.unwrap(), 0, "one runs once");
    let page =
        c.e.children(
            &c.u,
            &id,
            &ChildrenQuery {
                page_size: Some(5),
                scroll: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.total, 20);
    assert_eq!(page.items[0].media_type.as_deref(), Some("text/plain"));
    c.db
}

async fn send_to_spyder_rules(c: Ctx) -> TestDb {
    let root = c.folder("s");
    write(&root, "a.txt", "a");
    let id = c.folder_ds(&root, "one").await;
    let (first, new) = c.e.send_to_spyder(&c.u, &id, false).await.unwrap();
    assert!(
        !new,
        "already queued at creation: the same job, not a second"
    );
    let (again, _) = c.e.send_to_spyder(&c.u, &id, false).await.unwrap();
    assert_eq!(first.id, again.id);
    c.m.run_due_now().await.unwrap();
    let e = c.e.send_to_spyder(&c.u, &id, false).await.unwrap_err();
    assert_eq!(e.status_code(), 409, "a finished one-time datasource: {e}");
    assert!(e.to_string().contains("force=true"));
    let (forced, new) = c.e.send_to_spyder(&c.u, &id, true).await.unwrap();
    assert!(new && forced.force);
    assert_eq!(c.status(&id).await, SyncStatus::Pending);
    c.m.run_due_now().await.unwrap();
    assert_eq!(c.status(&id).await, SyncStatus::Synced);
    // Paused: 409.
    c.e.pause(&c.u, &id).await.unwrap();
    assert_eq!(
        c.e.send_to_spyder(&c.u, &id, true)
            .await
            .unwrap_err()
            .status_code(),
        409
    );
    // Someone else: 404; a datasource that cannot be collected yet: 409 with the reason.
    let other =
        c.e.create_user("x@example.com", "", "password123", AccountRole::Member)
            .await
            .unwrap();
    assert!(matches!(
        c.e.send_to_spyder(&other, &id, false).await,
        Err(EngineError::NotFound(_))
    ));
    // A Dropbox without credentials waits for them, and says so.
    let dropbox =
        c.e.create_datasource(&c.u, &json!({"@type": "DropboxDatasource", "title": "d"}))
            .await
            .unwrap();
    assert_eq!(dropbox.sync_status, SyncStatus::Created);
    let e =
        c.e.send_to_spyder(&c.u, &dropbox.id, false)
            .await
            .unwrap_err();
    assert!(e.to_string().contains("no credentials"), "{e}");
    c.db
}

async fn pause_and_resume_continue_from_the_checkpoint(c: Ctx) -> TestDb {
    let root = c.folder("p");
    for i in 0..40 {
        write(&root, &format!("f{i:03}.txt"), &format!("{i}"));
    }
    let id = c.folder_ds(&root, "one").await;
    // Claim the job by hand and run one batch's worth, as a worker would, then pause.
    let store = c.e.store().clone();
    let now = engine::service::now();
    let job = store
        .claim_job("w1", now, now + chrono::Duration::seconds(60))
        .await
        .unwrap()
        .unwrap();
    c.e.transition(
        &id,
        SyncStatus::Syncing,
        engine::status::Actor::System,
        None,
    )
    .await
    .unwrap();
    c.e.pause(&c.u, &id).await.unwrap();
    assert_eq!(c.status(&id).await, SyncStatus::Paused);
    // The worker notices at its checkpoint: give the job back to the manager path.
    let mut j = job.clone();
    j.state = JobState::Running;
    store.update_job(&j, engine::clock::now()).await.unwrap();
    // Simulate a run that got 14 items in before the pause landed.
    let cp = engine::sync::Checkpoint {
        after: "f013.txt".into(),
        seen: 14,
        ..Default::default()
    };
    j.state = JobState::Paused;
    j.checkpoint = Some(serde_json::to_string(&cp).unwrap());
    store.update_job(&j, engine::clock::now()).await.unwrap();
    assert_eq!(c.m.run_due_now().await.unwrap(), 0, "paused: nothing runs");
    let ds = store.datasource(&id).await.unwrap().unwrap();
    let p =
        c.e.sync_progress(&ds)
            .await
            .unwrap()
            .expect("a paused run has progress");
    assert_eq!((p.seen, p.listed, p.expected), (14, false, None));

    let mut events = c.e.events().listen();
    c.e.resume(&c.u, &id).await.unwrap();
    assert_eq!(c.status(&id).await, SyncStatus::Resuming);
    c.m.run_due_now().await.unwrap();
    assert_eq!(c.status(&id).await, SyncStatus::Synced);
    let ds = store.datasource(&id).await.unwrap().unwrap();
    assert_eq!(
        c.e.sync_progress(&ds).await.unwrap(),
        None,
        "no run under way"
    );
    // Everything the browser needs to follow the run live was announced, in order.
    let mut heard = Vec::new();
    while let Ok(Some(h)) =
        tokio::time::timeout(std::time::Duration::from_millis(50), events.next()).await
    {
        match h {
            engine::events::Heard::Change(ch) => {
                assert_eq!(ch.datasource_id, id);
                heard.push(ch.what);
            }
            other => panic!("{other:?}"),
        }
    }
    use engine::events::What;
    let statuses: Vec<_> = heard
        .iter()
        .filter_map(|w| match w {
            What::Status { sync_status, .. } => Some(*sync_status),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [
            SyncStatus::Resuming,
            SyncStatus::Syncing,
            SyncStatus::Synced
        ]
    );
    let seen: Vec<i64> = heard
        .iter()
        .filter_map(|w| match w {
            What::Progress(p) => Some(p.seen),
            _ => None,
        })
        .collect();
    // 26 items left in batches of 7, counted on from the checkpoint's 14.
    assert_eq!(seen, [21, 28, 35, 40]);
    let got = c.contents(&id).await;
    assert_eq!(
        got.len(),
        26,
        "continued after f013.txt, not from the start"
    );
    assert!(got.keys().all(|k| k.as_str() > "f013.txt"));

    // A real pause mid-run: the run stops at its next checkpoint with what it committed.
    let root2 = c.folder("p2");
    for i in 0..30 {
        write(&root2, &format!("g{i:03}.txt"), &format!("{i}"));
    }
    let id2 = c.folder_ds(&root2, "one").await;
    c.e.pause(&c.u, &id2).await.unwrap();
    assert_eq!(c.m.run_due_now().await.unwrap(), 0, "paused while queued");
    c.e.resume(&c.u, &id2).await.unwrap();
    c.m.run_due_now().await.unwrap();
    assert_eq!(live(&c.contents(&id2).await), snapshot(&root2));
    let err = c.e.resume(&c.u, &id2).await.unwrap_err();
    assert_eq!(err.status_code(), 409, "resume only from paused");

    // Paused and resumed before the running run reached its checkpoint: no 409, no second
    // job; the run carries on (here its worker died, so the reclaimed job finishes it).
    let root3 = c.folder("p3");
    for i in 0..10 {
        write(&root3, &format!("h{i:03}.txt"), &format!("{i}"));
    }
    let id3 = c.folder_ds(&root3, "one").await;
    let now = engine::service::now();
    let job = store
        .claim_job("w-dies", now, now + chrono::Duration::milliseconds(1))
        .await
        .unwrap()
        .unwrap();
    c.e.transition(
        &id3,
        SyncStatus::Syncing,
        engine::status::Actor::System,
        None,
    )
    .await
    .unwrap();
    c.e.pause(&c.u, &id3).await.unwrap();
    c.e.resume(&c.u, &id3).await.unwrap();
    assert_eq!(c.status(&id3).await, SyncStatus::Resuming);
    let running = store.live_job(&id3).await.unwrap().unwrap();
    assert_eq!(
        (running.id.as_str(), running.state.as_str()),
        (job.id.as_str(), "running")
    );
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(
        c.m.run_due_now().await.unwrap(),
        1,
        "the one job, reclaimed"
    );
    assert_eq!(c.status(&id3).await, SyncStatus::Synced);
    assert_eq!(live(&c.contents(&id3).await), snapshot(&root3));
    c.db
}

async fn a_dead_workers_job_is_reclaimed(c: Ctx) -> TestDb {
    let root = c.folder("d");
    for i in 0..10 {
        write(&root, &format!("f{i}.txt"), "x");
    }
    let id = c.folder_ds(&root, "one").await;
    let store = c.e.store().clone();
    let now = engine::service::now();
    // A worker claims it and dies (its lease is already over).
    let job = store
        .claim_job("dead", now, now - chrono::Duration::seconds(1))
        .await
        .unwrap()
        .unwrap();
    c.e.transition(
        &id,
        SyncStatus::Syncing,
        engine::status::Actor::System,
        None,
    )
    .await
    .unwrap();
    assert!(!store.heartbeat(&job.id, "someone-else", now).await.unwrap());
    assert_eq!(c.m.run_due_now().await.unwrap(), 1, "reclaimed");
    assert_eq!(c.status(&id).await, SyncStatus::Synced);
    assert_eq!(live(&c.contents(&id).await), snapshot(&root));
    let j = store.job(&job.id).await.unwrap().unwrap();
    assert_eq!((j.state.as_str(), j.attempts), ("done", 2));
    // The dead worker's late write is refused: it no longer holds the job.
    assert!(!store.heartbeat(&job.id, "dead", now).await.unwrap());
    c.db
}

async fn mass_deletion_waits_for_a_person(c: Ctx) -> TestDb {
    let root = c.folder("m");
    for i in 0..10 {
        write(&root, &format!("f{i}.txt"), &format!("{i}"));
    }
    let id = c.folder_ds(&root, "auto").await;
    c.m.run_due_now().await.unwrap();
    for i in 0..8 {
        fs::remove_file(root.join(format!("f{i}.txt"))).unwrap();
    }
    c.due_now(&id).await;
    c.m.run_due_now().await.unwrap();
    assert_eq!(c.status(&id).await, SyncStatus::Paused);
    let ds = c.e.store().datasource(&id).await.unwrap().unwrap();
    assert!(ds.status_reason.unwrap().contains("would delete 8 of 10"));
    assert_eq!(c.contents(&id).await.len(), 10, "nothing deleted yet");
    c.e.resume(&c.u, &id).await.unwrap();
    c.m.run_due_now().await.unwrap();
    assert_eq!(c.status(&id).await, SyncStatus::Synced);
    assert_eq!(
        live(&c.contents(&id).await),
        snapshot(&root),
        "confirmed: mirrored"
    );
    c.db
}

async fn missing_folder_is_an_error_until_a_person_acts(c: Ctx) -> TestDb {
    let root = c.folder("gone");
    write(&root, "a.txt", "a");
    let id = c.folder_ds(&root, "one").await;
    fs::remove_dir_all(&root).unwrap();
    c.m.run_due_now().await.unwrap();
    assert_eq!(c.status(&id).await, SyncStatus::Error);
    let ds = c.e.store().datasource(&id).await.unwrap().unwrap();
    assert!(ds.status_reason.unwrap().contains("does not exist"));
    let runs = c.e.sync_history(&c.u, &id, 5).await.unwrap();
    assert_eq!(runs[0].outcome, "error");
    // A person brings it back and asks again.
    write(&root, "a.txt", "a");
    c.e.send_to_spyder(&c.u, &id, true).await.unwrap();
    c.m.run_due_now().await.unwrap();
    assert_eq!(c.status(&id).await, SyncStatus::Synced);
    c.db
}

/// Random histories of source changes between syncs: after every sync `auto` equals the
/// source, `arch` holds everything ever seen (deleted ones marked), `one` the first snapshot.
async fn random_histories_keep_every_mode_right(c: Ctx) -> TestDb {
    let seed: u64 = std::env::var("SYNC_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for mode in ["auto", "arch", "one"] {
        let root = c.folder(&format!("h-{mode}"));
        let names: Vec<String> = (0..25)
            .map(|i| format!("{}/n{i:02}.txt", ["a", "a/b", "c", "c.d"][i % 4]))
            .collect();
        for n in names.iter().take(8) {
            write(&root, n, "v0");
        }
        let id = c.folder_ds(&root, mode).await;
        let mut ever: BTreeMap<String, String> = BTreeMap::new();
        let mut first: Option<BTreeMap<String, String>> = None;
        for round in 0..6 {
            if round > 0 {
                for _ in 0..rng.gen_range(1..8) {
                    let n = &names[rng.gen_range(0..names.len())];
                    let p = root.join(n);
                    match rng.gen_range(0..4) {
                        0 | 1 => write(&root, n, &format!("v{round}-{}", rng.r#gen::<u16>())),
                        2 if p.exists() => fs::remove_file(&p).unwrap(),
                        _ => {
                            // Rename: same content under another name.
                            let to = &names[rng.gen_range(0..names.len())];
                            if p.exists() && to != n {
                                let text = fs::read_to_string(&p).unwrap();
                                fs::remove_file(&p).unwrap();
                                write(&root, to, &text);
                            }
                        }
                    }
                }
                if mode != "one" {
                    c.due_now(&id).await;
                }
            }
            c.m.run_due_now().await.unwrap();
            let source = snapshot(&root);
            for (k, v) in &source {
                ever.insert(k.clone(), v.clone());
            }
            let got = c.contents(&id).await;
            let first = first.get_or_insert_with(|| source.clone());
            let st = c.status(&id).await;
            if mode == "auto" && st == SyncStatus::Paused {
                // A big deletion round: confirm it.
                c.e.resume(&c.u, &id).await.unwrap();
                c.m.run_due_now().await.unwrap();
            }
            let got = if st == SyncStatus::Paused {
                c.contents(&id).await
            } else {
                got
            };
            match mode {
                "auto" => assert_eq!(live(&got), source, "seed {seed} round {round}"),
                "arch" => {
                    let all: BTreeMap<String, String> = got
                        .iter()
                        .map(|(k, (v, _))| (k.clone(), v.clone()))
                        .collect();
                    assert_eq!(
                        all.keys().collect::<Vec<_>>(),
                        ever.keys().collect::<Vec<_>>(),
                        "seed {seed} round {round}"
                    );
                    assert_eq!(
                        live(&got),
                        source,
                        "seed {seed} round {round}: live ones match the source"
                    );
                    for (k, (_, deleted)) in &got {
                        assert_eq!(*deleted, !source.contains_key(k), "{k} marked iff gone");
                    }
                }
                _ => assert_eq!(&live(&got), first, "seed {seed} round {round}"),
            }
        }
    }
    c.db
}
