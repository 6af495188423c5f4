-- Foundation: tenants, their sites and clinicians. Every tenant-owned table carries org_id.
-- Unique constraints are named <table>_<columns>_key so both backends report the same name.

create table organizations (
    id          uuid primary key,
    name        text not null,
    time_zone   text not null,
    created_at  timestamptz not null,
    updated_at  timestamptz not null
);

create table locations (
    id          uuid primary key,
    org_id      uuid not null references organizations (id),
    name        text not null,
    time_zone   text not null,
    created_at  timestamptz not null,
    updated_at  timestamptz not null,
    constraint locations_org_id_name_key unique (org_id, name)
);

create table practitioners (
    id           uuid primary key,
    org_id       uuid not null references organizations (id),
    external_id  text,
    given_name   text not null,
    family_name  text not null,
    active       boolean not null default true,
    created_at   timestamptz not null,
    updated_at   timestamptz not null,
    constraint practitioners_org_id_external_id_key unique (org_id, external_id)
);
create index practitioners_org_id_family_name on practitioners (org_id, family_name);
