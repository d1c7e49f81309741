-- The job queue, sync checkpoints, and resources kept after their source deleted them.

-- One row per sync job. A job is claimed with a short statement that sets a lease; a worker
-- heartbeats by extending it; a job whose lease ran out (its worker died) is claimed again.
create table jobs (
    seq bigint generated always as identity primary key,
    id text not null unique,
    datasource_id text not null references datasources(id) on delete cascade,
    state text not null check (state in ('queued', 'running', 'paused', 'done', 'failed')),
    force boolean not null default false,
    run_after timestamptz not null,
    attempts integer not null default 0,
    lease_until timestamptz,
    worker text,
    -- Where a paused or interrupted run picks up: JSON written with each committed batch.
    checkpoint text,
    last_error text,
    created_at timestamptz not null,
    updated_at timestamptz not null
);
-- Never two live jobs for one datasource.
create unique index jobs_one_live on jobs(datasource_id) where state in ('queued', 'running');
create index jobs_due on jobs(state, run_after);

alter table resources add column source_deleted_at timestamptz;
alter table sync_runs add column job_id text;
-- Syncs walk resources in byte order of source_id (what S3 and the folder walker produce).
create index resources_source_bytes on resources(datasource_id, source_id collate "C");
