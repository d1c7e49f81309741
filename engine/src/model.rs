//! Records as the engine stores and returns them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{AccountRole, DatasourceKind, SyncStatus, SyncType};

/// A user account (never carries the password hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: AccountRole,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A configured source of data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Datasource {
    pub id: String,
    pub kind: DatasourceKind,
    pub title: String,
    pub owner_id: String,
    pub type_sync: SyncType,
    pub sync_status: SyncStatus,
    /// Why the status is what it is, in words a person can act on.
    pub status_reason: Option<String>,
    /// Connector settings (`path` for a Folder; `bucket`, `prefix`, `endpoint`, `region` for S3).
    pub settings: serde_json::Map<String, serde_json::Value>,
    pub resource_count: i64,
    pub byte_count: i64,
    pub last_sync_started_at: Option<DateTime<Utc>>,
    pub last_sync_finished_at: Option<DateTime<Utc>>,
    pub next_sync_due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One run of a spyder over a datasource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRun {
    pub id: String,
    pub datasource_id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: String,
    pub added: i64,
    pub updated: i64,
    pub deleted: i64,
    pub error: Option<String>,
}

/// One collected item (child) of a datasource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub id: String,
    pub datasource_id: String,
    /// The item's identity at the source (a relative path, an S3 key, a message id).
    pub source_id: String,
    pub path: String,
    pub name: String,
    /// `file`, `folder`, `message`, ...
    pub kind: String,
    pub size: i64,
    pub media_type: Option<String>,
    pub content_hash: Option<String>,
    pub source_modified_at: Option<DateTime<Utc>>,
    pub collected_at: DateTime<Utc>,
    pub processing_status: String,
}

/// One page of a keyset-paged listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque cursor for the next page; `None` on the last page.
    pub cursor: Option<String>,
    pub total: i64,
}

/// What kind of secret a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Session,
    Api,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Api => "api",
        }
    }
}
