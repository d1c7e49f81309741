//! Plain serde types the pages receive. The browser never sees engine types.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: String,
    /// Pending invitations addressed to me (the navigation's badge).
    pub invitations: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasourceView {
    pub id: String,
    pub kind: String,
    pub kind_label: String,
    pub title: String,
    pub type_sync: String,
    pub sync_status: String,
    pub status_reason: Option<String>,
    /// Connector settings as (name, value) pairs, in the kind's field order.
    pub settings: Vec<(String, String)>,
    pub resource_count: i64,
    pub byte_count: i64,
    pub last_sync_finished_at: Option<String>,
    pub next_sync_due_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// My role on it (`owner`, `editor`, `viewer`), or `None` while I am only invited.
    pub my_role: Option<String>,
    /// The pending invitation, while I am only invited.
    pub invitation: Option<MyInvitation>,
    /// What my role allows, from the engine's rule, so pages show only what will work.
    pub can_configure: bool,
    /// Sync now, pause, resume.
    pub can_operate: bool,
    pub can_share: bool,
    pub can_delete: bool,
}

/// One sync run, for the Activity tab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunView {
    pub started_at: String,
    pub duration: Option<String>,
    pub outcome: String,
    pub added: i64,
    pub updated: i64,
    pub deleted: i64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberView {
    pub user_id: String,
    pub email: String,
    pub display_name: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationRow {
    pub id: String,
    pub email: String,
    pub role: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharingView {
    pub members: Vec<MemberView>,
    pub invitations: Vec<InvitationRow>,
}

/// An invitation addressed to me.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MyInvitation {
    pub id: String,
    pub datasource_id: String,
    pub datasource_title: String,
    pub kind_label: String,
    pub role: String,
    pub inviter: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

/// A personal token just made: the secret is shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewToken {
    pub token: TokenView,
    pub secret: String,
}

/// The datasource roles with what each allows, for the sharing forms.
pub const ROLES: &[(&str, &str)] = &[
    ("viewer", "Viewer: sees, browses and searches"),
    (
        "editor",
        "Editor: also configures, syncs, pauses and resumes",
    ),
    ("owner", "Owner: also shares and deletes"),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceView {
    pub id: String,
    pub name: String,
    pub path: String,
    pub kind: String,
    pub size: i64,
    pub media_type: Option<String>,
    pub source_modified_at: Option<String>,
    pub processing_status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageOf<T> {
    pub items: Vec<T>,
    pub cursor: Option<String>,
    pub total: i64,
}

/// The nine statuses with what each means, for badges and the legend.
pub const STATUSES: &[(&str, &str)] = &[
    ("created", "Created, not configured yet"),
    ("pending", "Queued, waiting for the spyder manager"),
    ("syncing", "A spyder is collecting"),
    ("synced", "The spyder finished"),
    ("failed", "The spyder failed and will be retried"),
    (
        "error",
        "The spyder errored and will not be retried until someone acts",
    ),
    ("paused", "Synchronisation is paused"),
    ("resuming", "Picking up from where it was paused"),
    (
        "invited",
        "Shared with you; accept the invitation to see it",
    ),
];

/// The kinds a user can create, with their labels and the sync types each supports.
pub const KINDS: &[(&str, &str, &[&str])] = &[
    ("FolderDatasource", "Folder", &["one"]),
    ("S3Datasource", "S3 bucket", &["auto", "one", "arch"]),
    ("DropboxDatasource", "Dropbox", &["auto", "one", "arch"]),
    ("SlackDatasource", "Slack", &["auto", "one", "arch"]),
];

pub const SYNC_TYPES: &[(&str, &str, &str)] = &[
    (
        "auto",
        "Mirror",
        "Full sync, then continuous; deletions at the source are deleted here too.",
    ),
    (
        "one",
        "One-time",
        "Collects everything once and never again on its own.",
    ),
    (
        "arch",
        "Archive",
        "Full sync, then continuously adds what is new; never deletes.",
    ),
];

/// Human-readable byte counts.
pub fn format_bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1536), "1.5 KB");
        assert_eq!(format_bytes(5 * 1024 * 1024), "5.0 MB");
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub active: bool,
    pub created_at: String,
}
