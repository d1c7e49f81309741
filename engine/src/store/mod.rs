//! Storage: one trait, one implementation per database. Times come from the callers (which take
//! them from [`crate::clock`]), never from the store itself.
//!
//! The two backends share most SQL (runtime queries with `$n` placeholders work on both), so the
//! shared part is written once in [`common`] and stamped out per backend; what differs — pool
//! set-up, migrations, column types — lives in `sqlite.rs` and `postgres.rs`. `sqlx::Any` was
//! rejected: it cannot decode timestamps, which every table here has.

pub mod cached;
mod common;
pub mod postgres;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{DatasourceQuery, DatasourceRole, InvitationStatus, SyncStatus};
use crate::error::{EngineError, Result};
use crate::model::{
    Datasource, DatasourceView, IndexDoc, Invitation, InvitationView, Job, Known, Member,
    OutboxEntry, Processed, Resource, SyncRun, TokenInfo, TokenKind, User,
};

/// A user with the stored password hash, for login only.
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

/// Rows of one page of children (with their keys) and how many children there are.
#[derive(Debug, Clone, Default)]
pub struct ChildrenPage {
    pub rows: Vec<(i64, Resource)>,
    pub total: i64,
}

/// A row's place in a sorted listing: its sequence and, when the order is by something else,
/// that sort value as text (what a cursor carries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPosition {
    pub seq: i64,
    pub key: Option<String>,
}

/// A token to store: only the hash of its secret.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub hash: &'a str,
    pub id: &'a str,
    pub user_id: &'a str,
    pub kind: TokenKind,
    pub name: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A status change to record atomically with its reason and timestamps.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub from: SyncStatus,
    pub to: SyncStatus,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Carries live events between the servers sharing this database: PostgreSQL's
    /// `LISTEN`/`NOTIFY`; `None` on SQLite, whose file one server owns.
    fn relay(&self) -> Option<Arc<dyn crate::events::Relay>> {
        None
    }
    /// Another server changed datasource `id` (`None`: maybe any): whatever is kept of it in
    /// memory, and of roles when `roles`, is dropped. Nothing is kept below the cache.
    fn forget_cached(&self, _id: Option<&str>, _roles: bool) {}
    /// Applies pending migrations; fails loudly.
    async fn migrate(&self) -> Result<()>;

    // Users and tokens.
    async fn count_users(&self) -> Result<i64>;
    /// Inserts a user; a taken e-mail is a 409.
    async fn insert_user(&self, user: &User, password_hash: &str) -> Result<()>;
    async fn user_by_id(&self, id: &str) -> Result<Option<User>>;
    async fn credentials_by_email(&self, email: &str) -> Result<Option<Credentials>>;
    /// Every user, oldest first.
    async fn list_users(&self) -> Result<Vec<User>>;
    /// Writes display name, role and active flag.
    async fn update_user(&self, user: &User) -> Result<()>;
    async fn set_password_hash(
        &self,
        user_id: &str,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Removes every session and token of a user (after a password reset or deactivation).
    async fn delete_user_tokens(&self, user_id: &str) -> Result<()>;
    async fn count_active_admins(&self) -> Result<i64>;
    async fn insert_token(&self, token: &NewToken<'_>) -> Result<()>;
    /// The active user a token belongs to, if the token exists and has not expired.
    async fn user_by_token(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>>;
    async fn delete_token(&self, token_hash: &str) -> Result<()>;
    /// A user's tokens of one kind, newest first.
    async fn list_tokens(&self, user_id: &str, kind: TokenKind) -> Result<Vec<TokenInfo>>;
    /// Deletes one of the user's tokens by id; returns its hash, or `None` if it was not theirs.
    async fn delete_token_by_id(&self, user_id: &str, id: &str) -> Result<Option<String>>;
    /// Ends the user's sessions and login tokens except `keep_hash` (personal tokens stay).
    async fn delete_sessions_except(&self, user_id: &str, keep_hash: &str) -> Result<()>;

    // Datasources.
    /// Inserts a datasource and makes its `owner_id` its owner, in one transaction.
    async fn insert_datasource(&self, ds: &Datasource) -> Result<()>;
    async fn datasource(&self, id: &str) -> Result<Option<Datasource>>;
    /// The datasource and `user_id`'s role on it, read together: every request that touches a
    /// datasource needs both, and on PostgreSQL one round trip is a third of such a request.
    async fn datasource_with_role(
        &self,
        id: &str,
        user_id: &str,
    ) -> Result<Option<(Datasource, Option<DatasourceRole>)>> {
        let Some(ds) = self.datasource(id).await? else {
            return Ok(None);
        };
        Ok(Some((ds, self.role_of(id, user_id).await?)))
    }
    /// The datasources the user has a role on or a pending invitation to (by `email`) that
    /// match `query`, in its order, after the keyset position `after`, with each row's position.
    async fn list_datasources(
        &self,
        user_id: &str,
        email: &str,
        query: &DatasourceQuery,
        after: Option<&ListPosition>,
        limit: u32,
    ) -> Result<Vec<(ListPosition, DatasourceView)>>;
    /// How many of the user's datasources match `query`.
    async fn count_datasources(
        &self,
        user_id: &str,
        email: &str,
        query: &DatasourceQuery,
    ) -> Result<i64>;
    /// How many of the user's datasources matching `query` are in each status the user sees
    /// (`invited` for pending invitations); statuses with none are left out.
    async fn datasource_status_counts(
        &self,
        user_id: &str,
        email: &str,
        query: &DatasourceQuery,
    ) -> Result<Vec<(SyncStatus, i64)>>;
    /// Writes title, type and settings. Status is changed only by [`Store::change_status`].
    async fn update_datasource(&self, ds: &Datasource) -> Result<()>;
    /// Deletes a datasource and everything it owns; `false` when it did not exist.
    async fn delete_datasource(&self, id: &str, at: DateTime<Utc>) -> Result<bool>;
    /// Moves the status from `change.from` to `change.to` only if it is still `change.from`
    /// (compare-and-set), so two racing changes cannot both win. `false` if it was not.
    async fn change_status(&self, id: &str, change: &StatusChange) -> Result<bool>;

    // Resources (children).
    /// Inserts resources and adds them to the datasource's counts, in one transaction.
    async fn insert_resources(
        &self,
        datasource_id: &str,
        resources: &[Resource],
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// One keyset page of children after `after`, with the datasource's current child count
    /// (read in the same round trip, never from a cache).
    async fn list_children(
        &self,
        datasource_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<ChildrenPage>;
    async fn count_children(&self, datasource_id: &str) -> Result<i64>;
    async fn resource(&self, id: &str) -> Result<Option<Resource>>;

    // Sharing.
    async fn role_of(&self, datasource_id: &str, user_id: &str) -> Result<Option<DatasourceRole>>;
    /// Everyone with a role, owners first, then by e-mail.
    async fn members(&self, datasource_id: &str) -> Result<Vec<Member>>;
    /// Sets roles (`None` removes the member) in one transaction, serialised per datasource;
    /// refuses with a 409 and changes nothing if the datasource would be left without an owner.
    async fn change_roles(
        &self,
        datasource_id: &str,
        changes: &[(String, Option<DatasourceRole>)],
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// A second pending invitation for the same e-mail and datasource is a 409.
    async fn insert_invitation(&self, inv: &Invitation) -> Result<()>;
    async fn invitation(&self, id: &str) -> Result<Option<Invitation>>;
    async fn pending_invitation(
        &self,
        datasource_id: &str,
        email: &str,
    ) -> Result<Option<Invitation>>;
    /// A datasource's pending invitations, oldest first.
    async fn datasource_invitations(&self, datasource_id: &str) -> Result<Vec<Invitation>>;
    /// Pending invitations addressed to `email`, oldest first.
    async fn invitations_for(&self, email: &str) -> Result<Vec<InvitationView>>;
    async fn count_invitations_for(&self, email: &str) -> Result<i64>;
    /// Moves a pending invitation to `to` (compare-and-set); when accepting, also gives
    /// `user_id` the invitation's role, in the same transaction. `false` if it was no longer
    /// pending.
    async fn settle_invitation(
        &self,
        id: &str,
        to: InvitationStatus,
        user_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool>;

    // Wallet.
    /// Sets sealed secrets of a datasource (upsert), in one transaction.
    async fn put_secrets(
        &self,
        datasource_id: &str,
        secrets: &[(String, String)],
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// `(name, sealed)` of a datasource's secrets.
    async fn secrets(&self, datasource_id: &str) -> Result<Vec<(String, String)>>;
    /// Forgets a datasource's secrets and ends its queued and paused jobs (a run of them would
    /// have nothing to open), in one transaction; sets `put` in their place. Used when the
    /// datasource is pointed somewhere else: what was given for the old destination goes.
    async fn replace_all_secrets(
        &self,
        datasource_id: &str,
        put: &[(String, String)],
        at: DateTime<Utc>,
    ) -> Result<()>;

    // Sync history.
    async fn list_sync_runs(&self, datasource_id: &str, limit: u32) -> Result<Vec<SyncRun>>;
    async fn insert_sync_run(&self, run: &SyncRun, job_id: &str) -> Result<()>;
    /// Writes a run's end: outcome, finish time, counts, error.
    async fn finish_sync_run(&self, run: &SyncRun, at: DateTime<Utc>) -> Result<()>;

    // Jobs.
    /// Queues `job` unless the datasource has a live (queued or running) job already; returns
    /// the live job either way (`true` when it is the new one).
    async fn enqueue_job(&self, job: &Job) -> Result<(Job, bool)>;
    async fn job(&self, id: &str) -> Result<Option<Job>>;
    /// The datasource's queued or running job.
    async fn live_job(&self, datasource_id: &str) -> Result<Option<Job>>;
    /// The datasource's most recent paused job.
    async fn paused_job(&self, datasource_id: &str) -> Result<Option<Job>>;
    /// Claims one due job, or a running one whose lease has expired (its worker died), in one
    /// short statement: sets `running`, the lease, the worker, and counts the attempt.
    async fn claim_job(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Job>>;
    /// Extends the lease if `worker` still holds the job; `false` if it lost it.
    async fn heartbeat(
        &self,
        job_id: &str,
        worker: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<bool>;
    /// Writes state, run_after, checkpoint, last_error; clears the lease unless running.
    async fn update_job(&self, job: &Job, at: DateTime<Utc>) -> Result<()>;
    /// Sets when the datasource is next due (shown to people; the queued job carries it too).
    async fn set_next_sync_due(&self, datasource_id: &str, at: Option<DateTime<Utc>>)
    -> Result<()>;

    // Syncing.
    /// What the database holds for the datasource's items after `after`, in byte order of
    /// `source_id`, at most `limit`.
    async fn known_after(&self, datasource_id: &str, after: &str, limit: u32)
    -> Result<Vec<Known>>;
    /// Applies one batch of a sync in one transaction: new resources, changed ones, and the
    /// job's checkpoint (only if `worker` still holds the job; otherwise nothing is written and
    /// the answer is `false`).
    async fn apply_sync_batch(&self, batch: &SyncBatch<'_>) -> Result<bool>;
    /// Deletes resources (an `auto` mirror), or marks them deleted at the source (`arch`).
    async fn remove_resources(
        &self,
        datasource_id: &str,
        ids: &[String],
        mark_deleted_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<()>;

    // Processing and the index outbox.
    /// Claims up to `limit` resources waiting for processing (or whose claim ran out at `now`),
    /// oldest first, marking them `processing` until `until`.
    async fn claim_processing(
        &self,
        limit: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Resource>>;
    /// Writes outcomes in one transaction: status, reason, media type, extracted text, and an
    /// outbox upsert for each. A resource whose content changed since it was claimed is skipped.
    async fn finish_processing(&self, done: &[Processed], at: DateTime<Utc>) -> Result<()>;
    /// `@sendToCompute`: puts one resource (or all of a datasource's) back in the queue;
    /// returns how many.
    async fn requeue_processing(
        &self,
        datasource_id: &str,
        resource_id: Option<&str>,
    ) -> Result<i64>;
    /// Outbox entries after `after`, oldest first, upserts with their current document.
    async fn outbox_after(&self, after: i64, limit: u32) -> Result<Vec<OutboxEntry>>;
    /// Forgets applied outbox entries up to `upto`.
    async fn prune_outbox(&self, upto: i64) -> Result<()>;
    /// The newest outbox entry's number (0 when empty).
    async fn outbox_head(&self) -> Result<i64>;
    /// Every indexable document after resource `seq` `after`, at most `limit` (for a rebuild).
    async fn index_docs_after(&self, after: i64, limit: u32) -> Result<Vec<(i64, IndexDoc)>>;
    /// The resources among `ids` that still exist, each with its extracted text if it has any.
    async fn resources_with_text(&self, ids: &[String]) -> Result<Vec<(Resource, Option<String>)>>;
    /// Ids of the datasources `user_id` has a role on.
    async fn member_datasource_ids(&self, user_id: &str) -> Result<Vec<String>>;
    /// How many resources are waiting for processing or being processed.
    async fn processing_backlog(&self) -> Result<i64>;
    /// The text extracted from a resource, if it has been processed.
    async fn extract_body(&self, resource_id: &str) -> Result<Option<String>>;
}

/// One committed step of a sync.
#[derive(Debug, Clone)]
pub struct SyncBatch<'a> {
    pub datasource_id: &'a str,
    pub job_id: &'a str,
    pub worker: &'a str,
    pub inserts: &'a [Resource],
    /// Changed resources (matched by `id`): size, hash, times, media type; processing again.
    pub updates: &'a [Resource],
    /// Change of the datasource's byte count (inserts plus size changes of updates).
    pub bytes_delta: i64,
    pub checkpoint: &'a str,
    pub lease_until: DateTime<Utc>,
    /// When the batch is written.
    pub at: DateTime<Utc>,
}

/// Opens the database `url` names (`sqlite://...` or `postgres://...`) and migrates it.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    connect_with(url, None).await
}

/// PostgreSQL connections by default: twice the cores, at least 4 (PostgreSQL's own rule of
/// thumb). More connections than the machine can run at once only add context switches: on
/// 2 cores a children page did 12,100 req/s with 4 connections and 9,900 with 16.
pub fn default_pg_pool() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (2 * cores as u32).max(4)
}

/// [`connect`], with at most `pg_pool` PostgreSQL connections (default [`default_pg_pool`]).
pub async fn connect_with(url: &str, pg_pool: Option<u32>) -> Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(cached::CachedStore::new(Arc::new(
            sqlite::SqliteStore::connect(url).await?,
        )))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Arc::new(cached::CachedStore::new(Arc::new(
            postgres::PgStore::connect(url, pg_pool.unwrap_or_else(default_pg_pool)).await?,
        )))
    } else {
        return Err(EngineError::invalid(
            "DATABASE_URL",
            "must start with sqlite:// or postgres://",
        ));
    };
    store.migrate().await?;
    Ok(store)
}

/// Turns a unique-constraint violation into a 409 with `message`; anything else stays internal.
pub(crate) fn on_unique(e: sqlx::Error, message: &str) -> EngineError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            EngineError::Conflict(message.into())
        }
        _ => e.into(),
    }
}

/// Reads connector settings stored as JSON text.
pub(crate) fn parse_settings(text: &str) -> Result<serde_json::Map<String, serde_json::Value>> {
    serde_json::from_str(text)
        .map_err(|e| EngineError::Internal(format!("stored settings are not JSON: {e}")))
}

pub(crate) fn parse_enum<T: std::str::FromStr<Err = EngineError>>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|e: EngineError| EngineError::Internal(format!("stored value refused: {e}")))
}
