//! `{datasource}/@sendToSpyder`, `@pause`, `@resume` and `@history`.

use axum::Json;
use axum::extract::{Path, State};

use super::query::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use engine::model::{Access, DatasourceView, Job, SyncRun};
use serde_json::{Value, json};

use engine::domain::SyncAction;

use super::error::ApiResult;
use super::json::Body;
use super::repr::{self, BaseUrl};
use crate::auth::ApiUser;
use crate::startup::AppState;

#[derive(Debug, serde::Deserialize)]
pub struct ForceParam {
    force: Option<String>,
}

fn job_json(base: &BaseUrl, j: &Job) -> Value {
    json!({
        "@type": "SyncJob",
        "id": j.id,
        "datasource": base.datasource(&j.datasource_id),
        "state": j.state,
        "force": j.force,
        "run_after": j.run_after,
        "attempts": j.attempts,
        "last_error": j.last_error,
        "created": j.created_at,
    })
}

/// `force` from the query: `None` when not given.
fn query_force(p: &ForceParam) -> ApiResult<Option<bool>> {
    match p.force.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some("false") | Some("0") => Ok(Some(false)),
        Some("true") | Some("1") => Ok(Some(true)),
        Some(other) => Err(engine::EngineError::invalid(
            "force",
            format!("must be true or false, got '{other}'"),
        )
        .into()),
    }
}

/// `GET {datasource}/@sendToSpyder[?force=true]` → 202 with the job (the queued or running one
/// if there is one already).
pub async fn send_to_spyder(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
    Path(id): Path<String>,
    Query(p): Query<ForceParam>,
) -> ApiResult<Response> {
    let force = query_force(&p)?.unwrap_or(false);
    queue_sync(&s, &user, &base, &id, force).await
}

/// `POST {datasource}/@sendToSpyder`: the same, with `force` in the query or as
/// `{"force": true}` in the body (no body is fine).
pub async fn send_to_spyder_post(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
    Path(id): Path<String>,
    Query(p): Query<ForceParam>,
    Body(body): Body,
) -> ApiResult<Response> {
    let in_body = match super::json::fields_of(&body, &["force"])?.get("force") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            return Err(engine::EngineError::invalid("force", "must be true or false").into());
        }
    };
    let force = match (query_force(&p)?, in_body) {
        (Some(q), Some(b)) if q != b => {
            return Err(engine::EngineError::invalid(
                "force",
                "the query and the body disagree; give it once",
            )
            .into());
        }
        (q, b) => q.or(b).unwrap_or(false),
    };
    queue_sync(&s, &user, &base, &id, force).await
}

async fn queue_sync(
    s: &AppState,
    user: &engine::model::User,
    base: &BaseUrl,
    id: &str,
    force: bool,
) -> ApiResult<Response> {
    let (job, new) = s.engine.send_to_spyder(user, id, force).await?;
    let mut body = job_json(base, &job);
    body["new"] = json!(new);
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// `POST /api/datasources/@bulk` with `{"action": "sync"|"pause"|"resume", "ids": [...]}`:
/// each datasource's outcome, in the order given. One refusal does not stop the others.
pub async fn bulk(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
    Body(body): Body,
) -> ApiResult<Response> {
    let obj = body.as_object().ok_or_else(|| {
        super::error::ApiError::bad_request("send a JSON object with action and ids")
    })?;
    if let Some(k) = obj.keys().find(|k| *k != "action" && *k != "ids") {
        return Err(
            engine::EngineError::invalid(k.as_str(), "is not a field of a bulk action").into(),
        );
    }
    let action: SyncAction = match obj.get("action") {
        Some(Value::String(a)) => a.parse()?,
        _ => {
            return Err(engine::EngineError::invalid(
                "action",
                "is required: sync, pause or resume",
            )
            .into());
        }
    };
    let ids: Vec<String> = match obj.get("ids") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    engine::EngineError::invalid(
                        format!("ids[{i}]"),
                        "must be a datasource id (a string)",
                    )
                })
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(engine::EngineError::invalid(
                "ids",
                "is required: a list of datasource ids",
            )
            .into());
        }
    };
    let outcomes = s.engine.bulk_sync_action(&user, action, &ids).await?;
    let items: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            json!({
                "@id": base.datasource(&o.id),
                "id": o.id,
                "title": o.title,
                "ok": o.error.is_none(),
                "sync_status": o.status,
                "error": o.error.as_ref().map(super::error::error_json),
            })
        })
        .collect();
    Ok(Json(json!({"action": action, "items": items})).into_response())
}

fn owned_view(
    base: &BaseUrl,
    ds: engine::model::Datasource,
    role: Option<engine::domain::DatasourceRole>,
) -> Value {
    let view = DatasourceView {
        datasource: ds,
        access: Access::Member(role.unwrap_or(engine::domain::DatasourceRole::Viewer)),
    };
    json!(repr::view(base, &view))
}

/// `POST {datasource}/@pause`
pub async fn pause(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let ds = s.engine.pause(&user, &id).await?;
    let role = s.engine.store().role_of(&id, &user.id).await?;
    Ok(Json(owned_view(&base, ds, role)))
}

/// `POST {datasource}/@resume`
pub async fn resume(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let ds = s.engine.resume(&user, &id).await?;
    let role = s.engine.store().role_of(&id, &user.id).await?;
    Ok(Json(owned_view(&base, ds, role)))
}

fn run_json(r: &SyncRun) -> Value {
    json!({
        "id": r.id,
        "started": r.started_at,
        "finished": r.finished_at,
        "outcome": r.outcome,
        "added": r.added,
        "updated": r.updated,
        "deleted": r.deleted,
        "error": r.error,
    })
}

/// `GET {datasource}/@history`: sync runs, newest first.
pub async fn history(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let runs = s.engine.sync_history(&user, &id, 50).await?;
    let items: Vec<Value> = runs.iter().map(run_json).collect();
    Ok(Json(json!({"items": items, "total": items.len()})))
}

/// `POST {datasource}/@refreshServiceCredentials`: replaces the credentials in the wallet
/// (S3: `access_key_id`, `secret_access_key`; OAuth kinds: the seed's `X-Auth-Secret` and
/// `Authorization`). 204; the secrets are never echoed.
pub async fn refresh_credentials(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    super::json::Body(body): super::json::Body,
) -> ApiResult<StatusCode> {
    s.engine.refresh_credentials(&user, &id, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}
