//! The Slack spyder, on Slack's Web API: `conversations.list` for the channels the token can
//! see, then `conversations.history` of each, every message a resource of its own
//! (`<channel>/<ts>.txt`: who, where, when, and the text), so the search finds conversations
//! and an edited message is collected again. Channels the app is not a member of are named as
//! problems of the listing, so a mirror deletes nothing while they are missing.
//!
//! Credentials, in the seed's `@refreshServiceCredentials` shape: `Authorization` is the token
//! (`Bearer xoxb-...`), `X-Auth-Secret` the refresh token of an app with token rotation, and
//! `client_secret` the app's secret that Slack's refresh needs. When Slack answers
//! `token_expired`, the spyder calls `oauth.v2.access` with `grant_type=refresh_token` and saves
//! the new token and the new refresh token (Slack rotates both) to the wallet. Settings:
//! `channels` (names to collect, comma-separated; all when empty), `client_id`, and `endpoint`
//! (another server speaking the same API).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::oauth::{self, Tokens};
use super::{
    Check, Connector, Credential, Credentials, Entry, Opening, Setting, Source, Spec, SyncError,
};
use crate::blobs::{Blob, BlobStore};
use crate::domain::{DatasourceKind, SyncType};

const API: &str = "https://slack.com/api";

/// The Slack connector.
pub struct Slack;

pub const KIND: DatasourceKind = DatasourceKind::named("SlackDatasource");

/// `client_secret`: the Slack app's secret, which its token refresh needs.
const CLIENT_SECRET: Credential = Credential {
    name: "client_secret",
    input: "client_secret",
    label: "Client secret",
    secret: true,
    bearer: false,
};

static SPEC: Spec = Spec {
    kind: KIND,
    label: "Slack",
    description: "Messages of a Slack workspace's channels, each message a document.",
    sync_types: SyncType::ALL,
    settings: &[
        Setting {
            name: "workspace",
            label: "Workspace",
            help: "The workspace's name, for your reference (optional).",
            required: false,
            check: Check::Text,
            binds_credentials: false,
        },
        Setting {
            name: "channels",
            label: "Channels",
            help: "Channel names to collect, comma-separated, e.g. general, legal; every channel the app is in when empty.",
            required: false,
            check: Check::Text,
            binds_credentials: false,
        },
        Setting {
            name: "client_id",
            label: "Client ID",
            help: "The Slack app's client ID; needed to refresh a rotating token.",
            required: false,
            check: Check::Text,
            binds_credentials: true,
        },
        Setting {
            name: "endpoint",
            label: "API endpoint",
            help: "Another server speaking Slack's Web API, e.g. https://slack.example.com/api (optional).",
            required: false,
            check: Check::Endpoint,
            binds_credentials: true,
        },
    ],
    credentials: Credentials {
        fields: &[oauth::ACCESS_TOKEN, oauth::REFRESH_TOKEN, CLIENT_SECRET],
        legend: oauth::LEGEND,
        hint_new: oauth::HINT_NEW,
        hint_replace: oauth::HINT_REPLACE,
        required: Some(oauth::WAITING),
        all_or_none: None,
    },
    service: Some(crate::egress::SLACK),
    admin_only: None,
};

impl Connector for Slack {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn open(&self, o: Opening<'_>) -> Result<Box<dyn Source>, SyncError> {
        Ok(Box::new(SlackSource::new(o)?))
    }
}

pub struct SlackSource {
    http: reqwest::Client,
    api: String,
    /// Channel names to collect; empty for every channel the token can see.
    only: Vec<String>,
    tokens: Tokens,
    after: String,
    listing: super::SortedListing,
    /// `source_id` → the resource's text (the listing already carries it).
    texts: HashMap<String, String>,
    problems: Vec<String>,
}

fn transport(e: reqwest::Error) -> SyncError {
    super::unreachable("Slack", &e)
}

/// A Slack timestamp (`1700000000.000100`) as a time.
fn slack_time(ts: &str) -> Option<DateTime<Utc>> {
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, "0"));
    let secs: i64 = secs.parse().ok()?;
    let micros: u32 = format!("{frac:0<6}").get(..6)?.parse().ok()?;
    DateTime::from_timestamp(secs, micros * 1000)
}

/// What a message becomes: a small text document.
fn message_text(channel: &str, m: &Value) -> String {
    let who = m
        .get("user")
        .or_else(|| m.get("username"))
        .or_else(|| m.get("bot_id"))
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let when = m
        .get("ts")
        .and_then(Value::as_str)
        .and_then(slack_time)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    let text = m.get("text").and_then(Value::as_str).unwrap_or_default();
    format!("From: {who}\nChannel: #{channel}\nDate: {when}\n\n{text}\n")
}

impl SlackSource {
    /// The source of a Slack datasource: settings `channels`, `client_id` and `endpoint`, and
    /// the OAuth tokens with the app's `client_secret`.
    pub fn new(o: Opening<'_>) -> Result<Self, SyncError> {
        let egress = o.env.egress;
        let api = o
            .setting("endpoint")
            .as_deref()
            .map(|e| e.trim_end_matches('/').to_owned())
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| API.to_owned());
        super::check_base(egress, crate::egress::SLACK, &api)?;
        let http = super::http_client(egress, crate::egress::SLACK, Duration::from_secs(120))?;
        let only = o
            .setting("channels")
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(|c| c.trim().trim_start_matches('#').to_owned())
            .filter(|c| !c.is_empty())
            .collect();
        let tokens = Tokens::new(
            oauth::Refresh {
                service: "Slack",
                token_url: format!("{api}/oauth.v2.access"),
                client_id: o.setting("client_id"),
                client_secret: o.credential(CLIENT_SECRET.name),
                secret_required: true,
                needs: "a refresh token (X-Auth-Secret), the client_id setting and the \
                        client_secret",
            },
            http.clone(),
            o.credential(oauth::ACCESS_TOKEN.name).as_deref(),
            o.credential(oauth::REFRESH_TOKEN.name),
            o.saver.clone(),
            "no Slack token: send it as Authorization with @refreshServiceCredentials",
        )?;
        Ok(Self {
            http,
            api,
            only,
            tokens,
            after: o.after.to_owned(),
            listing: super::SortedListing::default(),
            texts: HashMap::new(),
            problems: Vec::new(),
        })
    }

    /// Calls a Web API method; an expired token is refreshed once and the call repeated.
    /// `Ok(Err(code))` is Slack's own refusal (`"ok": false`) other than an expired token.
    async fn call(
        &self,
        method: &str,
        params: &[(&str, &str)],
    ) -> Result<Result<Value, String>, SyncError> {
        let mut refreshed = false;
        loop {
            let token = self.tokens.access().await;
            let r = self
                .http
                .post(format!("{}/{method}", self.api))
                .bearer_auth(&token)
                .form(params)
                .send()
                .await
                .map_err(transport)?;
            let status = r.status();
            if status.as_u16() == 429 {
                let wait = r
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(60);
                return Err(SyncError::RetryAfter(
                    Duration::from_secs(wait),
                    format!("Slack asked to slow down ({method})"),
                ));
            }
            if !status.is_success() {
                return Err(SyncError::Transient(format!(
                    "Slack answered {status} to {method}"
                )));
            }
            let v: Value = r.json().await.map_err(|e| {
                SyncError::Transient(format!("Slack's answer to {method} is not JSON: {e}"))
            })?;
            if v["ok"] == true {
                return Ok(Ok(v));
            }
            let code = v["error"]
                .as_str()
                .map_or_else(|| "unknown_error".into(), crate::egress::sanitise);
            match code.as_str() {
                "token_expired" if !refreshed => {
                    self.tokens.refresh(&token, "token_expired").await?;
                    refreshed = true;
                }
                "token_expired" | "invalid_auth" | "not_authed" | "account_inactive"
                | "token_revoked" | "missing_scope" => {
                    return Err(SyncError::Permanent(format!(
                        "Slack refused the token ({code}): send new credentials with \
                         @refreshServiceCredentials"
                    )));
                }
                _ => return Ok(Err(code)),
            }
        }
    }

    /// Every page of a cursor-paged method, the items under `key`.
    async fn all_pages(
        &self,
        method: &str,
        params: &[(&str, &str)],
        key: &str,
    ) -> Result<Result<Vec<Value>, String>, SyncError> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let mut p = params.to_vec();
            p.push(("limit", "200"));
            if !cursor.is_empty() {
                p.push(("cursor", cursor.as_str()));
            }
            let v = match self.call(method, &p).await? {
                Ok(v) => v,
                Err(code) => return Ok(Err(code)),
            };
            if let Some(items) = v.get(key).and_then(Value::as_array) {
                out.extend(items.iter().cloned());
            }
            cursor = v
                .pointer("/response_metadata/next_cursor")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if cursor.is_empty() {
                return Ok(Ok(out));
            }
        }
    }

    async fn list_all(&mut self) -> Result<Vec<Entry>, SyncError> {
        if self.tokens.access().await.is_empty() {
            self.tokens.refresh("", "no access token yet").await?;
        }
        let channels = match self
            .all_pages(
                "conversations.list",
                &[("types", "public_channel,private_channel")],
                "channels",
            )
            .await?
        {
            Ok(c) => c,
            Err(code) => {
                return Err(SyncError::Permanent(format!(
                    "Slack refused to list the channels ({code})"
                )));
            }
        };
        let mut out = Vec::new();
        for c in &channels {
            let (Some(id), Some(name)) = (
                c.get("id").and_then(Value::as_str),
                c.get("name").and_then(Value::as_str),
            ) else {
                continue;
            };
            if !self.only.is_empty() && !self.only.iter().any(|o| o == name) {
                continue;
            }
            let messages = match self
                .all_pages("conversations.history", &[("channel", id)], "messages")
                .await?
            {
                Ok(m) => m,
                Err(code) => {
                    self.problems
                        .push(format!("#{name} could not be read ({code})"));
                    continue;
                }
            };
            for m in &messages {
                let Some(ts) = m.get("ts").and_then(Value::as_str) else {
                    continue;
                };
                let text = message_text(name, m);
                let changed = m
                    .pointer("/edited/ts")
                    .and_then(Value::as_str)
                    .unwrap_or(ts);
                let source_id = format!("{name}/{ts}.txt");
                out.push(Entry {
                    source_id: source_id.clone(),
                    size: text.len() as i64,
                    modified: slack_time(changed),
                });
                self.texts.insert(source_id, text);
            }
        }
        for wanted in &self.only {
            if !channels
                .iter()
                .any(|c| c.get("name").and_then(Value::as_str) == Some(wanted))
            {
                self.problems.push(format!(
                    "#{wanted} is not among the channels the token can see"
                ));
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Source for SlackSource {
    async fn next_page(&mut self, limit: usize) -> Result<Vec<Entry>, SyncError> {
        if !self.listing.is_read() {
            let all = self.list_all().await?;
            self.listing.set(all, &self.after);
        }
        Ok(self.listing.page(limit))
    }

    fn problems(&self) -> Vec<String> {
        self.problems.clone()
    }

    async fn fetch(&self, entry: &Entry, blobs: &BlobStore) -> Result<Option<Blob>, SyncError> {
        let Some(text) = self.texts.get(&entry.source_id).cloned() else {
            return Ok(None);
        };
        super::store_bytes(blobs, text.into_bytes()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_timestamps() {
        let t = slack_time("1700000000.000100").unwrap();
        assert_eq!(t.timestamp(), 1_700_000_000);
        assert_eq!(t.timestamp_subsec_micros(), 100);
        assert!(slack_time("x").is_none());
    }

    #[test]
    fn a_message_is_a_small_document() {
        let m = serde_json::json!({"user": "U1", "text": "hello", "ts": "1700000000.000100"});
        let t = message_text("general", &m);
        assert!(
            t.starts_with("From: U1\nChannel: #general\nDate: 2023-11-14T22:13:20.000100+00:00")
        );
        assert!(t.ends_with("\n\nhello\n"));
    }
}
