//! PostgreSQL backend, for teams and scale.

use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};

use super::common::store_impl;
use crate::error::{EngineError, Result};

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

    pub async fn connect(url: &str) -> Result<Self> {
        // One plain connection first: the pool would retry a refused connection until its
        // timeout and then report only "timed out"; this reports the real cause at once.
        sqlx::PgConnection::connect(url)
            .await
            .map_err(|e| EngineError::Internal(format!("cannot connect to PostgreSQL: {e}")))?
            .close()
            .await?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
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

    /// One page of children: a plain keyset query (rows arrive in one batch over the socket),
    /// with the count from the datasource row.
    async fn list_children_page(
        &self,
        datasource_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<super::ChildrenPage> {
        let sql = format!(
            "select {} from resources where datasource_id = $1 and seq > $2 order by seq limit $3",
            super::common::RESOURCE_COLUMNS
        );
        let rows = sqlx::query(&sql)
            .bind(datasource_id)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let rows = rows
            .iter()
            .map(resource_from_row)
            .collect::<Result<Vec<_>>>()?;
        let total: Option<i64> =
            sqlx::query_scalar("select resource_count from datasources where id = $1")
                .bind(datasource_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(super::ChildrenPage {
            rows,
            total: total.unwrap_or(0),
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

store_impl!(PgStore, PgRow);
