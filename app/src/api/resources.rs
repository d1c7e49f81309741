//! What was collected: a datasource's resources, one resource, processing and search.

use leptos::prelude::*;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::types::said;
use crate::types::{PageOf, ResourceDetail, ResourceView, SearchHitView};

#[server(prefix = "/rpc", endpoint = "list_children")]
pub async fn list_children(
    id: String,
    page_size: Option<i64>,
    scroll: Option<String>,
) -> Result<PageOf<ResourceView>, AppError> {
    let user = super::ssr::user()?;
    let q = engine::service::ChildrenQuery { page_size, scroll };
    let page = super::ssr::engine()?.children(&user, &id, &q).await?;
    Ok(PageOf {
        items: page
            .items
            .into_iter()
            .map(super::ssr::resource_view)
            .collect(),
        cursor: page.cursor,
        total: page.total,
    })
}

/// A resource's page.
#[server(prefix = "/rpc", endpoint = "get_resource")]
pub async fn get_resource(id: String, resource_id: String) -> Result<ResourceDetail, AppError> {
    let user = super::ssr::user()?;
    let engine = super::ssr::engine()?;
    let ds = engine.get_datasource(&user, &id).await?;
    let can_operate = ds.role().is_some_and(|r| {
        engine::service::Action::Operate
            .needs()
            .is_some_and(|n| r.at_least(n))
    });
    let (r, text) = engine.resource_text(&user, &id, &resource_id).await?;
    // Characters of extracted text shown on the page.
    const TEXT_PREVIEW: usize = 20_000;
    let (text, text_cut) = match text {
        Some(t) if t.chars().count() > TEXT_PREVIEW => {
            (Some(t.chars().take(TEXT_PREVIEW).collect()), true)
        }
        other => (other, false),
    };
    Ok(ResourceDetail {
        datasource_id: ds.datasource.id.clone(),
        datasource_title: ds.datasource.title.clone(),
        content_hash: r.content_hash.clone(),
        collected_at: super::ssr::ts(r.collected_at),
        resource: super::ssr::resource_view(r),
        text,
        text_cut,
        can_operate,
    })
}

/// *Send to processing*: the datasource's resources (or one of them) are extracted and
/// indexed again. Returns how many were queued.
#[server(prefix = "/rpc", endpoint = "send_to_processing")]
pub async fn send_to_processing(id: String, resource_id: Option<String>) -> Result<i64, AppError> {
    let user = super::ssr::user()?;
    let rid = resource_id.filter(|r| !r.is_empty());
    let n = super::ssr::engine()?
        .send_to_compute(&user, &id, rid.as_deref())
        .await?;
    super::ssr::flash_detail::<SendToProcessing>(&said::queued_for_processing(n), n.to_string());
    Ok(n)
}

/// The search forms (global and a datasource's tab): one page of hits.
#[server(prefix = "/rpc", endpoint = "search")]
pub async fn search(
    datasource: Option<String>,
    query: String,
    media_type: Option<String>,
    path_prefix: Option<String>,
    modified_after: Option<String>,
    modified_before: Option<String>,
    scroll: Option<String>,
) -> Result<PageOf<SearchHitView>, AppError> {
    let user = super::ssr::user()?;
    let mut filters = serde_json::Map::new();
    for (k, v) in [
        ("media_type", media_type),
        ("path_prefix", path_prefix),
        ("modified_after", modified_after),
        ("modified_before", modified_before),
    ] {
        if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
            filters.insert(k.into(), serde_json::Value::String(v));
        }
    }
    let body = serde_json::json!({
        "query": query,
        "size": 20,
        "scroll": scroll.filter(|s| !s.is_empty()),
        "filters": filters,
    });
    let scope = datasource.filter(|d| !d.is_empty());
    let r = super::ssr::engine()?
        .search(&user, scope.as_deref(), &body)
        .await?;
    Ok(PageOf {
        items: r
            .items
            .into_iter()
            .map(|h| SearchHitView {
                datasource_id: h.resource.datasource_id.clone(),
                resource: super::ssr::resource_view(h.resource),
                score: h.score,
                snippet: h.snippet,
            })
            .collect(),
        cursor: r.cursor,
        total: r.total,
    })
}
