//! Storage: one trait, one implementation per database.
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

use crate::domain::SyncStatus;
use crate::error::{EngineError, Result};
use crate::model::{Datasource, Resource, SyncRun, TokenKind, User};

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
    async fn set_password_hash(&self, user_id: &str, password_hash: &str) -> Result<()>;
    /// Removes every session and token of a user (after a password reset or deactivation).
    async fn delete_user_tokens(&self, user_id: &str) -> Result<()>;
    async fn count_active_admins(&self) -> Result<i64>;
    async fn insert_token(
        &self,
        token_hash: &str,
        user_id: &str,
        kind: TokenKind,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<()>;
    /// The active user a token belongs to, if the token exists and has not expired.
    async fn user_by_token(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>>;
    async fn delete_token(&self, token_hash: &str) -> Result<()>;

    // Datasources.
    async fn insert_datasource(&self, ds: &Datasource) -> Result<()>;
    async fn datasource(&self, id: &str) -> Result<Option<Datasource>>;
    /// The owner's datasources after keyset position `after`, oldest first, with their keys.
    async fn list_datasources(
        &self,
        owner_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Datasource)>>;
    async fn count_datasources(&self, owner_id: &str) -> Result<i64>;
    /// Writes title, type and settings. Status is changed only by [`Store::change_status`].
    async fn update_datasource(&self, ds: &Datasource) -> Result<()>;
    /// Deletes a datasource and everything it owns; `false` when it did not exist.
    async fn delete_datasource(&self, id: &str) -> Result<bool>;
    /// Moves the status from `change.from` to `change.to` only if it is still `change.from`
    /// (compare-and-set), so two racing changes cannot both win. `false` if it was not.
    async fn change_status(&self, id: &str, change: &StatusChange) -> Result<bool>;

    // Resources (children).
    /// Inserts resources and adds them to the datasource's counts, in one transaction.
    async fn insert_resources(&self, datasource_id: &str, resources: &[Resource]) -> Result<()>;
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

    // Sync history.
    async fn list_sync_runs(&self, datasource_id: &str, limit: u32) -> Result<Vec<SyncRun>>;
}

/// Opens the database `url` names (`sqlite://...` or `postgres://...`) and migrates it.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(cached::CachedStore::new(Arc::new(
            sqlite::SqliteStore::connect(url).await?,
        )))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Arc::new(postgres::PgStore::connect(url).await?)
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
