//! A read-through cache of datasource rows and callers' roles in front of the store. A
//! datasource and the caller's role on it are read on every request that touches it (to check
//! who may see it): through sqlx each SQLite read costs tens of microseconds of thread
//! hand-over, and each PostgreSQL read a network round trip; this serves repeat reads from
//! memory.
//!
//! Coherence: every write to a datasource or a membership in this process goes through this
//! wrapper and drops the entry, so one server always reads its own writes. Other writers (the
//! `seed-children` command on the same file, or a second server on the same PostgreSQL
//! database) are seen within [`TTL`], which bounds how long such a write stays unseen here; a
//! second server's writes usually sooner, when its live event arrives through the relay
//! ([`crate::events`]) and [`Store::forget_cached`] drops the entry.
//! Nothing decides a write on a cached row alone: status changes are compare-and-set in SQL
//! (`change_status` names the status it expects), so a stale read is refused, never applied.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Credentials, ListPosition, NewToken, StatusChange, Store, SyncBatch};
use crate::domain::{DatasourceQuery, DatasourceRole, InvitationStatus, SyncStatus};
use crate::error::Result;
use crate::model::{
    Datasource, DatasourceView, IndexDoc, Invitation, InvitationView, Job, Known, Member,
    OutboxEntry, Processed, Resource, SyncRun, TokenInfo, TokenKind, User,
};

/// `(datasource id, user id)`.
type RoleKey = (String, String);

pub const TTL: Duration = Duration::from_secs(2);
const MAX_ENTRIES: usize = 50_000;

pub struct CachedStore {
    inner: Arc<dyn Store>,
    datasources: Mutex<HashMap<String, (Datasource, Instant)>>,
    /// `(datasource, user)` → role, read on every request as the datasource is.
    roles: Mutex<HashMap<RoleKey, (Option<DatasourceRole>, Instant)>>,
    /// Moved (under the map's lock) by every write that drops entries. A read takes it before
    /// going to the database and keeps what it read only if it has not moved since: otherwise
    /// a read that started before a write and ended after it would put the old row back, and
    /// it would be served until the TTL ran out (a page refetching on the last status event of
    /// a sync showed `pending` for good).
    datasource_writes: AtomicU64,
    role_writes: AtomicU64,
}

impl CachedStore {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            datasources: Mutex::new(HashMap::new()),
            roles: Mutex::new(HashMap::new()),
            datasource_writes: AtomicU64::new(0),
            role_writes: AtomicU64::new(0),
        }
    }

    fn forget(&self, id: &str) {
        let mut map = self.datasources.lock().unwrap_or_else(|p| p.into_inner());
        self.datasource_writes.fetch_add(1, Ordering::SeqCst);
        map.remove(id);
    }

    /// The write count to hand to [`Self::keep_datasource`] after reading.
    fn datasource_epoch(&self) -> u64 {
        self.datasource_writes.load(Ordering::SeqCst)
    }

    fn role_epoch(&self) -> u64 {
        self.role_writes.load(Ordering::SeqCst)
    }

    fn cached_datasource(&self, id: &str) -> Option<Datasource> {
        let map = self.datasources.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(ds, _)| ds.clone())
    }

    /// Caches `ds`, read from the database after [`Self::datasource_epoch`] gave `epoch`,
    /// unless a write has dropped entries since.
    fn keep_datasource(&self, ds: &Datasource, epoch: u64) {
        let mut map = self.datasources.lock().unwrap_or_else(|p| p.into_inner());
        if self.datasource_writes.load(Ordering::SeqCst) != epoch {
            return;
        }
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(ds.id.clone(), (ds.clone(), Instant::now()));
    }

    /// `Some(role)` when cached (the role itself may be `None`: no role).
    fn cached_role(&self, key: &RoleKey) -> Option<Option<DatasourceRole>> {
        let map = self.roles.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(role, _)| *role)
    }

    fn keep_role(&self, key: RoleKey, role: Option<DatasourceRole>, epoch: u64) {
        let mut map = self.roles.lock().unwrap_or_else(|p| p.into_inner());
        if self.role_writes.load(Ordering::SeqCst) != epoch {
            return;
        }
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, (role, Instant::now()));
    }

    /// Role changes are rare; dropping every cached role keeps the rule simple.
    fn forget_roles(&self) {
        let mut map = self.roles.lock().unwrap_or_else(|p| p.into_inner());
        self.role_writes.fetch_add(1, Ordering::SeqCst);
        map.clear();
    }
}

#[async_trait]
impl Store for CachedStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    fn relay(&self) -> Option<Arc<dyn crate::events::Relay>> {
        self.inner.relay()
    }
    fn forget_cached(&self, id: Option<&str>, roles: bool) {
        match id {
            Some(id) => self.forget(id),
            None => {
                let mut map = self.datasources.lock().unwrap_or_else(|p| p.into_inner());
                self.datasource_writes.fetch_add(1, Ordering::SeqCst);
                map.clear();
            }
        }
        if roles || id.is_none() {
            self.forget_roles();
        }
    }
    async fn migrate(&self) -> Result<()> {
        self.inner.migrate().await
    }
    async fn count_users(&self) -> Result<i64> {
        self.inner.count_users().await
    }
    async fn insert_user(&self, user: &User, password_hash: &str) -> Result<()> {
        self.inner.insert_user(user, password_hash).await
    }
    async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        self.inner.user_by_id(id).await
    }
    async fn credentials_by_email(&self, email: &str) -> Result<Option<Credentials>> {
        self.inner.credentials_by_email(email).await
    }
    async fn list_users(&self) -> Result<Vec<User>> {
        self.inner.list_users().await
    }
    async fn update_user(&self, user: &User) -> Result<()> {
        self.inner.update_user(user).await
    }
    async fn set_password_hash(
        &self,
        user_id: &str,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.inner
            .set_password_hash(user_id, password_hash, at)
            .await
    }
    async fn delete_user_tokens(&self, user_id: &str) -> Result<()> {
        self.inner.delete_user_tokens(user_id).await
    }
    async fn count_active_admins(&self) -> Result<i64> {
        self.inner.count_active_admins().await
    }
    async fn insert_token(&self, token: &NewToken<'_>) -> Result<()> {
        self.inner.insert_token(token).await
    }
    async fn user_by_token(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        self.inner.user_by_token(token_hash, now).await
    }
    async fn delete_token(&self, token_hash: &str) -> Result<()> {
        self.inner.delete_token(token_hash).await
    }
    async fn list_tokens(&self, user_id: &str, kind: TokenKind) -> Result<Vec<TokenInfo>> {
        self.inner.list_tokens(user_id, kind).await
    }
    async fn delete_token_by_id(&self, user_id: &str, id: &str) -> Result<Option<String>> {
        self.inner.delete_token_by_id(user_id, id).await
    }
    async fn delete_sessions_except(&self, user_id: &str, keep_hash: &str) -> Result<()> {
        self.inner.delete_sessions_except(user_id, keep_hash).await
    }
    async fn insert_datasource(&self, ds: &Datasource) -> Result<()> {
        let r = self.inner.insert_datasource(ds).await;
        self.forget(&ds.id);
        r
    }

    async fn datasource(&self, id: &str) -> Result<Option<Datasource>> {
        if let Some(ds) = self.cached_datasource(id) {
            return Ok(Some(ds));
        }
        let epoch = self.datasource_epoch();
        let found = self.inner.datasource(id).await?;
        if let Some(ds) = &found {
            self.keep_datasource(ds, epoch);
        }
        Ok(found)
    }

    async fn datasource_with_role(
        &self,
        id: &str,
        user_id: &str,
    ) -> Result<Option<(Datasource, Option<DatasourceRole>)>> {
        let key = (id.to_owned(), user_id.to_owned());
        match (self.cached_datasource(id), self.cached_role(&key)) {
            (Some(ds), Some(role)) => Ok(Some((ds, role))),
            (Some(ds), None) => Ok(Some((ds, self.role_of(id, user_id).await?))),
            // Neither or only the role: one query for both.
            (None, _) => {
                let (epoch, role_epoch) = (self.datasource_epoch(), self.role_epoch());
                let found = self.inner.datasource_with_role(id, user_id).await?;
                if let Some((ds, role)) = &found {
                    self.keep_datasource(ds, epoch);
                    self.keep_role(key, *role, role_epoch);
                }
                Ok(found)
            }
        }
    }

    async fn list_datasources(
        &self,
        user_id: &str,
        email: &str,
        query: &DatasourceQuery,
        after: Option<&ListPosition>,
        limit: u32,
    ) -> Result<Vec<(ListPosition, DatasourceView)>> {
        self.inner
            .list_datasources(user_id, email, query, after, limit)
            .await
    }
    async fn count_datasources(
        &self,
        user_id: &str,
        email: &str,
        query: &DatasourceQuery,
    ) -> Result<i64> {
        self.inner.count_datasources(user_id, email, query).await
    }
    async fn datasource_status_counts(
        &self,
        user_id: &str,
        email: &str,
        query: &DatasourceQuery,
    ) -> Result<Vec<(SyncStatus, i64)>> {
        self.inner
            .datasource_status_counts(user_id, email, query)
            .await
    }
    async fn update_datasource(&self, ds: &Datasource) -> Result<()> {
        let r = self.inner.update_datasource(ds).await;
        self.forget(&ds.id);
        r
    }
    async fn delete_datasource(&self, id: &str, at: DateTime<Utc>) -> Result<bool> {
        let r = self.inner.delete_datasource(id, at).await;
        self.forget(id);
        r
    }
    async fn change_status(&self, id: &str, change: &StatusChange) -> Result<bool> {
        let r = self.inner.change_status(id, change).await;
        self.forget(id);
        r
    }
    async fn insert_resources(
        &self,
        datasource_id: &str,
        resources: &[Resource],
        at: DateTime<Utc>,
    ) -> Result<()> {
        let r = self
            .inner
            .insert_resources(datasource_id, resources, at)
            .await;
        self.forget(datasource_id);
        r
    }
    async fn list_children(
        &self,
        datasource_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<super::ChildrenPage> {
        self.inner.list_children(datasource_id, after, limit).await
    }
    async fn count_children(&self, datasource_id: &str) -> Result<i64> {
        self.inner.count_children(datasource_id).await
    }
    async fn resource(&self, id: &str) -> Result<Option<Resource>> {
        self.inner.resource(id).await
    }
    async fn role_of(&self, datasource_id: &str, user_id: &str) -> Result<Option<DatasourceRole>> {
        let key = (datasource_id.to_owned(), user_id.to_owned());
        if let Some(role) = self.cached_role(&key) {
            return Ok(role);
        }
        let epoch = self.role_epoch();
        let role = self.inner.role_of(datasource_id, user_id).await?;
        self.keep_role(key, role, epoch);
        Ok(role)
    }
    async fn members(&self, datasource_id: &str) -> Result<Vec<Member>> {
        self.inner.members(datasource_id).await
    }
    async fn change_roles(
        &self,
        datasource_id: &str,
        changes: &[(String, Option<DatasourceRole>)],
        at: DateTime<Utc>,
    ) -> Result<()> {
        let r = self.inner.change_roles(datasource_id, changes, at).await;
        self.forget(datasource_id);
        self.forget_roles();
        r
    }
    async fn insert_invitation(&self, inv: &Invitation) -> Result<()> {
        self.inner.insert_invitation(inv).await
    }
    async fn invitation(&self, id: &str) -> Result<Option<Invitation>> {
        self.inner.invitation(id).await
    }
    async fn pending_invitation(
        &self,
        datasource_id: &str,
        email: &str,
    ) -> Result<Option<Invitation>> {
        self.inner.pending_invitation(datasource_id, email).await
    }
    async fn datasource_invitations(&self, datasource_id: &str) -> Result<Vec<Invitation>> {
        self.inner.datasource_invitations(datasource_id).await
    }
    async fn invitations_for(&self, email: &str) -> Result<Vec<InvitationView>> {
        self.inner.invitations_for(email).await
    }
    async fn count_invitations_for(&self, email: &str) -> Result<i64> {
        self.inner.count_invitations_for(email).await
    }
    async fn settle_invitation(
        &self,
        id: &str,
        to: InvitationStatus,
        user_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let r = self.inner.settle_invitation(id, to, user_id, at).await;
        self.forget_roles();
        r
    }
    async fn list_sync_runs(&self, datasource_id: &str, limit: u32) -> Result<Vec<SyncRun>> {
        self.inner.list_sync_runs(datasource_id, limit).await
    }
    async fn put_secrets(
        &self,
        datasource_id: &str,
        secrets: &[(String, String)],
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.inner.put_secrets(datasource_id, secrets, at).await
    }
    async fn secrets(&self, datasource_id: &str) -> Result<Vec<(String, String)>> {
        self.inner.secrets(datasource_id).await
    }
    async fn replace_all_secrets(
        &self,
        datasource_id: &str,
        put: &[(String, String)],
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.inner.replace_all_secrets(datasource_id, put, at).await
    }
    async fn insert_sync_run(&self, run: &SyncRun, job_id: &str) -> Result<()> {
        self.inner.insert_sync_run(run, job_id).await
    }
    async fn finish_sync_run(&self, run: &SyncRun, at: DateTime<Utc>) -> Result<()> {
        self.inner.finish_sync_run(run, at).await
    }
    async fn enqueue_job(&self, job: &Job) -> Result<(Job, bool)> {
        self.inner.enqueue_job(job).await
    }
    async fn job(&self, id: &str) -> Result<Option<Job>> {
        self.inner.job(id).await
    }
    async fn live_job(&self, datasource_id: &str) -> Result<Option<Job>> {
        self.inner.live_job(datasource_id).await
    }
    async fn paused_job(&self, datasource_id: &str) -> Result<Option<Job>> {
        self.inner.paused_job(datasource_id).await
    }
    async fn claim_job(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Job>> {
        self.inner.claim_job(worker, now, lease_until).await
    }
    async fn heartbeat(
        &self,
        job_id: &str,
        worker: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        self.inner.heartbeat(job_id, worker, lease_until).await
    }
    async fn update_job(&self, job: &Job, at: DateTime<Utc>) -> Result<()> {
        self.inner.update_job(job, at).await
    }
    async fn set_next_sync_due(
        &self,
        datasource_id: &str,
        at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let r = self.inner.set_next_sync_due(datasource_id, at).await;
        self.forget(datasource_id);
        r
    }
    async fn known_after(
        &self,
        datasource_id: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<Known>> {
        self.inner.known_after(datasource_id, after, limit).await
    }
    async fn apply_sync_batch(&self, batch: &SyncBatch<'_>) -> Result<bool> {
        let r = self.inner.apply_sync_batch(batch).await;
        self.forget(batch.datasource_id);
        r
    }
    async fn remove_resources(
        &self,
        datasource_id: &str,
        ids: &[String],
        mark_deleted_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let r = self
            .inner
            .remove_resources(datasource_id, ids, mark_deleted_at, at)
            .await;
        self.forget(datasource_id);
        r
    }
    async fn claim_processing(
        &self,
        limit: u32,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Resource>> {
        self.inner.claim_processing(limit, now, until).await
    }
    async fn finish_processing(&self, done: &[Processed], at: DateTime<Utc>) -> Result<()> {
        self.inner.finish_processing(done, at).await
    }
    async fn requeue_processing(
        &self,
        datasource_id: &str,
        resource_id: Option<&str>,
    ) -> Result<i64> {
        self.inner
            .requeue_processing(datasource_id, resource_id)
            .await
    }
    async fn outbox_after(&self, after: i64, limit: u32) -> Result<Vec<OutboxEntry>> {
        self.inner.outbox_after(after, limit).await
    }
    async fn prune_outbox(&self, upto: i64) -> Result<()> {
        self.inner.prune_outbox(upto).await
    }
    async fn outbox_head(&self) -> Result<i64> {
        self.inner.outbox_head().await
    }
    async fn index_docs_after(&self, after: i64, limit: u32) -> Result<Vec<(i64, IndexDoc)>> {
        self.inner.index_docs_after(after, limit).await
    }
    async fn resources_with_text(&self, ids: &[String]) -> Result<Vec<(Resource, Option<String>)>> {
        self.inner.resources_with_text(ids).await
    }
    async fn member_datasource_ids(&self, user_id: &str) -> Result<Vec<String>> {
        self.inner.member_datasource_ids(user_id).await
    }
    async fn processing_backlog(&self) -> Result<i64> {
        self.inner.processing_backlog().await
    }
    async fn extract_body(&self, resource_id: &str) -> Result<Option<String>> {
        self.inner.extract_body(resource_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AccountRole;
    use crate::testing::TestDb;

    /// A read that started before a write and ends after it must not put the old row (or role)
    /// back into the cache: the write's own invalidation has already happened by then.
    #[tokio::test]
    async fn a_read_overlapping_a_write_is_not_cached() {
        let db = TestDb::sqlite().await.unwrap();
        let engine = db.engine().await.unwrap();
        let owner = engine
            .create_user("o@example.com", "", "password123", AccountRole::Admin)
            .await
            .unwrap();
        let folder = db.folder_root().join("f");
        std::fs::create_dir_all(&folder).unwrap();
        let ds = engine
            .create_datasource(
                &owner,
                &serde_json::json!({"@type": "FolderDatasource", "title": "t",
                    "path": std::fs::canonicalize(&folder).unwrap().display().to_string()}),
            )
            .await
            .unwrap();
        let inner: Arc<dyn Store> = Arc::new(
            super::super::sqlite::SqliteStore::connect(&db.url)
                .await
                .unwrap(),
        );
        let cached = CachedStore::new(inner.clone());

        // The datasource row: read (old), written, then the read finishes and would cache it.
        let epoch = cached.datasource_epoch();
        let old = inner.datasource(&ds.id).await.unwrap().unwrap();
        let change = StatusChange {
            from: old.sync_status,
            to: SyncStatus::Paused,
            reason: None,
            at: chrono::Utc::now(),
        };
        assert!(cached.change_status(&ds.id, &change).await.unwrap());
        cached.keep_datasource(&old, epoch);
        let now = cached.datasource(&ds.id).await.unwrap().unwrap();
        assert_eq!(now.sync_status, SyncStatus::Paused, "the old row came back");
        // A read after the write is cached as usual.
        assert!(cached.cached_datasource(&ds.id).is_some());

        // The same for a role.
        let key = (ds.id.clone(), "nobody".to_owned());
        let epoch = cached.role_epoch();
        cached.forget_roles();
        cached.keep_role(key.clone(), Some(DatasourceRole::Owner), epoch);
        assert_eq!(cached.cached_role(&key), None, "the old role came back");
        db.cleanup().await.unwrap();
    }
}
