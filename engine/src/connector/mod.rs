//! The connector registry: every kind of source Tributary collects from declares itself here,
//! once: its kind and label, the sync types it supports, its settings (with their labels, help
//! and checks), its credentials, where those credentials may be sent, and how it opens a
//! [`Source`] for a run. Validation (`service`), the spyder manager, the forms (through the
//! server functions) and the OpenAPI document all read [`REGISTRY`]; none of them names a
//! connector.
//!
//! Adding a connector is one file in this folder (its [`Spec`], a [`Connector`] and its
//! [`Source`]) plus one line in [`REGISTRY`]. OAuth services refresh their tokens through
//! [`oauth`].

pub mod dropbox;
pub mod folder;
pub mod oauth;
pub mod s3;
pub mod slack;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::blobs::{Blob, BlobStore};
use crate::domain::{DatasourceKind, SyncType};
use crate::egress::{Egress, Service};
use crate::error::{EngineError, Result};

/// Fields every datasource has, besides its connector's settings and credentials.
pub const COMMON_FIELDS: &[&str] = &["@type", "title", "type_sync"];

/// Every connector, in the order the forms offer them.
pub static REGISTRY: &[&dyn Connector] =
    &[&folder::Folder, &s3::S3, &dropbox::Dropbox, &slack::Slack];

/// The connectors' declarations, in registry order.
pub fn specs() -> impl Iterator<Item = &'static Spec> {
    REGISTRY.iter().map(|c| c.spec())
}

/// The connector of a kind. Every [`DatasourceKind`] is registered (only the registry makes
/// one), so this always finds it.
pub fn connector(kind: DatasourceKind) -> &'static dyn Connector {
    REGISTRY
        .iter()
        .copied()
        .find(|c| c.spec().kind == kind)
        .unwrap_or(REGISTRY[0])
}

impl DatasourceKind {
    /// The declaration of this kind's connector.
    pub fn spec(self) -> &'static Spec {
        connector(self).spec()
    }

    /// Human label for the UI.
    pub fn label(self) -> &'static str {
        self.spec().label
    }

    /// The sync types this kind supports; the first is the default.
    pub fn supported_sync_types(self) -> &'static [SyncType] {
        self.spec().sync_types
    }

    pub fn supports(self, t: SyncType) -> bool {
        self.supported_sync_types().contains(&t)
    }

    /// Checks that `t` is allowed for this kind, naming the field and the reason when it is not.
    pub fn check_sync_type(self, t: SyncType) -> Result<()> {
        if self.supports(t) {
            return Ok(());
        }
        let allowed: Vec<String> = self
            .supported_sync_types()
            .iter()
            .map(|t| format!("'{t}'"))
            .collect();
        Err(EngineError::invalid(
            "type_sync",
            format!(
                "{} datasources support only {} sync; '{}' is not allowed",
                self.label(),
                allowed.join(", "),
                t
            ),
        ))
    }
}

impl FromStr for DatasourceKind {
    type Err = EngineError;

    fn from_str(s: &str) -> Result<Self> {
        specs()
            .map(|spec| spec.kind)
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = specs().map(|spec| spec.kind.as_str()).collect();
                EngineError::invalid(
                    "@type",
                    format!("'{s}' is not one of: {}", names.join(", ")),
                )
            })
    }
}

/// What a connector is, as the forms, the validation and the API document read it.
#[derive(Debug)]
pub struct Spec {
    /// Its `@type`, e.g. `S3Datasource`.
    pub kind: DatasourceKind,
    /// Its name in the UI, e.g. "S3 bucket".
    pub label: &'static str,
    /// One sentence: what it collects.
    pub description: &'static str,
    /// The sync types it supports; the first is the default.
    pub sync_types: &'static [SyncType],
    /// Its settings, in form order.
    pub settings: &'static [Setting],
    pub credentials: Credentials,
    /// The service whose public hosts it reaches (the egress fence); `None` for local sources.
    pub service: Option<Service>,
    /// Only account admins may create one or change where it reads from; the reason says why.
    pub admin_only: Option<&'static str>,
}

impl Spec {
    /// The setting called `name`.
    pub fn setting(&self, name: &str) -> Option<&'static Setting> {
        self.settings.iter().find(|s| s.name == name)
    }

    /// The settings that say where the credentials are sent. Credentials are sealed to their
    /// values: changing one drops the stored credentials, and only owners may.
    pub fn binding_fields(&self) -> Vec<&'static str> {
        self.settings
            .iter()
            .filter(|s| s.binds_credentials)
            .map(|s| s.name)
            .collect()
    }

    /// The credentials' wire names (as `@refreshServiceCredentials` takes them).
    pub fn credential_names(&self) -> Vec<&'static str> {
        self.credentials.fields.iter().map(|c| c.name).collect()
    }
}

/// One setting of a connector: a string, checked and normalised by `check`.
#[derive(Debug)]
pub struct Setting {
    /// Its name on the wire and in the form.
    pub name: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    pub required: bool,
    pub check: Check,
    /// It says where the credentials go (a host, a bucket, an OAuth client).
    pub binds_credentials: bool,
}

/// How a setting's value is checked; every check returns the value to store.
#[derive(Debug, Clone, Copy)]
pub enum Check {
    /// Any text, trimmed.
    Text,
    /// An http(s) URL of a server speaking the connector's API, inside the egress fence for
    /// its service; stored without a trailing slash.
    Endpoint,
    /// A check of the connector's own.
    Custom(fn(&Env<'_>, &str) -> Result<String>),
}

/// The credentials a connector takes; they go to the wallet, never into settings or answers.
#[derive(Debug)]
pub struct Credentials {
    pub fields: &'static [Credential],
    /// The form's title for them, e.g. "Access keys".
    pub legend: &'static str,
    /// Help on the new-datasource form.
    pub hint_new: &'static str,
    /// Help where they replace what the wallet holds.
    pub hint_replace: &'static str,
    /// Why a datasource without them waits instead of syncing; `None` when it can sync
    /// without (a public bucket).
    pub required: Option<&'static str>,
    /// All or none of the fields: the message for a missing one when only some are given.
    pub all_or_none: Option<&'static str>,
}

impl Credentials {
    pub const NONE: Credentials = Credentials {
        fields: &[],
        legend: "",
        hint_new: "",
        hint_replace: "",
        required: None,
        all_or_none: None,
    };
}

/// One credential.
#[derive(Debug)]
pub struct Credential {
    /// Its name in the wallet and on the wire (`Authorization`, `access_key_id`).
    pub name: &'static str,
    /// The form input's name (`access_token` for `Authorization`).
    pub input: &'static str,
    pub label: &'static str,
    /// Shown as a password input.
    pub secret: bool,
    /// A form value is sent as `Bearer <value>` (the seed's `Authorization` shape).
    pub bearer: bool,
}

/// What the operator allows connectors: the egress fence and the folder roots.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    pub egress: &'a Egress,
    pub folder_roots: &'a [PathBuf],
    /// Files larger than this are named in the run's note and not collected.
    pub max_file_bytes: u64,
}

/// What a connector opens a source with.
pub struct Opening<'a> {
    pub settings: &'a Map<String, Value>,
    pub credentials: Vec<(String, String)>,
    /// The checkpoint: the source starts after this item id.
    pub after: &'a str,
    /// Where refreshed credentials go.
    pub saver: Arc<dyn CredentialSaver>,
    pub env: Env<'a>,
}

impl Opening<'_> {
    pub fn setting(&self, name: &str) -> Option<String> {
        self.settings
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    pub fn credential(&self, name: &str) -> Option<String> {
        self.credentials
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
}

/// A kind of source.
pub trait Connector: Send + Sync {
    fn spec(&self) -> &'static Spec;
    /// The source a run collects from, continuing after `opening.after`.
    fn open(&self, opening: Opening<'_>) -> std::result::Result<Box<dyn Source>, SyncError>;
}

/// Checks one setting's value (already a non-empty or required string).
pub fn check_setting(spec: &Spec, setting: &Setting, env: &Env<'_>, value: &str) -> Result<String> {
    match setting.check {
        Check::Text => Ok(value.trim().to_owned()),
        Check::Endpoint => {
            let rest = value
                .strip_prefix("http://")
                .or_else(|| value.strip_prefix("https://"));
            if !matches!(rest, Some(host) if !host.is_empty() && !host.contains(char::is_whitespace))
            {
                return Err(EngineError::invalid(
                    setting.name,
                    "must be an http:// or https:// URL",
                ));
            }
            let value = value.trim_end_matches('/');
            if let Some(service) = spec.service {
                env.egress
                    .check_endpoint(service, value)
                    .map_err(|m| EngineError::invalid(setting.name, m))?;
            }
            Ok(value.to_owned())
        }
        Check::Custom(f) => f(env, value),
    }
}

/// One item of a source listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The item's identity at the source (a relative path, an S3 key); listings come in byte
    /// order of it.
    pub source_id: String,
    pub size: i64,
    pub modified: Option<DateTime<Utc>>,
}

/// Why a sync could not go on.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncError {
    /// Worth retrying later: timeouts, 5xx, I/O errors.
    Transient(String),
    /// Retry after the source's own delay (HTTP 429 `Retry-After`).
    RetryAfter(std::time::Duration, String),
    /// A person must act: the path is gone, access denied, credentials rejected.
    Permanent(String),
}

impl std::fmt::Display for SyncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyncError::Transient(m) | SyncError::Permanent(m) | SyncError::RetryAfter(_, m) => {
                f.write_str(m)
            }
        }
    }
}

/// Stores a fetched item's bytes in the blob store (on a blocking thread: it hashes and writes).
pub(crate) async fn store_bytes(
    blobs: &BlobStore,
    bytes: impl AsRef<[u8]> + Send + 'static,
) -> std::result::Result<Option<Blob>, SyncError> {
    let blobs = blobs.clone();
    tokio::task::spawn_blocking(move || blobs.put_bytes(bytes.as_ref()))
        .await
        .map_err(|e| SyncError::Transient(format!("storing an item stopped: {e}")))?
        .map(Some)
        .map_err(|e| SyncError::Transient(format!("storing an item: {e}")))
}

/// The token of an `Authorization` credential (`Bearer <token>`, or the bare token). Without
/// one, a refresh token stands in for it (the empty token makes the first call refresh);
/// without either, `missing` is the error.
pub(crate) fn bearer_token(
    authorization: Option<&str>,
    refresh_token: Option<&String>,
    missing: &str,
) -> std::result::Result<String, SyncError> {
    authorization
        .map(|a| a.trim().trim_start_matches("Bearer ").trim().to_owned())
        .filter(|t| !t.is_empty())
        .or_else(|| refresh_token.map(|_| String::new()))
        .ok_or_else(|| SyncError::Permanent(missing.to_owned()))
}

/// The HTTP client of an API spyder, inside the operator's fence (see [`crate::egress`]):
/// connections give up after 10 s, requests after `timeout`.
pub(crate) fn http_client(
    egress: &crate::egress::Egress,
    service: crate::egress::Service,
    timeout: std::time::Duration,
) -> std::result::Result<reqwest::Client, SyncError> {
    egress
        .client(service, timeout)
        .map_err(|e| SyncError::Permanent(format!("no HTTP client: {e}")))
}

/// Refuses (a person must act) a base URL the fence does not allow: the setting was saved
/// before the operator changed the list, or it was never checked.
pub(crate) fn check_base(
    egress: &crate::egress::Egress,
    service: crate::egress::Service,
    base: &str,
) -> std::result::Result<(), SyncError> {
    let url = reqwest::Url::parse(base)
        .map_err(|_| SyncError::Permanent(format!("'{base}' is not a URL")))?;
    egress
        .check_url(service, &url)
        .map_err(SyncError::Permanent)
}

/// A request that got no answer, as users read it: what went wrong along the error's chain
/// (the fence's refusal included), cleaned, never a remote's body.
pub(crate) fn unreachable(service: &str, e: &reqwest::Error) -> SyncError {
    let mut innermost = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        innermost = s.to_string();
        source = s.source();
    }
    let why = crate::egress::sanitise(&innermost);
    if innermost.contains("connectors may not reach") {
        SyncError::Permanent(format!("{service} was not contacted: {why}"))
    } else if e.is_timeout() {
        SyncError::Transient(format!("{service} did not answer in time"))
    } else {
        SyncError::Transient(format!("{service} could not be reached: {why}"))
    }
}

/// A listing read whole from an API that lists in no useful order, served in pages in byte
/// order of `source_id` after the checkpoint, as the merge with the database needs.
#[derive(Default)]
pub(crate) struct SortedListing(Option<std::vec::IntoIter<Entry>>);

impl SortedListing {
    pub(crate) fn is_read(&self) -> bool {
        self.0.is_some()
    }

    /// Keeps the entries of `all` after `after`, sorted, each `source_id` once.
    pub(crate) fn set(&mut self, mut all: Vec<Entry>, after: &str) {
        all.retain(|e| e.source_id.as_str() > after);
        all.sort_by(|a, b| a.source_id.cmp(&b.source_id));
        all.dedup_by(|a, b| a.source_id == b.source_id);
        self.0 = Some(all.into_iter());
    }

    pub(crate) fn page(&mut self, limit: usize) -> Vec<Entry> {
        self.0
            .as_mut()
            .map(|l| l.by_ref().take(limit).collect())
            .unwrap_or_default()
    }
}

/// Where a spyder keeps credentials it refreshed (the datasource's wallet entry, in the
/// server), so the next run starts with them.
#[async_trait]
pub trait CredentialSaver: Send + Sync {
    /// Replaces these credentials (name, value); the others stay.
    async fn save(&self, credentials: Vec<(String, String)>) -> std::result::Result<(), String>;
}

/// A place a spyder collects from.
#[async_trait]
pub trait Source: Send + Sync {
    /// The next entries after the last one returned (the first call starts after the
    /// checkpoint the source was made with), in byte order of `source_id`; empty when done.
    async fn next_page(&mut self, limit: usize) -> std::result::Result<Vec<Entry>, SyncError>;
    /// Parts of the source that could not be listed. Non-empty means the listing is
    /// incomplete, and the run deletes nothing.
    fn problems(&self) -> Vec<String>;
    /// Items left out on purpose (over the size limit): named in the run's note, and not
    /// collected.
    fn skipped(&self) -> Vec<String> {
        Vec::new()
    }
    /// Copies an entry's content into the blob store; `None` if it vanished meanwhile.
    async fn fetch(
        &self,
        entry: &Entry,
        blobs: &BlobStore,
    ) -> std::result::Result<Option<Blob>, SyncError>;
    /// [`fetch`](Self::fetch) of several entries, outcomes in their order: by default
    /// [`FETCH_CONCURRENCY`] at a time.
    async fn fetch_many(
        &self,
        entries: &[&Entry],
        blobs: &BlobStore,
    ) -> Vec<std::result::Result<Option<Blob>, SyncError>> {
        let mut fetched = Vec::with_capacity(entries.len());
        for chunk in entries.chunks(FETCH_CONCURRENCY) {
            fetched.extend(
                futures_util::future::join_all(chunk.iter().map(|e| self.fetch(e, blobs))).await,
            );
        }
        fetched
    }
}

/// Files read at once while syncing.
pub(crate) const FETCH_CONCURRENCY: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_from_its_name_and_no_other() {
        for spec in specs() {
            let k: DatasourceKind = spec.kind.as_str().parse().unwrap();
            assert_eq!(k, spec.kind);
            assert!(std::ptr::eq(k.spec(), spec));
        }
        let e = "FtpDatasource".parse::<DatasourceKind>().unwrap_err();
        assert_eq!(e.field(), Some("@type"));
        assert!(e.to_string().contains("S3Datasource"), "{e}");
        let json: DatasourceKind = serde_json::from_str("\"SlackDatasource\"").unwrap();
        assert_eq!(serde_json::to_string(&json).unwrap(), "\"SlackDatasource\"");
        assert!(serde_json::from_str::<DatasourceKind>("\"Nope\"").is_err());
    }

    #[test]
    fn declarations_are_consistent() {
        let mut kinds: Vec<&str> = specs().map(|s| s.kind.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), REGISTRY.len(), "a kind is registered twice");
        for spec in specs() {
            assert!(!spec.sync_types.is_empty(), "{}", spec.kind);
            assert!(!spec.label.is_empty() && !spec.description.is_empty());
            let mut names: Vec<&str> = spec.settings.iter().map(|s| s.name).collect();
            names.extend(spec.credential_names());
            names.extend(COMMON_FIELDS);
            let n = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), n, "{}: a field is declared twice", spec.kind);
            // Credentials that go somewhere must be bound to where.
            if spec.service.is_some() && !spec.credentials.fields.is_empty() {
                assert!(!spec.binding_fields().is_empty(), "{}", spec.kind);
            }
        }
    }

    #[test]
    fn folder_only_supports_one() {
        assert!(folder::KIND.check_sync_type(SyncType::One).is_ok());
        for t in [SyncType::Auto, SyncType::Arch] {
            let e = folder::KIND.check_sync_type(t).unwrap_err();
            assert_eq!(e.status_code(), 422);
            assert_eq!(e.field(), Some("type_sync"));
        }
        for t in SyncType::ALL {
            assert!(s3::KIND.check_sync_type(*t).is_ok());
        }
    }
}
