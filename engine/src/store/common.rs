//! The SQL both backends share, written once. `store_impl!(Type, RowType)` expands to the
//! `Store` implementation; the type provides `pool`, `backend_name` and `run_migrations`.

/// Column list of `datasources` in the order `datasource_from_row` reads them.
pub(crate) const DATASOURCE_COLUMNS: &str = "seq, id, kind, title, owner_id, type_sync, sync_status, status_reason, \
     settings, resource_count, byte_count, last_sync_started_at, last_sync_finished_at, \
     next_sync_due_at, created_at, updated_at";

pub(crate) const RESOURCE_COLUMNS: &str = "seq, id, datasource_id, source_id, path, name, kind, size, media_type, \
     content_hash, source_modified_at, collected_at, processing_status";

pub(crate) const USER_COLUMNS: &str =
    "id, email, display_name, role, active, created_at, updated_at";

macro_rules! store_impl {
    ($ty:ty, $row:ty) => {
        fn user_from_row(row: &$row) -> $crate::error::Result<$crate::model::User> {
            use sqlx::Row;
            Ok($crate::model::User {
                id: row.try_get("id")?,
                email: row.try_get("email")?,
                display_name: row.try_get("display_name")?,
                role: $crate::store::parse_enum(&row.try_get::<String, _>("role")?)?,
                active: row.try_get("active")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        }

        fn datasource_from_row(row: &$row) -> $crate::error::Result<(i64, $crate::model::Datasource)> {
            use sqlx::Row;
            Ok((
                row.try_get("seq")?,
                $crate::model::Datasource {
                    id: row.try_get("id")?,
                    kind: $crate::store::parse_enum(&row.try_get::<String, _>("kind")?)?,
                    title: row.try_get("title")?,
                    owner_id: row.try_get("owner_id")?,
                    type_sync: $crate::store::parse_enum(&row.try_get::<String, _>("type_sync")?)?,
                    sync_status: $crate::store::parse_enum(&row.try_get::<String, _>("sync_status")?)?,
                    status_reason: row.try_get("status_reason")?,
                    settings: $crate::store::parse_settings(&row.try_get::<String, _>("settings")?)?,
                    resource_count: row.try_get("resource_count")?,
                    byte_count: row.try_get("byte_count")?,
                    last_sync_started_at: row.try_get("last_sync_started_at")?,
                    last_sync_finished_at: row.try_get("last_sync_finished_at")?,
                    next_sync_due_at: row.try_get("next_sync_due_at")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                },
            ))
        }

        fn resource_from_row(row: &$row) -> $crate::error::Result<(i64, $crate::model::Resource)> {
            use sqlx::Row;
            Ok((
                row.try_get("seq")?,
                $crate::model::Resource {
                    id: row.try_get("id")?,
                    datasource_id: row.try_get("datasource_id")?,
                    source_id: row.try_get("source_id")?,
                    path: row.try_get("path")?,
                    name: row.try_get("name")?,
                    kind: row.try_get("kind")?,
                    size: row.try_get("size")?,
                    media_type: row.try_get("media_type")?,
                    content_hash: row.try_get("content_hash")?,
                    source_modified_at: row.try_get("source_modified_at")?,
                    collected_at: row.try_get("collected_at")?,
                    processing_status: row.try_get("processing_status")?,
                },
            ))
        }

        #[async_trait::async_trait]
        impl $crate::store::Store for $ty {
            fn backend(&self) -> &'static str {
                Self::BACKEND
            }

            async fn migrate(&self) -> $crate::error::Result<()> {
                self.run_migrations().await
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn count_users(&self) -> $crate::error::Result<i64> {
                Ok(sqlx::query_scalar("select count(*) from users").fetch_one(&self.pool).await?)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn insert_user(&self, u: &$crate::model::User, password_hash: &str) -> $crate::error::Result<()> {
                sqlx::query(
                    "insert into users (id, email, display_name, password_hash, role, active, created_at, updated_at) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&u.id)
                .bind(&u.email)
                .bind(&u.display_name)
                .bind(password_hash)
                .bind(u.role.as_str())
                .bind(u.active)
                .bind(u.created_at)
                .bind(u.updated_at)
                .execute(&self.pool)
                .await
                .map_err(|e| $crate::store::on_unique(e, "a user with this e-mail already exists"))?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn user_by_id(&self, id: &str) -> $crate::error::Result<Option<$crate::model::User>> {
                let sql = format!("select {} from users where id = $1", $crate::store::common::USER_COLUMNS);
                sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?.as_ref().map(user_from_row).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn credentials_by_email(&self, email: &str) -> $crate::error::Result<Option<$crate::store::Credentials>> {
                use sqlx::Row;
                let sql = format!(
                    "select {}, password_hash from users where email = $1",
                    $crate::store::common::USER_COLUMNS
                );
                let Some(row) = sqlx::query(&sql).bind(email).fetch_optional(&self.pool).await? else {
                    return Ok(None);
                };
                Ok(Some($crate::store::Credentials { user: user_from_row(&row)?, password_hash: row.try_get("password_hash")? }))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn list_users(&self) -> $crate::error::Result<Vec<$crate::model::User>> {
                let sql = format!("select {} from users order by seq", $crate::store::common::USER_COLUMNS);
                sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(user_from_row).collect()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(id = %u.id))]
            async fn update_user(&self, u: &$crate::model::User) -> $crate::error::Result<()> {
                sqlx::query("update users set display_name = $1, role = $2, active = $3, updated_at = $4 where id = $5")
                    .bind(&u.display_name)
                    .bind(u.role.as_str())
                    .bind(u.active)
                    .bind(u.updated_at)
                    .bind(&u.id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(user_id))]
            async fn set_password_hash(&self, user_id: &str, password_hash: &str) -> $crate::error::Result<()> {
                sqlx::query("update users set password_hash = $1, updated_at = $2 where id = $3")
                    .bind(password_hash)
                    .bind(crate::service::now())
                    .bind(user_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(user_id))]
            async fn delete_user_tokens(&self, user_id: &str) -> $crate::error::Result<()> {
                sqlx::query("delete from tokens where user_id = $1").bind(user_id).execute(&self.pool).await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn count_active_admins(&self) -> $crate::error::Result<i64> {
                Ok(sqlx::query_scalar("select count(*) from users where role = 'admin' and active = $1")
                    .bind(true)
                    .fetch_one(&self.pool)
                    .await?)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn insert_token(
                &self,
                token_hash: &str,
                user_id: &str,
                kind: $crate::model::TokenKind,
                expires_at: Option<chrono::DateTime<chrono::Utc>>,
            ) -> $crate::error::Result<()> {
                sqlx::query(
                    "insert into tokens (token_hash, user_id, kind, created_at, expires_at) values ($1, $2, $3, $4, $5)",
                )
                .bind(token_hash)
                .bind(user_id)
                .bind(kind.as_str())
                .bind(crate::service::now())
                .bind(expires_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn user_by_token(
                &self,
                token_hash: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<Option<$crate::model::User>> {
                let sql = format!(
                    "select {} from users u join tokens t on t.user_id = u.id \
                     where t.token_hash = $1 and u.active = $2 and (t.expires_at is null or t.expires_at > $3)",
                    $crate::store::common::USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ")
                );
                sqlx::query(&sql)
                    .bind(token_hash)
                    .bind(true)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(user_from_row)
                    .transpose()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn delete_token(&self, token_hash: &str) -> $crate::error::Result<()> {
                sqlx::query("delete from tokens where token_hash = $1").bind(token_hash).execute(&self.pool).await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(id = %ds.id))]
            async fn insert_datasource(&self, ds: &$crate::model::Datasource) -> $crate::error::Result<()> {
                sqlx::query(
                    "insert into datasources (id, kind, title, owner_id, type_sync, sync_status, status_reason, settings, \
                     resource_count, byte_count, last_sync_started_at, last_sync_finished_at, next_sync_due_at, \
                     created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                )
                .bind(&ds.id)
                .bind(ds.kind.as_str())
                .bind(&ds.title)
                .bind(&ds.owner_id)
                .bind(ds.type_sync.as_str())
                .bind(ds.sync_status.as_str())
                .bind(&ds.status_reason)
                .bind(serde_json::Value::Object(ds.settings.clone()).to_string())
                .bind(ds.resource_count)
                .bind(ds.byte_count)
                .bind(ds.last_sync_started_at)
                .bind(ds.last_sync_finished_at)
                .bind(ds.next_sync_due_at)
                .bind(ds.created_at)
                .bind(ds.updated_at)
                .execute(&self.pool)
                .await
                .map_err(|e| $crate::store::on_unique(e, "a datasource with this id already exists"))?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(id))]
            async fn datasource(&self, id: &str) -> $crate::error::Result<Option<$crate::model::Datasource>> {
                let sql = format!("select {} from datasources where id = $1", $crate::store::common::DATASOURCE_COLUMNS);
                let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(|r| datasource_from_row(r).map(|(_, d)| d)).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn list_datasources(
                &self,
                owner_id: &str,
                after: i64,
                limit: u32,
            ) -> $crate::error::Result<Vec<(i64, $crate::model::Datasource)>> {
                let sql = format!(
                    "select {} from datasources where owner_id = $1 and seq > $2 order by seq limit $3",
                    $crate::store::common::DATASOURCE_COLUMNS
                );
                let rows = sqlx::query(&sql).bind(owner_id).bind(after).bind(i64::from(limit)).fetch_all(&self.pool).await?;
                rows.iter().map(datasource_from_row).collect()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn count_datasources(&self, owner_id: &str) -> $crate::error::Result<i64> {
                Ok(sqlx::query_scalar("select count(*) from datasources where owner_id = $1")
                    .bind(owner_id)
                    .fetch_one(&self.pool)
                    .await?)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(id = %ds.id))]
            async fn update_datasource(&self, ds: &$crate::model::Datasource) -> $crate::error::Result<()> {
                sqlx::query(
                    "update datasources set title = $1, type_sync = $2, settings = $3, updated_at = $4 where id = $5",
                )
                .bind(&ds.title)
                .bind(ds.type_sync.as_str())
                .bind(serde_json::Value::Object(ds.settings.clone()).to_string())
                .bind(ds.updated_at)
                .bind(&ds.id)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(id))]
            async fn delete_datasource(&self, id: &str) -> $crate::error::Result<bool> {
                let done = sqlx::query("delete from datasources where id = $1").bind(id).execute(&self.pool).await?;
                Ok(done.rows_affected() > 0)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(id, from = %change.from, to = %change.to))]
            async fn change_status(&self, id: &str, change: &$crate::store::StatusChange) -> $crate::error::Result<bool> {
                use $crate::domain::SyncStatus;
                let started = (change.to == SyncStatus::Syncing).then_some(change.at);
                let finished = matches!(change.to, SyncStatus::Synced | SyncStatus::Failed | SyncStatus::Error)
                    .then_some(change.at);
                let done = sqlx::query(
                    "update datasources set sync_status = $1, status_reason = $2, updated_at = $3, \
                     last_sync_started_at = coalesce($4, last_sync_started_at), \
                     last_sync_finished_at = coalesce($5, last_sync_finished_at) \
                     where id = $6 and sync_status = $7",
                )
                .bind(change.to.as_str())
                .bind(&change.reason)
                .bind(change.at)
                .bind(started)
                .bind(finished)
                .bind(id)
                .bind(change.from.as_str())
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(datasource_id, n = resources.len()))]
            async fn insert_resources(
                &self,
                datasource_id: &str,
                resources: &[$crate::model::Resource],
            ) -> $crate::error::Result<()> {
                let mut tx = self.pool.begin().await?;
                let now = crate::service::now();
                let mut bytes = 0i64;
                for r in resources {
                    sqlx::query(
                        "insert into resources (id, datasource_id, source_id, path, name, kind, size, media_type, \
                         content_hash, source_modified_at, collected_at, processing_status, created_at, updated_at) \
                         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                    )
                    .bind(&r.id)
                    .bind(datasource_id)
                    .bind(&r.source_id)
                    .bind(&r.path)
                    .bind(&r.name)
                    .bind(&r.kind)
                    .bind(r.size)
                    .bind(&r.media_type)
                    .bind(&r.content_hash)
                    .bind(r.source_modified_at)
                    .bind(r.collected_at)
                    .bind(&r.processing_status)
                    .bind(now)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| $crate::store::on_unique(e, "a resource with this source id already exists"))?;
                    bytes += r.size;
                }
                sqlx::query(
                    "update datasources set resource_count = resource_count + $1, byte_count = byte_count + $2 where id = $3",
                )
                .bind(resources.len() as i64)
                .bind(bytes)
                .bind(datasource_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(datasource_id, after, limit))]
            async fn list_children(
                &self,
                datasource_id: &str,
                after: i64,
                limit: u32,
            ) -> $crate::error::Result<$crate::store::ChildrenPage> {
                self.list_children_page(datasource_id, after, limit).await
            }

            #[tracing::instrument(level = "debug", skip_all, fields(datasource_id))]
            async fn count_children(&self, datasource_id: &str) -> $crate::error::Result<i64> {
                // The datasource row keeps the count; counting a million rows per page would not scale.
                Ok(sqlx::query_scalar::<_, i64>("select resource_count from datasources where id = $1")
                    .bind(datasource_id)
                    .fetch_optional(&self.pool)
                    .await?
                    .unwrap_or(0))
            }

            #[tracing::instrument(level = "debug", skip_all, fields(id))]
            async fn resource(&self, id: &str) -> $crate::error::Result<Option<$crate::model::Resource>> {
                let sql = format!("select {} from resources where id = $1", $crate::store::common::RESOURCE_COLUMNS);
                let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(|r| resource_from_row(r).map(|(_, x)| x)).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(datasource_id))]
            async fn list_sync_runs(
                &self,
                datasource_id: &str,
                limit: u32,
            ) -> $crate::error::Result<Vec<$crate::model::SyncRun>> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "select id, datasource_id, started_at, finished_at, outcome, added, updated, deleted, error \
                     from sync_runs where datasource_id = $1 order by seq desc limit $2",
                )
                .bind(datasource_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::model::SyncRun {
                            id: r.try_get("id")?,
                            datasource_id: r.try_get("datasource_id")?,
                            started_at: r.try_get("started_at")?,
                            finished_at: r.try_get("finished_at")?,
                            outcome: r.try_get("outcome")?,
                            added: r.try_get("added")?,
                            updated: r.try_get("updated")?,
                            deleted: r.try_get("deleted")?,
                            error: r.try_get("error")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use store_impl;
