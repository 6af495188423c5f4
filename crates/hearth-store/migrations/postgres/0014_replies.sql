-- Patient replies (docs/replies.md): what each inbound message meant and what was done about it,
-- the staff inbox (replies a person must read), and the confirm/cancel requests written back to the
-- EHR through their own small outbox (claimed with leases, retried with the outbox's backoff).

-- One row per processed reply; `id` is the inbound message's id. `kind` is the classifier's verdict,
-- `outcome` what processing did. `patient_id`/`appointment_id` are the likely patient and appointment
-- (the prompt the reply answered, else the only patient with that number). `inbox_status` is null
-- for replies handled automatically; open → assigned → done for the ones a person must read.
create table replies (
    id                 uuid primary key references inbound_messages (id),
    org_id             uuid not null references organizations (id),
    channel            text not null check (channel in ('sms', 'whatsapp', 'voice')),
    from_address       text not null,              -- E.164
    body               text not null,
    received_at        timestamptz not null,
    kind               text not null check (kind in ('opt_out', 'opt_in', 'help', 'confirm', 'cancel', 'other')),
    normalized         text not null,
    reads_as_opt_out   boolean not null,
    outcome            text not null,              -- opted_out | opted_in | help_sent | confirm_requested | …
    patients_on_number integer not null,
    patient_id         uuid references patients (id),
    appointment_id     uuid references appointments (id),
    prompt_message_id  uuid references messages (id),
    inbox_status       text check (inbox_status in ('open', 'assigned', 'done')),
    assigned_to        uuid references users (id),
    assigned_at        timestamptz,
    done_at            timestamptz,
    done_by            uuid references users (id),
    updated_at         timestamptz not null
);
create index replies_inbox on replies (org_id, inbox_status, received_at);
create index replies_patient on replies (org_id, patient_id, received_at);
create index replies_from on replies (org_id, from_address, received_at);

-- Every appointment a reply was about (a combined reminder names several).
create table reply_appointments (
    org_id          uuid not null references organizations (id),
    reply_id        uuid not null references replies (id),
    appointment_id  uuid not null references appointments (id),
    primary key (reply_id, appointment_id)
);
create index reply_appointments_appointment on reply_appointments (org_id, appointment_id);

-- A patient's confirm or cancel request on its way to the EHR. `payload` is the exact body sent
-- (the same on every attempt; `request_id` in it lets the EHR drop a repeat).
create table ehr_requests (
    id               uuid primary key,
    org_id           uuid not null references organizations (id),
    reply_id         uuid not null references replies (id),
    appointment_id   uuid not null references appointments (id),
    patient_id       uuid not null references patients (id),
    kind             text not null check (kind in ('confirm', 'cancel')),
    method           text not null check (method in ('webhook', 'fhir')),
    payload          text not null,
    status           text not null check (status in ('queued', 'sending', 'delivered', 'failed', 'dead')),
    attempts         integer not null default 0,
    max_attempts     integer not null,
    next_attempt_at  timestamptz,                  -- null: nothing scheduled (final)
    lease_until      timestamptz,
    lease_owner      text,
    response_code    text,                         -- the EHR's HTTP status (or a network error kind)
    error_text       text,
    created_at       timestamptz not null,
    updated_at       timestamptz not null,
    delivered_at     timestamptz,
    constraint ehr_requests_reply_id_appointment_id_key unique (reply_id, appointment_id)
);
create index ehr_requests_due on ehr_requests (status, next_attempt_at);
create index ehr_requests_lease on ehr_requests (status, lease_until);
create index ehr_requests_appointment on ehr_requests (org_id, appointment_id, created_at);

-- The prompts a reply may answer, and the queued outreach a STOP cancels: by number.
create index messages_org_to on messages (org_id, to_address, created_at);
