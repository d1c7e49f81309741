-- Per-datasource roles, invitations, and personal API tokens.

-- Who has which role on a datasource. The creator is its first owner.
create table memberships (
    datasource_id text not null references datasources(id) on delete cascade,
    user_id text not null references users(id) on delete cascade,
    role text not null check (role in ('owner', 'editor', 'viewer')),
    created_at text not null,
    updated_at text not null,
    primary key (datasource_id, user_id)
);
create index memberships_user on memberships(user_id, datasource_id);
insert into memberships (datasource_id, user_id, role, created_at, updated_at)
    select id, owner_id, 'owner', created_at, created_at from datasources;

-- Invitations are addressed to an e-mail, so one can wait for an account that does not exist yet.
create table invitations (
    seq integer primary key autoincrement,
    id text not null unique,
    datasource_id text not null references datasources(id) on delete cascade,
    email text not null,
    role text not null check (role in ('owner', 'editor', 'viewer')),
    invited_by text not null references users(id),
    status text not null check (status in ('pending', 'accepted', 'declined', 'revoked')),
    created_at text not null,
    updated_at text not null
);
create unique index invitations_one_pending on invitations(datasource_id, email) where status = 'pending';
create index invitations_email on invitations(email, status);

-- Tokens gain an id (to list and revoke personal tokens without showing their hash) and a
-- third kind, `personal`: long-lived tokens a user makes for scripts. SQLite cannot alter a
-- CHECK constraint, so the table is rebuilt with its rows.
create table tokens_v2 (
    token_hash text primary key,
    id text not null unique,
    user_id text not null references users(id) on delete cascade,
    kind text not null check (kind in ('session', 'api', 'personal')),
    name text not null default '',
    created_at text not null,
    expires_at text
);
insert into tokens_v2 (token_hash, id, user_id, kind, name, created_at, expires_at)
    select token_hash, substr(token_hash, 1, 32), user_id, kind, name, created_at, expires_at from tokens;
drop table tokens;
alter table tokens_v2 rename to tokens;
create index tokens_user on tokens(user_id, kind);
