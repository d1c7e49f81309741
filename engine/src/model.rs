//! Records as the engine stores and returns them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{
    AccountRole, DatasourceKind, DatasourceRole, InvitationStatus, JobState, OutboxOp,
    ProcessingStatus, RunOutcome, SyncStatus, SyncType,
};

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
    pub outcome: RunOutcome,
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
    pub processing_status: ProcessingStatus,
    /// Why processing failed ("encrypted", "corrupt", "too large", ...).
    pub processing_error: Option<String>,
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
    /// A browser session (cookie).
    Session,
    /// A token from `POST /api/@login`, for scripts; expires after a day.
    Api,
    /// A named, long-lived token a user creates and revokes on the account page.
    Personal,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Api => "api",
            TokenKind::Personal => "personal",
        }
    }
}

/// A named personal token as its owner sees it listed (never the secret, never its hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// An invitation to share a datasource, addressed to an e-mail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: String,
    pub datasource_id: String,
    pub email: String,
    pub role: DatasourceRole,
    pub invited_by: String,
    pub status: InvitationStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A pending invitation as the invitee sees it: what it is to, and from whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationView {
    pub invitation: Invitation,
    pub datasource_title: String,
    pub datasource_kind: DatasourceKind,
    pub inviter_email: String,
    pub inviter_name: String,
}

/// Someone with a role on a datasource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    pub role: DatasourceRole,
}

/// What a user has on a datasource: a role, or only a pending invitation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Access {
    Member(DatasourceRole),
    Invited(Invitation),
}

/// A datasource together with the asking user's access to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasourceView {
    pub datasource: Datasource,
    pub access: Access,
}

impl DatasourceView {
    /// The role, if the user has one (not merely an invitation).
    pub fn role(&self) -> Option<DatasourceRole> {
        match &self.access {
            Access::Member(r) => Some(*r),
            Access::Invited(_) => None,
        }
    }

    /// `invited` for an invitee, the datasource's own status otherwise.
    pub fn shown_status(&self) -> SyncStatus {
        match self.access {
            Access::Member(_) => self.datasource.sync_status,
            Access::Invited(_) => SyncStatus::Invited,
        }
    }
}

/// A sync job in the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub datasource_id: String,
    pub state: JobState,
    /// Run even though a `one` datasource has synced already.
    pub force: bool,
    pub run_after: DateTime<Utc>,
    pub attempts: i32,
    pub lease_until: Option<DateTime<Utc>>,
    pub worker: Option<String>,
    /// JSON: where an interrupted or paused run picks up.
    pub checkpoint: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Job {
    /// A new job for a datasource, queued to run at `run_after`.
    pub fn queued(datasource_id: &str, force: bool, run_after: DateTime<Utc>) -> Self {
        Self {
            id: crate::clock::new_id(),
            datasource_id: datasource_id.to_owned(),
            state: JobState::Queued,
            force,
            run_after,
            attempts: 0,
            lease_until: None,
            worker: None,
            checkpoint: None,
            last_error: None,
            created_at: crate::clock::now(),
        }
    }
}

/// What the database holds for one source item, as a sync compares it.
#[derive(Debug, Clone, PartialEq)]
pub struct Known {
    pub id: String,
    pub source_id: String,
    pub size: i64,
    pub source_modified_at: Option<DateTime<Utc>>,
    pub content_hash: Option<String>,
    pub source_deleted_at: Option<DateTime<Utc>>,
}

/// What the search index holds for one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDoc {
    pub resource_id: String,
    pub datasource_id: String,
    pub name: String,
    pub path: String,
    pub media_type: Option<String>,
    pub modified: Option<DateTime<Utc>>,
    /// The extracted text; empty when only metadata is kept.
    pub body: String,
}

/// One change waiting in the index outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    pub seq: i64,
    pub op: OutboxOp,
    pub resource_id: Option<String>,
    pub datasource_id: String,
    /// For an upsert: the document as the database has it now (`None` if the resource is gone).
    pub doc: Option<IndexDoc>,
}

/// The outcome of processing one resource, written by [`crate::store::Store::finish_processing`].
#[derive(Debug, Clone, PartialEq)]
pub struct Processed {
    pub resource_id: String,
    /// The content that was processed; a resource whose content changed meanwhile is left for
    /// the next round.
    pub content_hash: Option<String>,
    /// `processed` or `failed`.
    pub status: ProcessingStatus,
    pub error: Option<String>,
    pub media_type: Option<String>,
    /// Extracted text (`None` when there is none: unknown binaries, failures).
    pub body: Option<String>,
}

/// One search hit: the resource as the database has it now, its score and a snippet.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub resource: Resource,
    pub score: f32,
    /// HTML: escaped text around the match with the matches in `<mark>`.
    pub snippet: String,
}

/// A page of search hits.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResults {
    pub items: Vec<SearchHit>,
    /// Matches in all (counted by the index).
    pub total: i64,
    /// For the next page; `None` on the last.
    pub cursor: Option<String>,
}
