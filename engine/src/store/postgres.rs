//! PostgreSQL backend, for teams and scale.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};

use super::common::store_impl;
use crate::error::{EngineError, Result};
use crate::model::Resource;

#[derive(Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
}

impl PgStore {
    const BACKEND: &'static str = "postgres";

    pub async fn connect(url: &str) -> Result<Self> {
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

    /// One page of children: a plain keyset query (rows arrive in one batch over the socket).
    async fn list_children_page(
        &self,
        datasource_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Resource)>> {
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
        rows.iter().map(resource_from_row).collect()
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

store_impl!(PgStore, PgRow);
