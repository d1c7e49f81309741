//! Sharing: `{datasource}/@sharing` (members and roles), `{datasource}/@invite` (invite and
//! revoke), `/api/invitations` (the invitee's side), and `/api/@me` (my account: password and
//! personal tokens).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use engine::service::Sharing;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::json::Body;
use super::repr::{self, BaseUrl};
use crate::auth::ApiUser;
use crate::startup::AppState;

fn sharing_json(base: &BaseUrl, s: &Sharing) -> Value {
    json!({
        "members": s.members.iter().map(|m| json!({
            "user": m.user_id,
            "email": m.email,
            "display_name": m.display_name,
            "role": m.role.as_str(),
        })).collect::<Vec<_>>(),
        "invitations": s.invitations.iter().map(|i| repr::invitation(base, i)).collect::<Vec<_>>(),
    })
}

/// `GET {datasource}/@sharing`
pub async fn get(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(sharing_json(
        &base,
        &s.engine.sharing(&user, &id).await?,
    )))
}

/// `POST {datasource}/@sharing {"roles": [{"user", "role"}]}`
pub async fn change(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    let sharing = s.engine.change_sharing(&user, &id, &body).await?;
    Ok(Json(sharing_json(&base, &sharing)))
}

/// `POST {datasource}/@invite {"email", "role"}` → 201 with the invitation.
pub async fn invite(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<impl IntoResponse> {
    let inv = s.engine.invite(&user, &id, &body).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!(repr::invitation(&base, &inv))),
    ))
}

/// `DELETE {datasource}/@invite/{invitation}`: the owner revokes a pending invitation.
pub async fn revoke(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    Path((id, invitation_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    s.engine
        .revoke_invitation(&user, &id, &invitation_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/invitations`: the pending invitations addressed to me.
pub async fn mine(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
) -> ApiResult<Json<Value>> {
    let list = s.engine.my_invitations(&user).await?;
    let items: Vec<Value> = list
        .iter()
        .map(|v| {
            let mut j = json!(repr::invitation(&base, &v.invitation));
            j["datasource_title"] = json!(v.datasource_title);
            j["datasource_type"] = json!(v.datasource_kind.as_str());
            j["invited_by_email"] = json!(v.inviter_email);
            j
        })
        .collect();
    Ok(Json(json!({"items": items, "total": items.len()})))
}

/// `POST /api/invitations/{id}/@accept`
pub async fn accept(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let inv = s.engine.accept_invitation(&user, &id).await?;
    Ok(Json(json!(repr::invitation(&base, &inv))))
}

/// `POST /api/invitations/{id}/@decline`
pub async fn decline(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let inv = s.engine.decline_invitation(&user, &id).await?;
    Ok(Json(json!(repr::invitation(&base, &inv))))
}

/// `GET /api/@me`: who I am.
pub async fn me(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
) -> ApiResult<Json<Value>> {
    let mut j = super::users::user_json(&base, &user);
    j["invitations"] = json!(s.engine.count_my_invitations(&user).await?);
    Ok(Json(j))
}

fn token_json(t: &engine::model::TokenInfo) -> Value {
    json!({"id": t.id, "name": t.name, "created": t.created_at, "expires": t.expires_at})
}

/// `GET /api/@me/tokens`: my personal tokens (never their secrets).
pub async fn tokens(State(s): State<AppState>, ApiUser(user): ApiUser) -> ApiResult<Json<Value>> {
    let list = s.engine.personal_tokens(&user).await?;
    let items: Vec<Value> = list.iter().map(token_json).collect();
    Ok(Json(json!({"items": items, "total": items.len()})))
}

/// `POST /api/@me/tokens {"name"}` → 201 with the secret, shown this once.
pub async fn create_token(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    Body(body): Body,
) -> ApiResult<impl IntoResponse> {
    let name = match body.get("name") {
        Some(Value::String(n)) => n.clone(),
        _ => return Err(engine::EngineError::invalid("name", "is required").into()),
    };
    if let Some(k) = body
        .as_object()
        .and_then(|o| o.keys().find(|k| k.as_str() != "name"))
    {
        return Err(
            engine::EngineError::invalid(k.clone(), "is not a field here; expected: name").into(),
        );
    }
    let made = s.engine.create_personal_token(&user, &name).await?;
    let mut j = token_json(&made.info);
    j["token"] = json!(made.secret);
    Ok((StatusCode::CREATED, Json(j)))
}

/// `DELETE /api/@me/tokens/{id}`
pub async fn revoke_token(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.engine.revoke_personal_token(&user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/@me/@password {"current_password", "new_password"}`: other sessions end.
pub async fn change_password(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    headers: axum::http::HeaderMap,
    Body(body): Body,
) -> ApiResult<StatusCode> {
    let field = |name: &str| -> ApiResult<String> {
        match body.get(name) {
            Some(Value::String(v)) => Ok(v.clone()),
            _ => Err(engine::EngineError::invalid(name, "is required").into()),
        }
    };
    if !body.is_object() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    let current = field("current_password")?;
    let new = field("new_password")?;
    let token = crate::auth::bearer(&headers);
    s.engine
        .change_password(&user, token.as_deref(), &current, &new)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
