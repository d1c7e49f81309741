//! The S3 spyder, on the `object_store` crate (no hand-written request signing): lists a
//! bucket (optionally under a prefix) in key order with `start-after` for resuming, and copies
//! changed objects into the blob store. Credentials come from the wallet; without them the
//! bucket is read anonymously.

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjPath;
use object_store::{ObjectMeta, ObjectStore};

use super::{
    Check, Connector, Credential, Credentials, Entry, Env, Opening, Setting, Source, Spec,
    SyncError,
};
use crate::blobs::{Blob, BlobStore};
use crate::domain::{DatasourceKind, SyncType};
use crate::error::{EngineError, Result as EngineResult};

/// The S3 connector (AWS and S3-compatible services).
pub struct S3;

pub const KIND: DatasourceKind = DatasourceKind::named("S3Datasource");

static SPEC: Spec = Spec {
    kind: KIND,
    label: "S3 bucket",
    description: "Objects of an S3 bucket (AWS or an S3-compatible service), optionally under a prefix.",
    sync_types: SyncType::ALL,
    settings: &[
        Setting {
            name: "bucket",
            label: "Bucket",
            help: "The bucket's name, e.g. company-archive.",
            required: true,
            check: Check::Custom(check_bucket),
            binds_credentials: true,
        },
        Setting {
            name: "prefix",
            label: "Prefix",
            help: "Only keys starting with this are collected (optional).",
            required: false,
            check: Check::Text,
            binds_credentials: false,
        },
        Setting {
            name: "endpoint",
            label: "Endpoint",
            help: "For S3-compatible services, e.g. https://s3.example.com (optional).",
            required: false,
            check: Check::Endpoint,
            binds_credentials: true,
        },
        Setting {
            name: "region",
            label: "Region",
            help: "e.g. eu-west-1 (optional).",
            required: false,
            check: Check::Text,
            binds_credentials: true,
        },
    ],
    credentials: Credentials {
        fields: &[
            Credential {
                name: "access_key_id",
                input: "access_key_id",
                label: "Access key ID",
                secret: false,
                bearer: false,
            },
            Credential {
                name: "secret_access_key",
                input: "secret_access_key",
                label: "Secret access key",
                secret: true,
                bearer: false,
            },
        ],
        legend: "Access keys",
        hint_new: "Leave both empty for a public bucket.",
        hint_replace: "Both together replace the keys in the wallet.",
        required: None,
        all_or_none: Some("is required with the other key (or leave both out for a public bucket)"),
    },
    service: Some(crate::egress::S3),
    admin_only: None,
};

impl Connector for S3 {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn open(&self, o: Opening<'_>) -> Result<Box<dyn Source>, SyncError> {
        Ok(Box::new(S3Source::new(o)?))
    }
}

/// S3's bucket naming rules (3-63 characters of lowercase letters, digits, '.' and '-').
fn check_bucket(_: &Env<'_>, bucket: &str) -> EngineResult<String> {
    let ok_chars = bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let edges = bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if (3..=63).contains(&bucket.len()) && ok_chars && edges {
        Ok(bucket.to_owned())
    } else {
        Err(EngineError::invalid(
            "bucket",
            "must be 3-63 characters of lowercase letters, digits, '.' and '-', starting and ending with a letter or digit",
        ))
    }
}

/// Listing entries read ahead of the batch being processed.
const LISTING_AHEAD: usize = 5000;

pub struct S3Source {
    store: Arc<AmazonS3>,
    prefix: Option<ObjPath>,
    after: String,
    /// The listing, read ahead by a task of its own so S3 keeps listing while a batch is
    /// fetched and committed. In a mutex only so the source is `Sync` (fetches share it).
    listing:
        std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<object_store::Result<ObjectMeta>>>>,
    last: Option<String>,
}

/// What an object_store error says, as users may read it: its own words up to the remote's
/// body, and the S3 error code the body names, never the body itself.
fn reason(text: &str) -> String {
    let own = text.split('<').next().unwrap_or_default();
    let code = text
        .split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| code);
    let mut out = crate::egress::sanitise(own);
    if let Some(code) = code {
        out = format!(
            "{} ({})",
            out.trim_end_matches(':'),
            crate::egress::sanitise(code)
        );
    }
    out
}

/// Sorts an object_store error into what the manager does next.
fn classify(e: object_store::Error) -> SyncError {
    use object_store::Error as E;
    let raw = e.to_string();
    // The fence's refusal is somewhere along the chain.
    let mut source: Option<&dyn std::error::Error> = Some(&e);
    while let Some(s) = source {
        let t = s.to_string();
        if t.contains("connectors may not reach") {
            return SyncError::Permanent(format!(
                "S3 was not contacted: {}",
                crate::egress::sanitise(&t)
            ));
        }
        source = s.source();
    }
    let text = reason(&raw);
    match e {
        E::NotFound { .. } => SyncError::Permanent(format!("not found: {text}")),
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => {
            SyncError::Permanent(format!("access denied: {text}"))
        }
        _ => {
            let permanent = [
                "NoSuchBucket",
                "AccessDenied",
                "InvalidAccessKeyId",
                "SignatureDoesNotMatch",
                "403 Forbidden",
                "404 Not Found",
            ];
            if permanent.iter().any(|p| raw.contains(p)) {
                SyncError::Permanent(text)
            } else {
                SyncError::Transient(text)
            }
        }
    }
}

/// object_store's HTTP client, inside the operator's fence: every request's URL is checked,
/// and names resolve only to allowed addresses (see [`crate::egress`]).
#[derive(Debug)]
struct Fenced {
    egress: crate::egress::Egress,
    client: reqwest::Client,
}

#[async_trait]
impl object_store::client::HttpService for Fenced {
    async fn call(
        &self,
        req: object_store::client::HttpRequest,
    ) -> Result<object_store::client::HttpResponse, object_store::client::HttpError> {
        use object_store::client::{HttpError, HttpErrorKind};
        let url = reqwest::Url::parse(&req.uri().to_string())
            .map_err(|e| HttpError::new(HttpErrorKind::Unknown, e))?;
        self.egress
            .check_url(crate::egress::S3, &url)
            .map_err(|m| HttpError::new(HttpErrorKind::Unknown, std::io::Error::other(m)))?;
        object_store::client::HttpService::call(&self.client, req).await
    }
}

#[derive(Debug)]
struct FencedConnector(crate::egress::Egress);

impl object_store::client::HttpConnector for FencedConnector {
    fn connect(
        &self,
        _: &object_store::ClientOptions,
    ) -> object_store::Result<object_store::client::HttpClient> {
        let client = self
            .0
            .client(crate::egress::S3, std::time::Duration::from_secs(300))
            .map_err(|e| object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            })?;
        Ok(object_store::client::HttpClient::new(Fenced {
            egress: self.0.clone(),
            client,
        }))
    }
}

impl S3Source {
    /// The source of an S3 datasource: settings `bucket`, `prefix`, `endpoint` and `region`,
    /// and the access keys (read anonymously without them).
    pub fn new(o: Opening<'_>) -> Result<Self, SyncError> {
        let egress = o.env.egress;
        // Few retries inside one request: an unreachable endpoint fails the run in seconds and
        // frees the worker; the spyder manager retries the run later with its own backoff.
        let retry = object_store::RetryConfig {
            backoff: object_store::BackoffConfig::default(),
            max_retries: 3,
            retry_timeout: std::time::Duration::from_secs(30),
        };
        let mut b = AmazonS3Builder::new()
            .with_http_connector(FencedConnector(egress.clone()))
            .with_retry(retry)
            .with_bucket_name(o.setting("bucket").unwrap_or_default())
            .with_region(o.setting("region").unwrap_or_else(|| "us-east-1".into()));
        if let Some(ep) = &o.setting("endpoint") {
            super::check_base(egress, crate::egress::S3, ep)?;
            b = b
                .with_endpoint(ep)
                .with_allow_http(ep.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        match (
            o.credential("access_key_id"),
            o.credential("secret_access_key"),
        ) {
            (Some(k), Some(v)) => b = b.with_access_key_id(k).with_secret_access_key(v),
            _ => b = b.with_skip_signature(true),
        }
        let store = b
            .build()
            .map_err(|e| SyncError::Permanent(format!("the S3 settings are not usable: {e}")))?;
        let prefix = o
            .setting("prefix")
            .as_deref()
            .map(|p| p.trim_matches('/'))
            .filter(|p| !p.is_empty())
            .map(ObjPath::from);
        Ok(Self {
            store: Arc::new(store),
            prefix,
            after: o.after.to_owned(),
            listing: std::sync::Mutex::new(None),
            last: None,
        })
    }
}

#[async_trait]
impl Source for S3Source {
    async fn next_page(&mut self, limit: usize) -> Result<Vec<Entry>, SyncError> {
        let slot = self.listing.get_mut().unwrap_or_else(|p| p.into_inner());
        let listing = slot.get_or_insert_with(|| {
            let mut stream: BoxStream<'static, object_store::Result<ObjectMeta>> =
                if self.after.is_empty() {
                    self.store.list(self.prefix.as_ref())
                } else {
                    self.store
                        .list_with_offset(self.prefix.as_ref(), &ObjPath::from(self.after.as_str()))
                };
            let (tx, rx) = tokio::sync::mpsc::channel(LISTING_AHEAD);
            // Ends when the listing does, or when the source is dropped (the send fails).
            tokio::spawn(async move {
                while let Some(item) = stream.next().await {
                    if tx.send(item).await.is_err() {
                        break;
                    }
                }
            });
            rx
        });
        let mut page = Vec::with_capacity(limit);
        while page.len() < limit {
            match listing.recv().await {
                // A finished listing keeps answering `None`.
                None => break,
                Some(Err(e)) => return Err(classify(e)),
                Some(Ok(meta)) => {
                    let key = meta.location.to_string();
                    // The merge with the database needs key order; S3 lists in it.
                    if self.last.as_deref().is_some_and(|l| l >= key.as_str()) {
                        return Err(SyncError::Transient(format!(
                            "the listing is out of order at '{key}'"
                        )));
                    }
                    self.last = Some(key.clone());
                    page.push(Entry {
                        source_id: key,
                        size: meta.size as i64,
                        modified: Some(crate::clock::truncate_micros(meta.last_modified)),
                    });
                }
            }
        }
        Ok(page)
    }

    fn problems(&self) -> Vec<String> {
        Vec::new()
    }

    async fn fetch(&self, entry: &Entry, blobs: &BlobStore) -> Result<Option<Blob>, SyncError> {
        let got = match self
            .store
            .get(&ObjPath::from(entry.source_id.as_str()))
            .await
        {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(classify(e)),
        };
        let bytes = got.bytes().await.map_err(classify)?;
        super::store_bytes(blobs, bytes).await
    }
}
