//! Datasources: creation with validated settings, listing, editing, deleting, and their
//! children. Input arrives as JSON objects (from the REST API or a form) and is checked here,
//! in one place, so both faces of the app refuse the same things with the same words.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::access::Action;
use super::{Engine, json_object, new_id};
use crate::domain::{
    Cursor, DatasourceKind, DatasourceQuery, PageSize, SyncStatus, SyncType, Title,
};
use crate::error::{EngineError, Result};
use crate::model::{Datasource, DatasourceView, Page, Resource, User};
use crate::store::ListPosition;

/// Fields every datasource has, besides its connector settings.
const COMMON_FIELDS: &[&str] = &["@type", "title", "type_sync"];
/// Fields a client may send back unchanged from a GET; they are read-only and ignored.
const READ_ONLY_FIELDS: &[&str] = &[
    "@id",
    "id",
    "owner",
    "status_reason",
    "created",
    "modified",
    "resource_count",
    "byte_count",
    "last_sync_started",
    "last_sync_finished",
    "next_sync_due",
    "parent",
    "@name",
    "sync_status",
];

/// The connector settings each kind takes, and which are required.
pub fn settings_fields(kind: DatasourceKind) -> &'static [(&'static str, bool)] {
    match kind {
        DatasourceKind::Folder => &[("path", true)],
        DatasourceKind::S3 => &[
            ("bucket", true),
            ("prefix", false),
            ("endpoint", false),
            ("region", false),
        ],
        DatasourceKind::Dropbox => &[("root", false), ("app_key", false), ("endpoint", false)],
        DatasourceKind::Slack => &[
            ("workspace", false),
            ("channels", false),
            ("client_id", false),
            ("endpoint", false),
        ],
    }
}

/// Credentials each kind takes; they go to the wallet, never into settings or answers.
pub fn credential_fields(kind: DatasourceKind) -> &'static [&'static str] {
    match kind {
        DatasourceKind::S3 => &["access_key_id", "secret_access_key"],
        DatasourceKind::Folder => &[],
        // OAuth services, refreshed with the seed's @refreshServiceCredentials body.
        DatasourceKind::Dropbox => &["X-Auth-Secret", "Authorization"],
        // Slack's refresh (token rotation) needs the app's secret too.
        DatasourceKind::Slack => &["X-Auth-Secret", "Authorization", "client_secret"],
    }
}

/// The settings that say where a kind's credentials are sent. Credentials are sealed to their
/// values (see [`destination`]): changing one of them drops the stored credentials, and only
/// owners may change them.
pub fn binding_fields(kind: DatasourceKind) -> &'static [&'static str] {
    match kind {
        DatasourceKind::Folder => &[],
        DatasourceKind::S3 => &["bucket", "endpoint", "region"],
        DatasourceKind::Dropbox => &["endpoint", "app_key"],
        DatasourceKind::Slack => &["endpoint", "client_id"],
    }
}

/// Where a datasource's credentials go, as the wallet binds them: its binding settings'
/// values, unambiguously encoded.
pub(crate) fn destination(kind: DatasourceKind, settings: &Map<String, Value>) -> String {
    let pairs: Vec<(&str, &str)> = binding_fields(kind)
        .iter()
        .map(|f| (*f, settings.get(*f).and_then(Value::as_str).unwrap_or("")))
        .collect();
    serde_json::to_string(&pairs).unwrap_or_default()
}

/// The credentials in `obj` for `kind`: strings, both or neither for S3.
fn parse_credentials(
    kind: DatasourceKind,
    obj: &Map<String, Value>,
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for &field in credential_fields(kind) {
        if let Some(v) = string_field(obj, field)? {
            let v = v.trim();
            if v.is_empty() {
                return Err(EngineError::invalid(field, "must not be empty"));
            }
            out.push((field.to_owned(), v.to_owned()));
        }
    }
    if kind == DatasourceKind::S3 && out.len() == 1 {
        let missing = if out[0].0 == "access_key_id" {
            "secret_access_key"
        } else {
            "access_key_id"
        };
        return Err(EngineError::invalid(
            missing,
            "is required with the other key (or leave both out for a public bucket)",
        ));
    }
    Ok(out)
}

/// A validated create request.
#[derive(Debug, Clone)]
pub struct DatasourceInput {
    pub kind: DatasourceKind,
    pub title: Title,
    pub type_sync: SyncType,
    pub settings: Map<String, Value>,
    /// Credentials for the wallet.
    pub credentials: Vec<(String, String)>,
}

/// Paging of `@getAllChildren`.
#[derive(Debug, Clone, Default)]
pub struct ChildrenQuery {
    pub page_size: Option<i64>,
    pub scroll: Option<String>,
}

fn string_field<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(EngineError::invalid(field, "must be a string")),
    }
}

fn required_string<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<&'a str> {
    string_field(obj, field)?.ok_or_else(|| EngineError::invalid(field, "is required"))
}

/// Refuses fields that are neither common, settings of `kind`, nor read-only echoes.
fn refuse_unknown_fields(obj: &Map<String, Value>, kind: DatasourceKind) -> Result<()> {
    let settings = settings_fields(kind);
    for key in obj.keys() {
        let known = COMMON_FIELDS.contains(&key.as_str())
            || READ_ONLY_FIELDS.contains(&key.as_str())
            || settings.iter().any(|(f, _)| f == key)
            || credential_fields(kind).contains(&key.as_str());
        if !known {
            let mut allowed: Vec<&str> = COMMON_FIELDS.to_vec();
            allowed.extend(settings.iter().map(|(f, _)| *f));
            allowed.extend(credential_fields(kind));
            return Err(EngineError::invalid(
                key.clone(),
                format!(
                    "is not a field of {}; expected one of: {}",
                    kind,
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn check_s3_bucket(bucket: &str) -> Result<()> {
    let ok_chars = bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let edges = bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if (3..=63).contains(&bucket.len()) && ok_chars && edges {
        Ok(())
    } else {
        Err(EngineError::invalid(
            "bucket",
            "must be 3-63 characters of lowercase letters, digits, '.' and '-', starting and ending with a letter or digit",
        ))
    }
}

fn check_endpoint(endpoint: &str) -> Result<()> {
    let rest = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => Ok(()),
        _ => Err(EngineError::invalid(
            "endpoint",
            "must be an http:// or https:// URL",
        )),
    }
}

/// Folder datasources read the server's own disks: only account admins may create them or
/// point them at another folder (members collect a folder an admin shared with them). So a
/// member cannot collect a folder that another owner shares only with chosen people.
fn check_may_collect_folders(user: &User, kind: DatasourceKind) -> Result<()> {
    if kind == DatasourceKind::Folder && user.role != crate::domain::AccountRole::Admin {
        return Err(EngineError::Forbidden(
            "only account admins may collect folders on the server's disks; ask one to create \
             the Folder datasource and share it with you"
                .into(),
        ));
    }
    Ok(())
}

fn view_path(settings: &Map<String, Value>) -> Option<&str> {
    settings.get("path").and_then(Value::as_str)
}

/// The service whose public hosts a kind's connector reaches.
pub(crate) fn service(kind: DatasourceKind) -> Option<crate::egress::Service> {
    match kind {
        DatasourceKind::Folder => None,
        DatasourceKind::S3 => Some(crate::egress::S3),
        DatasourceKind::Dropbox => Some(crate::egress::DROPBOX),
        DatasourceKind::Slack => Some(crate::egress::SLACK),
    }
}

impl Engine {
    /// Resolves a Folder path (`..` and symlinks included) and checks it is an existing
    /// directory under one of the allowed roots. Returns the canonical path.
    pub fn check_folder_path(&self, raw: &str) -> Result<PathBuf> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(EngineError::invalid("path", "is required"));
        }
        let p = Path::new(raw);
        if !p.is_absolute() {
            return Err(EngineError::invalid("path", "must be an absolute path"));
        }
        // One answer for "missing", "not a directory" and "outside the roots", so that paths
        // on the server cannot be probed through it.
        let refused = || {
            let roots: Vec<String> = self
                .config()
                .folder_roots
                .iter()
                .map(|r| r.display().to_string())
                .collect();
            EngineError::invalid(
                "path",
                format!(
                    "'{raw}' is missing, not a directory, or outside the allowed folder roots ({})",
                    roots.join(", ")
                ),
            )
        };
        let canonical = std::fs::canonicalize(p).map_err(|_| refused())?;
        if !canonical.is_dir()
            || !self
                .config()
                .folder_roots
                .iter()
                .any(|root| canonical.starts_with(root))
        {
            return Err(refused());
        }
        Ok(canonical)
    }

    /// Validates one kind's settings out of `obj`, in field order. Missing required → 422.
    fn parse_settings(
        &self,
        kind: DatasourceKind,
        obj: &Map<String, Value>,
    ) -> Result<Map<String, Value>> {
        let mut out = Map::new();
        for &(field, required) in settings_fields(kind) {
            let value = if required {
                Some(required_string(obj, field)?)
            } else {
                string_field(obj, field)?
            };
            let Some(value) = value else { continue };
            let value = match (kind, field) {
                (DatasourceKind::Folder, "path") => {
                    self.check_folder_path(value)?.display().to_string()
                }
                (DatasourceKind::S3, "bucket") => {
                    check_s3_bucket(value)?;
                    value.to_owned()
                }
                (
                    DatasourceKind::S3 | DatasourceKind::Dropbox | DatasourceKind::Slack,
                    "endpoint",
                ) => {
                    check_endpoint(value)?;
                    let value = value.trim_end_matches('/');
                    if let Some(service) = service(kind) {
                        self.config
                            .egress
                            .check_endpoint(service, value)
                            .map_err(|m| EngineError::invalid("endpoint", m))?;
                    }
                    value.to_owned()
                }
                _ => value.trim().to_owned(),
            };
            out.insert(field.to_owned(), Value::String(value));
        }
        Ok(out)
    }

    /// Parses and validates a create request without touching the database.
    pub fn parse_datasource_input(&self, body: &Value) -> Result<DatasourceInput> {
        let obj = json_object(body)?;
        let kind: DatasourceKind = required_string(obj, "@type")?.parse()?;
        refuse_unknown_fields(obj, kind)?;
        let title = Title::parse(required_string(obj, "title")?)?;
        let type_sync = match string_field(obj, "type_sync")? {
            Some(t) => t.parse()?,
            None => kind.supported_sync_types()[0],
        };
        kind.check_sync_type(type_sync)?;
        if obj.contains_key("sync_status") {
            return Err(EngineError::invalid(
                "sync_status",
                "is set by the spyder manager, not by clients",
            ));
        }
        let settings = self.parse_settings(kind, obj)?;
        let credentials = parse_credentials(kind, obj)?;
        Ok(DatasourceInput {
            kind,
            title,
            type_sync,
            settings,
            credentials,
        })
    }

    #[tracing::instrument(skip_all, fields(owner = %owner.id))]
    pub async fn create_datasource(&self, owner: &User, body: &Value) -> Result<Datasource> {
        let input = self.parse_datasource_input(body)?;
        check_may_collect_folders(owner, input.kind)?;
        let now = super::now();
        let ds = Datasource {
            id: new_id(),
            kind: input.kind,
            title: input.title.as_str().to_owned(),
            owner_id: owner.id.clone(),
            type_sync: input.type_sync,
            // The spyder manager moves it on once it can collect; until then it is created.
            sync_status: SyncStatus::Created,
            status_reason: Some(if !crate::manager::has_spyder(input.kind) {
                format!(
                    "Tributary has no spyder for {} datasources yet, so it is not collected",
                    input.kind.label()
                )
            } else if crate::manager::needs_credentials(input.kind) && input.credentials.is_empty()
            {
                format!(
                    "Waiting for its {} credentials: send Authorization (the access token) and \
                     X-Auth-Secret (the refresh token) with @refreshServiceCredentials",
                    input.kind.label()
                )
            } else {
                "Waiting for its first sync to be scheduled".into()
            }),
            settings: input.settings,
            resource_count: 0,
            byte_count: 0,
            last_sync_started_at: None,
            last_sync_finished_at: None,
            next_sync_due_at: None,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_datasource(&ds).await?;
        self.store_credentials(&ds, &input.credentials).await?;
        self.queue_first_sync(&ds).await?;
        Ok(self.store.datasource(&ds.id).await?.unwrap_or(ds))
    }

    /// The datasource as `user` may see it (an invitee gets it as `invited`); 404 for anyone
    /// with no role and no invitation, so ids cannot be probed.
    pub async fn get_datasource(&self, user: &User, id: &str) -> Result<DatasourceView> {
        self.datasource_for(user, id, Action::See).await
    }

    /// The datasources the user has a role on, and those they are invited to, that match
    /// `query`, in its order (oldest first by default).
    pub async fn list_datasources(
        &self,
        user: &User,
        query: &DatasourceQuery,
        page_size: Option<i64>,
        scroll: Option<&str>,
    ) -> Result<Page<DatasourceView>> {
        let size = PageSize::parse(page_size)?;
        let scope = format!("datasources:{}:{}", user.id, query.fingerprint());
        let after = match scroll.filter(|s| !s.is_empty()) {
            Some(c) => {
                let c = Cursor::decode(c, &scope)?;
                Some(ListPosition {
                    seq: c.after,
                    key: c.key,
                })
            }
            None => None,
        };
        let mut rows = self
            .store
            .list_datasources(&user.id, &user.email, query, after.as_ref(), size.get() + 1)
            .await?;
        let total = self
            .store
            .count_datasources(&user.id, &user.email, query)
            .await?;
        let more = rows.len() > size.get() as usize;
        rows.truncate(size.get() as usize);
        let cursor = rows
            .last()
            .filter(|_| more)
            .map(|(p, _)| Cursor::new(&scope, p.seq).with_key(p.key.clone()).encode());
        Ok(Page {
            items: rows.into_iter().map(|(_, d)| d).collect(),
            cursor,
            total,
        })
    }

    /// How many of the user's datasources matching `query` (whatever its status filter) are in
    /// each status, in the order of [`SyncStatus::ALL`], zeros included.
    pub async fn datasource_status_counts(
        &self,
        user: &User,
        query: &DatasourceQuery,
    ) -> Result<Vec<(SyncStatus, i64)>> {
        let found = self
            .store
            .datasource_status_counts(&user.id, &user.email, &query.without_status())
            .await?;
        Ok(SyncStatus::ALL
            .iter()
            .map(|s| {
                let n = found.iter().find(|(f, _)| f == s).map_or(0, |(_, n)| *n);
                (*s, n)
            })
            .collect())
    }

    /// Applies a partial update: `title`, `type_sync` and the kind's settings.
    #[tracing::instrument(skip_all, fields(id))]
    pub async fn update_datasource(
        &self,
        user: &User,
        id: &str,
        patch: &Value,
    ) -> Result<DatasourceView> {
        let view = self.datasource_for(user, id, Action::Configure).await?;
        let access = view.access;
        let mut ds = view.datasource;
        let obj = json_object(patch)?;
        refuse_unknown_fields(obj, ds.kind)?;
        let credentials = parse_credentials(ds.kind, obj)?;
        if let Some(t) = string_field(obj, "@type")?
            && t != ds.kind.as_str()
        {
            return Err(EngineError::invalid(
                "@type",
                "cannot be changed; create a new datasource instead",
            ));
        }
        if let Some(s) = string_field(obj, "sync_status")?
            && s != ds.sync_status.as_str()
        {
            return Err(EngineError::invalid(
                "sync_status",
                "is changed by actions (@sendToSpyder, @pause, @resume), not by editing",
            ));
        }
        if let Some(t) = string_field(obj, "title")? {
            ds.title = Title::parse(t)?.as_str().to_owned();
        } else if obj.get("title").is_some_and(Value::is_null) {
            return Err(EngineError::invalid("title", "must not be empty"));
        }
        if let Some(t) = string_field(obj, "type_sync")? {
            let t: SyncType = t.parse()?;
            ds.kind.check_sync_type(t)?;
            ds.type_sync = t;
        }
        let touches_settings = settings_fields(ds.kind)
            .iter()
            .any(|(f, _)| obj.contains_key(*f));
        let old_destination = destination(ds.kind, &ds.settings);
        let old_settings = ds.settings.clone();
        if touches_settings {
            let mut merged = ds.settings.clone();
            for (k, v) in obj {
                if settings_fields(ds.kind).iter().any(|(f, _)| f == k) {
                    merged.insert(k.clone(), v.clone());
                }
            }
            merged.retain(|_, v| !v.is_null());
            ds.settings = self.parse_settings(ds.kind, &merged)?;
        }
        if ds.kind == DatasourceKind::Folder && obj.contains_key("path") {
            let before = view_path(&old_settings);
            if view_path(&ds.settings) != before {
                check_may_collect_folders(user, ds.kind)?;
            }
        }
        // Pointed somewhere else: what its credentials were given for is not where they would
        // go now. Only an owner may do that, and the stored credentials stay behind.
        let moved = destination(ds.kind, &ds.settings) != old_destination;
        let mut dropped = false;
        if moved {
            if access != crate::model::Access::Member(crate::domain::DatasourceRole::Owner) {
                return Err(EngineError::Forbidden(format!(
                    "only owners may change {}: they say where this datasource's credentials \
                     are sent",
                    binding_fields(ds.kind).join(", ")
                )));
            }
            let had = !self.store.secrets(&ds.id).await?.is_empty();
            dropped = had && credentials.is_empty();
            if dropped && matches!(ds.sync_status, SyncStatus::Syncing | SyncStatus::Resuming) {
                return Err(EngineError::Conflict(format!(
                    "a sync is running with the credentials given for the current {}; pause \
                     it (or wait until it ends) before pointing it elsewhere, or send new \
                     credentials in the same request",
                    binding_fields(ds.kind).join(", ")
                )));
            }
        }
        ds.updated_at = super::now();
        self.store.update_datasource(&ds).await?;
        if moved {
            let sealed = self.seal_credentials(&ds, &credentials)?;
            self.store
                .replace_all_secrets(&ds.id, &sealed, super::now())
                .await?;
        } else {
            self.store_credentials(&ds, &credentials).await?;
        }
        if dropped {
            let reason = format!(
                "Waiting for new credentials: its {} changed, so the ones it had were dropped; \
                 send new ones with @refreshServiceCredentials (or the Credentials form)",
                binding_fields(ds.kind).join(" or ")
            );
            match self
                .transition(
                    &ds.id,
                    SyncStatus::Created,
                    crate::status::Actor::Person,
                    Some(reason),
                )
                .await
            {
                // A run started meanwhile: it cannot open the old credentials for the new
                // destination, so it ends in error, which is also honest.
                Ok(_) | Err(EngineError::Transition { .. }) => {}
                Err(e) => return Err(e),
            }
            if let Some(now) = self.store.datasource(&ds.id).await? {
                ds = now;
            }
        }
        self.events.publish(&ds.id, crate::events::What::Updated);
        Ok(DatasourceView {
            datasource: ds,
            access,
        })
    }

    /// Seals credentials for the datasource's current destination.
    fn seal_credentials(
        &self,
        ds: &Datasource,
        credentials: &[(String, String)],
    ) -> Result<Vec<(String, String)>> {
        let to = destination(ds.kind, &ds.settings);
        credentials
            .iter()
            .map(|(k, v)| Ok((k.clone(), self.config.wallet.seal(&ds.id, k, &to, v)?)))
            .collect()
    }

    /// Seals credentials into the wallet, bound to where `ds` sends them.
    pub(crate) async fn store_credentials(
        &self,
        ds: &Datasource,
        credentials: &[(String, String)],
    ) -> Result<()> {
        if credentials.is_empty() {
            return Ok(());
        }
        let sealed = self.seal_credentials(ds, credentials)?;
        self.store.put_secrets(&ds.id, &sealed, super::now()).await
    }

    /// The names of the credentials a datasource has in the wallet (never their values).
    pub async fn credential_names(&self, id: &str) -> Result<Vec<String>> {
        Ok(self
            .store
            .secrets(id)
            .await?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }

    /// A datasource's credentials, opened for where `ds` sends them now; for spyders only.
    /// One that was given for another destination does not open (an error). Ones sealed before
    /// destinations were bound are sealed again for the current one, once.
    pub(crate) async fn open_credentials(&self, ds: &Datasource) -> Result<Vec<(String, String)>> {
        let to = destination(ds.kind, &ds.settings);
        let mut out = Vec::new();
        let mut unbound = Vec::new();
        for (k, sealed) in self.store.secrets(&ds.id).await? {
            match self.config.wallet.open(&ds.id, &k, &to, &sealed)? {
                crate::wallet::Opened::Bound(v) => out.push((k, v)),
                crate::wallet::Opened::Unbound(v) => {
                    unbound.push((k.clone(), v.clone()));
                    out.push((k, v));
                }
            }
        }
        if !unbound.is_empty() {
            self.store_credentials(ds, &unbound).await?;
        }
        Ok(out)
    }

    /// `@refreshServiceCredentials`: replaces the kind's credentials in the wallet (editors and
    /// owners). S3 takes `access_key_id` and `secret_access_key`; OAuth kinds the seed's
    /// `X-Auth-Secret` and `Authorization`.
    pub async fn refresh_credentials(&self, user: &User, id: &str, body: &Value) -> Result<()> {
        let ds = self
            .datasource_for(user, id, super::access::Action::Operate)
            .await?
            .datasource;
        let obj = json_object(body)?;
        let allowed = credential_fields(ds.kind);
        if allowed.is_empty() {
            return Err(EngineError::invalid(
                "@type",
                format!("{} datasources have no credentials", ds.kind),
            ));
        }
        if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(EngineError::invalid(
                k.clone(),
                format!(
                    "is not a credential of {}; expected: {}",
                    ds.kind,
                    allowed.join(", ")
                ),
            ));
        }
        let creds = parse_credentials(ds.kind, obj)?;
        if creds.is_empty() {
            return Err(EngineError::invalid(allowed[0], "is required"));
        }
        self.store_credentials(&ds, &creds).await?;
        // A datasource that waited for its credentials can be collected now.
        if ds.sync_status == SyncStatus::Created {
            self.queue_first_sync(&ds).await?;
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(id))]
    pub async fn delete_datasource(&self, user: &User, id: &str) -> Result<()> {
        let ds = self
            .datasource_for(user, id, Action::Delete)
            .await?
            .datasource;
        let mut audience: Vec<String> = (self.store.members(&ds.id).await?)
            .into_iter()
            .map(|m| m.user_id)
            .collect();
        audience.extend(
            (self.store.datasource_invitations(&ds.id).await?)
                .into_iter()
                .map(|i| i.email),
        );
        self.store.delete_datasource(&ds.id).await?;
        self.events
            .publish(&ds.id, crate::events::What::Deleted { audience });
        Ok(())
    }

    /// One page of a datasource's children, keyset-paged.
    pub async fn children(
        &self,
        user: &User,
        id: &str,
        q: &ChildrenQuery,
    ) -> Result<Page<Resource>> {
        let ds = self
            .datasource_for(user, id, Action::Browse)
            .await?
            .datasource;
        let size = PageSize::parse(q.page_size)?;
        let scope = format!("children:{}", ds.id);
        let after = match q.scroll.as_deref().filter(|s| !s.is_empty()) {
            Some(c) => Cursor::decode(c, &scope)?.after,
            None => 0,
        };
        // One round trip for the rows and the current count.
        let page = self
            .store
            .list_children(&ds.id, after, size.get() + 1)
            .await?;
        Ok(page_of(page.rows, size, &scope, page.total))
    }

    /// One child of a datasource the user may see; 404 otherwise.
    pub async fn get_resource(
        &self,
        user: &User,
        datasource_id: &str,
        resource_id: &str,
    ) -> Result<Resource> {
        let ds = self
            .datasource_for(user, datasource_id, Action::Browse)
            .await?
            .datasource;
        match self.store.resource(resource_id).await? {
            Some(r) if r.datasource_id == ds.id => Ok(r),
            _ => Err(EngineError::NotFound(format!("resource '{resource_id}'"))),
        }
    }

    /// A resource the user may see, with the text extracted from it (once processed).
    pub async fn resource_text(
        &self,
        user: &User,
        datasource_id: &str,
        resource_id: &str,
    ) -> Result<(Resource, Option<String>)> {
        let r = self.get_resource(user, datasource_id, resource_id).await?;
        let text = self.store.extract_body(&r.id).await?;
        Ok((r, text))
    }

    /// Adds resources to a datasource as a spyder would (used by tests and the seed command
    /// until the spyders exist).
    pub async fn add_resources(&self, datasource_id: &str, resources: &[Resource]) -> Result<()> {
        if self.store.datasource(datasource_id).await?.is_none() {
            return Err(EngineError::NotFound(format!(
                "datasource '{datasource_id}'"
            )));
        }
        self.store
            .insert_resources(datasource_id, resources)
            .await?;
        self.events
            .publish(datasource_id, crate::events::What::Updated);
        Ok(())
    }
}

/// Builds a page from `limit + 1` fetched rows: the extra row only tells whether there is more.
fn page_of<T>(mut rows: Vec<(i64, T)>, size: PageSize, scope: &str, total: i64) -> Page<T> {
    let more = rows.len() > size.get() as usize;
    rows.truncate(size.get() as usize);
    let cursor = if more {
        rows.last().map(|(k, _)| Cursor::new(scope, *k).encode())
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(|(_, t)| t).collect(),
        cursor,
        total,
    }
}

/// A resource as a spyder would record it, for seeding.
pub fn sample_resource(datasource_id: &str, n: usize) -> Resource {
    let now = super::now();
    Resource {
        id: new_id(),
        datasource_id: datasource_id.to_owned(),
        source_id: format!("file_{n:07}.txt"),
        path: format!("/file_{n:07}.txt"),
        name: format!("file_{n:07}.txt"),
        kind: "file".into(),
        size: 100 + n as i64 % 5000,
        media_type: Some("text/plain".into()),
        content_hash: None,
        source_modified_at: Some(now),
        collected_at: now,
        processing_status: "pending".into(),
        processing_error: None,
    }
}
