//! `/api/datasources`: create, list, read, edit, delete, and `@getAllChildren`.

use axum::Json;
use axum::extract::{Path, State};

use super::query::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use engine::service::ChildrenQuery;
use serde_json::Value;

use super::error::{ApiError, ApiResult};
use super::json::Body;
use super::repr::{self, BaseUrl, PageRepr, ViewRepr};
use crate::auth::ApiUser;
use crate::startup::AppState;

/// Paging parameters as they arrive in a query string: text, parsed with a clear error.
#[derive(Debug, serde::Deserialize)]
pub struct PageParams {
    page_size: Option<String>,
    scroll: Option<String>,
}

impl PageParams {
    fn page_size(&self) -> ApiResult<Option<i64>> {
        match self
            .page_size
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Ok(None),
            Some(s) => s.parse().map(Some).map_err(|_| {
                engine::EngineError::invalid("page_size", format!("must be an integer, got '{s}'"))
                    .into()
            }),
        }
    }
}

pub async fn create(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
    Body(body): Body,
) -> ApiResult<Response> {
    if body.is_null() {
        return Err(ApiError::bad_request(
            "send the datasource as a JSON object",
        ));
    }
    let ds = s.engine.create_datasource(&user, &body).await?;
    let location = base.datasource(&ds.id);
    let view = engine::model::DatasourceView {
        datasource: ds,
        access: engine::model::Access::Member(engine::domain::DatasourceRole::Owner),
    };
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::LOCATION, location)],
        Json(repr::view(&base, &view)),
    )
        .into_response())
}

/// `GET /api/datasources`: paging plus the listing's filters and order.
#[derive(Debug, serde::Deserialize)]
pub struct ListParams {
    #[serde(flatten)]
    page: PageParams,
    status: Option<String>,
    kind: Option<String>,
    type_sync: Option<String>,
    q: Option<String>,
    sort: Option<String>,
}

pub async fn list(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
    Query(p): Query<ListParams>,
) -> ApiResult<Response> {
    let query = engine::domain::DatasourceQuery::parse(
        p.status.as_deref(),
        p.kind.as_deref(),
        p.type_sync.as_deref(),
        p.q.as_deref(),
        p.sort.as_deref(),
    )?;
    let page = s
        .engine
        .list_datasources(&user, &query, p.page.page_size()?, p.page.scroll.as_deref())
        .await?;
    let items: Vec<ViewRepr> = page.items.iter().map(|d| repr::view(&base, d)).collect();
    Ok(Json(PageRepr {
        items,
        cursor: page.cursor,
        total: page.total,
    })
    .into_response())
}

pub async fn get(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let ds = s.engine.get_datasource(&user, &id).await?;
    let mut body = serde_json::to_value(repr::view(&base, &ds))
        .map_err(|e| engine::EngineError::Internal(e.to_string()))?;
    // How far a run under way has come, for members.
    if matches!(ds.access, engine::model::Access::Member(_))
        && let Some(p) = s.engine.sync_progress(&ds.datasource).await?
    {
        body["sync_progress"] = serde_json::json!(p);
    }
    Ok(Json(body).into_response())
}

pub async fn update(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    let ds = s.engine.update_datasource(&user, &id, &body).await?;
    Ok(Json(repr::view(&base, &ds)).into_response())
}

pub async fn delete(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.engine.delete_datasource(&user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn children(
    s: &AppState,
    user: &engine::model::User,
    base: &BaseUrl,
    id: &str,
    q: ChildrenQuery,
) -> ApiResult<Response> {
    let page = s.engine.children(user, id, &q).await?;
    let parent = base.datasource(id);
    let body = repr::children_page(&parent, &page.items, page.cursor.as_deref(), page.total);
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

/// `GET {datasource}/@getAllChildren?page_size=7&scroll=...`
pub async fn children_get(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
    Path(id): Path<String>,
    Query(p): Query<PageParams>,
) -> ApiResult<Response> {
    let q = ChildrenQuery {
        page_size: p.page_size()?,
        scroll: p.scroll.clone(),
    };
    children(&s, &user, &base, &id, q).await
}

/// `POST {datasource}/@getAllChildren` with `{"page_size": 7, "scroll": "..."}` (the seed's form).
pub async fn children_post(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
    Path(id): Path<String>,
    Body(body): Body,
) -> ApiResult<Response> {
    let q = children_query(&body)?;
    children(&s, &user, &base, &id, q).await
}

/// Reads `page_size` (an integer) and `scroll` (a string or null) from a JSON body.
fn children_query(body: &Value) -> ApiResult<ChildrenQuery> {
    let empty = serde_json::Map::new();
    let obj = match body {
        Value::Null => &empty,
        Value::Object(o) => o,
        _ => return Err(ApiError::bad_request("the body must be a JSON object")),
    };
    for key in obj.keys() {
        if key != "page_size" && key != "scroll" {
            return Err(engine::EngineError::invalid(
                key.clone(),
                "is not a paging field; use page_size and scroll",
            )
            .into());
        }
    }
    let page_size = match obj.get("page_size") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(
            n.as_i64()
                .ok_or_else(|| engine::EngineError::invalid("page_size", "must be an integer"))?,
        ),
        Some(_) => {
            return Err(engine::EngineError::invalid("page_size", "must be an integer").into());
        }
    };
    let scroll = match obj.get("scroll") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(engine::EngineError::invalid(
                "scroll",
                "must be the cursor string from the last answer",
            )
            .into());
        }
    };
    Ok(ChildrenQuery { page_size, scroll })
}

/// `GET {datasource}/resources/{rid}`: one child, where its `@id` points.
pub async fn resource(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
    base: BaseUrl,
    Path((id, rid)): Path<(String, String)>,
) -> ApiResult<Response> {
    let r = s.engine.get_resource(&user, &id, &rid).await?;
    let parent = base.datasource(&id);
    Ok(Json(repr::resource(&parent, &r)).into_response())
}
