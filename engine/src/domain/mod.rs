//! Domain types that cannot hold invalid values: parse once at the edge, then trust them.

pub mod error;

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

/// Declares a string-backed enum with its wire names, `FromStr` naming the field on error,
/// `Display` and serde as those names. One place to list each enum's values.
macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident, $field:literal { $($(#[$vm:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $wire)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }

        /// Equal to its wire name, so a value reads like the JSON it becomes.
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool { self.as_str() == *other }
        }

        impl FromStr for $name {
            type Err = EngineError;
            fn from_str(s: &str) -> Result<Self> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    other => Err(EngineError::invalid(
                        $field,
                        format!(
                            "'{}' is not one of: {}",
                            other,
                            [$($wire),+].join(", ")
                        ),
                    )),
                }
            }
        }
    };
}

wire_enum!(
    /// How a datasource keeps itself in step with its source (`type_sync`).
    SyncType, "type_sync" {
        /// Full sync, then a continuous mirror: deletions at the source are deleted here.
        Auto = "auto",
        /// Collects once, never again on its own.
        One = "one",
        /// Full sync, then continuously adds what is new; never deletes.
        Arch = "arch",
    }
);

impl SyncType {
    /// One line a person can read to choose a sync type.
    pub fn explanation(self) -> &'static str {
        match self {
            SyncType::Auto => {
                "Mirror: full sync, then continuous; deletions at the source are deleted here too."
            }
            SyncType::One => "One-time: collects everything once and never again on its own.",
            SyncType::Arch => {
                "Archive: full sync, then continuously adds what is new; never deletes."
            }
        }
    }

    /// Whether the spyder manager reschedules this datasource after each run.
    pub fn is_recurring(self) -> bool {
        matches!(self, SyncType::Auto | SyncType::Arch)
    }
}

wire_enum!(
    /// Where a datasource is in its synchronisation (`sync_status`).
    SyncStatus, "sync_status" {
        Created = "created",
        Pending = "pending",
        Syncing = "syncing",
        Synced = "synced",
        Failed = "failed",
        Error = "error",
        Paused = "paused",
        Resuming = "resuming",
        Invited = "invited",
    }
);

impl SyncStatus {
    pub fn explanation(self) -> &'static str {
        match self {
            SyncStatus::Created => "Created, not configured yet",
            SyncStatus::Pending => "Queued, waiting for the spyder manager",
            SyncStatus::Syncing => "A spyder is collecting",
            SyncStatus::Synced => "The spyder finished",
            SyncStatus::Failed => "The spyder failed and will be retried",
            SyncStatus::Error => "The spyder errored and will not be retried until someone acts",
            SyncStatus::Paused => "Synchronisation is paused",
            SyncStatus::Resuming => "Picking up from where it was paused",
            SyncStatus::Invited => "Shared with you; accept the invitation to see it",
        }
    }
}

/// The kind of a datasource (`@type`): the wire name of a registered connector. Only the
/// connector registry makes one (see [`crate::connector`]), so a kind always has its connector:
/// parsing an unregistered name is a 422 naming `@type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DatasourceKind(&'static str);

impl DatasourceKind {
    /// A kind named by its connector; `pub(crate)` so that only the registry declares kinds.
    pub(crate) const fn named(wire: &'static str) -> Self {
        Self(wire)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for DatasourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for DatasourceKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for DatasourceKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

wire_enum!(
    /// Where a sync job is in the queue (`state`).
    JobState, "state" {
        /// Waiting for its `run_after` and a free worker.
        Queued = "queued",
        /// A worker holds its lease.
        Running = "running",
        /// Its datasource was paused; it keeps its checkpoint.
        Paused = "paused",
        Done = "done",
        /// Given up after the retries (or refused for good).
        Failed = "failed",
    }
);

wire_enum!(
    /// How a sync run ended (`outcome` in a datasource's history).
    RunOutcome, "outcome" {
        /// Still going.
        Running = "running",
        Synced = "synced",
        /// A person paused it, or a mass deletion waits for one.
        Paused = "paused",
        /// A transient fault; the run is retried.
        Failed = "failed",
        /// A person must act (path gone, credentials refused, retries used up).
        Error = "error",
    }
);

wire_enum!(
    /// Where a resource is in the processing pipeline (`processing_status`).
    ProcessingStatus, "processing_status" {
        /// Waiting for extraction (new, changed, or sent to processing again).
        Pending = "pending",
        /// Claimed by a pipeline worker.
        Processing = "processing",
        Processed = "processed",
        /// Extraction failed; `processing_error` says why.
        Failed = "failed",
    }
);

wire_enum!(
    /// What an index outbox entry asks of the search index.
    OutboxOp, "op" {
        /// Add or replace the resource's document.
        Upsert = "upsert",
        /// Remove the resource's document.
        Delete = "delete",
        /// Remove every document of a deleted datasource.
        DropDatasource = "drop_datasource",
    }
);

wire_enum!(
    /// A user's account-wide role.
    AccountRole, "role" {
        Admin = "admin",
        Member = "member",
    }
);

wire_enum!(
    /// A user's role on one datasource, as in Guillotina: owners do everything (sharing and
    /// delete included), editors configure and sync, viewers see, browse and search.
    DatasourceRole, "role" {
        Owner = "owner",
        Editor = "editor",
        Viewer = "viewer",
    }
);

impl DatasourceRole {
    /// Higher is more: viewer < editor < owner.
    pub fn rank(self) -> u8 {
        match self {
            DatasourceRole::Viewer => 1,
            DatasourceRole::Editor => 2,
            DatasourceRole::Owner => 3,
        }
    }

    pub fn at_least(self, other: DatasourceRole) -> bool {
        self.rank() >= other.rank()
    }
}

wire_enum!(
    /// Where an invitation stands.
    InvitationStatus, "status" {
        Pending = "pending",
        Accepted = "accepted",
        Declined = "declined",
        Revoked = "revoked",
    }
);

/// A datasource title: trimmed, 1 to 200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Title(String);

impl Title {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self> {
        let t = raw.trim();
        if t.is_empty() {
            return Err(EngineError::invalid("title", "must not be empty"));
        }
        if t.chars().count() > Self::MAX_CHARS {
            return Err(EngineError::invalid(
                "title",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if t.chars().any(char::is_control) {
            return Err(EngineError::invalid(
                "title",
                "must not contain control characters",
            ));
        }
        Ok(Self(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many items one page holds: 1 to 1000, 20 when not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u32);

impl PageSize {
    pub const DEFAULT: u32 = 20;
    pub const MAX: u32 = 1000;

    pub fn parse(n: Option<i64>) -> Result<Self> {
        match n {
            None => Ok(Self(Self::DEFAULT)),
            Some(n) if (1..=i64::from(Self::MAX)).contains(&n) => Ok(Self(n as u32)),
            Some(n) => Err(EngineError::invalid(
                "page_size",
                format!("must be between 1 and {}, got {n}", Self::MAX),
            )),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for PageSize {
    fn default() -> Self {
        Self(Self::DEFAULT)
    }
}

/// An opaque position in a keyset-paged listing. It names the listing it belongs to (`scope`,
/// e.g. a datasource id) so a cursor from another listing is refused instead of silently
/// paging the wrong thing. `key` carries the last row's sort value when a listing is ordered by
/// something other than its sequence. Clients see base64; they must not build one themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub scope: String,
    pub after: i64,
    pub key: Option<String>,
}

impl Cursor {
    const VERSION: &'static str = "v1";

    pub fn new(scope: impl Into<String>, after: i64) -> Self {
        Self {
            scope: scope.into(),
            after,
            key: None,
        }
    }

    pub fn with_key(mut self, key: Option<String>) -> Self {
        self.key = key;
        self
    }

    pub fn encode(&self) -> String {
        let mut raw = format!("{}|{}|{}", Self::VERSION, self.scope, self.after);
        if let Some(k) = &self.key {
            raw.push('|');
            raw.push_str(k);
        }
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Decodes a cursor for `scope`. Anything unreadable or minted for another listing is a 400.
    pub fn decode(raw: &str, scope: &str) -> Result<Self> {
        let bad = || {
            EngineError::BadRequest(
                "scroll: the cursor is invalid or belongs to another listing".into(),
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = text.splitn(4, '|');
        let (Some(v), Some(s), Some(a)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        if v != Self::VERSION || s != scope {
            return Err(bad());
        }
        let after: i64 = a.parse().map_err(|_| bad())?;
        if after < 0 {
            return Err(bad());
        }
        Ok(Self {
            scope: s.to_owned(),
            after,
            key: parts.next().map(str::to_owned),
        })
    }
}

wire_enum!(
    /// The order of a datasource listing (`sort`). A leading `-` means largest first.
    #[derive(Default)]
    DatasourceSort, "sort" {
        #[default]
        Oldest = "oldest",
        Newest = "newest",
        Title = "title",
        TitleDesc = "-title",
        Status = "status",
        Resources = "-resources",
        Size = "-size",
    }
);

impl DatasourceSort {
    pub fn label(self) -> &'static str {
        match self {
            DatasourceSort::Oldest => "Oldest first",
            DatasourceSort::Newest => "Newest first",
            DatasourceSort::Title => "Title A–Z",
            DatasourceSort::TitleDesc => "Title Z–A",
            DatasourceSort::Status => "Needs attention first",
            DatasourceSort::Resources => "Most resources",
            DatasourceSort::Size => "Largest",
        }
    }
}

/// What a datasource listing shows: optional filters and an order. `status` filters by the
/// status the user sees (`invited` for a pending invitation); `text` matches titles,
/// case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatasourceQuery {
    pub status: Option<SyncStatus>,
    pub kind: Option<DatasourceKind>,
    pub type_sync: Option<SyncType>,
    pub text: Option<String>,
    pub sort: DatasourceSort,
}

impl DatasourceQuery {
    pub const MAX_TEXT: usize = 200;

    /// Parses the listing's query parameters; empty values mean "any". A bad value is a 422
    /// naming its parameter.
    pub fn parse(
        status: Option<&str>,
        kind: Option<&str>,
        type_sync: Option<&str>,
        text: Option<&str>,
        sort: Option<&str>,
    ) -> Result<Self> {
        fn opt<T: FromStr<Err = EngineError>>(raw: Option<&str>, field: &str) -> Result<Option<T>> {
            match raw.map(str::trim).filter(|r| !r.is_empty()) {
                None => Ok(None),
                Some(r) => r.parse().map(Some).map_err(|e| match e {
                    EngineError::Invalid { message, .. } => EngineError::invalid(field, message),
                    other => other,
                }),
            }
        }
        let text = text.map(str::trim).filter(|t| !t.is_empty());
        if text.is_some_and(|t| t.chars().count() > Self::MAX_TEXT) {
            return Err(EngineError::invalid(
                "q",
                format!("at most {} characters", Self::MAX_TEXT),
            ));
        }
        Ok(Self {
            status: opt(status, "status")?,
            kind: opt(kind, "kind")?,
            type_sync: opt(type_sync, "type_sync")?,
            text: text.map(str::to_owned),
            sort: opt(sort, "sort")?.unwrap_or_default(),
        })
    }

    /// The same query without its status filter (what the per-status counts are taken over).
    pub fn without_status(&self) -> Self {
        Self {
            status: None,
            ..self.clone()
        }
    }

    /// A short stable digest, so a cursor only pages the listing it was made for.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let text = format!(
            "{:?}|{:?}|{:?}|{}|{}",
            self.status.map(SyncStatus::as_str),
            self.kind.map(DatasourceKind::as_str),
            self.type_sync.map(SyncType::as_str),
            self.text.as_deref().unwrap_or(""),
            self.sort.as_str()
        );
        let digest = Sha256::digest(text.as_bytes());
        digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
    }
}

wire_enum!(
    /// What a bulk action does to each datasource it is given (`action`).
    SyncAction, "action" {
        /// `@sendToSpyder`: a run now (or the queued one brought forward).
        Sync = "sync",
        Pause = "pause",
        Resume = "resume",
    }
);

/// A normalised e-mail address (trimmed, lower-case, one `@` with text on both sides).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self> {
        let e = raw.trim().to_lowercase();
        let ok = e.len() <= 254
            && !e.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(e.split_once('@'), Some((l, d)) if !l.is_empty() && !d.is_empty() && !d.contains('@'));
        if ok {
            Ok(Self(e))
        } else {
            Err(EngineError::invalid(
                "email",
                "is not a valid e-mail address",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_type_round_trips_and_names_field() {
        for t in SyncType::ALL {
            assert_eq!(t.as_str().parse::<SyncType>().unwrap(), *t);
        }
        let e = "weekly".parse::<SyncType>().unwrap_err();
        assert_eq!(e.field(), Some("type_sync"));
        assert!(e.to_string().contains("auto, one, arch"), "{e}");
    }

    #[test]
    fn nine_statuses() {
        assert_eq!(SyncStatus::ALL.len(), 9);
        for s in SyncStatus::ALL {
            assert_eq!(s.as_str().parse::<SyncStatus>().unwrap(), *s);
        }
    }

    #[test]
    fn titles() {
        assert_eq!(Title::parse("  Docs ").unwrap().as_str(), "Docs");
        assert!(Title::parse("   ").is_err());
        assert!(Title::parse(&"x".repeat(201)).is_err());
        assert!(Title::parse("a\u{0}b").is_err());
    }

    #[test]
    fn page_sizes() {
        assert_eq!(PageSize::parse(None).unwrap().get(), 20);
        assert_eq!(PageSize::parse(Some(1000)).unwrap().get(), 1000);
        for bad in [0, -1, 1001] {
            assert_eq!(
                PageSize::parse(Some(bad)).unwrap_err().field(),
                Some("page_size")
            );
        }
    }

    #[test]
    fn cursors_round_trip_and_refuse_tampering() {
        let c = Cursor::new("ds1", 42);
        let enc = c.encode();
        assert_eq!(Cursor::decode(&enc, "ds1").unwrap(), c);
        assert_eq!(Cursor::decode(&enc, "ds2").unwrap_err().status_code(), 400);
        assert_eq!(
            Cursor::decode("garbage!!", "ds1")
                .unwrap_err()
                .status_code(),
            400
        );
        let forged = URL_SAFE_NO_PAD.encode("v1|ds1|-5");
        assert_eq!(
            Cursor::decode(&forged, "ds1").unwrap_err().status_code(),
            400
        );
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Admin@Example.COM ").unwrap().as_str(),
            "admin@example.com"
        );
        for bad in ["", "no-at", "@x", "x@", "a b@c", "a@b@c"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
