//! The operations the web app and the API perform, each checking its input and who asks.

pub mod access;
mod accounts;
mod auth_cache;
mod datasources;
mod draft;
mod search;
mod sharing;
mod syncing;
pub mod throttle;

use std::path::PathBuf;
use std::sync::Arc;

use crate::store::Store;

pub use access::{Action, authorize};
pub use accounts::{FirstAdmin, LoginToken, NewPersonalToken};
/// How long a server trusts a token it looked up without looking again (ended sign-ins are
/// dropped at once).
pub use auth_cache::TTL as AUTH_CACHE_TTL;
pub use datasources::{ChildrenQuery, DatasourceInput, sample_resource};
pub use draft::DatasourceDraft;
pub use sharing::Sharing;
pub use syncing::BulkOutcome;

/// Settings the engine needs from the deployment.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Folder datasources must lie under one of these (canonical) directories.
    pub folder_roots: Vec<PathBuf>,
    /// Encrypts connector credentials at rest.
    pub wallet: crate::wallet::Wallet,
    /// Most PostgreSQL connections open at once; `None`: [`crate::store::default_pg_pool`].
    pub db_pool: Option<u32>,
    /// Where connectors may send requests (`TRIBUTARY_CONNECTOR_ENDPOINTS`).
    pub egress: crate::egress::Egress,
}

/// The engine: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Engine {
    store: Arc<dyn Store>,
    config: Arc<EngineConfig>,
    throttle: Arc<throttle::LoginThrottle>,
    auth_cache: Arc<auth_cache::AuthCache>,
    events: crate::events::Events,
    search: Option<Arc<crate::search::SearchIndex>>,
    broker: Option<Arc<crate::broker::Broker>>,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, config: EngineConfig) -> Self {
        Self {
            store,
            config: Arc::new(config),
            throttle: Arc::default(),
            auth_cache: Arc::default(),
            events: crate::events::Events::default(),
            search: None,
            broker: None,
        }
    }

    /// Announces jobs that are due now on RabbitMQ (see [`crate::broker`]).
    pub fn with_broker(mut self, broker: Arc<crate::broker::Broker>) -> Self {
        self.broker = Some(broker);
        self
    }

    pub fn broker(&self) -> Option<&Arc<crate::broker::Broker>> {
        self.broker.as_ref()
    }

    /// Tells the spyders on RabbitMQ that `job` is due (when there is a broker). The job is in
    /// the database already, so a failure only delays it until the next poll: logged, not
    /// returned.
    pub(crate) async fn announce(&self, job: &crate::model::Job) {
        if let Some(b) = &self.broker
            && let Err(e) = b.announce(job).await
        {
            tracing::warn!(error = %e, job = %job.id, "the job could not be announced on RabbitMQ; a worker's next poll finds it");
        }
    }

    /// Opens (and migrates) the database at `url` and builds an engine over it.
    pub async fn open(url: &str, config: EngineConfig) -> crate::Result<Self> {
        Ok(Self::new(
            crate::store::connect_with(url, config.db_pool).await?,
            config,
        ))
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Searches through `index` (which the processing pipeline feeds).
    pub fn with_search(mut self, index: Arc<crate::search::SearchIndex>) -> Self {
        self.search = Some(index);
        self
    }

    pub fn search_index(&self) -> Option<&Arc<crate::search::SearchIndex>> {
        self.search.as_ref()
    }

    /// Live changes of datasources, for pushing to browsers.
    pub fn events(&self) -> &crate::events::Events {
        &self.events
    }

    /// Relays live events to and from the other servers on this database (PostgreSQL), for
    /// as long as the returned tasks are kept; `None` on SQLite. A change from another server
    /// also drops what this server keeps in memory of that datasource, so its next read sees
    /// the change at once instead of within the cache's bound; a sign-in ended on another
    /// server (or by the command line) is no longer trusted here from memory.
    pub async fn relay_events(&self) -> crate::Result<Option<crate::events::RelayTasks>> {
        use crate::events::{Remote, SignedOut, What};
        let Some(relay) = self.store.relay() else {
            return Ok(None);
        };
        let store = self.store.clone();
        let auth = self.auth_cache.clone();
        let tasks = self
            .events
            .start_relay(relay, move |remote| match remote {
                Remote::Change(c) => store.forget_cached(
                    Some(&c.datasource_id),
                    matches!(
                        c.what,
                        What::Updated | What::Withdrawn { .. } | What::Deleted { .. }
                    ),
                ),
                Remote::SignedOut(SignedOut::User(id)) => auth.forget_user(id),
                Remote::SignedOut(SignedOut::Token(hash)) => auth.forget_token(hash),
                Remote::Missed => {
                    store.forget_cached(None, true);
                    auth.clear();
                }
            })
            .await?;
        Ok(Some(tasks))
    }
}

pub use crate::clock::{new_id, now, truncate_micros};

/// Request bodies larger than this are refused (a datasource is a few fields; a search a few
/// more).
pub const MAX_BODY: usize = 1024 * 1024;

/// A request body read as JSON, whatever its Content-Type says (curl's `-d` labels JSON as a
/// form; only when it does not parse is the label worth mentioning): `Null` for an empty or
/// blank body, a 400 for one too large or not JSON.
pub fn parse_json_body(
    bytes: &[u8],
    content_type: Option<&str>,
) -> crate::Result<serde_json::Value> {
    if bytes.len() > MAX_BODY {
        return Err(crate::EngineError::BadRequest(
            "the body is too large".into(),
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let hint = match content_type.map(str::to_ascii_lowercase) {
            Some(ct) if !ct.contains("json") => format!(" (it was sent as '{ct}')"),
            _ => String::new(),
        };
        crate::EngineError::BadRequest(format!("the body is not valid JSON{hint}: {e}"))
    })
}

/// A request body as a JSON object; anything else is a 400.
pub(crate) fn json_object(
    body: &serde_json::Value,
) -> crate::Result<&serde_json::Map<String, serde_json::Value>> {
    body.as_object()
        .ok_or_else(|| crate::EngineError::BadRequest("the body must be a JSON object".into()))
}

/// Refuses (422, naming the field) any key not in `allowed`.
pub(crate) fn refuse_unknown(
    obj: &serde_json::Map<String, serde_json::Value>,
    allowed: &[&str],
) -> crate::Result<()> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(crate::EngineError::invalid(
            k.clone(),
            format!(
                "is not a field here; expected one of: {}",
                allowed.join(", ")
            ),
        )),
        None => Ok(()),
    }
}
