//! The Dropbox spyder, on Dropbox's published HTTP API (v2): `files/list_folder` (recursive,
//! then `list_folder/continue` until `has_more` is false) for the listing and
//! `files/download` for contents. An access token that Dropbox refuses as expired is refreshed
//! with the OAuth2 refresh token (`grant_type=refresh_token` at `oauth2/token`), and the new one
//! is saved to the wallet, so the next run starts with it.
//!
//! Credentials, in the seed's `@refreshServiceCredentials` shape: `Authorization` is the access
//! token (`Bearer ...`), `X-Auth-Secret` the refresh token. Settings: `root` (a folder, the
//! whole Dropbox when empty), `app_key` (the OAuth2 client id the refresh token was issued to)
//! and `endpoint` (another host serving the same API, for Dropbox-compatible servers; both the
//! API and the content calls go there).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::oauth::{self, Tokens};
use super::{Check, Connector, Credentials, Entry, Opening, Setting, Source, Spec, SyncError};
use crate::blobs::{Blob, BlobStore};
use crate::domain::{DatasourceKind, SyncType};

const API: &str = "https://api.dropboxapi.com";
const CONTENT: &str = "https://content.dropboxapi.com";

/// The Dropbox connector.
pub struct Dropbox;

pub const KIND: DatasourceKind = DatasourceKind::named("DropboxDatasource");

static SPEC: Spec = Spec {
    kind: KIND,
    label: "Dropbox",
    description: "Files of a Dropbox account, or of one folder in it.",
    sync_types: SyncType::ALL,
    settings: &[
        Setting {
            name: "root",
            label: "Folder",
            help: "The Dropbox folder to collect, e.g. /Legal; empty for the whole Dropbox.",
            required: false,
            check: Check::Text,
            binds_credentials: false,
        },
        Setting {
            name: "app_key",
            label: "App key",
            help: "The Dropbox app the refresh token was issued to; needed to refresh the access token.",
            required: false,
            check: Check::Text,
            binds_credentials: true,
        },
        Setting {
            name: "endpoint",
            label: "API endpoint",
            help: "Another server speaking Dropbox's API (optional; Dropbox itself when empty).",
            required: false,
            check: Check::Endpoint,
            binds_credentials: true,
        },
    ],
    credentials: Credentials {
        fields: &[oauth::ACCESS_TOKEN, oauth::REFRESH_TOKEN],
        legend: oauth::LEGEND,
        hint_new: oauth::HINT_NEW,
        hint_replace: oauth::HINT_REPLACE,
        required: Some(oauth::WAITING),
        all_or_none: None,
    },
    service: Some(crate::egress::DROPBOX),
    admin_only: None,
};

impl Connector for Dropbox {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn open(&self, o: Opening<'_>) -> Result<Box<dyn Source>, SyncError> {
        Ok(Box::new(DropboxSource::new(o)?))
    }
}

/// One file of the listing, as Dropbox describes it.
#[derive(Debug, Deserialize)]
struct ListedEntry {
    #[serde(rename = ".tag")]
    tag: String,
    path_lower: Option<String>,
    path_display: Option<String>,
    size: Option<i64>,
    server_modified: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ListFolder {
    entries: Vec<ListedEntry>,
    cursor: String,
    has_more: bool,
}

pub struct DropboxSource {
    http: reqwest::Client,
    api: String,
    content: String,
    /// The folder collected, as Dropbox's API names it: "" for the whole Dropbox, else "/x".
    root: String,
    tokens: Tokens,
    after: String,
    /// The whole listing, in byte order of `source_id`, after the checkpoint (read at the
    /// first page: Dropbox lists in no useful order, and the merge needs one).
    listing: super::SortedListing,
    /// `source_id` → the path to download it by.
    paths: HashMap<String, String>,
}

/// The `root` setting as Dropbox's API wants it: "" or "/a/b", no trailing slash.
fn api_root(root: Option<&str>) -> String {
    let trimmed = root.unwrap_or("").trim().trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

/// JSON for the `Dropbox-API-Arg` header: HTTP headers carry ASCII only, so every other
/// character is escaped as `\uXXXX` (what Dropbox documents for this header).
fn header_json(v: &Value) -> String {
    let raw = v.to_string();
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// The error summary Dropbox answers with (`path/not_found/..`), cleaned; never the body of
/// an answer that is not Dropbox's error shape (another server's page is not echoed).
fn summary(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("error_summary")?
                .as_str()
                .map(crate::egress::sanitise)
        })
        .unwrap_or_else(|| "an answer that is not Dropbox's".into())
}

/// What to do with an answer that was not a success.
enum Refused {
    /// The access token is expired or invalid: refresh it and try again.
    Token(String),
    Other(SyncError),
}

fn classify(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &str,
) -> Refused {
    let what = summary(body);
    match status.as_u16() {
        401 => Refused::Token(what),
        403 => Refused::Other(SyncError::Permanent(format!(
            "access denied by Dropbox: {what}"
        ))),
        409 if what.contains("not_found") => Refused::Other(SyncError::Permanent(format!(
            "the Dropbox folder is not there: {what}"
        ))),
        409 => Refused::Other(SyncError::Permanent(format!("Dropbox refused: {what}"))),
        429 => {
            let wait = headers
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(60);
            Refused::Other(SyncError::RetryAfter(
                Duration::from_secs(wait),
                format!("Dropbox asked to slow down: {what}"),
            ))
        }
        400 => Refused::Other(SyncError::Permanent(format!(
            "Dropbox refused the request: {what}"
        ))),
        _ => Refused::Other(SyncError::Transient(format!(
            "Dropbox answered {status}: {what}"
        ))),
    }
}

fn transport(e: reqwest::Error) -> SyncError {
    super::unreachable("Dropbox", &e)
}

impl DropboxSource {
    /// The source of a Dropbox datasource: settings `root`, `app_key` and `endpoint`, and the
    /// OAuth tokens.
    pub fn new(o: Opening<'_>) -> Result<Self, SyncError> {
        let egress = o.env.egress;
        let (api, content) = match o
            .setting("endpoint")
            .as_deref()
            .map(|e| e.trim_end_matches('/'))
        {
            Some(e) if !e.is_empty() => (e.to_owned(), e.to_owned()),
            _ => (API.to_owned(), CONTENT.to_owned()),
        };
        super::check_base(egress, crate::egress::DROPBOX, &api)?;
        super::check_base(egress, crate::egress::DROPBOX, &content)?;
        let http = super::http_client(egress, crate::egress::DROPBOX, Duration::from_secs(300))?;
        let tokens = Tokens::new(
            oauth::Refresh {
                service: "Dropbox",
                token_url: format!("{api}/oauth2/token"),
                client_id: o.setting("app_key"),
                client_secret: None,
                secret_required: false,
                needs: "a refresh token (X-Auth-Secret) and the app key",
            },
            http.clone(),
            o.credential(oauth::ACCESS_TOKEN.name).as_deref(),
            o.credential(oauth::REFRESH_TOKEN.name),
            o.saver.clone(),
            "no Dropbox access token: send it as Authorization with @refreshServiceCredentials",
        )?;
        Ok(Self {
            http,
            api,
            content,
            root: api_root(o.setting("root").as_deref()),
            tokens,
            after: o.after.to_owned(),
            listing: super::SortedListing::default(),
            paths: HashMap::new(),
        })
    }

    /// Sends the request `build` makes with the current token; a refused token is refreshed
    /// once and the request sent again. An answer `gone` recognises as "no such item" is `None`.
    async fn send(
        &self,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
        gone: impl Fn(reqwest::StatusCode, &str) -> bool,
    ) -> Result<Option<reqwest::Response>, SyncError> {
        let mut refreshed = false;
        loop {
            let token = self.tokens.access().await;
            let r = build(&token).send().await.map_err(transport)?;
            let (status, headers) = (r.status(), r.headers().clone());
            if status.is_success() {
                return Ok(Some(r));
            }
            let text = r.text().await.map_err(transport)?;
            if gone(status, &text) {
                return Ok(None);
            }
            match classify(status, &headers, &text) {
                Refused::Token(why) if !refreshed => {
                    self.tokens.refresh(&token, &why).await?;
                    refreshed = true;
                }
                Refused::Token(why) => {
                    return Err(SyncError::Permanent(format!(
                        "Dropbox refused the refreshed access token: {why}"
                    )));
                }
                Refused::Other(e) => return Err(e),
            }
        }
    }

    /// POSTs `body` to an API route and reads its JSON answer.
    async fn call(&self, route: &str, body: &Value) -> Result<Value, SyncError> {
        let url = format!("{}/2/{route}", self.api);
        let r = self
            .send(
                |token| self.http.post(&url).bearer_auth(token).json(body),
                |_, _| false,
            )
            .await?
            .ok_or_else(|| SyncError::Transient(format!("Dropbox found nothing at {route}")))?;
        let text = r.text().await.map_err(transport)?;
        serde_json::from_str(&text).map_err(|e| {
            SyncError::Transient(format!("Dropbox's answer to {route} is not JSON: {e}"))
        })
    }

    /// The whole listing of the root, files only, as entries keyed by their path under it.
    async fn list_all(&mut self) -> Result<Vec<Entry>, SyncError> {
        if self.tokens.access().await.is_empty() {
            self.tokens.refresh("", "no access token yet").await?;
        }
        let mut page: ListFolder = serde_json::from_value(
            self.call(
                "files/list_folder",
                &json!({"path": self.root, "recursive": true, "include_deleted": false, "limit": 2000}),
            )
            .await?,
        )
        .map_err(|e| SyncError::Transient(format!("an unexpected Dropbox listing: {e}")))?;
        let prefix = format!("{}/", self.root.to_lowercase());
        let mut out = Vec::new();
        loop {
            for e in page.entries {
                if e.tag != "file" {
                    continue;
                }
                let (Some(lower), Some(display)) = (e.path_lower, e.path_display) else {
                    continue;
                };
                let Some(rel_lower) = lower.strip_prefix(&prefix) else {
                    continue;
                };
                // The path under the root as Dropbox displays it (its case), when that is
                // the same path; else the lower-case one, which always is.
                let rel = display
                    .get(display.len().saturating_sub(rel_lower.len())..)
                    .filter(|r| display.len() == lower.len() && r.to_lowercase() == rel_lower)
                    .unwrap_or(rel_lower);
                self.paths.insert(rel.to_owned(), lower.clone());
                out.push(entry(rel, e.size, e.server_modified.as_deref()));
            }
            if !page.has_more {
                break;
            }
            page = serde_json::from_value(
                self.call(
                    "files/list_folder/continue",
                    &json!({"cursor": page.cursor}),
                )
                .await?,
            )
            .map_err(|e| SyncError::Transient(format!("an unexpected Dropbox listing: {e}")))?;
        }
        Ok(out)
    }
}

fn entry(rel: &str, size: Option<i64>, modified: Option<&str>) -> Entry {
    Entry {
        source_id: rel.to_owned(),
        size: size.unwrap_or(0),
        modified: modified
            .and_then(|m| DateTime::parse_from_rfc3339(m).ok())
            .map(|m| crate::clock::truncate_micros(m.with_timezone(&Utc))),
    }
}

#[async_trait]
impl Source for DropboxSource {
    async fn next_page(&mut self, limit: usize) -> Result<Vec<Entry>, SyncError> {
        if !self.listing.is_read() {
            let all = self.list_all().await?;
            self.listing.set(all, &self.after);
        }
        Ok(self.listing.page(limit))
    }

    fn problems(&self) -> Vec<String> {
        Vec::new()
    }

    async fn fetch(&self, entry: &Entry, blobs: &BlobStore) -> Result<Option<Blob>, SyncError> {
        let path = self
            .paths
            .get(&entry.source_id)
            .cloned()
            .unwrap_or_else(|| format!("{}/{}", self.root, entry.source_id));
        let arg = header_json(&json!({ "path": path }));
        let url = format!("{}/2/files/download", self.content);
        let download = |token: &str| {
            self.http
                .post(&url)
                .bearer_auth(token)
                .header("Dropbox-API-Arg", &arg)
        };
        // Deleted since the listing: nothing to collect.
        let not_found = |status: reqwest::StatusCode, text: &str| {
            status.as_u16() == 409 && summary(text).contains("not_found")
        };
        let Some(r) = self.send(download, not_found).await? else {
            return Ok(None);
        };
        let bytes = r.bytes().await.map_err(transport)?;
        super::store_bytes(blobs, bytes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_what_the_api_takes() {
        assert_eq!(api_root(None), "");
        assert_eq!(api_root(Some(" / ")), "");
        assert_eq!(api_root(Some("Team/Docs/")), "/Team/Docs");
        assert_eq!(api_root(Some("/Docs")), "/Docs");
    }

    #[test]
    fn header_arguments_are_ascii() {
        let h = header_json(&json!({"path": "/Ünï 😀.txt"}));
        assert!(h.is_ascii(), "{h}");
        let back: Value = serde_json::from_str(&h).unwrap();
        assert_eq!(back["path"], "/Ünï 😀.txt");
    }
}
