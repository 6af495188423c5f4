-- The durable outbox (docs/outbox.md): every outbound message, each send attempt, every status change.
-- A message is written in the transaction of its cause; (org_id, dedup_key) makes that idempotent.
create table messages (
    id               uuid primary key,
    org_id           uuid not null references organizations (id),
    patient_id       uuid references patients (id),
    channel          text not null check (channel in ('sms', 'whatsapp', 'voice', 'email')),
    to_address       text not null,                -- E.164, or an e-mail address
    from_address     text,                         -- null: the provider's default sender
    subject          text,
    body             text not null,
    language         text not null,
    purpose          text not null,                -- reminder, booking_notice, staff_message, …
    dedup_key        text not null,
    cause_type       text,                         -- e.g. appointment
    cause_id         text,
    status           text not null check (status in ('queued', 'sending', 'sent', 'delivered', 'undelivered',
                                                     'failed', 'canceled', 'dead', 'unknown')),
    status_reason    text,                         -- no_consent, expired, staff, needs_review, …
    sender           text not null,                -- pacing key: provider:from
    segments         integer not null,
    attempts         integer not null default 0,
    max_attempts     integer not null,
    next_attempt_at  timestamptz,                  -- null: nothing scheduled (final, or a person decides)
    lease_until      timestamptz,
    lease_owner      text,
    valid_until      timestamptz,                  -- never sent after this
    provider         text,
    provider_id      text,
    error_code       text,
    error_text       text,
    created_at       timestamptz not null,
    updated_at       timestamptz not null,
    sent_at          timestamptz,
    constraint messages_org_id_dedup_key_key unique (org_id, dedup_key)
);
create index messages_due on messages (status, next_attempt_at);
create index messages_sender_due on messages (status, sender, next_attempt_at);
create index messages_lease on messages (status, lease_until);
create index messages_provider on messages (provider, provider_id);
create index messages_org_created on messages (org_id, created_at);
create index messages_org_status on messages (org_id, status, created_at);
create index messages_org_patient on messages (org_id, patient_id, created_at);

create table message_attempts (
    id           uuid primary key,
    org_id       uuid not null references organizations (id),
    message_id   uuid not null references messages (id),
    attempt      integer not null,
    provider     text not null,
    worker       text not null,
    started_at   timestamptz not null,
    finished_at  timestamptz not null,
    latency_ms   integer not null,
    outcome      text not null check (outcome in ('accepted', 'transient', 'rejected')),
    code         text,
    detail       text,
    provider_id  text
);
create index message_attempts_message on message_attempts (message_id, attempt);

create table message_status_history (
    id           bigint generated always as identity primary key,
    org_id       uuid not null references organizations (id),
    message_id   uuid not null references messages (id),
    at           timestamptz not null,
    from_status  text,
    to_status    text not null,
    source       text not null check (source in ('enqueue', 'worker', 'provider', 'staff', 'reconcile')),
    reason       text,
    applied      boolean not null                 -- false: a stale provider report, kept but not applied
);
create index message_status_history_message on message_status_history (message_id, id);

-- The token bucket of each paced sender, shared by every worker.
create table outbox_pacing (
    sender      text primary key,
    tokens      double precision not null,
    updated_us  bigint not null
);

-- A provider can report an opt-out (Twilio 21610): the consent ledger accepts source 'provider'.
alter table consents drop constraint consents_source_check;
alter table consents add constraint consents_source_check
    check (source in ('keyword', 'staff', 'ehr', 'import', 'patient', 'provider'));
create index consents_address on consents (org_id, channel, address, recorded_at);
