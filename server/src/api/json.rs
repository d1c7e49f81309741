//! A JSON body extractor for scripts written against the seed: it accepts a body without a
//! `Content-Type` (Python's `requests.post(url, data=json.dumps(...))` sends none) or with a
//! wrong one (curl's `-d` says form-urlencoded), and turns
//! malformed JSON into our error format instead of axum's plain-text rejection.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde_json::Value;

use super::error::ApiError;

/// A JSON value from the body; an empty body reads as `null`.
pub struct Body(pub Value);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase);
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("cannot read the body: {e}")))?;
        engine::service::parse_json_body(&bytes, content_type.as_deref())
            .map(Self)
            .map_err(ApiError)
    }
}

/// The fields of a body that may be absent (no body, or `{}`) and may hold only `allowed`: an
/// empty map for no body; a 400 for anything but an object, a 422 naming an unknown field.
pub fn fields_of<'a>(
    body: &'a Value,
    allowed: &[&str],
) -> Result<std::borrow::Cow<'a, serde_json::Map<String, Value>>, ApiError> {
    use std::borrow::Cow;
    let obj = match body {
        Value::Null => return Ok(Cow::Owned(serde_json::Map::new())),
        Value::Object(o) => o,
        _ => {
            return Err(ApiError::bad_request(
                "the body must be a JSON object, or empty",
            ));
        }
    };
    if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        let expected = if allowed.is_empty() {
            "is not a field here; this takes no fields".to_owned()
        } else {
            format!(
                "is not a field here; expected one of: {}",
                allowed.join(", ")
            )
        };
        return Err(engine::EngineError::invalid(k.clone(), expected).into());
    }
    Ok(Cow::Borrowed(obj))
}
