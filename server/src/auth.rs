//! Who is asking: a bearer token (scripts) or the session cookie (the browser). Resolved once
//! per request by [`resolve_user`] and stored in the request's extensions, where the REST
//! handlers ([`ApiUser`]) and the server functions (`app::api::ssr::request_user`) read it.

use app::api::ssr::{RequestUser, SESSION_COOKIE, cookie};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use engine::model::User;

use crate::api::error::ApiError;
use crate::startup::AppState;

/// The bearer token of `Authorization`, if any.
pub fn bearer(parts: &axum::http::HeaderMap) -> Option<String> {
    let v = parts.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

pub async fn resolve_user(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let token = bearer(req.headers()).or_else(|| cookie(req.headers(), SESSION_COOKIE));
    let mut resolved = RequestUser::default();
    if let Some(token) = token {
        match state.engine.authenticate(&token).await {
            Ok(user) => {
                resolved = RequestUser {
                    user: Some(user),
                    token: Some(token),
                }
            }
            Err(engine::EngineError::Unauthorized(_)) => {}
            Err(e) => tracing::error!(error = %e, "authenticating a request failed"),
        }
    }
    req.extensions_mut().insert(resolved);
    next.run(req).await
}

/// The client's address (the peer of the connection), for throttling logins per address.
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_ip(parts)))
    }
}

/// The peer address of the connection a request came on, when the server recorded it.
pub fn client_ip(parts: &Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The authenticated user of a REST call; a 401 with a JSON body otherwise.
pub struct ApiUser(pub User);

impl<S: Send + Sync> FromRequestParts<S> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestUser>()
            .and_then(|r| r.user.clone())
            .map(ApiUser)
            .ok_or_else(|| {
                ApiError::from(engine::EngineError::Unauthorized(
                    "send 'Authorization: Bearer <token>' (get one from POST /api/@login)".into(),
                ))
            })
    }
}
