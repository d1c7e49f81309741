//! Page access: private by default. Only the paths listed in [`is_public`] are served to
//! someone not signed in; any other GET without a session is sent to the login page (with
//! `next` so the user lands where they were going), whether or not a page exists there. A
//! signed-in user visiting `/login` goes to their datasources.

use app::api::ssr::RequestUser;
use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

/// The static files of `public/` (a test holds this list equal to the folder).
const PUBLIC_FILES: &[&str] = &["/favicon.svg"];

/// What may be reached without signing in: the login page, the health check, the built site
/// (`/pkg/`), the static files, and the REST API and server functions (which answer 401 for
/// themselves, as JSON). Everything else needs a session.
fn is_public(path: &str) -> bool {
    matches!(path, "/login" | "/health" | "/api")
        || ["/api/", "/rpc/", "/pkg/"]
            .iter()
            .any(|prefix| path.starts_with(prefix))
        || PUBLIC_FILES.contains(&path)
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
    if !signed_in && !is_public(path) {
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
    fn pages_are_private_unless_listed() {
        for private in [
            "/",
            "/datasources",
            "/datasources/abc",
            "/datasources/new",
            "/users",
            "/account",
            "/invitations",
            "/search",
            "/a-page-added-later",
            "/datasourcesX",
            "/apix",
            "/loginx",
        ] {
            assert!(!is_public(private), "{private}");
        }
        for public in [
            "/login",
            "/health",
            "/pkg/tributary.js",
            "/api/datasources",
            "/rpc/login",
            "/favicon.svg",
        ] {
            assert!(is_public(public), "{public}");
        }
    }

    #[test]
    fn every_static_file_is_listed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../public");
        let mut found: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| format!("/{}", e.unwrap().file_name().to_string_lossy()))
            .collect();
        found.sort();
        let mut listed: Vec<String> = PUBLIC_FILES.iter().map(|f| f.to_string()).collect();
        listed.sort();
        assert_eq!(found, listed, "public/ and PUBLIC_FILES differ");
    }

    #[test]
    fn encodes_next() {
        assert_eq!(
            url_encode("/datasources?scroll=a&b"),
            "/datasources%3Fscroll%3Da%26b"
        );
    }
}
