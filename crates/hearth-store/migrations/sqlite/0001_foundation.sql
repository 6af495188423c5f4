-- Foundation: tenants, their sites and clinicians. Every tenant-owned table carries org_id.
-- Twin of migrations/postgres/0001_foundation.sql: ids are hyphenated TEXT, times fixed-width
-- RFC 3339 TEXT in UTC (see hearth-core sqlx_types.rs), booleans INTEGER 0/1.

create table organizations (
    id          text primary key,
    name        text not null,
    time_zone   text not null,
    created_at  text not null,
    updated_at  text not null
) strict;

create table locations (
    id          text primary key,
    org_id      text not null references organizations (id),
    name        text not null,
    time_zone   text not null,
    created_at  text not null,
    updated_at  text not null,
    constraint locations_org_id_name_key unique (org_id, name)
) strict;

create table practitioners (
    id           text primary key,
    org_id       text not null references organizations (id),
    external_id  text,
    given_name   text not null,
    family_name  text not null,
    active       integer not null default 1,
    created_at   text not null,
    updated_at   text not null,
    constraint practitioners_org_id_external_id_key unique (org_id, external_id)
) strict;
create index practitioners_org_id_family_name on practitioners (org_id, family_name);
