//! The processing pipeline: every newly collected or changed resource waits with processing
//! status `pending`; the pipeline claims a batch (a short statement with a lease, so a batch
//! whose process died is claimed again), extracts each one's text on blocking threads under a
//! size and time limit, and commits the outcomes, the text and the index outbox entries in one
//! transaction; then the search index catches up. A bad file fails alone, with its reason.

pub mod extract;
pub mod sandbox;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;

use crate::blobs::BlobStore;
use crate::clock::now;
use crate::error::{EngineError, Result};
use crate::model::{Processed, Resource};
use crate::search::SearchIndex;
use crate::service::Engine;
use extract::Extracted;

#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Resources claimed at once.
    pub batch: u32,
    /// Extractions running at once.
    pub concurrency: usize,
    /// One file's extraction may take this long; then it fails as "timed out".
    pub time_limit: Duration,
    /// A claimed batch is another pipeline's to take if not finished in this time.
    pub lease: Duration,
    /// Where files that are not plain text are extracted: child processes (the server), or
    /// this process when `None` (tools and the engine's own tests).
    pub sandbox: Option<sandbox::Sandbox>,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            batch: 256,
            concurrency: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            time_limit: Duration::from_secs(30),
            lease: Duration::from_secs(300),
            sandbox: None,
        }
    }
}

#[derive(Clone)]
pub struct Pipeline {
    engine: Engine,
    blobs: BlobStore,
    index: Arc<SearchIndex>,
    cfg: Arc<PipelineConfig>,
    stopping: Arc<AtomicBool>,
    /// When the index last committed: at most about once a second while a backlog is being
    /// worked through (a tantivy commit per batch would dominate the work).
    caught_up: Arc<std::sync::Mutex<std::time::Instant>>,
    /// A feed or catch-up is running beside the pipeline (at most one at a time).
    indexing: Arc<AtomicBool>,
}

/// How stale the index may be while the pipeline works through a backlog.
const INDEX_EVERY: Duration = Duration::from_secs(1);

/// The blob `hash`'s text if it is small plain text (see [`extract::extract_plain`]); `None`
/// for anything else, or content that could not be read (left to [`Pipeline::process`]).
fn plain_text(
    blobs: &BlobStore,
    hash: &str,
    name: &str,
) -> Option<std::result::Result<Extracted, String>> {
    if blobs.size(hash).ok()? > PLAIN_MAX_BYTES {
        return None;
    }
    extract::extract_plain(name, &blobs.read(hash).ok()?).map(Ok)
}

/// The largest file [`Pipeline::process_all`] extracts in its groups.
const PLAIN_MAX_BYTES: u64 = 1024 * 1024;

/// `r` processed with nothing taken from its content: its name and path are still searchable.
fn metadata_only(r: &Resource) -> Processed {
    Processed {
        resource_id: r.id.clone(),
        content_hash: r.content_hash.clone(),
        status: crate::domain::ProcessingStatus::Processed,
        error: None,
        media_type: None,
        body: None,
    }
}

/// What processing `r` came to.
fn processed(r: &Resource, outcome: std::result::Result<Extracted, String>) -> Processed {
    let base = metadata_only(r);
    match outcome {
        Ok(Extracted::Text { media_type, body }) => Processed {
            media_type: Some(media_type),
            body: Some(body),
            ..base
        },
        Ok(Extracted::MetadataOnly { media_type }) => Processed {
            media_type: Some(media_type),
            ..base
        },
        Ok(Extracted::Failed { media_type, reason }) => Processed {
            status: crate::domain::ProcessingStatus::Failed,
            error: Some(reason),
            media_type: Some(media_type).filter(|m| !m.is_empty()),
            ..base
        },
        Err(reason) => Processed {
            status: crate::domain::ProcessingStatus::Failed,
            error: Some(reason),
            ..base
        },
    }
}

impl Pipeline {
    pub fn new(
        engine: Engine,
        blobs: BlobStore,
        index: Arc<SearchIndex>,
        cfg: PipelineConfig,
    ) -> Self {
        Self {
            engine,
            blobs,
            index,
            cfg: Arc::new(cfg),
            stopping: Arc::new(AtomicBool::new(false)),
            caught_up: Arc::new(std::sync::Mutex::new(std::time::Instant::now())),
            indexing: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Processes one claimed batch and brings the index up to date; how many were processed.
    pub async fn run_once(&self) -> Result<usize> {
        let store = self.engine.store();
        let lease = chrono::Duration::from_std(self.cfg.lease)
            .map_err(|e| EngineError::Internal(format!("lease out of range: {e}")))?;
        let claimed = store
            .claim_processing(self.cfg.batch, now(), now() + lease)
            .await?;
        let done = self.process_all(&claimed).await;
        if !done.is_empty() {
            store.finish_processing(&done, now()).await?;
            // Pages showing these resources look again (one event per datasource and batch).
            let mut touched: Vec<&str> = claimed.iter().map(|r| r.datasource_id.as_str()).collect();
            touched.sort_unstable();
            touched.dedup();
            for id in touched {
                self.engine
                    .events()
                    .publish(id, crate::events::What::Processed);
            }
        }
        // The queue ran dry: bring the index up to date before answering, so what was processed
        // is searchable. While a backlog is worked through, the batch's documents are given to
        // the index beside the pipeline (extraction goes on while tantivy indexes), and about
        // once a second that also commits, which makes them searchable.
        let dry = claimed.len() < self.cfg.batch as usize;
        // Merging segments waits until the backlog is done: meanwhile every commit adds new
        // ones. The catch-up of a dry queue (below) commits with merging on again.
        self.index.defer_merges(!dry);
        if dry {
            self.index.catch_up(store.as_ref()).await?;
        } else if !self.indexing.swap(true, Ordering::AcqRel) {
            let commit = {
                let mut last = self.caught_up.lock().unwrap_or_else(|p| p.into_inner());
                let due = last.elapsed() >= INDEX_EVERY;
                if due {
                    *last = std::time::Instant::now();
                }
                due
            };
            let (index, store, indexing) =
                (self.index.clone(), store.clone(), self.indexing.clone());
            tokio::spawn(async move {
                let done = if commit {
                    index.catch_up(store.as_ref()).await
                } else {
                    index.feed(store.as_ref()).await
                };
                if let Err(e) = done {
                    tracing::error!(error = %e, "the search index could not catch up");
                }
                indexing.store(false, Ordering::Release);
            });
        }
        Ok(done.len())
    }

    /// Runs until nothing is waiting (tests and tools: deterministic). Returns how many.
    pub async fn drain(&self) -> Result<usize> {
        let mut n = 0;
        loop {
            let k = self.run_once().await?;
            if k == 0 {
                return Ok(n);
            }
            n += k;
        }
    }

    /// Processes `claimed`, outcomes in their order. Plain text (most files, and the quickest)
    /// goes first, in `concurrency` groups of files each on one blocking thread (a thread per
    /// file cost two wake-ups and context switches a file); every other file then runs on its
    /// own, `concurrency` at a time, under the time limit (a slow one holds up only its slot).
    async fn process_all(&self, claimed: &[Resource]) -> Vec<Processed> {
        let slots = self.cfg.concurrency.max(1);
        let per_group = claimed.len().div_ceil(slots).max(1);
        let groups = claimed.chunks(per_group).map(|group| {
            let files: Vec<_> = group
                .iter()
                .map(|r| (r.content_hash.clone(), r.name.clone()))
                .collect();
            let blobs = self.blobs.clone();
            async move {
                let n = files.len();
                let job = tokio::task::spawn_blocking(move || {
                    files
                        .iter()
                        .map(|(hash, name)| plain_text(&blobs, hash.as_deref()?, name))
                        .collect::<Vec<_>>()
                });
                match tokio::time::timeout(self.cfg.time_limit, job).await {
                    Ok(Ok(outcomes)) => outcomes,
                    // Stuck or stopped: each file is tried again on its own.
                    _ => vec![None; n],
                }
            }
        });
        let plain = futures_util::future::join_all(groups)
            .await
            .into_iter()
            .flatten();
        let jobs: Vec<_> = claimed
            .iter()
            .zip(plain)
            .map(|(r, outcome)| async move {
                match outcome {
                    Some(outcome) => processed(r, outcome),
                    None => self.process(r).await,
                }
            })
            .collect();
        futures_util::stream::iter(jobs)
            .buffered(slots)
            .collect()
            .await
    }

    async fn process(&self, r: &Resource) -> Processed {
        let Some(hash) = r.content_hash.clone() else {
            // Nothing collected (a folder, say).
            return metadata_only(r);
        };
        if let Some(sandbox) = &self.cfg.sandbox {
            let mut sandbox = sandbox.clone();
            sandbox.limits.wall = self.cfg.time_limit;
            let outcome = sandbox.extract(self.blobs.root(), &hash, &r.name).await;
            return processed(r, outcome);
        }
        let blobs = self.blobs.clone();
        let name = r.name.clone();
        let job = tokio::task::spawn_blocking(move || -> std::result::Result<Extracted, String> {
            let size = blobs
                .size(&hash)
                .map_err(|e| format!("content unreadable: {e}"))?;
            if size as usize > extract::MAX_INPUT_BYTES {
                return Ok(Extracted::Failed {
                    media_type: String::new(),
                    reason: format!(
                        "too large: {} MB, over the {} MB extraction limit",
                        size / (1024 * 1024),
                        extract::MAX_INPUT_BYTES / (1024 * 1024)
                    ),
                });
            }
            let bytes = blobs
                .read(&hash)
                .map_err(|e| format!("content unreadable: {e}"))?;
            Ok(extract::extract(&name, &bytes))
        });
        let outcome = match tokio::time::timeout(self.cfg.time_limit, job).await {
            Err(_) => Err(format!(
                "timed out: extraction took longer than {} s",
                self.cfg.time_limit.as_secs()
            )),
            Ok(Err(e)) => Err(format!("corrupt: extraction stopped ({e})")),
            Ok(Ok(r)) => r,
        };
        processed(r, outcome)
    }

    /// Runs the pipeline until `shutdown` resolves; catches the index up first (the outbox may
    /// hold entries a previous run committed but did not apply).
    pub fn spawn(
        &self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        let stopping = self.stopping.clone();
        tokio::spawn(async move {
            tokio::spawn(async move {
                shutdown.await;
                stopping.store(true, Ordering::Relaxed);
            });
            while !me.stopping.load(Ordering::Relaxed) {
                match me.run_once().await {
                    Ok(0) => tokio::time::sleep(Duration::from_millis(300)).await,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "the processing pipeline failed a round");
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                }
            }
        })
    }
}
