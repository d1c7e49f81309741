//! `/api/users`: account administration, for admins.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use engine::model::User;
use serde_json::{Value, json};

use super::error::ApiResult;
use super::json::Body;
use super::repr::BaseUrl;
use crate::auth::ApiUser;
use crate::startup::AppState;

pub fn user_json(base: &BaseUrl, u: &User) -> Value {
    json!({
        "@id": format!("{}/api/users/{}", base.0, u.id),
        "@type": "User",
        "id": u.id,
        "email": u.email,
        "display_name": u.display_name,
        "role": u.role.as_str(),
        "active": u.active,
        "created": u.created_at,
        "modified": u.updated_at,
    })
}

pub async fn list(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    base: BaseUrl,
) -> ApiResult<Json<Value>> {
    let users = s.engine.list_users(&actor).await?;
    let items: Vec<Value> = users.iter().map(|u| user_json(&base, u)).collect();
    Ok(Json(json!({"items": items, "total": items.len()})))
}

pub async fn create(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    base: BaseUrl,
    Body(body): Body,
) -> ApiResult<impl IntoResponse> {
    let u = s.engine.admin_create_user(&actor, &body).await?;
    Ok((StatusCode::CREATED, Json(user_json(&base, &u))))
}

pub async fn get(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    base: BaseUrl,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(user_json(
        &base,
        &s.engine.get_user(&actor, &id).await?,
    )))
}

pub async fn update(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    base: BaseUrl,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    Ok(Json(user_json(
        &base,
        &s.engine.update_user(&actor, &id, &body).await?,
    )))
}
