//! PostgreSQL backend, for teams and scale.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Row};

use super::common::store_impl;
use crate::error::{EngineError, Result};
use crate::events::{Relay, Subscription};

/// A pooled connection idle longer than this is pinged before use.
const IDLE_CHECK: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
}

impl PgStore {
    const BACKEND: &'static str = "postgres";
    /// Added to the claim's sub-select: concurrent claims skip rows another worker is taking.
    const SKIP_LOCKED: &'static str = " for update skip locked";
    /// Added after `source_id` in comparisons and ordering: byte order, as sources list.
    const BYTE_ORDER: &'static str = " collate \"C\"";

    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        if max_connections == 0 {
            return Err(EngineError::invalid(
                "TRIBUTARY_DB_POOL",
                "must be at least 1 connection",
            ));
        }
        // One plain connection first: the pool would retry a refused connection until its
        // timeout and then report only "timed out"; this reports the real cause at once.
        sqlx::PgConnection::connect(url)
            .await
            .map_err(|e| EngineError::Internal(format!("cannot connect to PostgreSQL: {e}")))?
            .close()
            .await?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            // sqlx pings every connection before handing it out: a second round trip for every
            // query. A connection in steady use is known alive; one idle for a while (the
            // server may have restarted or dropped it) is still checked.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > IDLE_CHECK {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect(url)
            .await
            .map_err(|e| EngineError::Internal(format!("cannot connect to PostgreSQL: {e}")))?;
        Ok(Self { pool })
    }

    async fn run_migrations(&self) -> Result<()> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    /// The index outbox after `after` (see [`super::Store::outbox_after`]).
    async fn read_outbox(&self, after: i64, limit: u32) -> Result<Vec<crate::model::OutboxEntry>> {
        pooled_outbox_after(&self.pool, after, limit).await
    }

    /// One page of children: a plain keyset query (rows arrive in one batch over the socket),
    /// with the count from the datasource row.
    async fn list_children_page(
        &self,
        datasource_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<super::ChildrenPage> {
        // One round trip: the count rides along on every row (or on one row of nulls when the
        // page is empty).
        let sql = format!(
            "select d.resource_count as page_total, r.* from datasources d left join lateral \
             (select {} from resources where datasource_id = d.id and seq > $2 order by seq limit $3) r \
             on true where d.id = $1",
            super::common::RESOURCE_COLUMNS
        );
        let rows = sqlx::query(&sql)
            .bind(datasource_id)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let total: i64 = match rows.first() {
            Some(r) => r.try_get("page_total")?,
            None => 0,
        };
        let mut page = Vec::with_capacity(rows.len());
        for row in &rows {
            if row.try_get::<Option<i64>, _>("seq")?.is_some() {
                page.push(resource_from_row(row)?);
            }
        }
        Ok(super::ChildrenPage { rows: page, total })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn event_relay(&self) -> Option<Arc<dyn Relay>> {
        Some(Arc::new(PgRelay {
            pool: self.pool.clone(),
        }))
    }
}

store_impl!(PgStore, PgRow);

/// The `NOTIFY` channel live events travel on between the servers of one database.
pub const EVENTS_CHANNEL: &str = "tributary_events";

/// Live events between servers through `NOTIFY` on [`EVENTS_CHANNEL`]: notifications are
/// per database, delivered to every connection listening, in the order they were committed.
struct PgRelay {
    pool: PgPool,
}

#[async_trait]
impl Relay for PgRelay {
    async fn send(&self, payloads: &[String]) -> Result<()> {
        // One round trip for the whole batch; one statement is one transaction, whose
        // notifications arrive together and in order.
        sqlx::query(
            "select pg_notify($1, p) from unnest($2::text[]) with ordinality as t(p, i) order by i",
        )
        .bind(EVENTS_CHANNEL)
        .bind(payloads)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn subscribe(&self) -> Result<Box<dyn Subscription>> {
        // A connection of its own, beside the pool's.
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(EVENTS_CHANNEL).await?;
        Ok(Box::new(PgSubscription(listener)))
    }
}

struct PgSubscription(PgListener);

#[async_trait]
impl Subscription for PgSubscription {
    async fn next(&mut self) -> Result<Option<String>> {
        Ok(self.0.try_recv().await?.map(|n| n.payload().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_pool_opens_at_most_the_configured_connections() {
        let db = crate::testing::TestDb::postgres().await.unwrap();
        let store = PgStore::connect(&db.url, 3).await.unwrap();
        assert_eq!(store.pool().options().get_max_connections(), 3);
        let held: Vec<_> =
            futures_util::future::try_join_all((0..3).map(|_| store.pool().acquire()))
                .await
                .unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(300), store.pool().acquire())
                .await
                .is_err(),
            "a fourth waits"
        );
        drop(held);
        let zero = PgStore::connect(&db.url, 0).await.err().unwrap();
        assert_eq!(zero.field(), Some("TRIBUTARY_DB_POOL"));
        assert!(crate::store::default_pg_pool() >= 4);
        store.pool().close().await;
        db.cleanup().await.unwrap();
    }
}
