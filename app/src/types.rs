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
    /// Connector settings that have a value, in the kind's field order.
    pub settings: Vec<SettingValue>,
    pub resource_count: i64,
    pub byte_count: i64,
    pub last_sync_finished_at: Option<String>,
    pub next_sync_due_at: Option<String>,
    /// The same two as relative times ("3 minutes ago", "in 24 minutes"), as of the fetch.
    pub last_synced_ago: Option<String>,
    pub next_due_in: Option<String>,
    /// How far the run under way (or paused) has come.
    pub progress: Option<ProgressView>,
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

/// A viewer's role on a datasource and what it allows them (see [`DatasourceView::standing`]).
pub type Standing = (Option<String>, [bool; 4]);

impl DatasourceView {
    /// A sync is queued or under way, so the page should follow it.
    pub fn is_busy(&self) -> bool {
        matches!(
            self.sync_status.as_str(),
            "pending" | "syncing" | "resuming"
        )
    }

    /// The viewer's standing on it: their role and what it allows. Pages built for one
    /// standing are rebuilt when it changes (an owner changed the viewer's role).
    pub fn standing(&self) -> Standing {
        (
            self.my_role.clone(),
            [
                self.can_configure,
                self.can_operate,
                self.can_share,
                self.can_delete,
            ],
        )
    }
}

/// How far a sync has come, from its last checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressView {
    pub seen: i64,
    pub added: i64,
    pub updated: i64,
    pub listed: bool,
    /// Items expected in all (what the datasource held before); `None` on a first sync.
    pub expected: Option<i64>,
}

impl ProgressView {
    /// Percent done when there is an estimate, capped below 100 until the run ends.
    pub fn percent(&self) -> Option<u32> {
        match self.expected {
            _ if self.listed => Some(99),
            Some(e) if e > 0 => Some(((self.seen * 100) / e).clamp(0, 99) as u32),
            _ => None,
        }
    }
}

/// `seconds` from now as people say it: "just now", "3 minutes ago", "in 2 hours".
pub fn relative_time(seconds: i64) -> String {
    let past = seconds < 0;
    let s = seconds.unsigned_abs();
    if s < 45 {
        return if past { "just now" } else { "in a moment" }.into();
    }
    let (n, unit) = match s {
        s if s < 90 * 60 => (s.div_ceil(60).max(1), "minute"),
        s if s < 36 * 3600 => ((s + 1800) / 3600, "hour"),
        s => ((s + 43_200) / 86_400, "day"),
    };
    let plural = if n == 1 { "" } else { "s" };
    if past {
        format!("{n} {unit}{plural} ago")
    } else {
        format!("in {n} {unit}{plural}")
    }
}

#[cfg(test)]
mod time_tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative_time(-10), "just now");
        assert_eq!(relative_time(10), "in a moment");
        assert_eq!(relative_time(-60), "1 minute ago");
        assert_eq!(relative_time(24 * 60 + 10), "in 25 minutes");
        assert_eq!(relative_time(-3 * 3600), "3 hours ago");
        assert_eq!(relative_time(-3 * 86_400), "3 days ago");
    }

    #[test]
    fn progress_has_a_percentage_only_with_an_estimate() {
        let p = ProgressView {
            seen: 50,
            added: 1,
            updated: 0,
            listed: false,
            expected: Some(200),
        };
        assert_eq!(p.percent(), Some(25));
        assert_eq!(
            ProgressView {
                expected: None,
                ..p.clone()
            }
            .percent(),
            None
        );
        assert_eq!(ProgressView { seen: 500, ..p }.percent(), Some(99));
    }
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
    /// Why processing failed.
    pub processing_error: Option<String>,
}

/// One resource's page: what it is, how processing went, and the start of its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceDetail {
    pub datasource_id: String,
    pub datasource_title: String,
    pub resource: ResourceView,
    pub content_hash: Option<String>,
    pub collected_at: String,
    /// The first part of the extracted text (`None` before processing).
    pub text: Option<String>,
    /// The text was longer than what is shown.
    pub text_cut: bool,
    pub can_operate: bool,
}

/// One search hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHitView {
    pub datasource_id: String,
    pub resource: ResourceView,
    pub score: f32,
    /// HTML from the server: escaped text with the matches in `<mark>`.
    pub snippet: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageOf<T> {
    pub items: Vec<T>,
    pub cursor: Option<String>,
    pub total: i64,
}

/// One page of the datasources list, with how many of the user's datasources (under the same
/// kind, sync type and text filters) are in each status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasourceListing {
    pub items: Vec<DatasourceView>,
    pub cursor: Option<String>,
    pub total: i64,
    pub counts: Vec<(String, i64)>,
}

/// What a bulk action did to one datasource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkResult {
    pub id: String,
    pub title: String,
    pub ok: bool,
    /// The status afterwards, or why it was refused.
    pub message: String,
}

/// What a form did, carried over its redirect to the page it returns to (see `api::ssr::flash`).
/// Forms post as plain forms (fetched by the page's script, or by the browser itself without
/// JavaScript), so this is how every page learns what the last form did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flash {
    /// The toast.
    pub text: String,
    pub ok: bool,
    /// The server function that flashed it (its path, e.g. `/rpc/invite`), so the form it came
    /// from can confirm in place.
    #[serde(default)]
    pub from: Option<String>,
    /// What that form says in place when it says more than the toast (an invitation's
    /// "Invited … as editor.", how many resources were queued).
    #[serde(default)]
    pub detail: Option<String>,
    /// A bulk action's action and results, for the list to show below it.
    pub bulk: Option<(String, Vec<BulkResult>)>,
    /// A token just created, whose secret is shown this once.
    pub token: Option<NewToken>,
    /// Bulk results left out because they did not fit (see `flash::cookie`).
    #[serde(default)]
    pub bulk_cut: usize,
}

impl Flash {
    /// A toast and nothing more.
    pub fn new(ok: bool, text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ok,
            from: None,
            detail: None,
            bulk: None,
            token: None,
            bulk_cut: 0,
        }
    }
}

/// The orders of the datasources list (`sort`), as the engine names them.
pub const SORTS: &[(&str, &str)] = &[
    ("oldest", "Oldest first"),
    ("newest", "Newest first"),
    ("title", "Title A–Z"),
    ("-title", "Title Z–A"),
    ("status", "Needs attention first"),
    ("-resources", "Most resources"),
    ("-size", "Largest"),
];

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

/// A connector as the forms show it (from the engine's registry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorView {
    pub kind: String,
    pub label: String,
    pub description: String,
    /// The sync types it supports; the first is the default.
    pub sync_types: Vec<String>,
    pub settings: Vec<SettingView>,
    pub credentials: Vec<CredentialView>,
    pub credentials_legend: String,
    pub credentials_hint_new: String,
    pub credentials_hint_replace: String,
    /// Only account admins may create one.
    pub admin_only: bool,
}

/// One setting of a datasource, labelled as its connector declares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingValue {
    pub name: String,
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingView {
    pub name: String,
    pub label: String,
    pub help: String,
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialView {
    /// Its name on the wire (and in errors).
    pub name: String,
    /// The form input's name.
    pub input: String,
    pub label: String,
    pub secret: bool,
}

impl ConnectorView {
    /// The fields the settings form shows errors of in place.
    pub fn form_fields(&self) -> Vec<String> {
        ["@type", "title", "type_sync"]
            .into_iter()
            .map(str::to_owned)
            .chain(self.settings.iter().map(|s| s.name.clone()))
            .chain(self.credential_fields())
            .collect()
    }

    /// The fields the credential inputs show errors of.
    pub fn credential_fields(&self) -> Vec<String> {
        self.credentials.iter().map(|c| c.name.clone()).collect()
    }
}

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

/// What a toast says after each action, in one place: the page's script shows it, and without
/// JavaScript the server flashes the same words onto the page the form returns to.
pub mod said {
    pub fn queued_for_processing(n: i64) -> String {
        format!(
            "{n} resource{} queued for processing",
            if n == 1 { "" } else { "s" }
        )
    }
    pub fn sync_requested(state: &str) -> String {
        if state == "running" {
            "A sync is already running".to_owned()
        } else {
            "Sync queued".to_owned()
        }
    }
    pub fn created(title: &str) -> String {
        format!("Created “{title}”")
    }
    pub fn deleted(title: &str) -> String {
        format!("Deleted “{title}”")
    }
    pub fn invited(email: &str) -> String {
        format!("Invitation sent to {email}")
    }
    pub fn user_added(email: &str) -> String {
        format!("Added {email}")
    }
    pub fn user_updated(email: &str) -> String {
        format!("Updated {email}")
    }
    /// A bulk action's toast, and whether it did all it was asked.
    pub fn bulk_done(action: &str, items: &[super::BulkResult]) -> (bool, String) {
        let done = items.iter().filter(|r| r.ok).count();
        let verb = match action {
            "sync" => "Queued a sync for",
            "pause" => "Paused",
            _ => "Resumed",
        };
        let text = format!(
            "{verb} {done} of {} datasource{}",
            items.len(),
            if items.len() == 1 { "" } else { "s" }
        );
        if done == items.len() {
            (true, text)
        } else {
            (false, format!("{text}; see the results below the list"))
        }
    }
    pub const SELECT_FIRST: &str = "Select the datasources to sync, pause or resume first.";
    pub const SAVED: &str = "Changes saved";
    pub const CREDENTIALS_SAVED: &str = "Credentials saved";
    pub const PAUSED: &str = "Paused; a running sync stops at its next checkpoint";
    pub const RESUMED: &str = "Resuming from where it paused";
    pub const ACCESS_CHANGED: &str = "Access changed";
    pub const INVITATION_REVOKED: &str = "Invitation revoked";
    pub const INVITATION_ACCEPTED: &str = "Invitation accepted; the datasource is in your list";
    pub const INVITATION_DECLINED: &str = "Invitation declined";
    pub const TOKEN_CREATED: &str = "Token created; copy its secret now";
    pub const TOKEN_REVOKED: &str = "Token revoked";
    pub const PASSWORD_CHANGED: &str = "Password changed";
}
