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

use super::{Entry, Source, SyncError};
use crate::blobs::{Blob, BlobStore};

/// Connection settings of an S3 datasource.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    pub bucket: String,
    pub prefix: Option<String>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
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

/// Sorts an object_store error into what the manager does next.
fn classify(e: object_store::Error) -> SyncError {
    use object_store::Error as E;
    let text = e.to_string();
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
            if permanent.iter().any(|p| text.contains(p)) {
                SyncError::Permanent(text)
            } else {
                SyncError::Transient(text)
            }
        }
    }
}

impl S3Source {
    pub fn new(s: &S3Settings, after: &str) -> Result<Self, SyncError> {
        // Few retries inside one request: an unreachable endpoint fails the run in seconds and
        // frees the worker; the spyder manager retries the run later with its own backoff.
        let retry = object_store::RetryConfig {
            backoff: object_store::BackoffConfig::default(),
            max_retries: 3,
            retry_timeout: std::time::Duration::from_secs(30),
        };
        let mut b = AmazonS3Builder::new()
            .with_retry(retry)
            .with_bucket_name(&s.bucket)
            .with_region(s.region.clone().unwrap_or_else(|| "us-east-1".into()));
        if let Some(ep) = &s.endpoint {
            b = b
                .with_endpoint(ep)
                .with_allow_http(ep.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        match (&s.access_key_id, &s.secret_access_key) {
            (Some(k), Some(v)) => b = b.with_access_key_id(k).with_secret_access_key(v),
            _ => b = b.with_skip_signature(true),
        }
        let store = b
            .build()
            .map_err(|e| SyncError::Permanent(format!("the S3 settings are not usable: {e}")))?;
        let prefix = s
            .prefix
            .as_deref()
            .map(|p| p.trim_matches('/'))
            .filter(|p| !p.is_empty())
            .map(ObjPath::from);
        Ok(Self {
            store: Arc::new(store),
            prefix,
            after: after.to_owned(),
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
                        modified: Some(crate::service::truncate_micros(meta.last_modified)),
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
