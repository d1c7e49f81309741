//! Query strings read into typed parameters, refused in the API's JSON error shape (axum's own
//! `Query` answers a malformed one, a repeated parameter say, in plain text).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The query string as `T`; a 400 `{"error": ...}` when it does not read as one.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(t)) => Ok(Query(t)),
            Err(e) => Err(ApiError::bad_request(format!(
                "the query string is malformed: {}",
                e.body_text()
            ))),
        }
    }
}
