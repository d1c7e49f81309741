//! Security headers on every response. The Content-Security-Policy allows only what the app
//! uses: its own scripts, styles, images and connections, the wasm module
//! (`'wasm-unsafe-eval'`), and the inline scripts Leptos writes (hydration, streamed
//! resources), which carry a nonce made fresh for each response; inline `style` attributes
//! (progress bars) are allowed, inline event handlers and scripts from anywhere else are not.
//! No page may be framed (`frame-ancestors 'none'`, and `X-Frame-Options` for older browsers),
//! types are not sniffed, and the referrer never leaves the site. Served over HTTPS (the public
//! URL says so), browsers are told to keep to it.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;

/// The nonce of this response's inline scripts, for the page renderer.
#[derive(Debug, Clone)]
pub struct CspNonce(pub Arc<str>);

/// The policy for a response whose inline scripts carry `nonce`.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

pub async fn security(
    State(state): State<crate::startup::AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    req.extensions_mut().insert(state.public_url.clone());
    let mut bytes = [0u8; 16];
    rand::Rng::fill(&mut rand::thread_rng(), &mut bytes);
    let nonce: Arc<str> = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(bytes)
        .into();
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_security_policy(&nonce)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if state.public_url.is_https() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    res
}
