//! One sync run: list the source in byte order of item ids, merge it with the database's view
//! in the same order, fetch what is new or changed into the blob store, and commit batch by
//! batch with the checkpoint, so a paused, stopped or killed run resumes where it was and never
//! duplicates or loses an item. Deletions are decided only after a complete listing.

use std::collections::VecDeque;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::blobs::{Blob, BlobStore};
pub use crate::connector::{Entry, Source, SyncError};
use crate::domain::{SyncStatus, SyncType};
use crate::error::Result;
use crate::model::{Datasource, Known, Resource};
use crate::store::{Store, SyncBatch};

/// What a run has done so far; committed with every batch as the job's checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Every source item up to this id (byte order) is done.
    pub after: String,
    /// The listing reached the end.
    pub listed: bool,
    /// Known items the source no longer has (decided after the listing completes).
    pub gone: Vec<String>,
    pub added: i64,
    pub updated: i64,
    /// Source items looked at so far (for progress).
    #[serde(default)]
    pub seen: i64,
    /// A mass deletion was held for a person; resuming confirms it.
    pub awaiting_confirmation: bool,
}

impl Checkpoint {
    pub fn parse(s: Option<&str>) -> Self {
        s.and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default()
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEnd {
    Synced {
        added: i64,
        updated: i64,
        deleted: i64,
        note: Option<String>,
    },
    /// A person paused it (or the manager is shutting down): the checkpoint is saved.
    Stopped(Checkpoint),
    /// Deleting this many would exceed the allowed share: held for a person.
    HeldDeletions(Checkpoint, usize, i64),
    /// Another worker holds the job now (this one's lease ran out).
    LostLease,
    Failed(SyncError, Checkpoint),
}

/// Settings of a run.
pub struct RunSettings<'a> {
    pub store: &'a dyn Store,
    pub blobs: &'a BlobStore,
    pub job_id: &'a str,
    pub worker: &'a str,
    pub lease: chrono::Duration,
    pub batch: usize,
    /// An `auto` run that would delete more than this share of the datasource pauses instead.
    pub max_delete_share: f64,
    /// Asked between batches: should the run stop here (paused, or shutting down)?
    pub stop: &'a dyn StopSignal,
    /// Told of every committed batch.
    pub events: &'a crate::events::Events,
    /// How many items the datasource held when the run started (`None` on a first sync).
    pub expected: Option<i64>,
}

impl Checkpoint {
    /// The progress this checkpoint stands for.
    pub fn progress(&self, expected: Option<i64>) -> crate::events::Progress {
        crate::events::Progress {
            seen: self.seen,
            added: self.added,
            updated: self.updated,
            listed: self.listed,
            expected,
        }
    }
}

/// Whether a run should stop at its next checkpoint.
#[async_trait]
pub trait StopSignal: Send + Sync {
    async fn should_stop(&self) -> bool;
}

/// Pages through what the database knows, in the same order as the source.
struct KnownCursor<'a> {
    store: &'a dyn Store,
    datasource_id: String,
    buf: VecDeque<Known>,
    last: String,
    done: bool,
}

impl<'a> KnownCursor<'a> {
    fn new(store: &'a dyn Store, datasource_id: &str, after: &str) -> Self {
        Self {
            store,
            datasource_id: datasource_id.to_owned(),
            buf: VecDeque::new(),
            last: after.to_owned(),
            done: false,
        }
    }

    async fn peek(&mut self) -> Result<Option<&Known>> {
        if self.buf.is_empty() && !self.done {
            let rows = self
                .store
                .known_after(&self.datasource_id, &self.last, 1000)
                .await?;
            if rows.len() < 1000 {
                self.done = true;
            }
            if let Some(l) = rows.last() {
                self.last = l.source_id.clone();
            }
            self.buf.extend(rows);
        }
        Ok(self.buf.front())
    }

    fn pop(&mut self) -> Option<Known> {
        self.buf.pop_front()
    }
}

fn name_of(source_id: &str) -> String {
    source_id.rsplit('/').next().unwrap_or(source_id).to_owned()
}

/// A media type from the extension, until the processing pipeline sniffs content.
fn media_type_of(name: &str) -> Option<String> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    let t = match ext.as_str() {
        "txt" | "log" => "text/plain",
        "md" => "text/markdown",
        "html" | "htm" => "text/html",
        "csv" => "text/csv",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "eml" => "message/rfc822",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        _ => return None,
    };
    Some(t.to_owned())
}

fn resource_for(ds: &Datasource, entry: &Entry, blob: &Blob, id: String) -> Resource {
    let name = name_of(&entry.source_id);
    Resource {
        id,
        datasource_id: ds.id.clone(),
        path: format!("/{}", entry.source_id),
        media_type: media_type_of(&name),
        name,
        source_id: entry.source_id.clone(),
        kind: "file".into(),
        size: blob.size as i64,
        content_hash: Some(blob.hash.clone()),
        source_modified_at: entry.modified,
        collected_at: crate::clock::now(),
        processing_status: crate::domain::ProcessingStatus::Pending,
        processing_error: None,
    }
}

/// Runs (or continues) one sync of `ds` from `source`, starting from `cp`.
pub async fn run(
    s: &RunSettings<'_>,
    ds: &Datasource,
    source: &mut dyn Source,
    mut cp: Checkpoint,
    first_run: bool,
) -> Result<RunEnd> {
    let mut known = KnownCursor::new(s.store, &ds.id, &cp.after);
    while !cp.listed {
        if s.stop.should_stop().await {
            return Ok(RunEnd::Stopped(cp));
        }
        let page = match source.next_page(s.batch).await {
            Ok(p) => p,
            Err(e) => return Ok(RunEnd::Failed(e, cp)),
        };
        let mut inserts = Vec::new();
        let mut updates = Vec::new();
        let mut bytes_delta = 0i64;
        let last = match page.last() {
            Some(e) => e.source_id.clone(),
            None => {
                // The listing is complete: what the database still has after the last item is
                // gone from the source.
                while known.peek().await?.is_some() {
                    if let Some(k) = known.pop() {
                        cp.gone.push(k.id);
                    }
                }
                cp.listed = true;
                cp.after = String::new();
                break;
            }
        };
        // Compare first, then fetch what is new or changed, several at once (reading,
        // hashing and writing overlap), then build the batch in listing order.
        let mut plan: Vec<(&Entry, Option<Known>)> = Vec::new();
        for entry in &page {
            // Known items before this entry are not at the source any more.
            let mut matched = None;
            while let Some(k) = known.peek().await? {
                if k.source_id.as_str() < entry.source_id.as_str() {
                    if let Some(k) = known.pop() {
                        cp.gone.push(k.id);
                    }
                } else {
                    if k.source_id == entry.source_id {
                        matched = known.pop();
                    }
                    break;
                }
            }
            let unchanged = matched.as_ref().is_some_and(|k| {
                k.size == entry.size
                    && k.source_modified_at == entry.modified
                    && k.content_hash.is_some()
                    && k.source_deleted_at.is_none()
            });
            if !unchanged {
                plan.push((entry, matched));
            }
        }
        let wanted: Vec<&Entry> = plan.iter().map(|(entry, _)| *entry).collect();
        let fetched = source.fetch_many(&wanted, s.blobs).await;
        for ((entry, matched), blob) in plan.into_iter().zip(fetched) {
            let blob = match blob {
                Ok(Some(b)) => b,
                // Vanished between listing and reading: treated as still there this run (it is
                // not in `gone`), so nothing is deleted on a guess.
                Ok(None) => continue,
                Err(e) => return Ok(RunEnd::Failed(e, cp)),
            };
            match matched {
                Some(k) => {
                    if k.content_hash.as_deref() == Some(blob.hash.as_str())
                        && k.source_deleted_at.is_none()
                        && k.size == blob.size as i64
                    {
                        // Touched but not changed: record the new time only.
                        updates.push(resource_for(ds, entry, &blob, k.id.clone()));
                        continue;
                    }
                    bytes_delta += blob.size as i64 - k.size;
                    updates.push(resource_for(ds, entry, &blob, k.id));
                    cp.updated += 1;
                }
                None => {
                    bytes_delta += blob.size as i64;
                    inserts.push(resource_for(ds, entry, &blob, crate::clock::new_id()));
                    cp.added += 1;
                }
            }
        }
        if !inserts.is_empty() || !updates.is_empty() {
            let blobs = s.blobs.clone();
            tokio::task::spawn_blocking(move || blobs.flush())
                .await
                .map_err(|e| crate::error::EngineError::Internal(format!("flush stopped: {e}")))?
                .map_err(|e| {
                    crate::error::EngineError::Internal(format!("cannot flush the blob store: {e}"))
                })?;
        }
        cp.after = last;
        cp.seen += page.len() as i64;
        let checkpoint = serde_json::to_string(&cp).unwrap_or_default();
        let held = s
            .store
            .apply_sync_batch(&SyncBatch {
                datasource_id: &ds.id,
                job_id: s.job_id,
                worker: s.worker,
                inserts: &inserts,
                updates: &updates,
                bytes_delta,
                checkpoint: &checkpoint,
                lease_until: crate::clock::now() + s.lease,
                at: crate::clock::now(),
            })
            .await?;
        if !held {
            return Ok(RunEnd::LostLease);
        }
        s.events.publish(
            &ds.id,
            crate::events::What::Progress(cp.progress(s.expected)),
        );
    }

    // Deletions, only after a complete listing.
    let problems = source.problems();
    let mut note = None;
    let mut deleted = 0i64;
    let mirror = ds.type_sync == SyncType::Auto || (ds.type_sync == SyncType::One && !first_run);
    if !cp.gone.is_empty() {
        if !problems.is_empty() {
            note = Some(format!(
                "deleted nothing: {} part(s) of the source could not be listed ({})",
                problems.len(),
                problems.first().cloned().unwrap_or_default()
            ));
        } else if mirror {
            let total = s.store.count_children(&ds.id).await?.max(1);
            let share = cp.gone.len() as f64 / total as f64;
            if share > s.max_delete_share && !cp.awaiting_confirmation && cp.gone.len() > 1 {
                cp.awaiting_confirmation = true;
                return Ok(RunEnd::HeldDeletions(cp.clone(), cp.gone.len(), total));
            }
            s.store
                .remove_resources(&ds.id, &cp.gone, None, crate::clock::now())
                .await?;
            deleted = cp.gone.len() as i64;
        } else if ds.type_sync == SyncType::Arch {
            s.store
                .remove_resources(
                    &ds.id,
                    &cp.gone,
                    Some(crate::clock::now()),
                    crate::clock::now(),
                )
                .await?;
        }
    } else if !problems.is_empty() {
        note = Some(format!(
            "{} part(s) of the source could not be listed ({})",
            problems.len(),
            problems.first().cloned().unwrap_or_default()
        ));
    }
    let skipped = source.skipped();
    if let Some(first) = skipped.first() {
        let said = format!(
            "{} file(s) over the size limit were not collected ({first})",
            skipped.len()
        );
        note = Some(match note {
            Some(n) => format!("{n}; {said}"),
            None => said,
        });
    }
    Ok(RunEnd::Synced {
        added: cp.added,
        updated: cp.updated,
        deleted,
        note,
    })
}

/// The status a run moves the datasource to when it starts.
pub fn start_path(current: SyncStatus) -> &'static [SyncStatus] {
    match current {
        SyncStatus::Created | SyncStatus::Synced | SyncStatus::Failed => {
            &[SyncStatus::Pending, SyncStatus::Syncing]
        }
        SyncStatus::Pending | SyncStatus::Resuming => &[SyncStatus::Syncing],
        _ => &[],
    }
}
