//! One story of every storage and service behaviour, run against SQLite and PostgreSQL alike.

use engine::domain::{
    AccountRole, DatasourceQuery, DatasourceRole, InvitationStatus, SyncAction, SyncStatus,
    SyncType,
};
use engine::model::{Access, TokenKind};
use engine::service::ChildrenQuery;
use engine::service::sample_resource;
use engine::status::Actor;
use engine::store::StatusChange;
use engine::testing::TestDb;
use engine::{Engine, EngineError};
use serde_json::json;

use crate::common::on_both;

mod accounts;
mod datasources;
mod listing;
mod sharing;

async fn run<F, Fut>(backend: &str, f: F)
where
    F: FnOnce(Engine, TestDb) -> Fut,
    Fut: std::future::Future<Output = TestDb>,
{
    let db = TestDb::new(backend).await.expect("test database");
    let engine = db.engine().await.expect("engine");
    let db = f(engine, db).await;
    db.cleanup().await.expect("cleanup");
}

async fn user(e: &Engine, email: &str) -> engine::model::User {
    e.create_user(email, "", "password123", AccountRole::Member)
        .await
        .expect("user")
}

/// An account admin: only they may collect folders on the server's disks.
async fn admin(e: &Engine, email: &str) -> engine::model::User {
    e.create_user(email, "", "password123", AccountRole::Admin)
        .await
        .expect("admin")
}

fn status(r: Result<impl std::fmt::Debug, EngineError>) -> u16 {
    match r {
        Ok(_) => 200,
        Err(e) => e.status_code(),
    }
}

async fn s3(e: &Engine, owner: &engine::model::User, title: &str) -> engine::model::Datasource {
    e.create_datasource(
        owner,
        &json!({"@type": "S3Datasource", "title": title, "bucket": "shared-bucket"}),
    )
    .await
    .unwrap()
}
