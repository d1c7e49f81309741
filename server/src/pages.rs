//! Page access: pages other than `/login` need a session. Without one, a page request is sent
//! to the login page (with `next` so the user lands where they were going); a signed-in user
//! visiting `/login` goes to their datasources.

use app::api::ssr::RequestUser;
use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

/// Paths rendered by the Leptos router that need a signed-in user.
fn is_private_page(path: &str) -> bool {
    matches!(
        path,
        "/" | "/datasources" | "/users" | "/account" | "/invitations"
    ) || path.starts_with("/datasources/")
}

pub async fn guard(req: Request, next: Next) -> Response {
    if req.method() != Method::GET {
        return next.run(req).await;
    }
    let signed_in = req
        .extensions()
        .get::<RequestUser>()
        .is_some_and(|r| r.user.is_some());
    let path = req.uri().path();
    if !signed_in && is_private_page(path) {
        let target = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let next_param: String = url_encode(target);
        return Redirect::to(&format!("/login?next={next_param}")).into_response();
    }
    if signed_in && path == "/login" {
        return Redirect::to("/datasources").into_response();
    }
    next.run(req).await
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_pages() {
        assert!(is_private_page("/datasources"));
        assert!(is_private_page("/datasources/abc"));
        assert!(is_private_page("/users"));
        assert!(!is_private_page("/login"));
        assert!(!is_private_page("/pkg/tributary.js"));
        assert!(!is_private_page("/datasourcesX"));
    }

    #[test]
    fn encodes_next() {
        assert_eq!(
            url_encode("/datasources?scroll=a&b"),
            "/datasources%3Fscroll%3Da%26b"
        );
    }
}
