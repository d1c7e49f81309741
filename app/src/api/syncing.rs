//! Syncing: sync now, pause, resume, and the history of runs.

use leptos::prelude::*;

use crate::error::AppError;
use crate::types::RunView;
#[cfg(feature = "ssr")]
use crate::types::said;

/// *Sync now*: queues a run (or brings the queued one forward). One-time datasources that
/// have synced are collected again: the button says so.
#[server(prefix = "/rpc", endpoint = "sync_now")]
pub async fn sync_now(id: String) -> Result<String, AppError> {
    let user = super::ssr::user()?;
    let (job, _) = super::ssr::engine()?
        .send_to_spyder(&user, &id, true)
        .await?;
    super::ssr::flash::<SyncNow>(&said::sync_requested(job.state.as_str()));
    Ok(job.state.to_string())
}

#[server(prefix = "/rpc", endpoint = "pause_datasource")]
pub async fn pause_datasource(id: String) -> Result<(), AppError> {
    let user = super::ssr::user()?;
    super::ssr::engine()?.pause(&user, &id).await?;
    super::ssr::flash::<PauseDatasource>(said::PAUSED);
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "resume_datasource")]
pub async fn resume_datasource(id: String) -> Result<(), AppError> {
    let user = super::ssr::user()?;
    super::ssr::engine()?.resume(&user, &id).await?;
    super::ssr::flash::<ResumeDatasource>(said::RESUMED);
    Ok(())
}

/// The Activity tab: sync runs, newest first.
#[server(prefix = "/rpc", endpoint = "sync_history")]
pub async fn sync_history(id: String) -> Result<Vec<RunView>, AppError> {
    let user = super::ssr::user()?;
    let runs = super::ssr::engine()?.sync_history(&user, &id, 50).await?;
    Ok(runs
        .into_iter()
        .map(|r| RunView {
            started_at: super::ssr::ts(r.started_at),
            duration: r.finished_at.map(|f| {
                let ms = (f - r.started_at).num_milliseconds().max(0);
                if ms < 1000 {
                    format!("{ms} ms")
                } else {
                    format!("{:.1} s", ms as f64 / 1000.0)
                }
            }),
            outcome: r.outcome.to_string(),
            added: r.added,
            updated: r.updated,
            deleted: r.deleted,
            error: r.error,
        })
        .collect())
}
