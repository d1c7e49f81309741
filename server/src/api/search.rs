//! `@frontsearch` (on `/api` and on a datasource) and `@sendToCompute` (on a datasource and on
//! a resource).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use engine::model::{SearchResults, User};
use serde::Serialize;
use serde_json::json;

use super::error::ApiResult;
use super::json::Body;
use super::repr::{self, BaseUrl, ResourceRepr};
use crate::auth::ApiUser;
use crate::startup::AppState;

#[derive(Serialize)]
struct HitRepr<'a> {
    #[serde(flatten)]
    resource: ResourceRepr<'a>,
    score: f32,
    /// HTML: escaped text with the matches in `<mark>`.
    snippet: &'a str,
}

#[derive(Serialize)]
struct ResultsRepr<'a> {
    items: Vec<HitRepr<'a>>,
    total: i64,
    cursor: Option<&'a str>,
}

fn answer(base: &BaseUrl, r: &SearchResults) -> Response {
    let parents: Vec<String> = r
        .items
        .iter()
        .map(|h| base.datasource(&h.resource.datasource_id))
        .collect();
    let items = r
        .items
        .iter()
        .zip(&parents)
        .map(|(h, parent)| HitRepr {
            resource: repr::resource(parent, &h.resource),
            score: h.score,
            snippet: &h.snippet,
        })
        .collect();
    Json(ResultsRepr {
        items,
        total: r.total,
        cursor: r.cursor.as_deref(),
    })
    .into_response()
}

async fn search(
    s: &AppState,
    user: &User,
    base: &BaseUrl,
    scope: Option<&str>,
    body: &serde_json::Value,
) -> ApiResult<Response> {
    let r = s.engine.search(user, scope, body).await?;
    Ok(answer(base, &r))
}

/// `POST /api/@frontsearch`: everything the caller has a role on.
pub async fn everywhere(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
    Body(body): Body,
) -> ApiResult<Response> {
    search(&s, &user, &base, None, &body).await
}

/// `POST {datasource}/@frontsearch`: within one datasource.
pub async fn within(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    search(&s, &user, &base, Some(&id), &body).await
}

/// `GET {datasource}/@sendToCompute`: every resource of it, processed again. 202.
pub async fn compute_datasource(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let n = s.engine.send_to_compute(&user, &id, None).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"queued": n}))).into_response())
}

/// `POST {datasource}/@sendToCompute`: the same as GET; the body, if any, has no fields.
pub async fn compute_datasource_post(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    super::json::fields_of(&body, &[])?;
    compute_datasource(State(s), ApiUser(user), Path(id)).await
}

/// `POST {resource}/@sendToCompute`: the same as GET; the body, if any, has no fields.
pub async fn compute_resource_post(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    Path((id, rid)): Path<(String, String)>,
    Body(body): Body,
) -> ApiResult<Response> {
    super::json::fields_of(&body, &[])?;
    compute_resource(State(s), ApiUser(user), Path((id, rid))).await
}

/// `GET {resource}/@sendToCompute`: that resource processed again. 202.
pub async fn compute_resource(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    Path((id, rid)): Path<(String, String)>,
) -> ApiResult<Response> {
    let n = s.engine.send_to_compute(&user, &id, Some(&rid)).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"queued": n}))).into_response())
}
