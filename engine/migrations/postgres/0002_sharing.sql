-- Per-datasource roles, invitations, and personal API tokens.

-- Who has which role on a datasource. The creator is its first owner.
create table memberships (
    datasource_id text not null references datasources(id) on delete cascade,
    user_id text not null references users(id) on delete cascade,
    role text not null check (role in ('owner', 'editor', 'viewer')),
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (datasource_id, user_id)
);
create index memberships_user on memberships(user_id, datasource_id);
insert into memberships (datasource_id, user_id, role, created_at, updated_at)
    select id, owner_id, 'owner', created_at, created_at from datasources;

-- Invitations are addressed to an e-mail, so one can wait for an account that does not exist yet.
create table invitations (
    seq bigint generated always as identity primary key,
    id text not null unique,
    datasource_id text not null references datasources(id) on delete cascade,
    email text not null,
    role text not null check (role in ('owner', 'editor', 'viewer')),
    invited_by text not null references users(id),
    status text not null check (status in ('pending', 'accepted', 'declined', 'revoked')),
    created_at timestamptz not null,
    updated_at timestamptz not null
);
create unique index invitations_one_pending on invitations(datasource_id, email) where status = 'pending';
create index invitations_email on invitations(email, status);

-- Tokens gain an id (to list and revoke personal tokens without showing their hash) and a
-- third kind, `personal`: long-lived tokens a user makes for scripts.
alter table tokens add column id text;
update tokens set id = substr(token_hash, 1, 32);
alter table tokens alter column id set not null;
alter table tokens add constraint tokens_id_key unique (id);
alter table tokens drop constraint tokens_kind_check;
alter table tokens add constraint tokens_kind_check check (kind in ('session', 'api', 'personal'));
drop index tokens_user;
create index tokens_user on tokens(user_id, kind);
