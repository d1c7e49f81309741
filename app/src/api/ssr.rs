//! What the server provides to every render and server-function call (server only).

use leptos::prelude::*;

use crate::error::AppError;
use crate::types::{BulkResult, DatasourceView, Me, MyInvitation, ResourceView};

pub const SESSION_COOKIE: &str = "tributary_session";

/// Where users reach this server (`TRIBUTARY_PUBLIC_URL`), put in every request's
/// extensions: absolute `@id`s are made from it, and over HTTPS cookies are `Secure`.
#[derive(Debug, Clone, Default)]
pub struct PublicUrl(pub Option<String>);

impl PublicUrl {
    pub fn is_https(&self) -> bool {
        self.0.as_deref().is_some_and(|u| u.starts_with("https://"))
    }
}

/// Shared by every request: the engine.
#[derive(Clone)]
pub struct Ctx {
    pub engine: engine::Engine,
}

/// Who sent this request (from the session cookie), and the raw session token.
#[derive(Clone, Default)]
pub struct RequestUser {
    pub user: Option<engine::model::User>,
    pub token: Option<String>,
}

pub fn engine() -> Result<engine::Engine, AppError> {
    use_context::<Ctx>().map(|c| c.engine).ok_or_else(|| {
        AppError::new(
            500,
            "internal",
            "the engine is not available to this request",
        )
    })
}

/// Who sent the request being served. The server's auth layer puts a [`RequestUser`] in the
/// request's extensions; Leptos hands us the request parts.
pub fn request_user() -> RequestUser {
    use_context::<axum::http::request::Parts>()
        .and_then(|p| p.extensions.get::<RequestUser>().cloned())
        .unwrap_or_default()
}

pub fn user() -> Result<engine::model::User, AppError> {
    request_user().user.ok_or_else(AppError::unauthorized)
}

/// `t` relative to now.
pub fn ago(t: chrono::DateTime<chrono::Utc>) -> String {
    crate::types::relative_time((t - chrono::Utc::now()).num_seconds())
}

pub fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn me(u: &engine::model::User, invitations: i64) -> Me {
    Me {
        id: u.id.clone(),
        email: u.email.clone(),
        display_name: u.display_name.clone(),
        role: u.role.to_string(),
        invitations,
    }
}

pub fn my_invitation(v: engine::model::InvitationView) -> MyInvitation {
    MyInvitation {
        id: v.invitation.id,
        datasource_id: v.invitation.datasource_id,
        datasource_title: v.datasource_title,
        kind_label: v.datasource_kind.label().into(),
        role: v.invitation.role.to_string(),
        inviter: if v.inviter_name.is_empty() {
            v.inviter_email
        } else {
            format!("{} ({})", v.inviter_name, v.inviter_email)
        },
        created_at: ts(v.invitation.created_at),
    }
}

/// A datasource as the asking user may see it. An invitee gets the title and the
/// invitation only: no settings, no counts.
pub fn datasource_view(v: engine::model::DatasourceView) -> DatasourceView {
    use engine::model::Access;
    use engine::service::Action;
    let role = v.role();
    let can = |a: Action| {
        a.needs()
            .is_some_and(|n| role.is_some_and(|r| r.at_least(n)))
    };
    let (can_configure, can_operate, can_share, can_delete) = (
        can(Action::Configure),
        can(Action::Operate),
        can(Action::Share),
        can(Action::Delete),
    );
    let status = v.shown_status();
    let d = v.datasource;
    if let Access::Invited(inv) = v.access {
        return DatasourceView {
            kind: d.kind.as_str().into(),
            kind_label: d.kind.label().into(),
            settings: Vec::new(),
            title: d.title.clone(),
            type_sync: d.type_sync.as_str().into(),
            sync_status: status.as_str().into(),
            status_reason: Some(status.explanation().into()),
            resource_count: 0,
            byte_count: 0,
            last_sync_finished_at: None,
            next_sync_due_at: None,
            last_synced_ago: None,
            next_due_in: None,
            progress: None,
            created_at: ts(inv.created_at),
            updated_at: ts(inv.updated_at),
            my_role: None,
            invitation: Some(MyInvitation {
                id: inv.id,
                datasource_id: d.id.clone(),
                datasource_title: d.title,
                kind_label: d.kind.label().into(),
                role: inv.role.to_string(),
                inviter: String::new(),
                created_at: ts(inv.created_at),
            }),
            can_configure,
            can_operate,
            can_share,
            can_delete,
            id: d.id,
        };
    }
    DatasourceView {
        kind: d.kind.as_str().into(),
        kind_label: d.kind.label().into(),
        settings: d
            .kind
            .spec()
            .settings
            .iter()
            .filter_map(|f| {
                let v = d.settings.get(f.name)?;
                Some(crate::types::SettingValue {
                    name: f.name.into(),
                    label: f.label.into(),
                    value: v
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string()),
                })
            })
            .collect(),
        title: d.title,
        type_sync: d.type_sync.as_str().into(),
        sync_status: d.sync_status.as_str().into(),
        status_reason: d.status_reason,
        resource_count: d.resource_count,
        byte_count: d.byte_count,
        last_sync_finished_at: d.last_sync_finished_at.map(ts),
        next_sync_due_at: d.next_sync_due_at.map(ts),
        last_synced_ago: d.last_sync_finished_at.map(ago),
        next_due_in: d.next_sync_due_at.map(ago),
        progress: None,
        created_at: ts(d.created_at),
        updated_at: ts(d.updated_at),
        my_role: role.map(|r| r.to_string()),
        invitation: None,
        can_configure,
        can_operate,
        can_share,
        can_delete,
        id: d.id,
    }
}

pub fn user_view(u: engine::model::User) -> crate::types::UserView {
    crate::types::UserView {
        created_at: ts(u.created_at),
        id: u.id,
        email: u.email,
        display_name: u.display_name,
        role: u.role.to_string(),
        active: u.active,
    }
}

pub fn resource_view(r: engine::model::Resource) -> ResourceView {
    ResourceView {
        id: r.id,
        name: r.name,
        path: r.path,
        kind: r.kind,
        size: r.size,
        media_type: r.media_type,
        source_modified_at: r.source_modified_at.map(ts),
        processing_status: r.processing_status.to_string(),
        processing_error: r.processing_error,
    }
}

/// The registry's connectors as the forms read them.
pub fn connectors() -> Vec<crate::types::ConnectorView> {
    use crate::types::{ConnectorView, CredentialView, SettingView};
    engine::connector::specs()
        .map(|s| ConnectorView {
            kind: s.kind.as_str().into(),
            label: s.label.into(),
            description: s.description.into(),
            sync_types: s.sync_types.iter().map(|t| t.as_str().into()).collect(),
            settings: s
                .settings
                .iter()
                .map(|f| SettingView {
                    name: f.name.into(),
                    label: f.label.into(),
                    help: f.help.into(),
                    required: f.required,
                })
                .collect(),
            credentials: s
                .credentials
                .fields
                .iter()
                .map(|c| CredentialView {
                    name: c.name.into(),
                    input: c.input.into(),
                    label: c.label.into(),
                    secret: c.secret,
                })
                .collect(),
            credentials_legend: s.credentials.legend.into(),
            credentials_hint_new: s.credentials.hint_new.into(),
            credentials_hint_replace: s.credentials.hint_replace.into(),
            admin_only: s.admin_only.is_some(),
        })
        .collect()
}

/// Sets or clears the session cookie on the response.
pub fn set_session_cookie(token: Option<&str>, max_age_secs: i64) {
    set_cookie(SESSION_COOKIE, token.unwrap_or(""), max_age_secs);
}

/// The value of the cookie `name` in these request headers, if set and not empty.
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    axum_extra::extract::cookie::CookieJar::from_headers(headers)
        .get(name)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// Sets cookie `name` on the response for `max_age_secs` (0 clears it): this site's paths,
/// HTTP only, `SameSite=Lax`, and `Secure` when Tributary is served over HTTPS.
fn set_cookie(name: &str, value: &str, max_age_secs: i64) {
    use axum_extra::extract::cookie::{Cookie, SameSite};
    let https = use_context::<axum::http::request::Parts>()
        .and_then(|p| p.extensions.get::<PublicUrl>().map(PublicUrl::is_https))
        .unwrap_or(false);
    let cookie = Cookie::build((name.to_owned(), value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .secure(https)
        .build();
    if let (Some(resp), Ok(v)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        axum::http::HeaderValue::from_str(&cookie.to_string()),
    ) {
        resp.append_header(axum::http::header::SET_COOKIE, v);
    }
}

/// Says what the server function `S` did, on the page the browser is sent back to. Forms
/// post as plain forms (the page's script fetches them, or the browser posts them itself
/// without JavaScript) asking for HTML, and leptos_axum answers with a redirect: the
/// message rides it in a one-time cookie. A client asking for JSON gets its answer instead,
/// and nothing is flashed. One message, read once, for a minute.
pub fn flash<S: leptos::server_fn::ServerFn>(text: &str) {
    flash_with::<S>(crate::types::Flash::new(true, text));
}

/// The same with what the form says in place besides the toast.
pub fn flash_detail<S: leptos::server_fn::ServerFn>(text: &str, detail: String) {
    let mut f = crate::types::Flash::new(true, text);
    f.detail = Some(detail);
    flash_with::<S>(f);
}

pub fn flash_with<S: leptos::server_fn::ServerFn>(mut f: crate::types::Flash) {
    let plain_form = use_context::<axum::http::request::Parts>().is_some_and(|p| {
        p.headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    });
    if !plain_form {
        return;
    }
    f.from = Some(S::PATH.to_owned());
    use crate::flash::cookie::{MOST_CHUNKS, PREFIX};
    let chunks = crate::flash::cookie::encode(&mut f);
    for (i, chunk) in chunks.iter().enumerate() {
        set_cookie(&format!("{PREFIX}{i}"), chunk, 60);
    }
    // The rest of an earlier, longer flash nobody read would be taken for part of this one.
    if let Some(p) = use_context::<axum::http::request::Parts>() {
        for i in chunks.len()..MOST_CHUNKS {
            if cookie(&p.headers, &format!("{PREFIX}{i}")).is_some() {
                set_cookie(&format!("{PREFIX}{i}"), "", 0);
            }
        }
    }
}

/// The header the page's script sends when it refetches a page for live updates: such a
/// request leaves the flash alone, so it stays for the page a form returns to.
pub const LIVE_HEADER: &str = "x-tributary-live";

/// What [`flash`] left for this request, which it clears (not for a live refetch).
pub fn take_flash() -> Option<crate::types::Flash> {
    use crate::flash::cookie::{MOST_CHUNKS, PREFIX};
    let parts = use_context::<axum::http::request::Parts>()?;
    if parts.headers.contains_key(LIVE_HEADER) {
        return None;
    }
    let chunks: Vec<String> = (0..MOST_CHUNKS)
        .map_while(|i| cookie(&parts.headers, &format!("{PREFIX}{i}")))
        .collect();
    if chunks.is_empty() {
        return None;
    }
    for i in 0..chunks.len() {
        set_cookie(&format!("{PREFIX}{i}"), "", 0);
    }
    crate::flash::cookie::decode(&chunks)
}

/// Sync now, pause or resume several datasources; one result per datasource.
pub async fn bulk(action: &str, ids: &[String]) -> Result<Vec<BulkResult>, AppError> {
    let user = user()?;
    let parsed: engine::domain::SyncAction = action.parse()?;
    let outcomes = engine()?.bulk_sync_action(&user, parsed, ids).await?;
    Ok(outcomes
        .into_iter()
        .map(|o| BulkResult {
            title: o.title.unwrap_or_else(|| o.id.clone()),
            ok: o.error.is_none(),
            message: match (o.error, o.status) {
                (Some(e), _) => AppError::from(e).message,
                (None, Some(s)) => format!("now {s}"),
                (None, None) => "done".into(),
            },
            id: o.id,
        })
        .collect())
}

/// Only same-site paths may be redirected to after login. Browsers drop tabs and line
/// breaks from a URL and read `\\` as `/`, so `/\t/evil.example` and `/\\evil.example`
/// would leave the site: any control character or backslash is refused, and what is left
/// must resolve to this origin.
pub fn safe_next(next: Option<String>) -> String {
    const HOME: &str = "/datasources";
    let Some(n) = next else {
        return HOME.into();
    };
    let plain = n.starts_with('/')
        && !n.starts_with("//")
        && !n
            .chars()
            .any(|c| c.is_control() || c == '\\' || c.is_whitespace());
    let stays = url::Url::parse("http://tributary.invalid/")
        .and_then(|b| b.join(&n))
        .is_ok_and(|u| {
            u.scheme() == "http" && u.host_str() == Some("tributary.invalid") && u.port().is_none()
        });
    if plain && stays { n } else { HOME.into() }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_same_site_paths_are_followed_after_login() {
        for ok in ["/datasources/abc?x=1#y", "/search?q=a%20b", "/"] {
            assert_eq!(safe_next(Some(ok.into())), ok);
        }
        for off in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "/ /evil.example",
            "evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(off.into())), "/datasources", "{off:?}");
        }
        assert_eq!(safe_next(None), "/datasources");
    }
}
