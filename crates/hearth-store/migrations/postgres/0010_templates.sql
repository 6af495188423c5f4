-- Message templates: an organization's own wording per channel, purpose and language, versioned.
-- Editing adds a version (never rewrites one); `current_version` is the one used while `active`.
-- With no active template of its own, an organization gets the built-in default (in the binary).
-- Also: the organization's default message language, and a per-location `sensitive` flag that
-- forces the minimal variant of appointment messages (no practitioner, type or location details).

alter table organizations add column default_language text not null default 'en';
alter table locations add column sensitive boolean not null default false;

create table message_templates (
    id               uuid primary key,
    org_id           uuid not null references organizations (id),
    channel          text not null,                 -- sms | whatsapp | voice | email
    purpose          text not null,                 -- hearth_core::messaging::Purpose
    language         text not null,                 -- BCP 47 tag, canonical case: en, es, ar, es-MX
    active           boolean not null,
    current_version  bigint not null,
    created_at       timestamptz not null,
    updated_at       timestamptz not null,
    constraint message_templates_org_id_channel_purpose_language_key unique (org_id, channel, purpose, language)
);

create table message_template_versions (
    template_id               uuid not null references message_templates (id),
    version                   bigint not null,
    org_id                    uuid not null references organizations (id),
    subject                   text,                 -- email only
    body                      text not null,
    include_practitioner      boolean not null,
    include_location          boolean not null,
    include_appointment_type  boolean not null,
    created_at                timestamptz not null,
    created_by                text not null,        -- the actor's label, as in the audit trail
    constraint message_template_versions_template_id_version_key primary key (template_id, version)
);
