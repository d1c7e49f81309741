//! Datasources: the list, one datasource, the connectors that make them, creating, editing, credentials and deleting.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::error::AppError;
use crate::types::{BulkResult, ConnectorView, DatasourceListing, DatasourceView};
#[cfg(feature = "ssr")]
use crate::types::{Flash, said};

/// The datasources list: one page under the filters and order, with the per-status counts.
#[server(prefix = "/rpc", endpoint = "list_datasources")]
pub async fn list_datasources(
    page_size: Option<i64>,
    scroll: Option<String>,
    status: Option<String>,
    kind: Option<String>,
    type_sync: Option<String>,
    q: Option<String>,
    sort: Option<String>,
) -> Result<DatasourceListing, AppError> {
    let user = super::ssr::user()?;
    let engine = super::ssr::engine()?;
    let query = engine::domain::DatasourceQuery::parse(
        status.as_deref(),
        kind.as_deref(),
        type_sync.as_deref(),
        q.as_deref(),
        sort.as_deref(),
    )?;
    let page = engine
        .list_datasources(&user, &query, page_size, scroll.as_deref())
        .await?;
    let counts = engine.datasource_status_counts(&user, &query).await?;
    Ok(DatasourceListing {
        items: page
            .items
            .into_iter()
            .map(super::ssr::datasource_view)
            .collect(),
        cursor: page.cursor,
        total: page.total,
        counts: counts
            .into_iter()
            .map(|(s, n)| (s.as_str().to_owned(), n))
            .collect(),
    })
}

/// Sync now, pause or resume several datasources; one result per datasource.
#[server(prefix = "/rpc", endpoint = "bulk_action", input = leptos::server_fn::codec::Json)]
pub async fn bulk_action(action: String, ids: Vec<String>) -> Result<Vec<BulkResult>, AppError> {
    super::ssr::bulk(&action, &ids).await
}

/// The same from the list's form without JavaScript: the checked rows' ids (`ids[N]`) and the
/// button pressed (`action`). The results are flashed onto the list it returns to.
#[server(prefix = "/rpc", endpoint = "bulk_form")]
pub async fn bulk_form(action: String, ids: Option<Vec<String>>) -> Result<(), AppError> {
    let ids = ids.unwrap_or_default();
    if ids.is_empty() {
        let e = AppError::new(422, "invalid", said::SELECT_FIRST);
        super::ssr::flash_with::<BulkForm>(Flash::new(false, e.message.clone()));
        return Err(e);
    }
    let results = super::ssr::bulk(&action, &ids).await?;
    let (ok, text) = said::bulk_done(&action, &results);
    super::ssr::flash_with::<BulkForm>(Flash {
        bulk: Some((action, results)),
        ..Flash::new(ok, text)
    });
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "get_datasource")]
pub async fn get_datasource(id: String) -> Result<DatasourceView, AppError> {
    let user = super::ssr::user()?;
    let engine = super::ssr::engine()?;
    let v = engine.get_datasource(&user, &id).await?;
    let progress = match v.access {
        engine::model::Access::Member(_) => engine.sync_progress(&v.datasource).await?,
        _ => None,
    };
    let mut view = super::ssr::datasource_view(v);
    view.progress = progress.map(|p| crate::types::ProgressView {
        seen: p.seen,
        added: p.added,
        updated: p.updated,
        listed: p.listed,
        expected: p.expected,
    });
    Ok(view)
}

/// The connectors, as the registry declares them: the forms render their settings and
/// credentials from this. `creatable`: only those the caller may create a datasource with
/// (admin-only connectors, such as folders on the server's disks, are left out for members).
#[server(prefix = "/rpc", endpoint = "connectors")]
pub async fn get_connectors(creatable: bool) -> Result<Vec<ConnectorView>, AppError> {
    let user = super::ssr::user()?;
    let admin = user.role == engine::domain::AccountRole::Admin;
    Ok(super::ssr::connectors()
        .into_iter()
        .filter(|c| !creatable || admin || !c.admin_only)
        .collect())
}

/// Creates a datasource from the *New datasource* form and opens its page. `inputs` holds the
/// form's other fields by name; the engine picks the kind's settings and credentials out of
/// them.
#[server(prefix = "/rpc", endpoint = "create_datasource")]
pub async fn create_datasource(
    kind: String,
    title: String,
    type_sync: Option<String>,
    #[server(flatten)] inputs: HashMap<String, String>,
) -> Result<String, AppError> {
    let user = super::ssr::user()?;
    let kind: engine::domain::DatasourceKind = kind.parse().map_err(AppError::from)?;
    let draft = engine::service::DatasourceDraft::from_form(
        kind,
        &title,
        type_sync.as_deref(),
        &inputs,
        false,
    )?;
    let ds = super::ssr::engine()?.create(&user, &draft).await?;
    super::ssr::flash::<CreateDatasource>(&said::created(&ds.title));
    leptos_axum::redirect(&format!("/datasources/{}", ds.id));
    Ok(ds.id)
}

/// Replaces a datasource's credentials in the wallet (the *Settings* tab's credentials form,
/// what `@refreshServiceCredentials` does for scripts). Empty inputs are left out.
#[server(prefix = "/rpc", endpoint = "replace_credentials")]
pub async fn replace_credentials(
    id: String,
    #[server(flatten)] inputs: HashMap<String, String>,
) -> Result<(), AppError> {
    let user = super::ssr::user()?;
    super::ssr::engine()?
        .credentials_from_form(&user, &id, &inputs)
        .await?;
    super::ssr::flash::<ReplaceCredentials>(said::CREDENTIALS_SAVED);
    Ok(())
}

/// Saves the *Edit* form: its settings by name (an empty one is cleared).
#[server(prefix = "/rpc", endpoint = "update_datasource")]
pub async fn update_datasource(
    id: String,
    title: String,
    type_sync: String,
    #[server(flatten)] inputs: HashMap<String, String>,
) -> Result<DatasourceView, AppError> {
    let user = super::ssr::user()?;
    let ds = super::ssr::engine()?
        .update_from_form(&user, &id, &title, &type_sync, &inputs)
        .await?;
    super::ssr::flash::<UpdateDatasource>(said::SAVED);
    Ok(super::ssr::datasource_view(ds))
}

/// Deletes a datasource; the caller must type its title to confirm.
#[server(prefix = "/rpc", endpoint = "delete_datasource")]
pub async fn delete_datasource(id: String, confirm_title: String) -> Result<(), AppError> {
    let user = super::ssr::user()?;
    let engine = super::ssr::engine()?;
    let ds = engine
        .datasource_for(&user, &id, engine::service::Action::Delete)
        .await?
        .datasource;
    if confirm_title.trim() != ds.title {
        return Err(AppError {
            status: 422,
            code: "invalid".into(),
            message: format!("type the datasource's title, '{}', to confirm", ds.title),
            field: Some("confirm_title".into()),
        });
    }
    engine.delete_datasource(&user, &id).await?;
    super::ssr::flash::<DeleteDatasource>(&said::deleted(&ds.title));
    leptos_axum::redirect("/datasources");
    Ok(())
}
