//! Cross-site request forgery protection for everything the session cookie authenticates.
//!
//! A state-changing request (any method but GET, HEAD, OPTIONS) that carries the session
//! cookie, or that goes to a server function (login included, against login CSRF), must come
//! from this site. Browsers say where a request comes from in headers a page cannot forge:
//! `Sec-Fetch-Site` (sent by every current browser) and `Origin`. The rule, as in Go's
//! `http.CrossOriginProtection`:
//! - `Sec-Fetch-Site` present: only `same-origin` (or `none`, typed by the user) passes;
//! - else `Origin` present: its host must be this request's `Host`;
//! - else (no browser sent it): refused if it carries the cookie, since only a browser holds
//!   it; scripts authenticate with `Authorization: Bearer`, which no other site can attach.
//!
//! The session cookie is also `SameSite=Lax` and `HttpOnly`, so it is not sent on cross-site
//! POSTs by browsers that honour SameSite; this layer does not rely on that.
//!
//! A request is exempt only when a bearer token actually authenticated it (it runs after
//! [`crate::auth::resolve_user`]): an `Authorization` header of another scheme, or a token that
//! did not authenticate, exempts nothing. The seed's state-changing GETs (`@sendToSpyder`,
//! `@sendToCompute`) work with bearer tokens only: a link or an image on another site could
//! otherwise fire them with the cookie (which `SameSite=Lax` sends on top-level GETs).

use app::api::ssr::SESSION_COOKIE;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::error::ApiError;

fn has_session_cookie(headers: &HeaderMap) -> bool {
    axum_extra::extract::cookie::CookieJar::from_headers(headers)
        .get(SESSION_COOKIE)
        .is_some()
}

/// Why a request must be refused as cross-site, or `None` if it may pass.
/// The seed's GET endpoints that change state.
fn changes_state_on_get(path: &str) -> bool {
    path.starts_with("/api/")
        && (path.ends_with("/@sendToSpyder") || path.ends_with("/@sendToCompute"))
}

pub fn refusal(
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    by_bearer: bool,
) -> Option<&'static str> {
    if by_bearer {
        return None;
    }
    let cookie = has_session_cookie(headers);
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return (cookie && changes_state_on_get(path)).then_some(
            "this GET changes state, so it takes 'Authorization: Bearer <token>', not the \
             session cookie (or POST it from this site)",
        );
    }
    if !cookie && !path.starts_with("/rpc/") {
        return None;
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.to_str().unwrap_or("") {
            "same-origin" | "none" => None,
            _ => Some("this request was sent from another site"),
        };
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, host)| host.trim_end_matches('/'));
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        return match (origin_host, host) {
            (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => None,
            _ => Some("this request's Origin is another site"),
        };
    }
    cookie.then_some(
        "a request authenticated by the session cookie must come from a browser on this site; scripts send 'Authorization: Bearer <token>'",
    )
}

pub async fn protect(req: Request, next: Next) -> Response {
    let by_bearer = crate::auth::bearer(req.headers()).is_some()
        && req
            .extensions()
            .get::<app::api::ssr::RequestUser>()
            .is_some_and(|u| u.user.is_some());
    match refusal(req.method(), req.uri().path(), req.headers(), by_bearer) {
        None => next.run(req).await,
        Some(why) => {
            tracing::warn!(path = %req.uri().path(), why, "refused a cross-site request");
            ApiError(engine::EngineError::Forbidden(format!(
                "cross-site request refused: {why}"
            )))
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    const COOKIE: (&str, &str) = ("cookie", "a=b; tributary_session=xyz");
    const HOST: (&str, &str) = ("host", "app.example:3000");

    #[test]
    fn rules() {
        let post = Method::POST;
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, bool);
        let cases: &[Case] = &[
            // (headers, path, refused)
            (
                &[COOKIE, HOST, ("sec-fetch-site", "same-origin")],
                "/rpc/x",
                false,
            ),
            (&[COOKIE, HOST, ("sec-fetch-site", "none")], "/rpc/x", false),
            (
                &[COOKIE, HOST, ("sec-fetch-site", "cross-site")],
                "/rpc/x",
                true,
            ),
            (
                &[COOKIE, HOST, ("sec-fetch-site", "same-site")],
                "/api/datasources",
                true,
            ),
            (
                &[COOKIE, HOST, ("origin", "http://app.example:3000")],
                "/rpc/x",
                false,
            ),
            (
                &[COOKIE, HOST, ("origin", "http://evil.example")],
                "/rpc/x",
                true,
            ),
            (&[COOKIE, HOST, ("origin", "null")], "/rpc/x", true),
            (&[COOKIE, HOST], "/api/datasources", true),
            (&[HOST], "/api/datasources", false),
            (&[HOST], "/rpc/login", false),
            (
                &[HOST, ("origin", "http://evil.example")],
                "/rpc/login",
                true,
            ),
            // A header that did not authenticate exempts nothing.
            (
                &[COOKIE, HOST, ("authorization", "Basic dTpw")],
                "/api/datasources",
                true,
            ),
        ];
        for (h, path, refused) in cases {
            assert_eq!(
                refusal(&post, path, &headers(h), false).is_some(),
                *refused,
                "{h:?} {path}"
            );
        }
        let bearer = headers(&[COOKIE, HOST, ("authorization", "Bearer t")]);
        assert!(refusal(&post, "/api/datasources", &bearer, true).is_none());
        assert!(refusal(&Method::GET, "/rpc/x", &headers(&[COOKIE]), false).is_none());
        let spyder = "/api/datasources/x/@sendToSpyder";
        for h in [&[COOKIE][..], &[COOKIE, ("sec-fetch-site", "same-origin")]] {
            assert!(refusal(&Method::GET, spyder, &headers(h), false).is_some());
        }
        assert!(refusal(&Method::GET, spyder, &bearer, true).is_none());
        assert!(refusal(&Method::GET, spyder, &headers(&[HOST]), false).is_none());
    }
}
