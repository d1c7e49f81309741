-- Connector credentials, encrypted (see engine/src/wallet.rs). Never returned by the API.
create table wallet (
    datasource_id text not null references datasources(id) on delete cascade,
    name text not null,
    sealed text not null,
    updated_at text not null,
    primary key (datasource_id, name)
);
