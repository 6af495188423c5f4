-- Twin of migrations/postgres/0014_replies.sql: patient replies, the staff inbox, EHR write-back.
create table replies (
    id                 text primary key references inbound_messages (id),
    org_id             text not null references organizations (id),
    channel            text not null check (channel in ('sms', 'whatsapp', 'voice')),
    from_address       text not null,
    body               text not null,
    received_at        text not null,
    kind               text not null check (kind in ('opt_out', 'opt_in', 'help', 'confirm', 'cancel', 'other')),
    normalized         text not null,
    reads_as_opt_out   integer not null,
    outcome            text not null,
    patients_on_number integer not null,
    patient_id         text references patients (id),
    appointment_id     text references appointments (id),
    prompt_message_id  text references messages (id),
    inbox_status       text check (inbox_status in ('open', 'assigned', 'done')),
    assigned_to        text references users (id),
    assigned_at        text,
    done_at            text,
    done_by            text references users (id),
    updated_at         text not null
) strict;
create index replies_inbox on replies (org_id, inbox_status, received_at);
create index replies_patient on replies (org_id, patient_id, received_at);
create index replies_from on replies (org_id, from_address, received_at);

create table reply_appointments (
    org_id          text not null references organizations (id),
    reply_id        text not null references replies (id),
    appointment_id  text not null references appointments (id),
    primary key (reply_id, appointment_id)
) strict;
create index reply_appointments_appointment on reply_appointments (org_id, appointment_id);

create table ehr_requests (
    id               text primary key,
    org_id           text not null references organizations (id),
    reply_id         text not null references replies (id),
    appointment_id   text not null references appointments (id),
    patient_id       text not null references patients (id),
    kind             text not null check (kind in ('confirm', 'cancel')),
    method           text not null check (method in ('webhook', 'fhir')),
    payload          text not null,
    status           text not null check (status in ('queued', 'sending', 'delivered', 'failed', 'dead')),
    attempts         integer not null default 0,
    max_attempts     integer not null,
    next_attempt_at  text,
    lease_until      text,
    lease_owner      text,
    response_code    text,
    error_text       text,
    created_at       text not null,
    updated_at       text not null,
    delivered_at     text,
    constraint ehr_requests_reply_id_appointment_id_key unique (reply_id, appointment_id)
) strict;
create index ehr_requests_due on ehr_requests (status, next_attempt_at);
create index ehr_requests_lease on ehr_requests (status, lease_until);
create index ehr_requests_appointment on ehr_requests (org_id, appointment_id, created_at);

create index messages_org_to on messages (org_id, to_address, created_at);
