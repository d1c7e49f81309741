//! Datasources: creation with validated settings, listing, editing, deleting, and their
//! children. A request arrives as a [`DatasourceDraft`] (from a REST body or a form) and is
//! validated here, in one place, against its connector's declaration, so both faces of the
//! app refuse the same things with the same words.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::access::Action;
use super::draft::{DatasourceDraft, credentials_from_form, credentials_from_json};
use super::{Engine, json_object, new_id};
use crate::domain::{
    Cursor, DatasourceKind, DatasourceQuery, PageSize, SyncStatus, SyncType, Title,
};
use crate::error::{EngineError, Result};
use crate::model::{Datasource, DatasourceView, Page, Resource, User};
use crate::store::ListPosition;

/// Where a datasource's credentials go, as the wallet binds them: its connector's binding
/// settings' values, unambiguously encoded.
pub(crate) fn destination(kind: DatasourceKind, settings: &Map<String, Value>) -> String {
    let pairs: Vec<(&str, &str)> = kind
        .spec()
        .binding_fields()
        .into_iter()
        .map(|f| (f, settings.get(f).and_then(Value::as_str).unwrap_or("")))
        .collect();
    serde_json::to_string(&pairs).unwrap_or_default()
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

fn no_credentials(kind: DatasourceKind) -> EngineError {
    EngineError::invalid("@type", format!("{kind} datasources have no credentials"))
}

/// Connectors that read the server itself (folders) are for account admins only: they may
/// create them or point them elsewhere (members collect what an admin shared with them).
fn check_may_create(user: &User, kind: DatasourceKind) -> Result<()> {
    match kind.spec().admin_only {
        Some(why) if user.role != crate::domain::AccountRole::Admin => {
            Err(EngineError::Forbidden(why.into()))
        }
        _ => Ok(()),
    }
}

/// Whether settings that say where the source is changed (for [`check_may_create`]): the
/// settings of an admin-only connector.
fn moves_source(
    kind: DatasourceKind,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> bool {
    kind.spec().admin_only.is_some() && before != after
}

impl Engine {
    /// Resolves a Folder path (`..` and symlinks included) and checks it is an existing
    /// directory under one of the allowed roots. Returns the canonical path.
    pub fn check_folder_path(&self, raw: &str) -> Result<PathBuf> {
        crate::connector::folder::check_path(&self.config().folder_roots, raw)
    }

    /// What the operator allows connectors.
    pub(crate) fn connector_env(&self, max_file_bytes: u64) -> crate::connector::Env<'_> {
        crate::connector::Env {
            egress: &self.config.egress,
            folder_roots: &self.config.folder_roots,
            max_file_bytes,
        }
    }

    /// Validates one kind's settings out of `settings`, in field order. Missing required → 422.
    fn parse_settings(
        &self,
        kind: DatasourceKind,
        settings: &Map<String, Value>,
    ) -> Result<Map<String, Value>> {
        let spec = kind.spec();
        let env = self.connector_env(0);
        let mut out = Map::new();
        for setting in spec.settings {
            let value = match settings.get(setting.name) {
                Some(Value::String(v)) => v,
                Some(v) if !v.is_null() => {
                    return Err(EngineError::invalid(setting.name, "must be a string"));
                }
                _ if setting.required => {
                    return Err(EngineError::invalid(setting.name, "is required"));
                }
                _ => continue,
            };
            let value = crate::connector::check_setting(spec, setting, &env, value)?;
            out.insert(setting.name.to_owned(), Value::String(value));
        }
        Ok(out)
    }

    /// Validates a new datasource without touching the database.
    pub fn validate_new(&self, draft: &DatasourceDraft) -> Result<DatasourceInput> {
        let kind = draft.kind;
        let title = Title::parse(
            draft
                .title
                .as_deref()
                .ok_or_else(|| EngineError::invalid("title", "is required"))?,
        )?;
        let type_sync = match &draft.type_sync {
            Some(t) => t.parse()?,
            None => kind.supported_sync_types()[0],
        };
        kind.check_sync_type(type_sync)?;
        if draft.sync_status.is_some() {
            return Err(EngineError::invalid(
                "sync_status",
                "is set by the spyder manager, not by clients",
            ));
        }
        let settings = self.parse_settings(kind, &draft.settings_json())?;
        Ok(DatasourceInput {
            kind,
            title,
            type_sync,
            settings,
            credentials: draft.credentials.clone(),
        })
    }

    /// Creates a datasource from a REST body.
    pub async fn create_datasource(&self, owner: &User, body: &Value) -> Result<Datasource> {
        self.create(owner, &DatasourceDraft::from_json(body, None)?)
            .await
    }

    /// Creates a datasource; its first sync is queued when it can be collected.
    #[tracing::instrument(skip_all, fields(owner = %owner.id))]
    pub async fn create(&self, owner: &User, draft: &DatasourceDraft) -> Result<Datasource> {
        let input = self.validate_new(draft)?;
        check_may_create(owner, input.kind)?;
        let now = super::now();
        let ds = Datasource {
            id: new_id(),
            kind: input.kind,
            title: input.title.as_str().to_owned(),
            owner_id: owner.id.clone(),
            type_sync: input.type_sync,
            // The spyder manager moves it on once it can collect; until then it is created.
            sync_status: SyncStatus::Created,
            status_reason: Some(match input.kind.spec().credentials.required {
                Some(how) if input.credentials.is_empty() => {
                    format!("Waiting for its {} credentials: {how}", input.kind.label())
                }
                _ => "Waiting for its first sync to be scheduled".into(),
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

    /// Applies a partial update from a REST body: `title`, `type_sync`, the kind's settings
    /// (`null` clears an optional one) and credentials.
    pub async fn update_datasource(
        &self,
        user: &User,
        id: &str,
        patch: &Value,
    ) -> Result<DatasourceView> {
        let view = self.datasource_for(user, id, Action::Configure).await?;
        let draft = DatasourceDraft::from_json(patch, Some(view.datasource.kind))?;
        self.apply_update(user, view, draft).await
    }

    /// Applies the *Edit* form: `inputs` by name; an empty setting clears it.
    pub async fn update_from_form(
        &self,
        user: &User,
        id: &str,
        title: &str,
        type_sync: &str,
        inputs: &HashMap<String, String>,
    ) -> Result<DatasourceView> {
        let view = self.datasource_for(user, id, Action::Configure).await?;
        let draft =
            DatasourceDraft::from_form(view.datasource.kind, title, Some(type_sync), inputs, true)?;
        self.apply_update(user, view, draft).await
    }

    #[tracing::instrument(skip_all, fields(id = %view.datasource.id))]
    async fn apply_update(
        &self,
        user: &User,
        view: DatasourceView,
        mut draft: DatasourceDraft,
    ) -> Result<DatasourceView> {
        let access = view.access;
        let mut ds = view.datasource;
        let credentials = std::mem::take(&mut draft.credentials);
        if let Some(Some(s)) = &draft.sync_status
            && s != ds.sync_status.as_str()
        {
            return Err(EngineError::invalid(
                "sync_status",
                "is changed by actions (@sendToSpyder, @pause, @resume), not by editing",
            ));
        }
        if let Some(t) = &draft.title {
            ds.title = Title::parse(t)?.as_str().to_owned();
        }
        if let Some(t) = &draft.type_sync {
            let t: SyncType = t.parse()?;
            ds.kind.check_sync_type(t)?;
            ds.type_sync = t;
        }
        let spec = ds.kind.spec();
        let old_destination = destination(ds.kind, &ds.settings);
        let old_settings = ds.settings.clone();
        if !draft.settings.is_empty() {
            let mut merged = ds.settings.clone();
            merged.extend(draft.settings_json());
            merged.retain(|_, v| !v.is_null());
            ds.settings = self.parse_settings(ds.kind, &merged)?;
        }
        if moves_source(ds.kind, &old_settings, &ds.settings) {
            check_may_create(user, ds.kind)?;
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
                    spec.binding_fields().join(", ")
                )));
            }
            let had = !self.store.secrets(&ds.id).await?.is_empty();
            dropped = had && credentials.is_empty();
            if dropped && matches!(ds.sync_status, SyncStatus::Syncing | SyncStatus::Resuming) {
                return Err(EngineError::Conflict(format!(
                    "a sync is running with the credentials given for the current {}; pause \
                     it (or wait until it ends) before pointing it elsewhere, or send new \
                     credentials in the same request",
                    spec.binding_fields().join(", ")
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
                spec.binding_fields().join(" or ")
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
    /// owners), named as the connector declares them (S3 `access_key_id` and
    /// `secret_access_key`; OAuth kinds the seed's `X-Auth-Secret` and `Authorization`).
    pub async fn refresh_credentials(&self, user: &User, id: &str, body: &Value) -> Result<()> {
        let ds = self
            .datasource_for(user, id, super::access::Action::Operate)
            .await?
            .datasource;
        let obj = json_object(body)?;
        let allowed = ds.kind.spec().credential_names();
        if allowed.is_empty() {
            return Err(no_credentials(ds.kind));
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
        let creds = credentials_from_json(ds.kind, obj)?;
        self.replace_credentials(ds, creds).await
    }

    /// The *Credentials* form: its inputs by name (empty ones left out).
    pub async fn credentials_from_form(
        &self,
        user: &User,
        id: &str,
        inputs: &HashMap<String, String>,
    ) -> Result<()> {
        let ds = self
            .datasource_for(user, id, super::access::Action::Operate)
            .await?
            .datasource;
        if ds.kind.spec().credentials.fields.is_empty() {
            return Err(no_credentials(ds.kind));
        }
        let creds = credentials_from_form(ds.kind, inputs)?;
        self.replace_credentials(ds, creds).await
    }

    async fn replace_credentials(
        &self,
        ds: Datasource,
        creds: Vec<(String, String)>,
    ) -> Result<()> {
        if creds.is_empty() {
            let first = ds.kind.spec().credential_names()[0];
            return Err(EngineError::invalid(first, "is required"));
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
        self.store.delete_datasource(&ds.id, super::now()).await?;
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
            .insert_resources(datasource_id, resources, super::now())
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
        processing_status: crate::domain::ProcessingStatus::Pending,
        processing_error: None,
    }
}
