-- The job queue, sync checkpoints, and resources kept after their source deleted them.

-- One row per sync job. A job is claimed with a short statement that sets a lease; a worker
-- heartbeats by extending it; a job whose lease ran out (its worker died) is claimed again.
create table jobs (
    seq integer primary key autoincrement,
    id text not null unique,
    datasource_id text not null references datasources(id) on delete cascade,
    state text not null check (state in ('queued', 'running', 'paused', 'done', 'failed')),
    force integer not null default 0,
    run_after text not null,
    attempts integer not null default 0,
    lease_until text,
    worker text,
    -- Where a paused or interrupted run picks up: JSON written with each committed batch.
    checkpoint text,
    last_error text,
    created_at text not null,
    updated_at text not null
);
-- Never two live jobs for one datasource.
create unique index jobs_one_live on jobs(datasource_id) where state in ('queued', 'running');
create index jobs_due on jobs(state, run_after);

alter table resources add column source_deleted_at text;
alter table sync_runs add column job_id text;
