-- Twin of migrations/postgres/0010_templates.sql.
alter table organizations add column default_language text not null default 'en';
alter table locations add column sensitive integer not null default 0;

create table message_templates (
    id               text primary key,
    org_id           text not null references organizations (id),
    channel          text not null,
    purpose          text not null,
    language         text not null,
    active           integer not null,
    current_version  integer not null,
    created_at       text not null,
    updated_at       text not null,
    constraint message_templates_org_id_channel_purpose_language_key unique (org_id, channel, purpose, language)
) strict;

create table message_template_versions (
    template_id               text not null references message_templates (id),
    version                   integer not null,
    org_id                    text not null references organizations (id),
    subject                   text,
    body                      text not null,
    include_practitioner      integer not null,
    include_location          integer not null,
    include_appointment_type  integer not null,
    created_at                text not null,
    created_by                text not null,
    constraint message_template_versions_template_id_version_key primary key (template_id, version)
) strict;
