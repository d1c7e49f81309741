//! PostgreSQL backend, for teams and scale.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};

use super::common::store_impl;
use crate::error::{EngineError, Result};

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

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

store_impl!(PgStore, PgRow);
