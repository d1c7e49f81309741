//! What people do to syncs: `@sendToSpyder`, pause and resume. Every status change goes
//! through the transition table.

use super::access::Action;
use super::{Engine, now};
use crate::domain::{JobState, SyncAction, SyncStatus, SyncType};
use crate::error::{EngineError, Result};
use crate::events::{Progress, What};
use crate::model::{Datasource, Job, User};
use crate::status::{Actor, check_transition};
use crate::store::StatusChange;
use crate::sync::Checkpoint;

/// What a bulk action did to one datasource: its status afterwards, or why it was refused.
#[derive(Debug)]
pub struct BulkOutcome {
    pub id: String,
    /// `None` when the user cannot see it (or it does not exist).
    pub title: Option<String>,
    pub status: Option<SyncStatus>,
    pub error: Option<EngineError>,
}

impl Engine {
    /// Moves datasource `id` to `to` if the table allows it from the current status (compare
    /// and set, retried once if another change won the race). Returns the status it left.
    pub async fn transition(
        &self,
        id: &str,
        to: SyncStatus,
        actor: Actor,
        reason: Option<String>,
    ) -> Result<SyncStatus> {
        for _ in 0..3 {
            let ds = self
                .store
                .datasource(id)
                .await?
                .ok_or_else(|| EngineError::NotFound(format!("datasource '{id}'")))?;
            check_transition(ds.sync_status, to, actor)?;
            let change = StatusChange {
                from: ds.sync_status,
                to,
                reason: reason.clone(),
                at: now(),
            };
            if self.store.change_status(id, &change).await? {
                self.events.publish(
                    id,
                    What::Status {
                        sync_status: to,
                        status_reason: change.reason,
                    },
                );
                return Ok(ds.sync_status);
            }
        }
        Err(EngineError::Conflict(
            "the datasource's status kept changing; try again".into(),
        ))
    }

    /// Whether `ds` is of a kind that cannot be collected without credentials and has none.
    pub(crate) async fn missing_credentials(&self, ds: &Datasource) -> Result<bool> {
        Ok(ds.kind.spec().credentials.required.is_some()
            && self.store.secrets(&ds.id).await?.is_empty())
    }

    /// Queues the first sync of a datasource that can be collected.
    pub(crate) async fn queue_first_sync(&self, ds: &Datasource) -> Result<()> {
        if self.missing_credentials(ds).await? {
            return Ok(());
        }
        // Pending first, then the job: an idle worker may claim the job the moment it exists,
        // and its run must find the datasource already pending.
        self.transition(
            &ds.id,
            SyncStatus::Pending,
            Actor::System,
            Some(SyncStatus::Pending.explanation().into()),
        )
        .await?;
        // Due now; set before the job exists, so the run's own scheduling has the last word.
        let job = Job::queued(&ds.id, false, now());
        self.store
            .set_next_sync_due(&ds.id, Some(job.run_after))
            .await?;
        let (job, _) = self.store.enqueue_job(&job).await?;
        self.announce(&job).await;
        Ok(())
    }

    /// `@sendToSpyder`: a run now. A queued or running job is returned as is (a queued one is
    /// brought forward); never a second one. Returns the job and whether it is new.
    pub async fn send_to_spyder(&self, user: &User, id: &str, force: bool) -> Result<(Job, bool)> {
        let ds = self
            .datasource_for(user, id, Action::Operate)
            .await?
            .datasource;
        if ds.sync_status == SyncStatus::Paused {
            return Err(EngineError::Conflict(
                "this datasource is paused; resume it to sync".into(),
            ));
        }
        if self.missing_credentials(&ds).await? {
            return Err(EngineError::Conflict(format!(
                "this {} datasource has no credentials yet; send them with \
                 @refreshServiceCredentials",
                ds.kind.label()
            )));
        }
        if let Some(mut live) = self.store.live_job(&ds.id).await? {
            if live.state == JobState::Queued && live.run_after > now() {
                live.run_after = now();
                self.store.update_job(&live, crate::clock::now()).await?;
                self.store
                    .set_next_sync_due(&ds.id, Some(live.run_after))
                    .await?;
            }
            // Announced again: a worker that missed it (or a broker that lost it) hears now.
            if live.state == JobState::Queued {
                self.announce(&live).await;
            }
            return Ok((live, false));
        }
        if ds.type_sync == SyncType::One
            && ds.last_sync_finished_at.is_some()
            && ds.sync_status == SyncStatus::Synced
            && !force
        {
            return Err(EngineError::Conflict(
                "this one-time datasource has synced already; add ?force=true to collect it again"
                    .into(),
            ));
        }
        let actor = if ds.sync_status == SyncStatus::Error {
            Actor::Person
        } else {
            Actor::System
        };
        if ds.sync_status != SyncStatus::Pending {
            check_transition(ds.sync_status, SyncStatus::Pending, actor)?;
        }
        let (job, new) = self
            .store
            .enqueue_job(&Job::queued(&ds.id, force, now()))
            .await?;
        if ds.sync_status != SyncStatus::Pending {
            self.transition(
                &ds.id,
                SyncStatus::Pending,
                actor,
                Some(format!("Sync requested by {}", user.email)),
            )
            .await?;
        }
        self.store
            .set_next_sync_due(&ds.id, Some(job.run_after))
            .await?;
        self.announce(&job).await;
        Ok((job, new))
    }

    /// The most datasources one bulk action takes (a page of the list at its largest).
    pub const MAX_BULK: usize = 100;

    /// Applies `action` to each datasource in `ids`, one at a time, and reports each one's
    /// outcome: one refusal (a status that does not allow it, no right to) does not stop the
    /// others. Ids given twice are done once.
    pub async fn bulk_sync_action(
        &self,
        user: &User,
        action: SyncAction,
        ids: &[String],
    ) -> Result<Vec<BulkOutcome>> {
        if ids.is_empty() {
            return Err(EngineError::invalid(
                "ids",
                "choose at least one datasource",
            ));
        }
        if ids.len() > Self::MAX_BULK {
            return Err(EngineError::invalid(
                "ids",
                format!("at most {} datasources at once", Self::MAX_BULK),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        let mut outcomes = Vec::with_capacity(ids.len());
        for id in ids.iter().filter(|id| seen.insert(id.as_str())) {
            let title = self
                .get_datasource(user, id)
                .await
                .ok()
                .map(|v| v.datasource.title);
            let result = match action {
                SyncAction::Sync => self.send_to_spyder(user, id, true).await.map(|_| ()),
                SyncAction::Pause => self.pause(user, id).await.map(|_| ()),
                SyncAction::Resume => self.resume(user, id).await.map(|_| ()),
            };
            let status = match &result {
                Ok(()) => self.store.datasource(id).await?.map(|d| d.sync_status),
                Err(_) => None,
            };
            outcomes.push(BulkOutcome {
                id: id.clone(),
                title,
                status,
                error: result.err(),
            });
        }
        Ok(outcomes)
    }

    /// `@pause`: a running sync stops at its next checkpoint; a queued one waits.
    pub async fn pause(&self, user: &User, id: &str) -> Result<Datasource> {
        self.datasource_for(user, id, Action::Operate).await?;
        self.transition(
            id,
            SyncStatus::Paused,
            Actor::Person,
            Some(format!("Paused by {}", user.email)),
        )
        .await?;
        if let Some(mut job) = self.store.live_job(id).await?
            && job.state == JobState::Queued
        {
            job.state = JobState::Paused;
            self.store.update_job(&job, crate::clock::now()).await?;
        }
        self.store.set_next_sync_due(id, None).await?;
        self.datasource_for(user, id, Action::See)
            .await
            .map(|v| v.datasource)
    }

    /// `@resume`: `resuming`, then the run continues from its checkpoint.
    pub async fn resume(&self, user: &User, id: &str) -> Result<Datasource> {
        let ds = self
            .datasource_for(user, id, Action::Operate)
            .await?
            .datasource;
        if ds.sync_status != SyncStatus::Paused {
            return Err(EngineError::Transition {
                action: "resume".into(),
                current: ds.sync_status,
            });
        }
        self.transition(
            id,
            SyncStatus::Resuming,
            Actor::Person,
            Some(format!("Resumed by {}", user.email)),
        )
        .await?;
        // The status is written before the jobs are read, and a stopping run writes its job
        // before it reads the status, so one of the two always sees the other: a run still on
        // its way to its checkpoint carries on (it sees `resuming` and goes back to
        // `syncing`), and one that stopped meanwhile is queued again, here or by the manager.
        if self.store.live_job(id).await?.is_some() {
            self.store.set_next_sync_due(id, Some(now())).await?;
            return self
                .datasource_for(user, id, Action::See)
                .await
                .map(|v| v.datasource);
        }
        let job = match self.store.paused_job(id).await? {
            Some(mut job) => {
                job.state = JobState::Queued;
                job.run_after = now();
                self.store.update_job(&job, crate::clock::now()).await?;
                job
            }
            None => {
                self.store
                    .enqueue_job(&Job::queued(id, false, now()))
                    .await?
                    .0
            }
        };
        self.announce(&job).await;
        self.store.set_next_sync_due(id, Some(now())).await?;
        self.datasource_for(user, id, Action::See)
            .await
            .map(|v| v.datasource)
    }

    /// How far the current (or paused) run of `ds` has come, from its last checkpoint; `None`
    /// when no run is under way.
    pub async fn sync_progress(&self, ds: &Datasource) -> Result<Option<Progress>> {
        let job = match ds.sync_status {
            SyncStatus::Syncing | SyncStatus::Resuming | SyncStatus::Pending => {
                self.store.live_job(&ds.id).await?
            }
            SyncStatus::Paused => self.store.paused_job(&ds.id).await?,
            _ => None,
        };
        let Some(cp) = job.and_then(|j| j.checkpoint) else {
            return Ok(None);
        };
        let expected = ds
            .last_sync_finished_at
            .is_some()
            .then_some(ds.resource_count);
        Ok(Some(Checkpoint::parse(Some(&cp)).progress(expected)))
    }

    /// The sync history, newest first.
    pub async fn sync_history(
        &self,
        user: &User,
        id: &str,
        limit: u32,
    ) -> Result<Vec<crate::model::SyncRun>> {
        self.datasource_for(user, id, Action::Browse).await?;
        self.store.list_sync_runs(id, limit.clamp(1, 200)).await
    }
}
