//! OAuth 2 access tokens for the connectors of OAuth services (Dropbox, Slack): the seed's
//! `@refreshServiceCredentials` shape (`Authorization` the access token, `X-Auth-Secret` the
//! refresh token), and one refresh for all of them: when a service refuses the access token as
//! expired, [`Tokens::refresh`] posts `grant_type=refresh_token` to the service's token URL
//! (RFC 6749 §6), keeps the new access token (and the new refresh token, where the service
//! rotates them), and saves both to the wallet so the next run starts with them. Concurrent
//! calls that all found the same token expired refresh once.

use std::sync::Arc;

use serde_json::Value;

use super::{Credential, CredentialSaver, SyncError};

/// `Authorization`: the access token, sent as `Bearer <token>`.
pub const ACCESS_TOKEN: Credential = Credential {
    name: "Authorization",
    input: "access_token",
    label: "Access token",
    secret: true,
    bearer: true,
};

/// `X-Auth-Secret`: the refresh token.
pub const REFRESH_TOKEN: Credential = Credential {
    name: "X-Auth-Secret",
    input: "refresh_token",
    label: "Refresh token",
    secret: true,
    bearer: false,
};

/// The form's title for OAuth tokens.
pub const LEGEND: &str = "OAuth tokens";
/// Help on the new-datasource form.
pub const HINT_NEW: &str = "Without them the datasource waits; scripts can send them later with @refreshServiceCredentials.";
/// Help where they replace the wallet's.
pub const HINT_REPLACE: &str =
    "What you fill in replaces the wallet's; a datasource waiting for its tokens is queued.";
/// Why a datasource of an OAuth service waits until it has tokens.
pub const WAITING: &str = "send Authorization (the access token) and X-Auth-Secret (the refresh \
                           token) with @refreshServiceCredentials";

/// How one service refreshes its tokens.
pub struct Refresh {
    /// The service's name in messages ("Dropbox").
    pub service: &'static str,
    /// Where `grant_type=refresh_token` is posted.
    pub token_url: String,
    pub client_id: Option<String>,
    /// Sent when given; `secret_required` services cannot refresh without it.
    pub client_secret: Option<String>,
    pub secret_required: bool,
    /// What a refresh needs, for the message when something is missing ("a refresh token
    /// (X-Auth-Secret) and the app key").
    pub needs: &'static str,
}

struct Pair {
    access: String,
    refresh: Option<String>,
}

/// A datasource's tokens during a run.
pub struct Tokens {
    how: Refresh,
    http: reqwest::Client,
    pair: tokio::sync::RwLock<Pair>,
    /// One refresh at a time.
    refreshing: tokio::sync::Mutex<()>,
    saver: Arc<dyn CredentialSaver>,
}

fn some(v: Option<String>) -> Option<String> {
    v.filter(|v| !v.trim().is_empty())
}

impl Tokens {
    /// The tokens of `authorization` (`Bearer <token>` or the bare token) and `refresh`.
    /// Without an access token a refresh token stands in (the first call refreshes); without
    /// either, `missing` is the error.
    pub fn new(
        how: Refresh,
        http: reqwest::Client,
        authorization: Option<&str>,
        refresh: Option<String>,
        saver: Arc<dyn CredentialSaver>,
        missing: &str,
    ) -> Result<Self, SyncError> {
        let refresh = some(refresh);
        let access = super::bearer_token(authorization, refresh.as_ref(), missing)?;
        Ok(Self {
            how: Refresh {
                client_id: some(how.client_id),
                client_secret: some(how.client_secret),
                ..how
            },
            http,
            pair: tokio::sync::RwLock::new(Pair { access, refresh }),
            refreshing: tokio::sync::Mutex::new(()),
            saver,
        })
    }

    /// The access token in use ("" before the first refresh of a datasource given only a
    /// refresh token).
    pub async fn access(&self) -> String {
        self.pair.read().await.access.clone()
    }

    /// Gets a new access token with the refresh token, unless another call already replaced
    /// `stale`; `why` is what the service said of the old one. Saves the new tokens.
    pub async fn refresh(&self, stale: &str, why: &str) -> Result<(), SyncError> {
        let _one = self.refreshing.lock().await;
        let (access, refresh) = {
            let p = self.pair.read().await;
            (p.access.clone(), p.refresh.clone())
        };
        if access != stale {
            return Ok(());
        }
        let service = self.how.service;
        let secret_ok = self.how.client_secret.is_some() || !self.how.secret_required;
        let (Some(refresh), Some(client_id), true) = (refresh, &self.how.client_id, secret_ok)
        else {
            return Err(SyncError::Permanent(format!(
                "{service} refused the access token ({why}) and it cannot be refreshed without \
                 {}: send new credentials with @refreshServiceCredentials",
                self.how.needs
            )));
        };
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", client_id.as_str()),
        ];
        if let Some(secret) = &self.how.client_secret {
            form.push(("client_secret", secret.as_str()));
        }
        let r = self
            .http
            .post(&self.how.token_url)
            .form(&form)
            .send()
            .await
            .map_err(|e| super::unreachable(service, &e))?;
        let status = r.status();
        let body = r
            .text()
            .await
            .map_err(|e| super::unreachable(service, &e))?;
        if status.is_server_error() {
            return Err(SyncError::Transient(format!(
                "{service} could not refresh the access token ({status})"
            )));
        }
        let answer = serde_json::from_str::<Value>(&body).ok();
        // Slack answers 200 with `"ok": false`; others answer 4xx with RFC 6749's `error`.
        let granted = answer
            .as_ref()
            .filter(|v| status.is_success() && v.get("ok") != Some(&Value::Bool(false)))
            .and_then(|v| v.get("access_token")?.as_str())
            .map(str::to_owned);
        let Some(new_access) = granted else {
            let reason = answer
                .as_ref()
                .and_then(|v| {
                    let e = v.get("error_description").or_else(|| v.get("error"))?;
                    e.as_str().map(crate::egress::sanitise)
                })
                .unwrap_or_else(|| status.to_string());
            return Err(SyncError::Permanent(format!(
                "{service} refused to refresh the access token ({reason}): send new \
                 credentials with @refreshServiceCredentials"
            )));
        };
        // Services that rotate refresh tokens send a new one; the old one stops working.
        let rotated = answer
            .as_ref()
            .and_then(|v| v.get("refresh_token")?.as_str())
            .map(str::to_owned);
        let mut save = vec![(ACCESS_TOKEN.name.into(), format!("Bearer {new_access}"))];
        if let Some(r) = &rotated {
            save.push((REFRESH_TOKEN.name.into(), r.clone()));
        }
        self.saver
            .save(save)
            .await
            .map_err(|e| SyncError::Transient(format!("saving the refreshed token: {e}")))?;
        *self.pair.write().await = Pair {
            access: new_access,
            refresh: Some(rotated.unwrap_or(refresh)),
        };
        Ok(())
    }
}
