//! The SQL both backends share, written once. `store_impl!(Type, RowType)` expands to the
//! `Store` implementation; the type provides `pool`, `backend_name` and `run_migrations`.

/// Column list of `datasources` in the order `datasource_from_row` reads them.
pub(crate) const DATASOURCE_COLUMNS: &str = "seq, id, kind, title, owner_id, type_sync, sync_status, status_reason, \
     settings, resource_count, byte_count, last_sync_started_at, last_sync_finished_at, \
     next_sync_due_at, created_at, updated_at";

pub(crate) const RESOURCE_COLUMNS: &str = "seq, id, datasource_id, source_id, path, name, kind, size, media_type, \
     content_hash, source_modified_at, collected_at, processing_status, processing_error";

pub(crate) const JOB_COLUMNS: &str = "id, datasource_id, state, force, run_after, attempts, lease_until, worker, \
     checkpoint, last_error, created_at";

pub(crate) const INVITATION_COLUMNS: &str =
    "id, datasource_id, email, role, invited_by, status, created_at, updated_at";

/// `cols` with each column qualified by `table` (`"d."`) and renamed with `alias` (`"inv_"`).
pub(crate) fn prefixed(cols: &str, table: &str, alias: &str) -> String {
    cols.split(", ")
        .map(|c| {
            if alias.is_empty() {
                format!("{table}{c}")
            } else {
                format!("{table}{c} as {alias}{c}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) const USER_COLUMNS: &str =
    "id, email, display_name, role, active, created_at, updated_at";

/// A value bound to a dynamically built statement.
pub(crate) enum SqlArg {
    Text(String),
    Int(i64),
}

/// The datasources a user sees: those with a role (`m`) or a pending invitation. `$1` is the
/// user id, `$2` the e-mail.
pub(crate) const VISIBLE_DATASOURCES: &str = "from (select datasource_id from memberships where user_id = $1 \
       union select datasource_id from invitations where email = $2 and status = 'pending') x \
     join datasources d on d.id = x.datasource_id \
     left join memberships m on m.datasource_id = d.id and m.user_id = $1";

/// The status the user sees: `invited` until they are a member.
pub(crate) const SEEN_STATUS: &str =
    "case when m.role is null then 'invited' else d.sync_status end";

/// Problems first: the order of `sort=status`.
const STATUS_RANK: &str = "case when m.role is null then 7 else case d.sync_status \
     when 'error' then 0 when 'failed' then 1 when 'paused' then 2 when 'resuming' then 3 \
     when 'syncing' then 4 when 'pending' then 5 when 'created' then 6 else 8 end end";

/// The sort expression of an order, whether its value is text, and whether it runs downwards.
/// `None` orders by sequence alone.
pub(crate) fn sort_key(
    sort: crate::domain::DatasourceSort,
) -> (Option<(&'static str, bool)>, bool) {
    use crate::domain::DatasourceSort as S;
    match sort {
        S::Oldest => (None, false),
        S::Newest => (None, true),
        S::Title => (Some(("lower(d.title)", true)), false),
        S::TitleDesc => (Some(("lower(d.title)", true)), true),
        S::Status => (Some((STATUS_RANK, false)), false),
        S::Resources => (Some(("d.resource_count", false)), true),
        S::Size => (Some(("d.byte_count", false)), true),
    }
}

/// `and ...` conditions for a listing's filters, with their values; parameters are numbered
/// from `$3`.
pub(crate) fn datasource_filters(q: &crate::domain::DatasourceQuery) -> (String, Vec<SqlArg>) {
    let mut sql = String::new();
    let mut args = Vec::new();
    let param = |args: &mut Vec<SqlArg>, a: SqlArg| {
        args.push(a);
        format!("${}", args.len() + 2)
    };
    match q.status {
        Some(crate::domain::SyncStatus::Invited) => sql.push_str(" and m.role is null"),
        Some(s) => {
            let p = param(&mut args, SqlArg::Text(s.as_str().to_owned()));
            sql.push_str(&format!(" and m.role is not null and d.sync_status = {p}"));
        }
        None => {}
    }
    if let Some(k) = q.kind {
        let p = param(&mut args, SqlArg::Text(k.as_str().to_owned()));
        sql.push_str(&format!(" and d.kind = {p}"));
    }
    if let Some(t) = q.type_sync {
        let p = param(&mut args, SqlArg::Text(t.as_str().to_owned()));
        sql.push_str(&format!(" and d.type_sync = {p}"));
    }
    if let Some(text) = &q.text {
        let escaped: String = text
            .to_lowercase()
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let p = param(&mut args, SqlArg::Text(format!("%{escaped}%")));
        sql.push_str(&format!(" and lower(d.title) like {p} escape '\\'"));
    }
    (sql, args)
}

/// The keyset condition after `after` and the `order by` of `sort`, binding into `args`.
pub(crate) fn datasource_keyset(
    sort: crate::domain::DatasourceSort,
    after: Option<&super::ListPosition>,
    args: &mut Vec<SqlArg>,
) -> crate::error::Result<(String, String)> {
    let (key, desc) = sort_key(sort);
    let (cmp, dir) = if desc { ("<", "desc") } else { (">", "asc") };
    let mut cond = String::new();
    if let Some(a) = after {
        args.push(SqlArg::Int(a.seq));
        let s = format!("${}", args.len() + 2);
        match key {
            None => cond = format!(" and d.seq {cmp} {s}"),
            Some((expr, is_text)) => {
                let bad = || {
                    crate::error::EngineError::BadRequest(
                        "scroll: the cursor is invalid or belongs to another listing".into(),
                    )
                };
                let raw = a.key.clone().ok_or_else(bad)?;
                args.push(if is_text {
                    SqlArg::Text(raw)
                } else {
                    SqlArg::Int(raw.parse().map_err(|_| bad())?)
                });
                let k = format!("${}", args.len() + 2);
                cond = format!(" and (({expr}) {cmp} {k} or (({expr}) = {k} and d.seq {cmp} {s}))");
            }
        }
    }
    let order = match key {
        None => format!("d.seq {dir}"),
        Some((expr, _)) => format!("{expr} {dir}, d.seq {dir}"),
    };
    Ok((cond, order))
}

/// Binds dynamically built arguments, in order, onto any sqlx query.
macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                $crate::store::common::SqlArg::Text(t) => q.bind(t),
                $crate::store::common::SqlArg::Int(i) => q.bind(i),
            };
        }
        q
    }};
}

/// The index outbox after a position, each upsert with the document as the database has it now
/// (`present` is 0 when its resource is gone). The same text for both backends and for SQLite's
/// readers.
pub(crate) const OUTBOX_SQL: &str = "select o.seq, o.op, o.resource_id, o.datasource_id, r.name, r.path, \
     coalesce(e.media_type, r.media_type) as media_type, r.source_modified_at, e.body, \
     case when r.id is null then 0 else 1 end as present \
     from index_outbox o left join resources r on r.id = o.resource_id \
     left join extracts e on e.resource_id = o.resource_id \
     where o.seq > $1 order by o.seq limit $2";

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
                    processing_status: $crate::store::parse_enum(&row.try_get::<String, _>("processing_status")?)?,
                    processing_error: row.try_get("processing_error")?,
                },
            ))
        }

        /// Reads a search-index document: `resource_id`, `datasource_id`, `name`, `path`,
        /// `media_type`, `source_modified_at` and `body` (empty when null).
        fn index_doc_from_row(row: &$row) -> $crate::error::Result<$crate::model::IndexDoc> {
            use sqlx::Row;
            Ok($crate::model::IndexDoc {
                resource_id: row.try_get("resource_id")?,
                datasource_id: row.try_get("datasource_id")?,
                name: row.try_get("name")?,
                path: row.try_get("path")?,
                media_type: row.try_get("media_type")?,
                modified: row.try_get("source_modified_at")?,
                body: row.try_get::<Option<String>, _>("body")?.unwrap_or_default(),
            })
        }

        /// Reads an invitation whose columns carry `prefix` (`""` or `"inv_"`).
        fn invitation_from_row(row: &$row, prefix: &str) -> $crate::error::Result<$crate::model::Invitation> {
            use sqlx::Row;
            let col = |c: &str| format!("{prefix}{c}");
            Ok($crate::model::Invitation {
                id: row.try_get(col("id").as_str())?,
                datasource_id: row.try_get(col("datasource_id").as_str())?,
                email: row.try_get(col("email").as_str())?,
                role: $crate::store::parse_enum(&row.try_get::<String, _>(col("role").as_str())?)?,
                invited_by: row.try_get(col("invited_by").as_str())?,
                status: $crate::store::parse_enum(&row.try_get::<String, _>(col("status").as_str())?)?,
                created_at: row.try_get(col("created_at").as_str())?,
                updated_at: row.try_get(col("updated_at").as_str())?,
            })
        }

        /// Inserts resources a few hundred to a statement (one statement per resource made the
        /// database's round trips the larger part of a sync).
        async fn insert_resource_rows(
            tx: &mut sqlx::Transaction<'_, <$row as sqlx::Row>::Database>,
            datasource_id: &str,
            rows: &[$crate::model::Resource],
            now: chrono::DateTime<chrono::Utc>,
        ) -> std::result::Result<(), sqlx::Error> {
            for chunk in rows.chunks(500) {
                let mut q = sqlx::QueryBuilder::<<$row as sqlx::Row>::Database>::new(
                    "insert into resources (id, datasource_id, source_id, path, name, kind, size, media_type, \
                     content_hash, source_modified_at, collected_at, processing_status, created_at, updated_at) ",
                );
                q.push_values(chunk, |mut row, r| {
                    row.push_bind(&r.id)
                        .push_bind(datasource_id)
                        .push_bind(&r.source_id)
                        .push_bind(&r.path)
                        .push_bind(&r.name)
                        .push_bind(&r.kind)
                        .push_bind(r.size)
                        .push_bind(&r.media_type)
                        .push_bind(&r.content_hash)
                        .push_bind(r.source_modified_at)
                        .push_bind(r.collected_at)
                        .push_bind(r.processing_status.as_str())
                        .push_bind(now)
                        .push_bind(now);
                });
                q.build().execute(&mut **tx).await?;
            }
            Ok(())
        }

        /// The outbox entries after `after`, each upsert with its document as the database has
        /// it now, through the pool.
        async fn pooled_outbox_after(
            pool: &sqlx::Pool<<$row as sqlx::Row>::Database>,
            after: i64,
            limit: u32,
        ) -> $crate::error::Result<Vec<$crate::model::OutboxEntry>> {
            use sqlx::Row;
            let rows = sqlx::query($crate::store::common::OUTBOX_SQL)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| {
                    let op: $crate::domain::OutboxOp = $crate::store::parse_enum(&r.try_get::<String, _>("op")?)?;
                    let resource_id: Option<String> = r.try_get("resource_id")?;
                    let datasource_id: String = r.try_get("datasource_id")?;
                    let present: i32 = r.try_get("present")?;
                    let doc = match (op, present) {
                        ($crate::domain::OutboxOp::Upsert, 1) => Some(index_doc_from_row(r)?),
                        _ => None,
                    };
                    Ok($crate::model::OutboxEntry {
                        seq: r.try_get("seq")?,
                        op,
                        resource_id,
                        datasource_id,
                        doc,
                    })
                })
                .collect()
        }

        fn job_from_row(row: &$row) -> $crate::error::Result<$crate::model::Job> {
            use sqlx::Row;
            Ok($crate::model::Job {
                id: row.try_get("id")?,
                datasource_id: row.try_get("datasource_id")?,
                state: $crate::store::parse_enum(&row.try_get::<String, _>("state")?)?,
                force: row.try_get("force")?,
                run_after: row.try_get("run_after")?,
                attempts: row.try_get("attempts")?,
                lease_until: row.try_get("lease_until")?,
                worker: row.try_get("worker")?,
                checkpoint: row.try_get("checkpoint")?,
                last_error: row.try_get("last_error")?,
                created_at: row.try_get("created_at")?,
            })
        }

        #[async_trait::async_trait]
        impl $crate::store::Store for $ty {
            fn backend(&self) -> &'static str {
                Self::BACKEND
            }

            fn relay(&self) -> Option<std::sync::Arc<dyn $crate::events::Relay>> {
                self.event_relay()
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
            async fn set_password_hash(&self, user_id: &str, password_hash: &str, at: chrono::DateTime<chrono::Utc>) -> $crate::error::Result<()> {
                sqlx::query("update users set password_hash = $1, updated_at = $2 where id = $3")
                    .bind(password_hash)
                    .bind(at)
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
            async fn insert_token(&self, t: &$crate::store::NewToken<'_>) -> $crate::error::Result<()> {
                sqlx::query(
                    "insert into tokens (token_hash, id, user_id, kind, name, created_at, expires_at) \
                     values ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(t.hash)
                .bind(t.id)
                .bind(t.user_id)
                .bind(t.kind.as_str())
                .bind(t.name)
                .bind(t.created_at)
                .bind(t.expires_at)
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
                    $crate::store::common::prefixed($crate::store::common::USER_COLUMNS, "u.", "")
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

            #[tracing::instrument(level = "debug", skip_all)]
            async fn list_tokens(
                &self,
                user_id: &str,
                kind: $crate::model::TokenKind,
            ) -> $crate::error::Result<Vec<$crate::model::TokenInfo>> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "select id, name, created_at, expires_at from tokens \
                     where user_id = $1 and kind = $2 order by created_at desc, id",
                )
                .bind(user_id)
                .bind(kind.as_str())
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::model::TokenInfo {
                            id: r.try_get("id")?,
                            name: r.try_get("name")?,
                            created_at: r.try_get("created_at")?,
                            expires_at: r.try_get("expires_at")?,
                        })
                    })
                    .collect()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn delete_token_by_id(&self, user_id: &str, id: &str) -> $crate::error::Result<Option<String>> {
                Ok(sqlx::query_scalar("delete from tokens where user_id = $1 and id = $2 returning token_hash")
                    .bind(user_id)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn delete_sessions_except(&self, user_id: &str, keep_hash: &str) -> $crate::error::Result<()> {
                sqlx::query(
                    "delete from tokens where user_id = $1 and kind in ('session', 'api') and token_hash <> $2",
                )
                .bind(user_id)
                .bind(keep_hash)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(id = %ds.id))]
            async fn insert_datasource(&self, ds: &$crate::model::Datasource) -> $crate::error::Result<()> {
                let mut tx = self.pool.begin().await?;
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
                .execute(&mut *tx)
                .await
                .map_err(|e| $crate::store::on_unique(e, "a datasource with this id already exists"))?;
                sqlx::query(
                    "insert into memberships (datasource_id, user_id, role, created_at, updated_at) \
                     values ($1, $2, 'owner', $3, $3)",
                )
                .bind(&ds.id)
                .bind(&ds.owner_id)
                .bind(ds.created_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(id))]
            async fn datasource(&self, id: &str) -> $crate::error::Result<Option<$crate::model::Datasource>> {
                let sql = format!("select {} from datasources where id = $1", $crate::store::common::DATASOURCE_COLUMNS);
                let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(|r| datasource_from_row(r).map(|(_, d)| d)).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(id))]
            async fn datasource_with_role(
                &self,
                id: &str,
                user_id: &str,
            ) -> $crate::error::Result<Option<($crate::model::Datasource, Option<$crate::domain::DatasourceRole>)>> {
                use sqlx::Row;
                let sql = format!(
                    "select {}, (select m.role from memberships m where m.datasource_id = d.id and m.user_id = $2) as caller_role \
                     from datasources d where d.id = $1",
                    $crate::store::common::DATASOURCE_COLUMNS
                );
                let Some(row) = sqlx::query(&sql).bind(id).bind(user_id).fetch_optional(&self.pool).await? else {
                    return Ok(None);
                };
                let (_, ds) = datasource_from_row(&row)?;
                let role: Option<String> = row.try_get("caller_role")?;
                Ok(Some((ds, role.as_deref().map($crate::store::parse_enum).transpose()?)))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn list_datasources(
                &self,
                user_id: &str,
                email: &str,
                query: &$crate::domain::DatasourceQuery,
                after: Option<&$crate::store::ListPosition>,
                limit: u32,
            ) -> $crate::error::Result<Vec<($crate::store::ListPosition, $crate::model::DatasourceView)>> {
                use sqlx::Row;
                use $crate::store::common::{self as c, SqlArg};
                let (filters, mut args) = c::datasource_filters(query);
                let (keyset, order) = c::datasource_keyset(query.sort, after, &mut args)?;
                let (key, _) = c::sort_key(query.sort);
                args.push(SqlArg::Int(i64::from(limit)));
                let sql = format!(
                    "select {}, m.role as my_role, {}, {} as sort_key {} \
                     left join invitations i on m.role is null and i.datasource_id = d.id and i.email = $2 \
                          and i.status = 'pending' \
                     where true{filters}{keyset} order by {order} limit ${}",
                    c::prefixed(c::DATASOURCE_COLUMNS, "d.", ""),
                    c::prefixed(c::INVITATION_COLUMNS, "i.", "inv_"),
                    match key {
                        None => "null".to_owned(),
                        Some((e, true)) => e.to_owned(),
                        Some((e, false)) => format!("cast({e} as bigint)"),
                    },
                    c::VISIBLE_DATASOURCES,
                    args.len() + 2,
                );
                let q = $crate::store::common::bind_all!(sqlx::query(&sql).bind(user_id).bind(email), args);
                let rows = q.fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|r| {
                        let (seq, datasource) = datasource_from_row(r)?;
                        let role: Option<String> = r.try_get("my_role")?;
                        let access = match role {
                            Some(role) => $crate::model::Access::Member($crate::store::parse_enum(&role)?),
                            None => $crate::model::Access::Invited(invitation_from_row(r, "inv_")?),
                        };
                        let sort_key = match key {
                            None => None,
                            Some((_, true)) => Some(r.try_get::<String, _>("sort_key")?),
                            Some((_, false)) => Some(r.try_get::<i64, _>("sort_key")?.to_string()),
                        };
                        Ok((
                            $crate::store::ListPosition { seq, key: sort_key },
                            $crate::model::DatasourceView { datasource, access },
                        ))
                    })
                    .collect()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn count_datasources(
                &self,
                user_id: &str,
                email: &str,
                query: &$crate::domain::DatasourceQuery,
            ) -> $crate::error::Result<i64> {
                use $crate::store::common as c;
                let (filters, args) = c::datasource_filters(query);
                let sql = format!("select count(*) {} where true{filters}", c::VISIBLE_DATASOURCES);
                let q = $crate::store::common::bind_all!(sqlx::query_scalar(&sql).bind(user_id).bind(email), args);
                Ok(q.fetch_one(&self.pool).await?)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn datasource_status_counts(
                &self,
                user_id: &str,
                email: &str,
                query: &$crate::domain::DatasourceQuery,
            ) -> $crate::error::Result<Vec<($crate::domain::SyncStatus, i64)>> {
                use $crate::store::common as c;
                let (filters, args) = c::datasource_filters(query);
                let sql = format!(
                    "select {} as status, count(*) as n {} where true{filters} group by 1",
                    c::SEEN_STATUS,
                    c::VISIBLE_DATASOURCES
                );
                let q = $crate::store::common::bind_all!(sqlx::query_as::<_, (String, i64)>(&sql).bind(user_id).bind(email), args);
                q.fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map(|(s, n)| Ok(($crate::store::parse_enum(&s)?, n)))
                    .collect()
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
            async fn delete_datasource(&self, id: &str, at: chrono::DateTime<chrono::Utc>) -> $crate::error::Result<bool> {
                let mut tx = self.pool.begin().await?;
                let done = sqlx::query("delete from datasources where id = $1").bind(id).execute(&mut *tx).await?;
                if done.rows_affected() > 0 {
                    sqlx::query(
                        "insert into index_outbox (op, resource_id, datasource_id, created_at) values ('drop_datasource', null, $1, $2)",
                    )
                    .bind(id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
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
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<()> {
                let mut tx = self.pool.begin().await?;
                insert_resource_rows(&mut tx, datasource_id, resources, now)
                    .await
                    .map_err(|e| $crate::store::on_unique(e, "a resource with this source id already exists"))?;
                let bytes: i64 = resources.iter().map(|r| r.size).sum();
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

            #[tracing::instrument(level = "debug", skip_all)]
            async fn role_of(
                &self,
                datasource_id: &str,
                user_id: &str,
            ) -> $crate::error::Result<Option<$crate::domain::DatasourceRole>> {
                let role: Option<String> =
                    sqlx::query_scalar("select role from memberships where datasource_id = $1 and user_id = $2")
                        .bind(datasource_id)
                        .bind(user_id)
                        .fetch_optional(&self.pool)
                        .await?;
                role.as_deref().map($crate::store::parse_enum).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn members(&self, datasource_id: &str) -> $crate::error::Result<Vec<$crate::model::Member>> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "select u.id, u.email, u.display_name, m.role from memberships m join users u on u.id = m.user_id \
                     where m.datasource_id = $1 \
                     order by case m.role when 'owner' then 0 when 'editor' then 1 else 2 end, u.email",
                )
                .bind(datasource_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::model::Member {
                            user_id: r.try_get("id")?,
                            email: r.try_get("email")?,
                            display_name: r.try_get("display_name")?,
                            role: $crate::store::parse_enum(&r.try_get::<String, _>("role")?)?,
                        })
                    })
                    .collect()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(datasource_id, n = changes.len()))]
            async fn change_roles(
                &self,
                datasource_id: &str,
                changes: &[(String, Option<$crate::domain::DatasourceRole>)],
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<()> {
                let mut tx = self.pool.begin().await?;
                // Writing the datasource row first takes its lock (a row lock on PostgreSQL, the
                // write lock on SQLite), so two owners removing each other cannot both pass the
                // owner count below.
                sqlx::query("update datasources set updated_at = updated_at where id = $1")
                    .bind(datasource_id)
                    .execute(&mut *tx)
                    .await?;
                for (user_id, role) in changes {
                    match role {
                        Some(role) => {
                            sqlx::query(
                                "insert into memberships (datasource_id, user_id, role, created_at, updated_at) \
                                 values ($1, $2, $3, $4, $4) on conflict (datasource_id, user_id) \
                                 do update set role = excluded.role, updated_at = excluded.updated_at",
                            )
                            .bind(datasource_id)
                            .bind(user_id)
                            .bind(role.as_str())
                            .bind(at)
                            .execute(&mut *tx)
                            .await?;
                        }
                        None => {
                            sqlx::query("delete from memberships where datasource_id = $1 and user_id = $2")
                                .bind(datasource_id)
                                .bind(user_id)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                }
                let owners: i64 = sqlx::query_scalar(
                    "select count(*) from memberships where datasource_id = $1 and role = 'owner'",
                )
                .bind(datasource_id)
                .fetch_one(&mut *tx)
                .await?;
                if owners == 0 {
                    tx.rollback().await?;
                    return Err($crate::error::EngineError::Conflict(
                        "a datasource must keep at least one owner; make someone else owner first".into(),
                    ));
                }
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(id = %inv.id))]
            async fn insert_invitation(&self, inv: &$crate::model::Invitation) -> $crate::error::Result<()> {
                sqlx::query(
                    "insert into invitations (id, datasource_id, email, role, invited_by, status, created_at, updated_at) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&inv.id)
                .bind(&inv.datasource_id)
                .bind(&inv.email)
                .bind(inv.role.as_str())
                .bind(&inv.invited_by)
                .bind(inv.status.as_str())
                .bind(inv.created_at)
                .bind(inv.updated_at)
                .execute(&self.pool)
                .await
                .map_err(|e| $crate::store::on_unique(e, "this e-mail already has a pending invitation to this datasource"))?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn invitation(&self, id: &str) -> $crate::error::Result<Option<$crate::model::Invitation>> {
                let sql = format!("select {} from invitations where id = $1", $crate::store::common::INVITATION_COLUMNS);
                sqlx::query(&sql)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(|r| invitation_from_row(r, ""))
                    .transpose()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn pending_invitation(
                &self,
                datasource_id: &str,
                email: &str,
            ) -> $crate::error::Result<Option<$crate::model::Invitation>> {
                let sql = format!(
                    "select {} from invitations where datasource_id = $1 and email = $2 and status = 'pending'",
                    $crate::store::common::INVITATION_COLUMNS
                );
                sqlx::query(&sql)
                    .bind(datasource_id)
                    .bind(email)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(|r| invitation_from_row(r, ""))
                    .transpose()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn datasource_invitations(
                &self,
                datasource_id: &str,
            ) -> $crate::error::Result<Vec<$crate::model::Invitation>> {
                let sql = format!(
                    "select {} from invitations where datasource_id = $1 and status = 'pending' order by seq",
                    $crate::store::common::INVITATION_COLUMNS
                );
                sqlx::query(&sql)
                    .bind(datasource_id)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| invitation_from_row(r, ""))
                    .collect()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn invitations_for(&self, email: &str) -> $crate::error::Result<Vec<$crate::model::InvitationView>> {
                use sqlx::Row;
                let sql = format!(
                    "select {}, d.title as ds_title, d.kind as ds_kind, u.email as by_email, u.display_name as by_name \
                     from invitations i join datasources d on d.id = i.datasource_id \
                     join users u on u.id = i.invited_by \
                     where i.email = $1 and i.status = 'pending' order by i.seq",
                    $crate::store::common::prefixed($crate::store::common::INVITATION_COLUMNS, "i.", "inv_"),
                );
                sqlx::query(&sql)
                    .bind(email)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|r| {
                        Ok($crate::model::InvitationView {
                            invitation: invitation_from_row(r, "inv_")?,
                            datasource_title: r.try_get("ds_title")?,
                            datasource_kind: $crate::store::parse_enum(&r.try_get::<String, _>("ds_kind")?)?,
                            inviter_email: r.try_get("by_email")?,
                            inviter_name: r.try_get("by_name")?,
                        })
                    })
                    .collect()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn count_invitations_for(&self, email: &str) -> $crate::error::Result<i64> {
                Ok(sqlx::query_scalar("select count(*) from invitations where email = $1 and status = 'pending'")
                    .bind(email)
                    .fetch_one(&self.pool)
                    .await?)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(id, to = %to))]
            async fn settle_invitation(
                &self,
                id: &str,
                to: $crate::domain::InvitationStatus,
                user_id: Option<&str>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<bool> {
                use sqlx::Row;
                let mut tx = self.pool.begin().await?;
                let row = sqlx::query(
                    "update invitations set status = $1, updated_at = $2 where id = $3 and status = 'pending' \
                     returning datasource_id, role",
                )
                .bind(to.as_str())
                .bind(at)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else {
                    tx.rollback().await?;
                    return Ok(false);
                };
                if let (Some(user_id), $crate::domain::InvitationStatus::Accepted) = (user_id, to) {
                    sqlx::query(
                        "insert into memberships (datasource_id, user_id, role, created_at, updated_at) \
                         values ($1, $2, $3, $4, $4) on conflict (datasource_id, user_id) do nothing",
                    )
                    .bind(row.try_get::<String, _>("datasource_id")?)
                    .bind(user_id)
                    .bind(row.try_get::<String, _>("role")?)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(datasource_id, n = secrets.len()))]
            async fn put_secrets(
                &self,
                datasource_id: &str,
                secrets: &[(String, String)],
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<()> {
                let mut tx = self.pool.begin().await?;
                for (name, sealed) in secrets {
                    sqlx::query(
                        "insert into wallet (datasource_id, name, sealed, updated_at) values ($1, $2, $3, $4) \
                         on conflict (datasource_id, name) do update set sealed = excluded.sealed, updated_at = excluded.updated_at",
                    )
                    .bind(datasource_id)
                    .bind(name)
                    .bind(sealed)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(datasource_id, n = put.len()))]
            async fn replace_all_secrets(
                &self,
                datasource_id: &str,
                put: &[(String, String)],
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<()> {
                let mut tx = self.pool.begin().await?;
                sqlx::query("delete from wallet where datasource_id = $1")
                    .bind(datasource_id)
                    .execute(&mut *tx)
                    .await?;
                if put.is_empty() {
                    sqlx::query(
                        "update jobs set state = 'failed', last_error = 'its credentials were dropped when it was pointed elsewhere', \
                         updated_at = $2 where datasource_id = $1 and state in ('queued', 'paused')",
                    )
                    .bind(datasource_id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
                for (name, sealed) in put {
                    sqlx::query(
                        "insert into wallet (datasource_id, name, sealed, updated_at) values ($1, $2, $3, $4)",
                    )
                    .bind(datasource_id)
                    .bind(name)
                    .bind(sealed)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn secrets(&self, datasource_id: &str) -> $crate::error::Result<Vec<(String, String)>> {
                Ok(sqlx::query_as("select name, sealed from wallet where datasource_id = $1 order by name")
                    .bind(datasource_id)
                    .fetch_all(&self.pool)
                    .await?)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(id = %run.id))]
            async fn insert_sync_run(&self, run: &$crate::model::SyncRun, job_id: &str) -> $crate::error::Result<()> {
                sqlx::query(
                    "insert into sync_runs (id, datasource_id, job_id, started_at, outcome, created_at, updated_at) \
                     values ($1, $2, $3, $4, $5, $4, $4)",
                )
                .bind(&run.id)
                .bind(&run.datasource_id)
                .bind(job_id)
                .bind(run.started_at)
                .bind(run.outcome.as_str())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(id = %run.id))]
            async fn finish_sync_run(&self, run: &$crate::model::SyncRun, at: chrono::DateTime<chrono::Utc>) -> $crate::error::Result<()> {
                sqlx::query(
                    "update sync_runs set finished_at = $1, outcome = $2, added = $3, updated = $4, deleted = $5, \
                     error = $6, updated_at = $7 where id = $8",
                )
                .bind(run.finished_at)
                .bind(run.outcome.as_str())
                .bind(run.added)
                .bind(run.updated)
                .bind(run.deleted)
                .bind(&run.error)
                .bind(at)
                .bind(&run.id)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(id = %job.id))]
            async fn enqueue_job(&self, job: &$crate::model::Job) -> $crate::error::Result<($crate::model::Job, bool)> {
                // A datasource has at most one live job. If one is there, it is the answer; if
                // it finishes between the insert and the read, try again; and a job of ours that
                // an idle worker has already run to its end is still the job we queued.
                for _ in 0..3 {
                    let inserted = sqlx::query(
                        "insert into jobs (id, datasource_id, state, force, run_after, attempts, checkpoint, created_at, updated_at) \
                         values ($1, $2, 'queued', $3, $4, 0, $5, $6, $6) on conflict do nothing",
                    )
                    .bind(&job.id)
                    .bind(&job.datasource_id)
                    .bind(job.force)
                    .bind(job.run_after)
                    .bind(&job.checkpoint)
                    .bind(job.created_at)
                    .execute(&self.pool)
                    .await?
                    .rows_affected() == 1;
                    match self.live_job(&job.datasource_id).await? {
                        Some(live) => return Ok((live, inserted)),
                        None if inserted => return Ok((job.clone(), true)),
                        None => continue,
                    }
                }
                Err($crate::error::EngineError::Conflict("the datasource's job kept changing while queueing; try again".into()))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn job(&self, id: &str) -> $crate::error::Result<Option<$crate::model::Job>> {
                let sql = format!("select {} from jobs where id = $1", $crate::store::common::JOB_COLUMNS);
                sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?.as_ref().map(job_from_row).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn live_job(&self, datasource_id: &str) -> $crate::error::Result<Option<$crate::model::Job>> {
                let sql = format!(
                    "select {} from jobs where datasource_id = $1 and state in ('queued', 'running')",
                    $crate::store::common::JOB_COLUMNS
                );
                sqlx::query(&sql).bind(datasource_id).fetch_optional(&self.pool).await?.as_ref().map(job_from_row).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn paused_job(&self, datasource_id: &str) -> $crate::error::Result<Option<$crate::model::Job>> {
                let sql = format!(
                    "select {} from jobs where datasource_id = $1 and state = 'paused' order by seq desc limit 1",
                    $crate::store::common::JOB_COLUMNS
                );
                sqlx::query(&sql).bind(datasource_id).fetch_optional(&self.pool).await?.as_ref().map(job_from_row).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn claim_job(
                &self,
                worker: &str,
                now: chrono::DateTime<chrono::Utc>,
                lease_until: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<Option<$crate::model::Job>> {
                let sql = format!(
                    "update jobs set state = 'running', lease_until = $1, worker = $2, attempts = attempts + 1, updated_at = $3 \
                     where id = (select id from jobs where (state = 'queued' and run_after <= $3) \
                                 or (state = 'running' and lease_until < $3) order by run_after, seq limit 1{}) \
                     returning {}",
                    Self::SKIP_LOCKED,
                    $crate::store::common::JOB_COLUMNS
                );
                sqlx::query(&sql)
                    .bind(lease_until)
                    .bind(worker)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?
                    .as_ref()
                    .map(job_from_row)
                    .transpose()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn heartbeat(
                &self,
                job_id: &str,
                worker: &str,
                lease_until: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<bool> {
                let done = sqlx::query(
                    "update jobs set lease_until = $1 where id = $2 and worker = $3 and state = 'running'",
                )
                .bind(lease_until)
                .bind(job_id)
                .bind(worker)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(id = %job.id, state = %job.state))]
            async fn update_job(&self, job: &$crate::model::Job, at: chrono::DateTime<chrono::Utc>) -> $crate::error::Result<()> {
                sqlx::query(
                    "update jobs set state = $1, run_after = $2, checkpoint = $3, last_error = $4, force = $5, \
                     lease_until = case when $1 = 'running' then lease_until else null end, updated_at = $6 where id = $7",
                )
                .bind(job.state.as_str())
                .bind(job.run_after)
                .bind(&job.checkpoint)
                .bind(&job.last_error)
                .bind(job.force)
                .bind(at)
                .bind(&job.id)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn set_next_sync_due(
                &self,
                datasource_id: &str,
                at: Option<chrono::DateTime<chrono::Utc>>,
            ) -> $crate::error::Result<()> {
                sqlx::query("update datasources set next_sync_due_at = $1 where id = $2")
                    .bind(at)
                    .bind(datasource_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn known_after(
                &self,
                datasource_id: &str,
                after: &str,
                limit: u32,
            ) -> $crate::error::Result<Vec<$crate::model::Known>> {
                use sqlx::Row;
                let sql = format!(
                    "select id, source_id, size, source_modified_at, content_hash, source_deleted_at from resources \
                     where datasource_id = $1 and source_id{c} > $2 order by source_id{c} limit $3",
                    c = Self::BYTE_ORDER
                );
                let rows = sqlx::query(&sql)
                    .bind(datasource_id)
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::model::Known {
                            id: r.try_get("id")?,
                            source_id: r.try_get("source_id")?,
                            size: r.try_get("size")?,
                            source_modified_at: r.try_get("source_modified_at")?,
                            content_hash: r.try_get("content_hash")?,
                            source_deleted_at: r.try_get("source_deleted_at")?,
                        })
                    })
                    .collect()
            }

            #[tracing::instrument(level = "debug", skip_all, fields(ins = b.inserts.len(), upd = b.updates.len()))]
            async fn apply_sync_batch(&self, b: &$crate::store::SyncBatch<'_>) -> $crate::error::Result<bool> {
                let mut tx = self.pool.begin().await?;
                let now = b.at;
                // Writing the checkpoint first both proves the worker still holds the job and
                // extends its lease, inside the transaction that writes the batch.
                let held = sqlx::query(
                    "update jobs set checkpoint = $1, lease_until = $2, updated_at = $3 \
                     where id = $4 and worker = $5 and state = 'running'",
                )
                .bind(b.checkpoint)
                .bind(b.lease_until)
                .bind(now)
                .bind(b.job_id)
                .bind(b.worker)
                .execute(&mut *tx)
                .await?
                .rows_affected() == 1;
                if !held {
                    tx.rollback().await?;
                    return Ok(false);
                }
                insert_resource_rows(&mut tx, b.datasource_id, b.inserts, now).await?;
                for r in b.updates {
                    sqlx::query(
                        "update resources set path = $1, name = $2, size = $3, media_type = $4, \
                         processing_status = case when content_hash = $5 then processing_status else 'pending' end, \
                         content_hash = $5, source_modified_at = $6, collected_at = $7, \
                         source_deleted_at = null, updated_at = $8 where id = $9",
                    )
                    .bind(&r.path)
                    .bind(&r.name)
                    .bind(r.size)
                    .bind(&r.media_type)
                    .bind(&r.content_hash)
                    .bind(r.source_modified_at)
                    .bind(r.collected_at)
                    .bind(now)
                    .bind(&r.id)
                    .execute(&mut *tx)
                    .await?;
                }
                if !b.inserts.is_empty() || b.bytes_delta != 0 {
                    sqlx::query(
                        "update datasources set resource_count = resource_count + $1, byte_count = byte_count + $2 where id = $3",
                    )
                    .bind(b.inserts.len() as i64)
                    .bind(b.bytes_delta)
                    .bind(b.datasource_id)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            #[tracing::instrument(level = "debug", skip_all, fields(datasource_id, n = ids.len()))]
            async fn remove_resources(
                &self,
                datasource_id: &str,
                ids: &[String],
                mark_deleted_at: Option<chrono::DateTime<chrono::Utc>>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<()> {
                let mut tx = self.pool.begin().await?;
                for chunk in ids.chunks(500) {
                    for id in chunk {
                        match mark_deleted_at {
                            Some(at) => {
                                sqlx::query("update resources set source_deleted_at = $1, updated_at = $1 where id = $2 and datasource_id = $3")
                                    .bind(at)
                                    .bind(id)
                                    .bind(datasource_id)
                                    .execute(&mut *tx)
                                    .await?;
                            }
                            None => {
                                sqlx::query("delete from resources where id = $1 and datasource_id = $2")
                                    .bind(id)
                                    .bind(datasource_id)
                                    .execute(&mut *tx)
                                    .await?;
                                sqlx::query(
                                    "insert into index_outbox (op, resource_id, datasource_id, created_at) values ('delete', $1, $2, $3)",
                                )
                                .bind(id)
                                .bind(datasource_id)
                                .bind(now)
                                .execute(&mut *tx)
                                .await?;
                            }
                        }
                    }
                }
                // Counts follow what is kept: deleted rows leave them, marked rows stay.
                sqlx::query(
                    "update datasources set resource_count = (select count(*) from resources where datasource_id = $1), \
                     byte_count = (select coalesce(sum(size), 0) from resources where datasource_id = $1) where id = $1",
                )
                .bind(datasource_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }


            #[tracing::instrument(level = "debug", skip_all)]
            async fn claim_processing(
                &self,
                limit: u32,
                now: chrono::DateTime<chrono::Utc>,
                until: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<Vec<$crate::model::Resource>> {
                let sql = format!(
                    "update resources set processing_status = 'processing', processing_until = $1 \
                     where id in (select id from resources where processing_status = 'pending' \
                                  or (processing_status = 'processing' and (processing_until is null or processing_until < $2)) \
                                  order by seq limit $3{}) \
                     returning {}",
                    Self::SKIP_LOCKED,
                    $crate::store::common::RESOURCE_COLUMNS
                );
                let rows = sqlx::query(&sql)
                    .bind(until)
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                let mut out = rows
                    .iter()
                    .map(resource_from_row)
                    .collect::<$crate::error::Result<Vec<_>>>()?;
                out.sort_by_key(|(seq, _)| *seq);
                Ok(out.into_iter().map(|(_, r)| r).collect())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(n = done.len()))]
            async fn finish_processing(
                &self,
                done: &[$crate::model::Processed],
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::error::Result<()> {
                type Db = <$row as sqlx::Row>::Database;
                // An outcome counts only for a resource still claimed with the same content (one
                // that changed meanwhile is pending again and will be processed anew). Three
                // statements per chunk, not three per resource: the text, the outbox, the status.
                const STILL_CLAIMED: &str = ") as v join resources r on r.id = v.column1 \
                     where r.processing_status = 'processing' \
                     and coalesce(r.content_hash, '') = coalesce(v.column2, '')";
                let mut tx = self.pool.begin().await?;
                for chunk in done.chunks(400) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(
                        "insert into extracts (resource_id, datasource_id, media_type, body, extracted_at) \
                         select r.id, r.datasource_id, v.column3, v.column4, ",
                    );
                    q.push_bind(at).push(" from (");
                    q.push_values(chunk, |mut row, p| {
                        row.push_bind(&p.resource_id)
                            .push_bind(&p.content_hash)
                            .push_bind(&p.media_type)
                            .push_bind(p.body.as_deref().unwrap_or(""));
                    });
                    q.push(STILL_CLAIMED).push(
                        " on conflict (resource_id) do update set media_type = excluded.media_type, \
                         body = excluded.body, extracted_at = excluded.extracted_at",
                    );
                    q.build().execute(&mut *tx).await?;

                    let mut q = sqlx::QueryBuilder::<Db>::new(
                        "insert into index_outbox (op, resource_id, datasource_id, created_at) \
                         select 'upsert', r.id, r.datasource_id, ",
                    );
                    q.push_bind(at).push(" from (");
                    q.push_values(chunk, |mut row, p| {
                        row.push_bind(&p.resource_id).push_bind(&p.content_hash);
                    });
                    q.push(STILL_CLAIMED).push(" order by r.seq");
                    q.build().execute(&mut *tx).await?;

                    let mut q = sqlx::QueryBuilder::<Db>::new(
                        "update resources set processing_status = v.column3, processing_error = v.column4, \
                         media_type = coalesce(v.column5, resources.media_type), processing_until = null from (",
                    );
                    q.push_values(chunk, |mut row, p| {
                        row.push_bind(&p.resource_id)
                            .push_bind(&p.content_hash)
                            .push_bind(p.status.as_str())
                            .push_bind(&p.error)
                            .push_bind(&p.media_type);
                    });
                    q.push(
                        ") as v where resources.id = v.column1 \
                         and resources.processing_status = 'processing' \
                         and coalesce(resources.content_hash, '') = coalesce(v.column2, '')",
                    );
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all, fields(datasource_id))]
            async fn requeue_processing(
                &self,
                datasource_id: &str,
                resource_id: Option<&str>,
            ) -> $crate::error::Result<i64> {
                let done = match resource_id {
                    Some(r) => sqlx::query(
                        "update resources set processing_status = 'pending', processing_error = null, processing_until = null \
                         where datasource_id = $1 and id = $2",
                    )
                    .bind(datasource_id)
                    .bind(r)
                    .execute(&self.pool)
                    .await?,
                    None => sqlx::query(
                        "update resources set processing_status = 'pending', processing_error = null, processing_until = null \
                         where datasource_id = $1",
                    )
                    .bind(datasource_id)
                    .execute(&self.pool)
                    .await?,
                };
                Ok(done.rows_affected() as i64)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn outbox_after(&self, after: i64, limit: u32) -> $crate::error::Result<Vec<$crate::model::OutboxEntry>> {
                self.read_outbox(after, limit).await
            }

            async fn prune_outbox(&self, upto: i64) -> $crate::error::Result<()> {
                sqlx::query("delete from index_outbox where seq <= $1")
                    .bind(upto)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn outbox_head(&self) -> $crate::error::Result<i64> {
                let head: Option<i64> = sqlx::query_scalar("select max(seq) from index_outbox")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(head.unwrap_or(0))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn index_docs_after(&self, after: i64, limit: u32) -> $crate::error::Result<Vec<(i64, $crate::model::IndexDoc)>> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "select r.seq, r.id as resource_id, r.datasource_id, r.name, r.path, coalesce(e.media_type, r.media_type) as media_type, \
                     r.source_modified_at, e.body from resources r join extracts e on e.resource_id = r.id \
                     where r.seq > $1 order by r.seq limit $2",
                )
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| Ok((r.try_get("seq")?, index_doc_from_row(r)?)))
                    .collect()
            }

            async fn resources_with_text(
                &self,
                ids: &[String],
            ) -> $crate::error::Result<Vec<($crate::model::Resource, Option<String>)>> {
                use sqlx::Row;
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let marks = (1..=ids.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
                let columns = $crate::store::common::RESOURCE_COLUMNS
                    .split(", ")
                    .map(|c| format!("r.{}", c.trim()))
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql = format!(
                    "select {columns}, e.body as extracted_text from resources r \
                     left join extracts e on e.resource_id = r.id where r.id in ({marks})"
                );
                let mut q = sqlx::query(&sql);
                for id in ids {
                    q = q.bind(id);
                }
                q.fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(|row| {
                        let (_, r) = resource_from_row(row)?;
                        Ok((r, row.try_get("extracted_text")?))
                    })
                    .collect()
            }

            async fn member_datasource_ids(&self, user_id: &str) -> $crate::error::Result<Vec<String>> {
                Ok(sqlx::query_scalar("select datasource_id from memberships where user_id = $1")
                    .bind(user_id)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn extract_body(&self, resource_id: &str) -> $crate::error::Result<Option<String>> {
                Ok(sqlx::query_scalar("select body from extracts where resource_id = $1")
                    .bind(resource_id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn processing_backlog(&self) -> $crate::error::Result<i64> {
                Ok(sqlx::query_scalar(
                    "select count(*) from resources where processing_status in ('pending', 'processing')",
                )
                .fetch_one(&self.pool)
                .await?)
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
                            outcome: $crate::store::parse_enum(&r.try_get::<String, _>("outcome")?)?,
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

pub(crate) use {bind_all, store_impl};
