use axum::Json;
use axum::extract::State;
use engine::model::TokenKind;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::json::Body;
use crate::startup::AppState;

/// `POST /api/@login {"username", "password"}` → `{"token", "expires"}`.
pub async fn login(
    State(state): State<AppState>,
    crate::auth::ClientAddr(client): crate::auth::ClientAddr,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiError::bad_request("the body must be a JSON object"))?;
    let field = |name: &str| -> ApiResult<String> {
        match obj.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(engine::EngineError::invalid(name, "must be a string").into()),
            None => Err(engine::EngineError::invalid(name, "is required").into()),
        }
    };
    let username = field("username")?;
    let password = field("password")?;
    let t = state
        .engine
        .login_from(&username, &password, TokenKind::Api, client)
        .await?;
    Ok(Json(json!({"token": t.token, "expires": t.expires_at})))
}
