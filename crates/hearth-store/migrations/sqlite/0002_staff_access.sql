-- Staff access: users with roles, sessions, MFA recovery codes, API keys, and the audit trail.
-- Twin of migrations/postgres/0002_staff_access.sql.

create table users (
    id                   text primary key,
    org_id               text not null references organizations (id),
    email                text not null,
    display_name         text not null,
    role                 text not null check (role in ('px_admin', 'hospital_admin', 'department_manager',
                             'px_coordinator', 'physician', 'nurse', 'staff', 'viewer')),
    department_id        text references locations (id),
    password_hash        text not null,
    must_change_password integer not null default 0,
    totp_secret          text,
    totp_enabled         integer not null default 0,
    totp_last_step       integer not null default 0,
    failed_logins        integer not null default 0,
    locked_until         text,
    active               integer not null default 1,
    created_at           text not null,
    updated_at           text not null,
    constraint users_email_key unique (email)
) strict;
create index users_org_id on users (org_id, display_name);

create table sessions (
    token_hash    text primary key,
    org_id        text not null references organizations (id),
    user_id       text not null references users (id),
    csrf_token    text not null,
    mfa_passed    integer not null,
    created_at    text not null,
    last_seen_at  text not null,
    expires_at    text not null,
    ip            text,
    user_agent    text
) strict;
create index sessions_user_id on sessions (user_id);

create table recovery_codes (
    org_id     text not null references organizations (id),
    user_id    text not null references users (id),
    code_hash  text not null,
    used_at    text,
    primary key (user_id, code_hash)
) strict;

create table api_keys (
    id            text primary key,
    org_id        text not null references organizations (id),
    name          text not null,
    prefix        text not null,
    key_hash      text not null,
    scopes        text not null,
    created_by    text references users (id),
    created_at    text not null,
    last_used_at  text,
    revoked_at    text,
    constraint api_keys_key_hash_key unique (key_hash)
) strict;
create index api_keys_org_id on api_keys (org_id, created_at);

create table audit_heads (
    org_id     text primary key,
    last_seq   integer not null,
    last_hash  text not null
) strict;

create table audit_events (
    org_id        text not null,
    seq           integer not null,
    id            text not null,
    at            text not null,
    actor_type    text not null,
    actor_id      text,
    actor_label   text,
    action        text not null,
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
) strict;
create index audit_events_org_at on audit_events (org_id, at);
create index audit_events_subject on audit_events (org_id, subject_type, subject_id);

create trigger audit_events_no_update before update on audit_events
begin
    select raise(abort, 'audit_events is append-only');
end;
create trigger audit_events_no_delete before delete on audit_events
begin
    select raise(abort, 'audit_events is append-only');
end;
