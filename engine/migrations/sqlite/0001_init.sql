-- Tributary schema, SQLite flavour. Timestamps are RFC 3339 text in UTC (sqlx's chrono encoding).

create table users (
    seq integer primary key autoincrement,
    id text not null unique,
    email text not null unique,
    display_name text not null,
    password_hash text not null,
    role text not null check (role in ('admin', 'member')),
    active integer not null default 1,
    created_at text not null,
    updated_at text not null
);

-- Browser sessions and API tokens. Only a sha256 of the secret is stored.
create table tokens (
    token_hash text primary key,
    user_id text not null references users(id) on delete cascade,
    kind text not null check (kind in ('session', 'api')),
    name text not null default '',
    created_at text not null,
    expires_at text
);
create index tokens_user on tokens(user_id);

create table datasources (
    seq integer primary key autoincrement,
    id text not null unique,
    owner_id text not null references users(id),
    kind text not null,
    title text not null,
    type_sync text not null check (type_sync in ('auto', 'one', 'arch')),
    sync_status text not null check (sync_status in
        ('created', 'pending', 'syncing', 'synced', 'failed', 'error', 'paused', 'resuming')),
    status_reason text,
    settings text not null default '{}',
    resource_count integer not null default 0,
    byte_count integer not null default 0,
    last_sync_started_at text,
    last_sync_finished_at text,
    next_sync_due_at text,
    created_at text not null,
    updated_at text not null
);
create index datasources_owner on datasources(owner_id, seq);

-- One row per sync run.
create table sync_runs (
    seq integer primary key autoincrement,
    id text not null unique,
    datasource_id text not null references datasources(id) on delete cascade,
    started_at text not null,
    finished_at text,
    outcome text not null check (outcome in ('running', 'synced', 'failed', 'error', 'paused')),
    added integer not null default 0,
    updated integer not null default 0,
    deleted integer not null default 0,
    error text,
    created_at text not null,
    updated_at text not null
);
create index sync_runs_ds on sync_runs(datasource_id, seq);

-- Collected items (children) of a datasource. `seq` is the keyset-paging key.
create table resources (
    seq integer primary key autoincrement,
    id text not null unique,
    datasource_id text not null references datasources(id) on delete cascade,
    source_id text not null,
    path text not null,
    name text not null,
    kind text not null,
    size integer not null default 0,
    media_type text,
    content_hash text,
    source_modified_at text,
    collected_at text not null,
    processing_status text not null default 'pending'
        check (processing_status in ('pending', 'processing', 'processed', 'failed')),
    created_at text not null,
    updated_at text not null,
    unique (datasource_id, source_id)
);
create index resources_ds_seq on resources(datasource_id, seq);
