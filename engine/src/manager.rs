//! The spyder manager: queues sync jobs, runs them on a pool of workers, and moves statuses
//! exactly as the product says: `pending` when queued, `syncing` while a spyder works, `synced`
//! on success, `failed` on a transient fault (retried with capped exponential backoff and
//! jitter), `error` on a permanent one or when the retry budget is spent. `auto` and `arch`
//! datasources are due again a random 20-30 minutes after a run finishes; `one` runs once.
//!
//! Tests call [`SpyderManager::run_due_now`], which runs every due job to its end on the
//! calling task; the server starts [`SpyderManager::spawn`] workers instead.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;

use crate::blobs::BlobStore;
use crate::clock::{new_id, now};
use crate::domain::{JobState, RunOutcome, SyncStatus, SyncType};
use crate::error::{EngineError, Result};
use crate::model::{Datasource, Job, SyncRun};
use crate::service::Engine;
use crate::status::Actor;
use crate::sync::{self, Checkpoint, RunEnd, RunSettings, Source, StopSignal, SyncError};

/// How the manager runs.
#[derive(Debug, Clone)]
pub struct ManagerConfig {
    /// Spyders running at once.
    pub workers: usize,
    /// A claimed job is another worker's to take if not renewed for this long.
    pub lease: Duration,
    /// `auto`/`arch` datasources are due again a random time in this window after a run.
    pub schedule_min: Duration,
    pub schedule_max: Duration,
    /// Transient failures retried this many times before `error`.
    pub retry_budget: i32,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// An `auto` run deleting more than this share of a datasource pauses for a person.
    pub max_delete_share: f64,
    /// Items per committed batch.
    pub batch: usize,
    /// The most bytes read of one file (Folder datasources); larger ones are not collected.
    pub max_file_bytes: u64,
    pub blob_dir: PathBuf,
    /// How long an idle worker waits before looking for a due job again. With a RabbitMQ
    /// broker, announced jobs wake it at once; the poll then only finds jobs that became due
    /// on their own (a scheduled run, a retry).
    pub idle_poll: Duration,
}

impl ManagerConfig {
    pub fn new(blob_dir: PathBuf) -> Self {
        Self {
            workers: 2,
            lease: Duration::from_secs(60),
            schedule_min: Duration::from_secs(20 * 60),
            schedule_max: Duration::from_secs(30 * 60),
            retry_budget: 5,
            backoff_base: Duration::from_secs(10),
            backoff_cap: Duration::from_secs(15 * 60),
            max_delete_share: 0.5,
            batch: 500,
            max_file_bytes: 1 << 30,
            blob_dir,
            idle_poll: Duration::from_millis(500),
        }
    }
}

/// Capped exponential backoff with full jitter: a random delay up to
/// `min(cap, base * 2^(attempt-1))`, at least one second.
pub fn backoff(cfg: &ManagerConfig, attempt: i32) -> Duration {
    let exp = cfg
        .backoff_base
        .saturating_mul(1u32 << attempt.clamp(1, 20).saturating_sub(1) as u32);
    let ceiling = exp.min(cfg.backoff_cap).max(Duration::from_secs(1));
    let ms = rand::thread_rng().gen_range(1000..=ceiling.as_millis().max(1000) as u64);
    Duration::from_millis(ms)
}

#[derive(Clone)]
pub struct SpyderManager {
    engine: Engine,
    cfg: Arc<ManagerConfig>,
    blobs: BlobStore,
    shutting_down: Arc<AtomicBool>,
    /// Wakes an idle worker: a job was announced on RabbitMQ.
    wake: Arc<tokio::sync::Notify>,
}

/// Stops a run when its datasource was paused, or the manager is shutting down.
struct Stop<'a> {
    engine: &'a Engine,
    datasource_id: &'a str,
    shutting_down: &'a AtomicBool,
}

#[async_trait]
impl StopSignal for Stop<'_> {
    async fn should_stop(&self) -> bool {
        if self.shutting_down.load(Ordering::Relaxed) {
            return true;
        }
        match self.engine.store().datasource(self.datasource_id).await {
            Ok(Some(d)) if d.sync_status == SyncStatus::Paused => true,
            // Paused and resumed before this run reached a checkpoint: it carries on.
            Ok(Some(d)) if d.sync_status == SyncStatus::Resuming => {
                let _ = self
                    .engine
                    .transition(
                        self.datasource_id,
                        SyncStatus::Syncing,
                        Actor::System,
                        Some(SyncStatus::Syncing.explanation().into()),
                    )
                    .await;
                false
            }
            _ => false,
        }
    }
}

/// How a run's end landed on its datasource's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// The status the run ended with.
    As,
    /// A person paused it meanwhile; it stays paused.
    Paused,
    /// The datasource was deleted meanwhile.
    Gone,
}

/// Saves an access token a spyder refreshed to the datasource's wallet entry, sealed for the
/// destination the run started with (so it does not open if the datasource was pointed
/// elsewhere meanwhile).
struct WalletTokens {
    engine: Engine,
    datasource: Datasource,
}

#[async_trait]
impl crate::connector::CredentialSaver for WalletTokens {
    async fn save(&self, credentials: Vec<(String, String)>) -> std::result::Result<(), String> {
        self.engine
            .store_credentials(&self.datasource, &credentials)
            .await
            .map_err(|e| e.to_string())
    }
}

impl SpyderManager {
    pub fn new(engine: Engine, cfg: ManagerConfig) -> Self {
        let blobs = BlobStore::new(cfg.blob_dir.clone());
        Self {
            engine,
            cfg: Arc::new(cfg),
            blobs,
            shutting_down: Arc::new(AtomicBool::new(false)),
            wake: Arc::new(tokio::sync::Notify::new()),
        }
    }

    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// Runs every due job to its end, one after another, on this task. For tests and tools:
    /// deterministic, no sleeps. Returns how many jobs ran.
    pub async fn run_due_now(&self) -> Result<usize> {
        let mut n = 0;
        while self.run_one("inline").await? {
            n += 1;
        }
        Ok(n)
    }

    /// Claims one due job and runs it; `false` if none was due.
    pub async fn run_one(&self, worker: &str) -> Result<bool> {
        let store = self.engine.store();
        let lease = chrono::Duration::from_std(self.cfg.lease)
            .map_err(|e| EngineError::Internal(format!("lease out of range: {e}")))?;
        let Some(job) = store.claim_job(worker, now(), now() + lease).await? else {
            return Ok(false);
        };
        if let Err(e) = self.run_job(worker, job.clone(), lease).await {
            tracing::error!(job = %job.id, error = %e, "a sync job failed to run");
            // The run may have written checkpoints since the claim: keep them.
            let mut j = store.job(&job.id).await?.unwrap_or(job);
            j.state = JobState::Queued;
            j.run_after = now() + chrono::Duration::seconds(30);
            j.last_error = Some(e.to_string());
            store.update_job(&j, crate::clock::now()).await?;
        }
        Ok(true)
    }

    async fn run_job(&self, worker: &str, mut job: Job, lease: chrono::Duration) -> Result<()> {
        let engine = &self.engine;
        let store = engine.store();
        let Some(ds) = store.datasource(&job.datasource_id).await? else {
            job.state = JobState::Failed;
            job.last_error = Some("the datasource was deleted".into());
            return store.update_job(&job, crate::clock::now()).await;
        };
        // Paused while queued: the job waits for resume.
        if ds.sync_status == SyncStatus::Paused {
            return self.park(job).await;
        }
        if ds.sync_status == SyncStatus::Error && !job.force {
            job.state = JobState::Failed;
            return store.update_job(&job, crate::clock::now()).await;
        }
        // Waiting for credentials (its old ones were dropped when it was pointed elsewhere):
        // new ones queue a run of their own.
        if ds.sync_status == SyncStatus::Created {
            job.state = JobState::Failed;
            job.last_error = Some("the datasource is waiting for credentials".into());
            return store.update_job(&job, crate::clock::now()).await;
        }
        for step in sync::start_path(ds.sync_status) {
            let started = engine
                .transition(
                    &ds.id,
                    *step,
                    Actor::System,
                    Some(step.explanation().into()),
                )
                .await;
            // Paused between the read above and here: the job waits for resume.
            if let Err(EngineError::Transition {
                current: SyncStatus::Paused,
                ..
            }) = started
            {
                return self.park(job).await;
            }
            started?;
        }
        tracing::info!(job = %job.id, datasource = %ds.id, kind = %ds.kind, "sync run started");
        let cp = Checkpoint::parse(job.checkpoint.as_deref());
        let first_run = ds.last_sync_finished_at.is_none();
        let mut run = SyncRun {
            id: new_id(),
            datasource_id: ds.id.clone(),
            started_at: now(),
            finished_at: None,
            outcome: RunOutcome::Running,
            added: 0,
            updated: 0,
            deleted: 0,
            error: None,
        };
        store.insert_sync_run(&run, &job.id).await?;
        // Heartbeats keep the lease while a single long fetch runs between checkpoints.
        let heartbeat = {
            let (store, job_id, worker) = (store.clone(), job.id.clone(), worker.to_owned());
            let period = (lease / 3)
                .to_std()
                .unwrap_or(Duration::from_secs(20))
                .max(Duration::from_millis(200));
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(period).await;
                    if !store
                        .heartbeat(&job_id, &worker, now() + lease)
                        .await
                        .unwrap_or(false)
                    {
                        break;
                    }
                }
            })
        };
        let end = match self.source_for(&ds, &cp.after).await {
            Err(e) => RunEnd::Failed(e, cp),
            Ok(mut source) => {
                let stop = Stop {
                    engine,
                    datasource_id: &ds.id,
                    shutting_down: &self.shutting_down,
                };
                let settings = RunSettings {
                    store: store.as_ref(),
                    blobs: &self.blobs,
                    job_id: &job.id,
                    worker,
                    lease,
                    batch: self.cfg.batch,
                    max_delete_share: self.cfg.max_delete_share,
                    stop: &stop,
                    events: engine.events(),
                    expected: (!first_run).then_some(ds.resource_count),
                };
                let end = sync::run(&settings, &ds, source.as_mut(), cp, first_run).await;
                heartbeat.abort();
                end?
            }
        };
        heartbeat.abort();
        run.finished_at = Some(now());
        match end {
            RunEnd::Synced {
                added,
                updated,
                deleted,
                note,
            } => {
                (run.added, run.updated, run.deleted) = (added, updated, deleted);
                run.outcome = RunOutcome::Synced;
                run.error = note.clone();
                store.finish_sync_run(&run, crate::clock::now()).await?;
                job.state = JobState::Done;
                job.checkpoint = None;
                job.last_error = None;
                store.update_job(&job, crate::clock::now()).await?;
                let mut reason =
                    format!("Synced: {added} added, {updated} updated, {deleted} deleted");
                if let Some(n) = note {
                    reason.push_str(&format!("; {n}"));
                }
                // Paused after the run's last checkpoint: what it collected stays, and so does
                // the pause (no next run is scheduled; resume queues one).
                if self.end_status(&ds.id, SyncStatus::Synced, reason).await? == Ended::As {
                    self.schedule_next(&ds).await?;
                }
            }
            RunEnd::Stopped(cp) => {
                let shutting_down = self.shutting_down.load(Ordering::Relaxed);
                run.outcome = RunOutcome::Paused;
                (run.added, run.updated) = (cp.added, cp.updated);
                store.finish_sync_run(&run, crate::clock::now()).await?;
                job.checkpoint = serde_json::to_string(&cp).ok();
                // On shutdown the job goes back to the queue and picks up at the checkpoint on
                // the next start; a pause waits for resume.
                if shutting_down {
                    job.state = JobState::Queued;
                    job.run_after = now();
                    store.update_job(&job, crate::clock::now()).await?;
                } else {
                    self.park(job).await?;
                }
            }
            RunEnd::HeldDeletions(cp, n, total) => {
                run.outcome = RunOutcome::Paused;
                (run.added, run.updated) = (cp.added, cp.updated);
                let reason = format!(
                    "This sync would delete {n} of {total} resources, more than {:.0}% of them; resume to confirm the deletions",
                    self.cfg.max_delete_share * 100.0
                );
                run.error = Some(reason.clone());
                store.finish_sync_run(&run, crate::clock::now()).await?;
                job.checkpoint = serde_json::to_string(&cp).ok();
                job.state = JobState::Paused;
                store.update_job(&job, crate::clock::now()).await?;
                // A person who paused meanwhile already has it paused: that is the same end.
                self.end_status(&ds.id, SyncStatus::Paused, reason).await?;
            }
            RunEnd::LostLease => {
                tracing::warn!(job = %job.id, "lost the job's lease; another worker has it");
                run.outcome = RunOutcome::Failed;
                run.error = Some("this worker lost the job's lease".into());
                store.finish_sync_run(&run, crate::clock::now()).await?;
            }
            RunEnd::Failed(err, cp) => {
                run.outcome = RunOutcome::Failed;
                (run.added, run.updated) = (cp.added, cp.updated);
                run.error = Some(err.to_string());
                job.checkpoint = serde_json::to_string(&cp).ok();
                job.last_error = Some(err.to_string());
                let (retry, delay) = match &err {
                    SyncError::Permanent(_) => (false, Duration::ZERO),
                    SyncError::RetryAfter(d, _) => (job.attempts < self.cfg.retry_budget, *d),
                    SyncError::Transient(_) => (
                        job.attempts < self.cfg.retry_budget,
                        backoff(&self.cfg, job.attempts),
                    ),
                };
                if retry {
                    run.outcome = RunOutcome::Failed;
                    store.finish_sync_run(&run, crate::clock::now()).await?;
                    job.state = JobState::Queued;
                    job.run_after = now()
                        + chrono::Duration::from_std(delay)
                            .unwrap_or(chrono::Duration::seconds(60));
                    store.update_job(&job, crate::clock::now()).await?;
                    store.set_next_sync_due(&ds.id, Some(job.run_after)).await?;
                    let reason = format!(
                        "{err}; retrying at {} (attempt {} of {})",
                        job.run_after.format("%H:%M:%S UTC"),
                        job.attempts + 1,
                        self.cfg.retry_budget
                    );
                    // Paused while this run was failing: no retry on its own; resume continues
                    // from the checkpoint.
                    if self.end_status(&ds.id, SyncStatus::Failed, reason).await? == Ended::Paused {
                        store.set_next_sync_due(&ds.id, None).await?;
                        self.park(job).await?;
                    }
                } else {
                    run.outcome = RunOutcome::Error;
                    store.finish_sync_run(&run, crate::clock::now()).await?;
                    job.state = JobState::Failed;
                    store.update_job(&job, crate::clock::now()).await?;
                    store.set_next_sync_due(&ds.id, None).await?;
                    let reason = match err {
                        SyncError::Permanent(m) => m,
                        other => format!("gave up after {} attempts: {other}", job.attempts),
                    };
                    // Paused meanwhile: it stays paused, and the run's error is in its history.
                    self.end_status(&ds.id, SyncStatus::Error, reason).await?;
                }
            }
        }
        tracing::info!(
            datasource = %ds.id,
            outcome = %run.outcome,
            added = run.added,
            updated = run.updated,
            deleted = run.deleted,
            seconds = (now() - run.started_at).num_milliseconds() as f64 / 1000.0,
            "sync run ended"
        );
        Ok(())
    }

    /// Ends a run's status with `to`. A resume that came before the run saw the pause goes
    /// through `syncing` first; a pause that came after the run's last look wins, and the
    /// datasource stays paused.
    async fn end_status(&self, id: &str, to: SyncStatus, reason: String) -> Result<Ended> {
        let mut tries = 0;
        loop {
            let refused = match self
                .engine
                .transition(id, to, Actor::System, Some(reason.clone()))
                .await
            {
                Ok(_) => return Ok(Ended::As),
                Err(EngineError::NotFound(_)) => return Ok(Ended::Gone),
                Err(EngineError::Transition { current, .. }) => current,
                Err(e) => return Err(e),
            };
            match refused {
                SyncStatus::Paused => {
                    tracing::info!(datasource = %id, ended = %to, "the run ended after a pause; the datasource stays paused");
                    return Ok(Ended::Paused);
                }
                SyncStatus::Resuming if tries < 2 => {
                    tries += 1;
                    let start = self
                        .engine
                        .transition(
                            id,
                            SyncStatus::Syncing,
                            Actor::System,
                            Some(SyncStatus::Syncing.explanation().into()),
                        )
                        .await;
                    match start {
                        Ok(_) | Err(EngineError::Transition { .. }) => continue,
                        Err(e) => return Err(e),
                    }
                }
                current => {
                    return Err(EngineError::Transition {
                        action: format!("end a run as {to} for"),
                        current,
                    });
                }
            }
        }
    }

    /// A run stopped for a pause: its job waits for resume, keeping its checkpoint. A resume
    /// that landed while the run was stopping found it running and left it to carry on, so the
    /// job is queued again here. (The status is read after the job is written; `resume` writes
    /// the status before it reads the job: one of the two always sees the other.)
    async fn park(&self, mut job: Job) -> Result<()> {
        let store = self.engine.store();
        job.state = JobState::Paused;
        job.run_after = now();
        store.update_job(&job, crate::clock::now()).await?;
        if store
            .datasource(&job.datasource_id)
            .await?
            .is_some_and(|d| d.sync_status == SyncStatus::Resuming)
        {
            job.state = JobState::Queued;
            store.update_job(&job, crate::clock::now()).await?;
        }
        Ok(())
    }

    /// The source to collect `ds` from, continuing after `after`.
    async fn source_for(
        &self,
        ds: &Datasource,
        after: &str,
    ) -> std::result::Result<Box<dyn Source>, SyncError> {
        let connector = crate::connector::connector(ds.kind);
        let credentials = if connector.spec().credentials.fields.is_empty() {
            Vec::new()
        } else {
            self.engine
                .open_credentials(ds)
                .await
                .map_err(|e| SyncError::Permanent(e.to_string()))?
        };
        connector.open(crate::connector::Opening {
            settings: &ds.settings,
            credentials,
            after,
            saver: Arc::new(WalletTokens {
                engine: self.engine.clone(),
                datasource: ds.clone(),
            }),
            env: self.engine.connector_env(self.cfg.max_file_bytes),
        })
    }

    /// `auto` and `arch` are due again a random time in the window; `one` is not.
    async fn schedule_next(&self, ds: &Datasource) -> Result<()> {
        let store = self.engine.store();
        if ds.type_sync == SyncType::One {
            return store.set_next_sync_due(&ds.id, None).await;
        }
        let (lo, hi) = (
            self.cfg.schedule_min.as_millis() as u64,
            self.cfg
                .schedule_max
                .as_millis()
                .max(self.cfg.schedule_min.as_millis()) as u64,
        );
        let wait = Duration::from_millis(rand::thread_rng().gen_range(lo..=hi));
        let due = now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::minutes(25));
        let job = crate::model::Job::queued(&ds.id, false, due);
        store.enqueue_job(&job).await?;
        store.set_next_sync_due(&ds.id, Some(due)).await
    }

    /// Starts the worker pool; it stops (leaving checkpoints) when `shutdown` resolves.
    pub fn spawn(
        &self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let _ = self.blobs.clean_temporaries();
        let me = self.clone();
        tokio::spawn(async move {
            let mut workers = Vec::new();
            // Announced jobs wake a worker at once. If the broker goes away, the workers go
            // on polling; the consumer is not restarted (a restart of Tributary reconnects).
            let consumer = me.engine.broker().cloned().map(|broker| {
                let wake = me.wake.clone();
                let prefetch = u16::try_from(me.cfg.workers.max(1)).unwrap_or(u16::MAX);
                tokio::spawn(async move {
                    let consumed = broker
                        .consume(prefetch, |m| {
                            tracing::debug!(job = %m["job"], "a job was announced");
                            wake.notify_one();
                        })
                        .await;
                    if let Err(e) = consumed {
                        tracing::warn!(error = %e, "no longer consuming job announcements; the workers poll the database");
                    }
                })
            });
            for n in 0..me.cfg.workers.max(1) {
                let m = me.clone();
                let name = format!("{}-{n}", new_id());
                workers.push(tokio::spawn(async move {
                    while !m.shutting_down.load(Ordering::Relaxed) {
                        match m.run_one(&name).await {
                            Ok(true) => {}
                            Ok(false) => {
                                tokio::select! {
                                    _ = tokio::time::sleep(m.cfg.idle_poll) => {}
                                    _ = m.wake.notified() => {}
                                }
                            }
                            Err(e) => {
                                tracing::error!(error = %e, "the spyder worker could not claim a job");
                                tokio::time::sleep(Duration::from_secs(2)).await;
                            }
                        }
                    }
                }));
            }
            shutdown.await;
            me.shutting_down.store(true, Ordering::Relaxed);
            if let Some(c) = consumer {
                c.abort();
            }
            // Idle workers stop waiting now, not at their next poll.
            me.wake.notify_waiters();
            for w in workers {
                let _ = w.await;
            }
        })
    }
}
