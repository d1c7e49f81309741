-- The processing pipeline and the search index's outbox.

-- Why processing failed ("encrypted", "corrupt", "too large", ...), and the lease of a claim, so
-- a pipeline that died mid-batch has its resources claimed again.
alter table resources add column processing_error text;
alter table resources add column processing_until text;
-- The pipeline's queue: resources waiting (or claimed) for processing, oldest first.
create index resources_processing on resources(processing_status, seq)
    where processing_status in ('pending', 'processing');

-- Extracted text: the source of truth the search index is built from (and rebuilt from).
create table extracts (
    resource_id text primary key references resources(id) on delete cascade,
    datasource_id text not null,
    media_type text,
    body text not null,
    extracted_at text not null
);

-- Index changes, written in the same transaction as the change they follow and applied to the
-- index after commit (and at start-up). `resource_id` is null for 'drop_datasource'.
create table index_outbox (
    seq integer primary key autoincrement,
    op text not null check (op in ('upsert', 'delete', 'drop_datasource')),
    resource_id text,
    datasource_id text not null,
    created_at text not null
);
