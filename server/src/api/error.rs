//! The REST API's error: the engine's error as `{"error": {"code", "message", "field"}}` with
//! its status. Internal errors are logged once here and shown as an opaque 500.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use engine::EngineError;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError(pub EngineError);

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        Self(e)
    }
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self(EngineError::BadRequest(message.into()))
    }
}

/// The `{"code", "message", "field"}` object that describes an error; internal details are
/// logged, not shown.
pub fn error_json(e: &EngineError) -> serde_json::Value {
    json!({"code": e.code(), "message": e.public_message(), "field": e.field()})
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status =
            StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({"error": error_json(&e)});
        let mut resp = (status, Json(body)).into_response();
        if let EngineError::TooManyAttempts {
            retry_after_secs, ..
        } = &e
            && let Ok(v) = axum::http::HeaderValue::from_str(&retry_after_secs.to_string())
        {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
