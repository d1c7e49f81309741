//! SQLite backend: one file, WAL journal, a busy timeout so writers queue instead of failing,
//! foreign keys on.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};

use super::common::store_impl;
use crate::error::{EngineError, Result};
use crate::model::Resource;

#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

impl SqliteStore {
    const BACKEND: &'static str = "sqlite";
    /// Added to the claim's sub-select: SQLite runs one writer at a time, so the statement is atomic.
    const SKIP_LOCKED: &'static str = "";
    /// Added after `source_id` in comparisons and ordering: byte order, as sources list.
    const BYTE_ORDER: &'static str = "";

    pub async fn connect(url: &str) -> Result<Self> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| EngineError::invalid("DATABASE_URL", format!("not a SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        if let Some(dir) = opts
            .get_filename()
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                EngineError::Internal(format!(
                    "cannot create database directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .idle_timeout(None)
            // A local file's connections do not go stale; pinging each one before every query
            // (sqlx's default) would double the cost of a read.
            .test_before_acquire(false)
            .connect_with(opts)
            .await
            .map_err(|e| {
                EngineError::Internal(format!("cannot open SQLite database {url}: {e}"))
            })?;
        Ok(Self { pool })
    }

    async fn run_migrations(&self) -> Result<()> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    /// One page of children, aggregated into a single JSON row by SQLite. sqlx runs SQLite on a
    /// worker thread and hands rows over one by one; a page as one row costs one hand-over
    /// instead of `limit`.
    async fn list_children_page(
        &self,
        datasource_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<super::ChildrenPage> {
        let (total, json): (Option<i64>, String) = sqlx::query_as(
            "select (select resource_count from datasources where id = $1), \
             coalesce(json_group_array(json_array(seq, id, datasource_id, source_id, path, name, kind, size, \
             media_type, content_hash, source_modified_at, collected_at, processing_status, processing_error)), '[]') \
             from (select * from resources where datasource_id = $1 and seq > $2 order by seq limit $3)",
        )
        .bind(datasource_id)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_one(&self.pool)
        .await?;
        type Row = (
            i64,
            String,
            String,
            String,
            String,
            String,
            String,
            i64,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            String,
            Option<String>,
        );
        let rows: Vec<Row> = serde_json::from_str(&json).map_err(|e| {
            EngineError::Internal(format!("children page is not the expected JSON: {e}"))
        })?;
        let rows = rows
            .into_iter()
            .map(|r| {
                Ok((
                    r.0,
                    Resource {
                        id: r.1,
                        datasource_id: r.2,
                        source_id: r.3,
                        path: r.4,
                        name: r.5,
                        kind: r.6,
                        size: r.7,
                        media_type: r.8,
                        content_hash: r.9,
                        source_modified_at: r.10.as_deref().map(parse_ts).transpose()?,
                        collected_at: parse_ts(&r.11)?,
                        processing_status: r.12,
                        processing_error: r.13,
                    },
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(super::ChildrenPage {
            rows,
            total: total.unwrap_or(0),
        })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

store_impl!(SqliteStore, SqliteRow);

/// Reads a timestamp as sqlx stores it in SQLite (RFC 3339).
fn parse_ts(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| EngineError::Internal(format!("stored timestamp '{s}' unreadable: {e}")))
}
