//! Server functions: thin calls into the engine under their own `/rpc` prefix, so the REST API
//! owns `/api`. Each one knows who is acting from the session cookie the server resolved.

// Form-backed server functions take one argument per form field, so `ActionForm` works without
// JavaScript; the macro's generated client functions carry the same long signatures.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::error::AppError;
use crate::types::{
    BulkResult, DatasourceListing, DatasourceView, InvitationRow, Me, MyInvitation, NewToken,
    PageOf, ResourceDetail, ResourceView, RunView, SearchHitView, SharingView, TokenView, UserView,
};
#[cfg(feature = "ssr")]
use crate::types::{Flash, said};

#[cfg(feature = "ssr")]
pub mod ssr {
    //! What the server provides to every render and server-function call.
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
                .settings
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string()),
                    )
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
            processing_status: r.processing_status,
            processing_error: r.processing_error,
        }
    }

    /// The settings a form carried, as the JSON the engine validates: only the fields `kind`
    /// has (the form shows no others, a forged one is dropped). Empty inputs count as "not
    /// given" — `null` on edit (`clear`), so an optional setting can be cleared.
    pub fn settings_json(
        kind: engine::domain::DatasourceKind,
        form: [(&str, Option<String>); 10],
        clear: bool,
    ) -> serde_json::Map<String, serde_json::Value> {
        let own = engine::service::settings_fields(kind);
        let mut m = serde_json::Map::new();
        for (k, v) in form {
            if !own.iter().any(|(f, _)| *f == k) {
                continue;
            }
            match v.as_deref().map(str::trim) {
                Some(s) if !s.is_empty() => {
                    m.insert(k.to_owned(), serde_json::Value::String(s.to_owned()));
                }
                Some(_) if clear => {
                    m.insert(k.to_owned(), serde_json::Value::Null);
                }
                _ => {}
            }
        }
        m
    }

    /// The credential inputs of a form as the engine takes them: empty ones left out, and an
    /// OAuth access token as the seed's `Authorization: Bearer ...`.
    pub fn credentials_json(
        form: [(&str, Option<String>); 5],
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        for (k, v) in form {
            let Some(v) = v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
                continue;
            };
            let v = if k == "Authorization" && !v.starts_with("Bearer ") {
                format!("Bearer {v}")
            } else {
                v
            };
            m.insert(k.to_owned(), serde_json::Value::String(v));
        }
        m
    }

    /// Sets or clears the session cookie on the response.
    pub fn set_session_cookie(token: Option<&str>, max_age_secs: i64) {
        set_cookie(&match token {
            Some(t) => format!(
                "{SESSION_COOKIE}={t}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}"
            ),
            None => format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
        });
    }

    /// The value of the cookie `name` in these request headers, if set and not empty.
    pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
        headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
            .filter(|v| !v.is_empty())
    }

    fn set_cookie(value: &str) {
        // Served over HTTPS: the cookie never travels in clear.
        let https = use_context::<axum::http::request::Parts>()
            .and_then(|p| p.extensions.get::<PublicUrl>().map(PublicUrl::is_https))
            .unwrap_or(false);
        let value = if https {
            format!("{value}; Secure")
        } else {
            value.to_owned()
        };
        if let (Some(resp), Ok(v)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            axum::http::HeaderValue::from_str(&value),
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
            set_cookie(&format!(
                "{PREFIX}{i}={chunk}; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"
            ));
        }
        // The rest of an earlier, longer flash nobody read would be taken for part of this one.
        if let Some(p) = use_context::<axum::http::request::Parts>() {
            for i in chunks.len()..MOST_CHUNKS {
                if cookie(&p.headers, &format!("{PREFIX}{i}")).is_some() {
                    set_cookie(&format!(
                        "{PREFIX}{i}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
                    ));
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
            set_cookie(&format!(
                "{PREFIX}{i}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
            ));
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
                u.scheme() == "http"
                    && u.host_str() == Some("tributary.invalid")
                    && u.port().is_none()
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
}

#[server(prefix = "/rpc", endpoint = "me")]
pub async fn get_me() -> Result<Option<Me>, AppError> {
    let Some(user) = ssr::request_user().user else {
        return Ok(None);
    };
    let invitations = ssr::engine()?.count_my_invitations(&user).await?;
    Ok(Some(ssr::me(&user, invitations)))
}

#[server(prefix = "/rpc", endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    let engine = ssr::engine()?;
    let client = use_context::<axum::http::request::Parts>().and_then(|p| {
        p.extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
    });
    let t = engine
        .login_from(&email, &password, engine::model::TokenKind::Session, client)
        .await?;
    let max_age = (t.expires_at - chrono::Utc::now()).num_seconds().max(0);
    ssr::set_session_cookie(Some(&t.token), max_age);
    leptos_axum::redirect(&ssr::safe_next(next));
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    if let Some(token) = ssr::request_user().token {
        ssr::engine()?.logout(&token).await?;
    }
    ssr::set_session_cookie(None, 0);
    leptos_axum::redirect("/login");
    Ok(())
}

/// The datasources list: one page under the filters and order, with the per-status counts.
#[server(prefix = "/rpc", endpoint = "list_datasources")]
pub async fn list_datasources(
    page_size: Option<i64>,
    scroll: Option<String>,
    status: Option<String>,
    kind: Option<String>,
    type_sync: Option<String>,
    q: Option<String>,
    sort: Option<String>,
) -> Result<DatasourceListing, AppError> {
    let user = ssr::user()?;
    let engine = ssr::engine()?;
    let query = engine::domain::DatasourceQuery::parse(
        status.as_deref(),
        kind.as_deref(),
        type_sync.as_deref(),
        q.as_deref(),
        sort.as_deref(),
    )?;
    let page = engine
        .list_datasources(&user, &query, page_size, scroll.as_deref())
        .await?;
    let counts = engine.datasource_status_counts(&user, &query).await?;
    Ok(DatasourceListing {
        items: page.items.into_iter().map(ssr::datasource_view).collect(),
        cursor: page.cursor,
        total: page.total,
        counts: counts
            .into_iter()
            .map(|(s, n)| (s.as_str().to_owned(), n))
            .collect(),
    })
}

/// Sync now, pause or resume several datasources; one result per datasource.
#[server(prefix = "/rpc", endpoint = "bulk_action", input = leptos::server_fn::codec::Json)]
pub async fn bulk_action(action: String, ids: Vec<String>) -> Result<Vec<BulkResult>, AppError> {
    ssr::bulk(&action, &ids).await
}

/// The same from the list's form without JavaScript: the checked rows' ids (`ids[N]`) and the
/// button pressed (`action`). The results are flashed onto the list it returns to.
#[server(prefix = "/rpc", endpoint = "bulk_form")]
pub async fn bulk_form(action: String, ids: Option<Vec<String>>) -> Result<(), AppError> {
    let ids = ids.unwrap_or_default();
    if ids.is_empty() {
        let e = AppError::new(422, "invalid", said::SELECT_FIRST);
        ssr::flash_with::<BulkForm>(Flash::new(false, e.message.clone()));
        return Err(e);
    }
    let results = ssr::bulk(&action, &ids).await?;
    let (ok, text) = said::bulk_done(&action, &results);
    ssr::flash_with::<BulkForm>(Flash {
        bulk: Some((action, results)),
        ..Flash::new(ok, text)
    });
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "get_datasource")]
pub async fn get_datasource(id: String) -> Result<DatasourceView, AppError> {
    let user = ssr::user()?;
    let engine = ssr::engine()?;
    let v = engine.get_datasource(&user, &id).await?;
    let progress = match v.access {
        engine::model::Access::Member(_) => engine.sync_progress(&v.datasource).await?,
        _ => None,
    };
    let mut view = ssr::datasource_view(v);
    view.progress = progress.map(|p| crate::types::ProgressView {
        seen: p.seen,
        added: p.added,
        updated: p.updated,
        listed: p.listed,
        expected: p.expected,
    });
    Ok(view)
}

/// Creates a datasource from the *New datasource* form and opens its page.
#[server(prefix = "/rpc", endpoint = "create_datasource")]
pub async fn create_datasource(
    kind: String,
    title: String,
    type_sync: Option<String>,
    path: Option<String>,
    bucket: Option<String>,
    prefix: Option<String>,
    endpoint: Option<String>,
    region: Option<String>,
    root: Option<String>,
    app_key: Option<String>,
    workspace: Option<String>,
    channels: Option<String>,
    client_id: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    access_token: Option<String>,
    refresh_token: Option<String>,
    client_secret: Option<String>,
) -> Result<String, AppError> {
    let user = ssr::user()?;
    let kind_parsed: engine::domain::DatasourceKind = kind.parse().map_err(AppError::from)?;
    let form = [
        ("path", path),
        ("bucket", bucket),
        ("prefix", prefix),
        ("endpoint", endpoint),
        ("region", region),
        ("root", root),
        ("app_key", app_key),
        ("workspace", workspace),
        ("channels", channels),
        ("client_id", client_id),
    ];
    let mut body = ssr::settings_json(kind_parsed, form, false);
    body.insert("@type".into(), kind.into());
    body.insert("title".into(), title.into());
    if let Some(t) = type_sync.filter(|t| !t.is_empty()) {
        body.insert("type_sync".into(), t.into());
    }
    // Credentials only for the kinds that take them; empty inputs mean "none".
    let own = engine::service::credential_fields(kind_parsed);
    for (k, v) in ssr::credentials_json([
        ("access_key_id", access_key_id),
        ("secret_access_key", secret_access_key),
        ("Authorization", access_token),
        ("X-Auth-Secret", refresh_token),
        ("client_secret", client_secret),
    ]) {
        if own.contains(&k.as_str()) {
            body.insert(k, v);
        }
    }
    let ds = ssr::engine()?
        .create_datasource(&user, &serde_json::Value::Object(body))
        .await?;
    ssr::flash::<CreateDatasource>(&said::created(&ds.title));
    leptos_axum::redirect(&format!("/datasources/{}", ds.id));
    Ok(ds.id)
}

/// Replaces a datasource's credentials in the wallet (the *Settings* tab's credentials form,
/// what `@refreshServiceCredentials` does for scripts). Empty inputs are left out.
#[server(prefix = "/rpc", endpoint = "replace_credentials")]
pub async fn replace_credentials(
    id: String,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    access_token: Option<String>,
    refresh_token: Option<String>,
    client_secret: Option<String>,
) -> Result<(), AppError> {
    let user = ssr::user()?;
    let engine = ssr::engine()?;
    let body = ssr::credentials_json([
        ("access_key_id", access_key_id),
        ("secret_access_key", secret_access_key),
        ("Authorization", access_token),
        ("X-Auth-Secret", refresh_token),
        ("client_secret", client_secret),
    ]);
    engine
        .refresh_credentials(&user, &id, &serde_json::Value::Object(body))
        .await?;
    ssr::flash::<ReplaceCredentials>(said::CREDENTIALS_SAVED);
    Ok(())
}

/// Saves the *Edit* form. Settings fields the kind does not have are ignored.
#[server(prefix = "/rpc", endpoint = "update_datasource")]
pub async fn update_datasource(
    id: String,
    title: String,
    type_sync: String,
    path: Option<String>,
    bucket: Option<String>,
    prefix: Option<String>,
    endpoint: Option<String>,
    region: Option<String>,
    root: Option<String>,
    app_key: Option<String>,
    workspace: Option<String>,
    channels: Option<String>,
    client_id: Option<String>,
) -> Result<DatasourceView, AppError> {
    let user = ssr::user()?;
    let engine = ssr::engine()?;
    let current = engine.get_datasource(&user, &id).await?.datasource;
    let form = [
        ("path", path),
        ("bucket", bucket),
        ("prefix", prefix),
        ("endpoint", endpoint),
        ("region", region),
        ("root", root),
        ("app_key", app_key),
        ("workspace", workspace),
        ("channels", channels),
        ("client_id", client_id),
    ];
    let mut body = ssr::settings_json(current.kind, form, true);
    body.insert("title".into(), title.into());
    body.insert("type_sync".into(), type_sync.into());
    let ds = engine
        .update_datasource(&user, &id, &serde_json::Value::Object(body))
        .await?;
    ssr::flash::<UpdateDatasource>(said::SAVED);
    Ok(ssr::datasource_view(ds))
}

/// Deletes a datasource; the caller must type its title to confirm.
#[server(prefix = "/rpc", endpoint = "delete_datasource")]
pub async fn delete_datasource(id: String, confirm_title: String) -> Result<(), AppError> {
    let user = ssr::user()?;
    let engine = ssr::engine()?;
    let ds = engine
        .datasource_for(&user, &id, engine::service::Action::Delete)
        .await?
        .datasource;
    if confirm_title.trim() != ds.title {
        return Err(AppError {
            status: 422,
            code: "invalid".into(),
            message: format!("type the datasource's title, '{}', to confirm", ds.title),
            field: Some("confirm_title".into()),
        });
    }
    engine.delete_datasource(&user, &id).await?;
    ssr::flash::<DeleteDatasource>(&said::deleted(&ds.title));
    leptos_axum::redirect("/datasources");
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "list_children")]
pub async fn list_children(
    id: String,
    page_size: Option<i64>,
    scroll: Option<String>,
) -> Result<PageOf<ResourceView>, AppError> {
    let user = ssr::user()?;
    let q = engine::service::ChildrenQuery { page_size, scroll };
    let page = ssr::engine()?.children(&user, &id, &q).await?;
    Ok(PageOf {
        items: page.items.into_iter().map(ssr::resource_view).collect(),
        cursor: page.cursor,
        total: page.total,
    })
}

/// Every account (admins only).
#[server(prefix = "/rpc", endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    let actor = ssr::user()?;
    Ok(ssr::engine()?
        .list_users(&actor)
        .await?
        .into_iter()
        .map(ssr::user_view)
        .collect())
}

/// The *Add user* form (admins only).
#[server(prefix = "/rpc", endpoint = "create_user")]
pub async fn create_user(
    email: String,
    display_name: String,
    password: String,
    role: String,
) -> Result<UserView, AppError> {
    let actor = ssr::user()?;
    let body = serde_json::json!({"email": email, "display_name": display_name, "password": password, "role": role});
    let u = ssr::engine()?.admin_create_user(&actor, &body).await?;
    ssr::flash::<CreateUser>(&said::user_added(&u.email));
    Ok(ssr::user_view(u))
}

/// Activates or deactivates an account, or changes its role (admins only).
#[server(prefix = "/rpc", endpoint = "update_user")]
pub async fn update_user(
    id: String,
    active: Option<String>,
    role: Option<String>,
) -> Result<UserView, AppError> {
    let actor = ssr::user()?;
    let mut body = serde_json::Map::new();
    if let Some(a) = active {
        body.insert("active".into(), serde_json::Value::Bool(a == "true"));
    }
    if let Some(r) = role {
        body.insert("role".into(), r.into());
    }
    let u = ssr::engine()?
        .update_user(&actor, &id, &serde_json::Value::Object(body))
        .await?;
    ssr::flash::<UpdateUser>(&said::user_updated(&u.email));
    Ok(ssr::user_view(u))
}

/// Who has which role on a datasource, and who is invited.
#[server(prefix = "/rpc", endpoint = "get_sharing")]
pub async fn get_sharing(id: String) -> Result<SharingView, AppError> {
    let user = ssr::user()?;
    let s = ssr::engine()?.sharing(&user, &id).await?;
    Ok(SharingView {
        members: s
            .members
            .into_iter()
            .map(|m| crate::types::MemberView {
                user_id: m.user_id,
                email: m.email,
                display_name: m.display_name,
                role: m.role.to_string(),
            })
            .collect(),
        invitations: s.invitations.into_iter().map(invitation_row).collect(),
    })
}

#[cfg(feature = "ssr")]
fn invitation_row(i: engine::model::Invitation) -> InvitationRow {
    InvitationRow {
        id: i.id,
        email: i.email,
        role: i.role.to_string(),
        created_at: ssr::ts(i.created_at),
    }
}

/// Changes a member's role; an empty role removes them (owners only).
#[server(prefix = "/rpc", endpoint = "set_role")]
pub async fn set_role(id: String, user: String, role: String) -> Result<(), AppError> {
    let actor = ssr::user()?;
    let role = if role.trim().is_empty() {
        serde_json::Value::Null
    } else {
        role.into()
    };
    let body = serde_json::json!({"roles": [{"user": user, "role": role}]});
    ssr::engine()?.change_sharing(&actor, &id, &body).await?;
    ssr::flash::<SetRole>(said::ACCESS_CHANGED);
    Ok(())
}

/// The *Invite* form (owners only).
#[server(prefix = "/rpc", endpoint = "invite")]
pub async fn invite(id: String, email: String, role: String) -> Result<InvitationRow, AppError> {
    let actor = ssr::user()?;
    let body = serde_json::json!({"email": email, "role": role});
    let invitation = ssr::engine()?.invite(&actor, &id, &body).await?;
    ssr::flash_detail::<Invite>(
        &said::invited(&invitation.email),
        format!("Invited {} as {}.", invitation.email, invitation.role),
    );
    Ok(invitation_row(invitation))
}

#[server(prefix = "/rpc", endpoint = "revoke_invitation")]
pub async fn revoke_invitation(id: String, invitation_id: String) -> Result<(), AppError> {
    let actor = ssr::user()?;
    ssr::engine()?
        .revoke_invitation(&actor, &id, &invitation_id)
        .await?;
    ssr::flash::<RevokeInvitation>(said::INVITATION_REVOKED);
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "my_invitations")]
pub async fn my_invitations() -> Result<Vec<MyInvitation>, AppError> {
    let user = ssr::user()?;
    Ok(ssr::engine()?
        .my_invitations(&user)
        .await?
        .into_iter()
        .map(ssr::my_invitation)
        .collect())
}

/// Accepts and opens the datasource.
#[server(prefix = "/rpc", endpoint = "accept_invitation")]
pub async fn accept_invitation(invitation_id: String) -> Result<String, AppError> {
    let user = ssr::user()?;
    let inv = ssr::engine()?
        .accept_invitation(&user, &invitation_id)
        .await?;
    ssr::flash::<AcceptInvitation>(said::INVITATION_ACCEPTED);
    leptos_axum::redirect(&format!("/datasources/{}", inv.datasource_id));
    Ok(inv.datasource_id)
}

#[server(prefix = "/rpc", endpoint = "decline_invitation")]
pub async fn decline_invitation(invitation_id: String) -> Result<(), AppError> {
    let user = ssr::user()?;
    ssr::engine()?
        .decline_invitation(&user, &invitation_id)
        .await?;
    ssr::flash::<DeclineInvitation>(said::INVITATION_DECLINED);
    leptos_axum::redirect("/invitations");
    Ok(())
}

#[cfg(feature = "ssr")]
fn token_view(t: engine::model::TokenInfo) -> TokenView {
    TokenView {
        id: t.id,
        name: t.name,
        created_at: ssr::ts(t.created_at),
    }
}

#[server(prefix = "/rpc", endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<TokenView>, AppError> {
    let user = ssr::user()?;
    Ok(ssr::engine()?
        .personal_tokens(&user)
        .await?
        .into_iter()
        .map(token_view)
        .collect())
}

#[server(prefix = "/rpc", endpoint = "create_token")]
pub async fn create_token(name: String) -> Result<NewToken, AppError> {
    let user = ssr::user()?;
    let made = ssr::engine()?.create_personal_token(&user, &name).await?;
    let new = NewToken {
        token: token_view(made.info),
        secret: made.secret,
    };
    // Without JavaScript the secret rides the redirect in the one-time cookie (HTTP-only,
    // this site only, a minute at most), as the session's own token does.
    ssr::flash_with::<CreateToken>(Flash {
        token: Some(new.clone()),
        ..Flash::new(true, said::TOKEN_CREATED)
    });
    Ok(new)
}

#[server(prefix = "/rpc", endpoint = "revoke_token")]
pub async fn revoke_token(token_id: String) -> Result<(), AppError> {
    let user = ssr::user()?;
    ssr::engine()?
        .revoke_personal_token(&user, &token_id)
        .await?;
    ssr::flash::<RevokeToken>(said::TOKEN_REVOKED);
    Ok(())
}

/// Changes my password; other sessions end, this one stays.
#[server(prefix = "/rpc", endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    let who = ssr::request_user();
    let user = who.user.ok_or_else(AppError::unauthorized)?;
    if new_password != confirm_password {
        return Err(AppError {
            status: 422,
            code: "invalid".into(),
            message: "the two new passwords differ".into(),
            field: Some("confirm_password".into()),
        });
    }
    ssr::engine()?
        .change_password(
            &user,
            who.token.as_deref(),
            &current_password,
            &new_password,
        )
        .await?;
    ssr::flash::<ChangePassword>(said::PASSWORD_CHANGED);
    Ok(())
}

/// *Sync now*: queues a run (or brings the queued one forward). One-time datasources that
/// have synced are collected again: the button says so.
#[server(prefix = "/rpc", endpoint = "sync_now")]
pub async fn sync_now(id: String) -> Result<String, AppError> {
    let user = ssr::user()?;
    let (job, _) = ssr::engine()?.send_to_spyder(&user, &id, true).await?;
    ssr::flash::<SyncNow>(&said::sync_requested(&job.state));
    Ok(job.state)
}

#[server(prefix = "/rpc", endpoint = "pause_datasource")]
pub async fn pause_datasource(id: String) -> Result<(), AppError> {
    let user = ssr::user()?;
    ssr::engine()?.pause(&user, &id).await?;
    ssr::flash::<PauseDatasource>(said::PAUSED);
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "resume_datasource")]
pub async fn resume_datasource(id: String) -> Result<(), AppError> {
    let user = ssr::user()?;
    ssr::engine()?.resume(&user, &id).await?;
    ssr::flash::<ResumeDatasource>(said::RESUMED);
    Ok(())
}

/// The Activity tab: sync runs, newest first.
#[server(prefix = "/rpc", endpoint = "sync_history")]
pub async fn sync_history(id: String) -> Result<Vec<RunView>, AppError> {
    let user = ssr::user()?;
    let runs = ssr::engine()?.sync_history(&user, &id, 50).await?;
    Ok(runs
        .into_iter()
        .map(|r| RunView {
            started_at: ssr::ts(r.started_at),
            duration: r.finished_at.map(|f| {
                let ms = (f - r.started_at).num_milliseconds().max(0);
                if ms < 1000 {
                    format!("{ms} ms")
                } else {
                    format!("{:.1} s", ms as f64 / 1000.0)
                }
            }),
            outcome: r.outcome,
            added: r.added,
            updated: r.updated,
            deleted: r.deleted,
            error: r.error,
        })
        .collect())
}

/// A resource's page.
#[server(prefix = "/rpc", endpoint = "get_resource")]
pub async fn get_resource(id: String, resource_id: String) -> Result<ResourceDetail, AppError> {
    let user = ssr::user()?;
    let engine = ssr::engine()?;
    let ds = engine.get_datasource(&user, &id).await?;
    let can_operate = ds.role().is_some_and(|r| {
        engine::service::Action::Operate
            .needs()
            .is_some_and(|n| r.at_least(n))
    });
    let (r, text) = engine.resource_text(&user, &id, &resource_id).await?;
    // Characters of extracted text shown on the page.
    const TEXT_PREVIEW: usize = 20_000;
    let (text, text_cut) = match text {
        Some(t) if t.chars().count() > TEXT_PREVIEW => {
            (Some(t.chars().take(TEXT_PREVIEW).collect()), true)
        }
        other => (other, false),
    };
    Ok(ResourceDetail {
        datasource_id: ds.datasource.id.clone(),
        datasource_title: ds.datasource.title.clone(),
        content_hash: r.content_hash.clone(),
        collected_at: ssr::ts(r.collected_at),
        resource: ssr::resource_view(r),
        text,
        text_cut,
        can_operate,
    })
}

/// *Send to processing*: the datasource's resources (or one of them) are extracted and
/// indexed again. Returns how many were queued.
#[server(prefix = "/rpc", endpoint = "send_to_processing")]
pub async fn send_to_processing(id: String, resource_id: Option<String>) -> Result<i64, AppError> {
    let user = ssr::user()?;
    let rid = resource_id.filter(|r| !r.is_empty());
    let n = ssr::engine()?
        .send_to_compute(&user, &id, rid.as_deref())
        .await?;
    ssr::flash_detail::<SendToProcessing>(&said::queued_for_processing(n), n.to_string());
    Ok(n)
}

/// The search forms (global and a datasource's tab): one page of hits.
#[server(prefix = "/rpc", endpoint = "search")]
pub async fn search(
    datasource: Option<String>,
    query: String,
    media_type: Option<String>,
    path_prefix: Option<String>,
    modified_after: Option<String>,
    modified_before: Option<String>,
    scroll: Option<String>,
) -> Result<PageOf<SearchHitView>, AppError> {
    let user = ssr::user()?;
    let mut filters = serde_json::Map::new();
    for (k, v) in [
        ("media_type", media_type),
        ("path_prefix", path_prefix),
        ("modified_after", modified_after),
        ("modified_before", modified_before),
    ] {
        if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
            filters.insert(k.into(), serde_json::Value::String(v));
        }
    }
    let body = serde_json::json!({
        "query": query,
        "size": 20,
        "scroll": scroll.filter(|s| !s.is_empty()),
        "filters": filters,
    });
    let scope = datasource.filter(|d| !d.is_empty());
    let r = ssr::engine()?
        .search(&user, scope.as_deref(), &body)
        .await?;
    Ok(PageOf {
        items: r
            .items
            .into_iter()
            .map(|h| SearchHitView {
                datasource_id: h.resource.datasource_id.clone(),
                resource: ssr::resource_view(h.resource),
                score: h.score,
                snippet: h.snippet,
            })
            .collect(),
        cursor: r.cursor,
        total: r.total,
    })
}
