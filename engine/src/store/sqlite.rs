//! SQLite backend: one file, WAL journal, a busy timeout so writers queue instead of failing,
//! foreign keys on.

use std::str::FromStr;
use std::sync::{Arc, Mutex};
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
    readers: Arc<Readers>,
}

/// Connections for the read that scripts repeat most, a page of children, used on the calling
/// thread through SQLite's C API (rusqlite, over the same libsqlite3 that sqlx links). sqlx runs
/// each SQLite connection on a worker thread of its own and its pool pings every connection it
/// takes back: thread hand-overs that cost more than reading a page of 20 itself. Pages of up
/// to [`Readers::INLINE_MAX`] rows are read here.
///
/// Readers never wait: they are opened read-only with no busy timeout, so a read that would
/// have to wait (`SQLITE_BUSY`, rare under WAL) or fails in any way is answered through the
/// pool instead, which waits and reports errors as every other query does.
struct Readers {
    /// The database file; `None` for an in-memory database, which only the pool can reach.
    path: Option<std::path::PathBuf>,
    idle: Mutex<Vec<rusqlite::Connection>>,
}

impl Readers {
    /// Larger pages go through the pool, so no request holds its thread for long.
    const INLINE_MAX: u32 = 200;
    /// Idle connections kept; more are closed after use.
    const KEEP: usize = 8;

    fn open(&self) -> rusqlite::Result<Option<rusqlite::Connection>> {
        use rusqlite::OpenFlags;
        let Some(path) = &self.path else {
            return Ok(None);
        };
        let conn = rusqlite::Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // rusqlite waits up to 5 s by default; a reader never waits (the pool does).
        conn.busy_timeout(Duration::ZERO)?;
        Ok(Some(conn))
    }

    /// One page of children read on this thread, or `None` when it must go through the pool.
    fn page(&self, datasource_id: &str, after: i64, limit: u32) -> Option<super::ChildrenPage> {
        if limit > Self::INLINE_MAX {
            return None;
        }
        self.read(|conn| read_children(conn, datasource_id, after, limit))
    }

    /// Runs `read` on an idle reader (or a new one), or gives `None` when it must go through
    /// the pool: there is no reader for this database, or the read failed.
    fn read<T>(
        &self,
        read: impl FnOnce(&rusqlite::Connection) -> std::result::Result<T, Box<dyn std::error::Error>>,
    ) -> Option<T> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(c) => c,
            None => match self.open() {
                Ok(Some(c)) => c,
                Ok(None) => return None,
                Err(e) => {
                    tracing::debug!("SQLite reader not opened, using the pool: {e}");
                    return None;
                }
            },
        };
        match read(&conn) {
            Ok(v) => {
                let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
                if idle.len() < Self::KEEP {
                    idle.push(conn);
                }
                Some(v)
            }
            // The connection is dropped: a failed read leaves nothing worth reusing.
            Err(e) => {
                tracing::debug!("SQLite reader failed, using the pool: {e}");
                None
            }
        }
    }
}

/// The index outbox after `after` (see [`super::common::OUTBOX_SQL`]), read in one statement
/// (its own read transaction).
fn read_outbox(
    conn: &rusqlite::Connection,
    after: i64,
    limit: u32,
) -> std::result::Result<Vec<crate::model::OutboxEntry>, Box<dyn std::error::Error>> {
    let mut stmt = conn.prepare_cached(super::common::OUTBOX_SQL)?;
    let mut rows = stmt.query(rusqlite::params![after, i64::from(limit)])?;
    let mut out = Vec::with_capacity(limit as usize);
    while let Some(r) = rows.next()? {
        let op: crate::domain::OutboxOp = r.get::<_, String>("op")?.parse()?;
        let resource_id: Option<String> = r.get("resource_id")?;
        let datasource_id: String = r.get("datasource_id")?;
        let present: i64 = r.get("present")?;
        let doc = match (op, present, &resource_id) {
            (crate::domain::OutboxOp::Upsert, 1, Some(id)) => {
                let modified: Option<String> = r.get("source_modified_at")?;
                Some(crate::model::IndexDoc {
                    resource_id: id.clone(),
                    datasource_id: datasource_id.clone(),
                    name: r.get("name")?,
                    path: r.get("path")?,
                    media_type: r.get("media_type")?,
                    modified: modified.as_deref().map(parse_ts).transpose()?,
                    body: r.get::<_, Option<String>>("body")?.unwrap_or_default(),
                })
            }
            _ => None,
        };
        out.push(crate::model::OutboxEntry {
            seq: r.get("seq")?,
            op,
            resource_id,
            datasource_id,
            doc,
        });
    }
    Ok(out)
}

/// The page's rows and the datasource's count, in one read transaction so both come from one
/// snapshot (an empty page reads the count with a second statement). A failed read leaves the
/// transaction open, but such a connection is never reused.
fn read_children(
    conn: &rusqlite::Connection,
    datasource_id: &str,
    after: i64,
    limit: u32,
) -> std::result::Result<super::ChildrenPage, Box<dyn std::error::Error>> {
    conn.prepare_cached("begin")?.execute([])?;
    let mut stmt = conn.prepare_cached(
        "select (select resource_count from datasources where id = ?1), \
         seq, id, source_id, path, name, kind, size, media_type, content_hash, \
         source_modified_at, collected_at, processing_status, processing_error \
         from resources where datasource_id = ?1 and seq > ?2 order by seq limit ?3",
    )?;
    let mut rows = stmt.query(rusqlite::params![datasource_id, after, i64::from(limit)])?;
    let mut out = Vec::with_capacity(limit as usize);
    let mut total = None;
    while let Some(r) = rows.next()? {
        total = r.get::<_, Option<i64>>(0)?;
        let modified: Option<String> = r.get(10)?;
        let collected: String = r.get(11)?;
        out.push((
            r.get(1)?,
            Resource {
                id: r.get(2)?,
                datasource_id: datasource_id.to_owned(),
                source_id: r.get(3)?,
                path: r.get(4)?,
                name: r.get(5)?,
                kind: r.get(6)?,
                size: r.get(7)?,
                media_type: r.get(8)?,
                content_hash: r.get(9)?,
                source_modified_at: modified.as_deref().map(parse_ts).transpose()?,
                collected_at: parse_ts(&collected)?,
                processing_status: r.get::<_, String>(12)?.parse()?,
                processing_error: r.get(13)?,
            },
        ));
    }
    if out.is_empty() {
        total = conn
            .prepare_cached("select resource_count from datasources where id = ?1")?
            .query_row([datasource_id], |r| r.get(0))
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
    }
    drop(rows);
    drop(stmt);
    conn.prepare_cached("commit")?.execute([])?;
    Ok(super::ChildrenPage {
        rows: out,
        total: total.unwrap_or(0),
    })
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
            .foreign_keys(true)
            // For a new database (an existing one keeps its own): extracted text of a few KB
            // then fits in its row's page instead of a chain of overflow pages. Syncing and
            // indexing 20,000 files of 5 KB took about 10% less time than with 4 KB pages.
            // Measured 2026-11-28 (`bench/search.sh`): 3.80 s against 4.37 s; 8 KB 3.5 s and
            // 32 KB 3.2 s against 16 KB 3.3 s in a later pair (a small write costs a page).
            // Memory-mapped reads (`mmap_size`) were tried and left out: within the noise.
            .page_size(16384);
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
        // A file sqlx opened exists now; an in-memory database has no file to open again.
        let file = opts.get_filename();
        let readers = Arc::new(Readers {
            path: file.is_file().then(|| file.to_path_buf()),
            idle: Mutex::new(Vec::new()),
        });
        Ok(Self { pool, readers })
    }

    async fn run_migrations(&self) -> Result<()> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    /// The index outbox after `after`: a catch-up reads every document's text this way, so it
    /// is read on a blocking thread through a reader (sqlx would hand the rows over from its
    /// worker thread one by one), or through the pool when no reader can.
    async fn read_outbox(&self, after: i64, limit: u32) -> Result<Vec<crate::model::OutboxEntry>> {
        let readers = self.readers.clone();
        let read = tokio::task::spawn_blocking(move || {
            readers.read(|conn| read_outbox(conn, after, limit))
        })
        .await;
        match read {
            Ok(Some(entries)) => Ok(entries),
            _ => pooled_outbox_after(&self.pool, after, limit).await,
        }
    }

    /// One page of children: on this thread through a reader when it can (see [`Readers`]),
    /// else through the pool.
    async fn list_children_page(
        &self,
        datasource_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<super::ChildrenPage> {
        match self.readers.page(datasource_id, after, limit) {
            Some(page) => Ok(page),
            None => self.pooled_children_page(datasource_id, after, limit).await,
        }
    }

    /// A page through the pool, aggregated into a single JSON row by SQLite: sqlx hands rows
    /// over from its worker thread one by one, and a page as one row costs one hand-over.
    async fn pooled_children_page(
        &self,
        datasource_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<super::ChildrenPage> {
        let (total, json): (Option<i64>, String) = sqlx::query_as(
            "select (select resource_count from datasources where id = $1), \
             coalesce(json_group_array(json_array(seq, id, source_id, path, name, kind, size, \
             media_type, content_hash, source_modified_at, collected_at, processing_status, processing_error)), '[]') \
             from (select * from resources where datasource_id = $1 and seq > $2 order by seq limit $3)",
        )
        .bind(datasource_id)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_one(&self.pool)
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
                        processing_status: r.11.parse()?,
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

    /// One server owns a SQLite file: there is nobody to relay live events to.
    fn event_relay(&self) -> Option<Arc<dyn crate::events::Relay>> {
        None
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
    use crate::store::Store;

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

    /// A fresh SQLite database, an engine over it, and one datasource of a member's.
    async fn engine_with_a_datasource() -> (
        crate::testing::TestDb,
        crate::Engine,
        crate::model::Datasource,
    ) {
        let db = crate::testing::TestDb::sqlite().await.unwrap();
        let e = db.engine().await.unwrap();
        let u = e
            .create_user(
                "r@example.com",
                "",
                "password123",
                crate::domain::AccountRole::Member,
            )
            .await
            .unwrap();
        let ds = e
            .create_datasource(
                &u,
                &serde_json::json!({"@type": "S3Datasource", "title": "r", "bucket": "abc"}),
            )
            .await
            .unwrap();
        (db, e, ds)
    }

    /// `n` sample resources; the one at `at` has a name that needs escaping, the next one no
    /// media type and no modification time.
    fn awkward_resources(ds: &str, n: usize, at: usize) -> Vec<Resource> {
        let mut resources: Vec<_> = (0..n)
            .map(|i| crate::service::sample_resource(ds, i))
            .collect();
        resources[at].name = "quote \" back\\slash ünï\n".into();
        resources[at + 1].media_type = None;
        resources[at + 1].source_modified_at = None;
        resources
    }

    #[tokio::test]
    async fn new_databases_get_16_kb_pages_and_older_ones_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let page_size = |store: &SqliteStore| {
            let pool = store.pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>("pragma page_size")
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        let fresh = format!("sqlite://{}/new.db", dir.path().display());
        let store = SqliteStore::connect(&fresh).await.unwrap();
        store.migrate().await.unwrap();
        assert_eq!(page_size(&store).await, 16384);
        let mode: String = sqlx::query_scalar("pragma journal_mode")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal");

        // A database made with 4 KB pages (as before) is opened, migrated and used as it is.
        let older = dir.path().join("old.db");
        {
            use sqlx::Connection;
            let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", older.display()))
                .unwrap()
                .create_if_missing(true)
                .page_size(4096);
            let mut conn = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
            sqlx::query("create table before (x integer)")
                .execute(&mut conn)
                .await
                .unwrap();
            conn.close().await.unwrap();
        }
        let store = SqliteStore::connect(&format!("sqlite://{}", older.display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        assert_eq!(page_size(&store).await, 4096);
        assert_eq!(store.outbox_head().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn readers_read_the_outbox_the_pool_reads() {
        let (db, e, ds) = engine_with_a_datasource().await;
        let resources = awkward_resources(&ds.id, 6, 1);
        e.add_resources(&ds.id, &resources).await.unwrap();

        let store = SqliteStore::connect(&db.url).await.unwrap();
        let at = chrono::Utc::now();
        // Text for some (one with a media type of its own, one empty), none for the others.
        for (r, media, body) in [
            (&resources[0], Some("text/plain"), "first body ünï"),
            (&resources[1], None, "second\nbody"),
            (&resources[3], Some("application/pdf"), ""),
        ] {
            sqlx::query(
                "insert into extracts (resource_id, datasource_id, media_type, body, extracted_at) \
                 values ($1, $2, $3, $4, $5)",
            )
            .bind(&r.id)
            .bind(&ds.id)
            .bind(media)
            .bind(body)
            .bind(at)
            .execute(&store.pool)
            .await
            .unwrap();
        }
        // Upserts of present resources (with and without text), of one that is gone, a delete
        // and a datasource's drop.
        let ops: Vec<(&str, Option<String>)> = vec![
            ("upsert", Some(resources[0].id.clone())),
            ("upsert", Some(resources[1].id.clone())),
            ("upsert", Some(resources[2].id.clone())),
            ("upsert", Some("gone-resource".into())),
            ("delete", Some(resources[4].id.clone())),
            ("upsert", Some(resources[3].id.clone())),
            ("drop_datasource", None),
            ("upsert", Some(resources[5].id.clone())),
        ];
        for (op, id) in &ops {
            sqlx::query(
                "insert into index_outbox (op, resource_id, datasource_id, created_at) \
                 values ($1, $2, $3, $4)",
            )
            .bind(op)
            .bind(id)
            .bind(&ds.id)
            .bind(at)
            .execute(&store.pool)
            .await
            .unwrap();
        }
        let head = store.outbox_head().await.unwrap();
        let first = head - ops.len() as i64;
        for (after, limit) in [
            (first, 100),
            (first, 3),
            (first + 2, 2),
            (first + 5, 10),
            (head, 10),
        ] {
            let read = store
                .readers
                .read(|c| read_outbox(c, after, limit))
                .expect("read on this thread");
            let pooled = pooled_outbox_after(&store.pool, after, limit)
                .await
                .unwrap();
            assert_eq!(read, pooled, "after {after}, limit {limit}");
            assert_eq!(store.outbox_after(after, limit).await.unwrap(), pooled);
        }
        let all = store.outbox_after(first, 100).await.unwrap();
        assert_eq!(all.len(), ops.len());
        let ops_read: Vec<_> = all.iter().map(|o| o.op.as_str()).collect();
        assert_eq!(ops_read, ops.iter().map(|o| o.0).collect::<Vec<_>>());
        let doc = |i: usize| all[i].doc.clone();
        assert_eq!(doc(0).unwrap().body, "first body ünï");
        assert_eq!(doc(0).unwrap().media_type.as_deref(), Some("text/plain"));
        assert_eq!(doc(1).unwrap().name, resources[1].name);
        assert_eq!(doc(2).unwrap().body, "", "no text: metadata only");
        assert_eq!(doc(2).unwrap().modified, None);
        assert_eq!(doc(0).unwrap().modified, resources[0].source_modified_at);
        assert!(doc(3).is_none(), "its resource is gone");
        assert!(doc(4).is_none() && doc(6).is_none());
        assert_eq!(
            doc(5).unwrap().media_type.as_deref(),
            Some("application/pdf")
        );
        assert_eq!(all[6].resource_id, None);
    }

    #[tokio::test]
    async fn readers_read_the_pages_the_pool_reads() {
        let (db, e, ds) = engine_with_a_datasource().await;
        let mut resources = awkward_resources(&ds.id, 250, 3);
        resources[5].processing_error = Some("corrupt".into());
        e.add_resources(&ds.id, &resources).await.unwrap();

        let store = SqliteStore::connect(&db.url).await.unwrap();
        assert!(store.readers.path.is_some(), "a file database has readers");
        for (after, limit) in [
            (0, 1),
            (0, 7),
            (0, 200),
            (3, 3),
            (120, 200),
            (245, 20),
            (9_999, 20),
        ] {
            let read = store
                .readers
                .page(&ds.id, after, limit)
                .expect("read on this thread");
            let pooled = store
                .pooled_children_page(&ds.id, after, limit)
                .await
                .unwrap();
            assert_eq!(read.total, 250);
            assert_eq!(
                format!("{read:?}"),
                format!("{pooled:?}"),
                "after {after}, limit {limit}"
            );
        }
        let first = store.readers.page(&ds.id, 0, 10).unwrap();
        let names: Vec<_> = first.rows.iter().map(|(_, r)| r.name.clone()).collect();
        let want: Vec<_> = resources[..10].iter().map(|r| r.name.clone()).collect();
        assert_eq!(names, want);
        assert_eq!(first.rows[4].1.source_modified_at, None);

        // Readers never wait for a lock (the pool does), and any failure gives way to the pool.
        let reader = store.readers.open().unwrap().unwrap();
        let wait: i64 = reader
            .query_row("pragma busy_timeout", [], |r| r.get(0))
            .unwrap();
        assert_eq!(wait, 0);
        let not_a_db = db.dir.path().join("not-a-database");
        std::fs::write(&not_a_db, "plain text, not SQLite ".repeat(100)).unwrap();
        let broken = Readers {
            path: Some(not_a_db),
            idle: Mutex::new(Vec::new()),
        };
        assert!(broken.page(&ds.id, 0, 20).is_none());
        assert!(
            broken.idle.lock().unwrap().is_empty(),
            "a failed reader is not kept"
        );

        let missing = store.readers.page("no-such-datasource", 0, 20).unwrap();
        assert_eq!((missing.total, missing.rows.len()), (0, 0));

        // Large pages go through the pool; the store answers either way.
        assert!(
            store
                .readers
                .page(&ds.id, 0, Readers::INLINE_MAX + 1)
                .is_none()
        );
        let all = store.list_children_page(&ds.id, 0, 1000).await.unwrap();
        assert_eq!(all.rows.len(), 250);

        // An in-memory database has no file to open again: the pool serves its pages.
        let mem = SqliteStore::connect("sqlite::memory:").await.unwrap();
        mem.run_migrations().await.unwrap();
        assert!(mem.readers.path.is_none());
        assert!(mem.readers.page("x", 0, 20).is_none());
        assert_eq!(mem.list_children_page("x", 0, 20).await.unwrap().total, 0);
        drop(e);
        db.cleanup().await.unwrap();
    }

    /// Pages read while a sync writes: every page is a consistent snapshot (its rows are in
    /// order, and the count it carries covers them), and the reader sees each commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn readers_read_while_a_sync_writes() {
        let (db, e, ds) = engine_with_a_datasource().await;
        let store = SqliteStore::connect(&db.url).await.unwrap();
        let writer = {
            let (e, id) = (e.clone(), ds.id.clone());
            tokio::spawn(async move {
                for batch in 0..40 {
                    let rs: Vec<_> = (0..25)
                        .map(|i| crate::service::sample_resource(&id, batch * 25 + i))
                        .collect();
                    e.add_resources(&id, &rs).await.unwrap();
                }
            })
        };
        let (mut last_total, mut reads, mut on_readers) = (0, 0, 0);
        while !writer.is_finished() || reads == 0 {
            // Under WAL a reader is not blocked by the writer; should SQLite still say busy
            // (it may, rarely), the pool answers, as in the server.
            let page = match store.readers.page(&ds.id, 0, 200) {
                Some(p) => {
                    on_readers += 1;
                    p
                }
                None => store.pooled_children_page(&ds.id, 0, 200).await.unwrap(),
            };
            assert!(page.total >= last_total, "counts only grow");
            assert_eq!(
                page.rows.len() as i64,
                page.total.min(200),
                "rows and count agree"
            );
            assert!(
                page.rows.windows(2).all(|w| w[0].0 < w[1].0),
                "in key order"
            );
            last_total = page.total;
            reads += 1;
            tokio::task::yield_now().await;
        }
        writer.await.unwrap();
        let page = store.readers.page(&ds.id, 0, 200).unwrap();
        assert_eq!(page.total, 1000, "the reader sees the last commit");
        assert!(
            reads > 1 && on_readers > 0,
            "{on_readers} of {reads} on readers"
        );
        drop(e);
        db.cleanup().await.unwrap();
    }
}
