-- Twin of migrations/postgres/0011_outbox.sql: the durable outbox (docs/outbox.md).

create table messages (
    id               text primary key,
    org_id           text not null references organizations (id),
    patient_id       text references patients (id),
    channel          text not null check (channel in ('sms', 'whatsapp', 'voice', 'email')),
    to_address       text not null,
    from_address     text,
    subject          text,
    body             text not null,
    language         text not null,
    purpose          text not null,
    dedup_key        text not null,
    cause_type       text,
    cause_id         text,
    status           text not null check (status in ('queued', 'sending', 'sent', 'delivered', 'undelivered',
                                                     'failed', 'canceled', 'dead', 'unknown')),
    status_reason    text,
    sender           text not null,
    segments         integer not null,
    attempts         integer not null default 0,
    max_attempts     integer not null,
    next_attempt_at  text,
    lease_until      text,
    lease_owner      text,
    valid_until      text,
    provider         text,
    provider_id      text,
    error_code       text,
    error_text       text,
    created_at       text not null,
    updated_at       text not null,
    sent_at          text,
    constraint messages_org_id_dedup_key_key unique (org_id, dedup_key)
) strict;
create index messages_due on messages (status, next_attempt_at);
create index messages_sender_due on messages (status, sender, next_attempt_at);
create index messages_lease on messages (status, lease_until);
create index messages_provider on messages (provider, provider_id);
create index messages_org_created on messages (org_id, created_at);
create index messages_org_status on messages (org_id, status, created_at);
create index messages_org_patient on messages (org_id, patient_id, created_at);

create table message_attempts (
    id           text primary key,
    org_id       text not null references organizations (id),
    message_id   text not null references messages (id),
    attempt      integer not null,
    provider     text not null,
    worker       text not null,
    started_at   text not null,
    finished_at  text not null,
    latency_ms   integer not null,
    outcome      text not null check (outcome in ('accepted', 'transient', 'rejected')),
    code         text,
    detail       text,
    provider_id  text
) strict;
create index message_attempts_message on message_attempts (message_id, attempt);

create table message_status_history (
    id           integer primary key autoincrement,
    org_id       text not null references organizations (id),
    message_id   text not null references messages (id),
    at           text not null,
    from_status  text,
    to_status    text not null,
    source       text not null check (source in ('enqueue', 'worker', 'provider', 'staff', 'reconcile')),
    reason       text,
    applied      integer not null
) strict;
create index message_status_history_message on message_status_history (message_id, id);

-- The token bucket of each paced sender, shared by every worker: tokens left at `updated_us`
-- (microseconds since the epoch).
create table outbox_pacing (
    sender      text primary key,
    tokens      real not null,
    updated_us  integer not null
) strict;

-- A provider can report an opt-out (Twilio 21610, "unsubscribed recipient"): the consent ledger
-- accepts source 'provider', and is searchable by address. SQLite cannot alter a check constraint,
-- so the table is rebuilt (nothing references it).
create table consents_new (
    id          text primary key,
    org_id      text not null references organizations (id),
    patient_id  text not null references patients (id),
    channel     text not null check (channel in ('sms', 'whatsapp', 'voice', 'email')),
    address     text not null,
    opted_in    integer not null,
    source      text not null check (source in ('keyword', 'staff', 'ehr', 'import', 'patient', 'provider')),
    words       text,
    recorded_at text not null
) strict;
insert into consents_new (id, org_id, patient_id, channel, address, opted_in, source, words, recorded_at)
    select id, org_id, patient_id, channel, address, opted_in, source, words, recorded_at from consents;
drop table consents;
alter table consents_new rename to consents;
create index consents_patient on consents (org_id, patient_id, channel, address, recorded_at);
create index consents_address on consents (org_id, channel, address, recorded_at);
