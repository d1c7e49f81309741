//! SQLite backend: one file, WAL journal, a busy timeout so writers queue instead of failing,
//! foreign keys on.

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::Connection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};

use super::common::store_impl;
use crate::error::{EngineError, Result};
use crate::model::Resource;

#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    readers: Arc<Readers>,
}

/// Connections kept outside the pool for the read scripts repeat most, a page of children.
/// sqlx's pool pings every connection it takes back (one more hand-over to SQLite's thread per
/// query, a fifth of a page's cost); a connection to a local file cannot go stale, so these
/// go without. A connection whose query failed or was cancelled is closed, not reused.
struct Readers {
    opts: SqliteConnectOptions,
    idle: Mutex<Vec<SqliteConnection>>,
    /// At most this many open (as the pool's own limit).
    permits: tokio::sync::Semaphore,
}

const READERS: usize = 8;

impl Readers {
    /// Runs `f` on a reader connection, opening one if none is idle.
    async fn with<T>(
        &self,
        f: impl AsyncFnOnce(&mut SqliteConnection) -> sqlx::Result<T>,
    ) -> Result<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| EngineError::Internal(format!("SQLite readers closed: {e}")))?;
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match idle {
            Some(c) => c,
            None => SqliteConnection::connect_with(&self.opts).await?,
        };
        let out = f(&mut conn).await?;
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
        Ok(out)
    }
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
            .connect_with(opts.clone())
            .await
            .map_err(|e| {
                EngineError::Internal(format!("cannot open SQLite database {url}: {e}"))
            })?;
        let readers = Arc::new(Readers {
            opts,
            idle: Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(READERS),
        });
        Ok(Self { pool, readers })
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
        let (total, json): (Option<i64>, String) = self
            .readers
            .with(async |conn| {
                sqlx::query_as(
                    "select (select resource_count from datasources where id = $1), \
                     coalesce(json_group_array(json_array(seq, id, source_id, path, name, kind, size, \
                     media_type, content_hash, source_modified_at, collected_at, processing_status, processing_error)), '[]') \
                     from (select * from resources where datasource_id = $1 and seq > $2 order by seq limit $3)",
                )
                .bind(datasource_id)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_one(&mut *conn)
                .await
            })
            .await?;
        // The datasource's id is the one asked for; it is not sent back row by row.
        type Row = (
            i64,
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
                        datasource_id: datasource_id.to_owned(),
                        source_id: r.2,
                        path: r.3,
                        name: r.4,
                        kind: r.5,
                        size: r.6,
                        media_type: r.7,
                        content_hash: r.8,
                        source_modified_at: r.9.as_deref().map(parse_ts).transpose()?,
                        collected_at: parse_ts(&r.10)?,
                        processing_status: r.11,
                        processing_error: r.12,
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

/// Reads a timestamp as sqlx stores it in SQLite (RFC 3339). The form sqlx writes for UTC
/// (`2026-11-27T01:44:20.715493+00:00`) is read directly, two per row of a children page;
/// anything else goes through chrono.
fn parse_ts(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    if let Some(t) = parse_utc_fast(s) {
        return Ok(t);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| EngineError::Internal(format!("stored timestamp '{s}' unreadable: {e}")))
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}](+00:00|Z)`, or `None` for anything else (left to chrono).
fn parse_utc_fast(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let b = s.as_bytes();
    let num = |from: usize, to: usize| -> Option<u32> {
        let mut n = 0u32;
        for &c in b.get(from..to)? {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + u32::from(c - b'0');
        }
        Some(n)
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let rest = &b[19..];
    let (nanos, zone) = if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let frac = num(20, 20 + digits)? * 10u32.pow(9 - digits as u32);
        (frac, &rest[1 + digits..])
    } else {
        (0, rest)
    };
    if zone != b"+00:00" && zone != b"Z" {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
    let time =
        chrono::NaiveTime::from_hms_nano_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, nanos)?;
    Some(date.and_time(time).and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_timestamps_read_as_chrono_reads_them() {
        for s in [
            "2026-11-27T01:44:20.715493+00:00",
            "2026-11-27T01:44:20+00:00",
            "2026-11-27T01:44:20Z",
            "1999-01-02T03:04:05.1+00:00",
            "1999-01-02T03:04:05.123456789Z",
            "0999-12-31T23:59:59.5+00:00",
        ] {
            let chrono = chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .with_timezone(&chrono::Utc);
            assert_eq!(parse_utc_fast(s), Some(chrono), "{s}");
            assert_eq!(parse_ts(s).unwrap(), chrono, "{s}");
        }
        // Other offsets, odd forms and nonsense: chrono's to judge.
        for s in [
            "2026-11-27T01:44:20.715493+02:00",
            "2026-11-27 01:44:20+00:00",
            "2026-13-27T01:44:20Z",
            "2026-11-27T01:44:20.1234567891Z",
            "2026-11-27T01:44:20.Z",
            "not a time at all",
        ] {
            assert_eq!(parse_utc_fast(s), None, "{s}");
        }
        assert_eq!(
            parse_ts("2026-11-27T03:44:20+02:00").unwrap(),
            parse_ts("2026-11-27T01:44:20Z").unwrap()
        );
        assert!(parse_ts("2026-13-27T01:44:20Z").is_err());
    }
}
