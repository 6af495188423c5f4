-- Staff access: users with roles, sessions, MFA recovery codes, API keys, and the audit trail.

create table users (
    id                   uuid primary key,
    org_id               uuid not null references organizations (id),
    email                text not null,            -- lower-cased; one account per address
    display_name         text not null,
    role                 text not null check (role in ('px_admin', 'hospital_admin', 'department_manager',
                             'px_coordinator', 'physician', 'nurse', 'staff', 'viewer')),
    department_id        uuid references locations (id),
    password_hash        text not null,            -- Argon2id PHC string
    must_change_password boolean not null default false,
    totp_secret          text,                     -- base32; set at enrolment
    totp_enabled         boolean not null default false,
    totp_last_step       bigint not null default 0, -- replay protection
    failed_logins        integer not null default 0,
    locked_until         timestamptz,
    active               boolean not null default true,
    created_at           timestamptz not null,
    updated_at           timestamptz not null,
    constraint users_email_key unique (email)
);
create index users_org_id on users (org_id, display_name);

create table sessions (
    token_hash    text primary key,                -- SHA-256 of the cookie value
    org_id        uuid not null references organizations (id),
    user_id       uuid not null references users (id),
    csrf_token    text not null,
    mfa_passed    boolean not null,
    created_at    timestamptz not null,
    last_seen_at  timestamptz not null,
    expires_at    timestamptz not null,           -- absolute expiry
    ip            text,
    user_agent    text
);
create index sessions_user_id on sessions (user_id);

create table recovery_codes (
    org_id     uuid not null references organizations (id),
    user_id    uuid not null references users (id),
    code_hash  text not null,
    used_at    timestamptz,
    primary key (user_id, code_hash)
);

create table api_keys (
    id            uuid primary key,
    org_id        uuid not null references organizations (id),
    name          text not null,
    prefix        text not null,                   -- first characters, shown in lists
    key_hash      text not null,
    scopes        text not null,                   -- comma-separated: ingest, read, write, admin
    created_by    uuid references users (id),
    created_at    timestamptz not null,
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    constraint api_keys_key_hash_key unique (key_hash)
);
create index api_keys_org_id on api_keys (org_id, created_at);

-- One hash chain per organization (the nil uuid holds events with no organization, such as a failed
-- sign-in for an unknown address). audit_heads serializes appends: a writer locks its org's head row.
create table audit_heads (
    org_id     uuid primary key,
    last_seq   bigint not null,
    last_hash  text not null
);

create table audit_events (
    org_id        uuid not null,
    seq           bigint not null,
    id            uuid not null,
    at            timestamptz not null,
    actor_type    text not null,                   -- user | api_key | system | anonymous
    actor_id      text,
    actor_label   text,
    action        text not null,                   -- e.g. user.create, auth.login_failed, patient.read
    subject_type  text,
    subject_id    text,
    ip            text,
    user_agent    text,
    request_id    text,
    before_json   text,
    after_json    text,
    prev_hash     text not null,
    hash          text not null,
    primary key (org_id, seq),
    constraint audit_events_id_key unique (id)
);
create index audit_events_org_at on audit_events (org_id, at);
create index audit_events_subject on audit_events (org_id, subject_type, subject_id);

create function audit_events_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'audit_events is append-only';
end;
$$;
create trigger audit_events_no_update before update or delete on audit_events
    for each row execute function audit_events_append_only();
