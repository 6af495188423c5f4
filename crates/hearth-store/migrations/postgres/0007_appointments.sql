-- Appointments and every event received about them. (source, external_id) is the EHR's key;
-- (source, source_message_id) makes ingest idempotent; `result` is the answer given the first time,
-- returned again on a replay.
create table appointments (
    id                    uuid primary key,
    org_id                uuid not null references organizations (id),
    source                text not null,
    external_id           text not null,
    patient_id            uuid not null references patients (id),
    practitioner_id       uuid references practitioners (id),
    location_id           uuid references locations (id),
    appointment_type      text,
    start_at              timestamptz not null,
    time_zone             text not null,                -- IANA name, or a fixed offset ±HH:MM
    duration_minutes      integer,
    status                text not null,                -- FHIR Appointment.status
    reminders             text not null,                -- pending:k | done | suppressed:reason | expired
    participant_accepted  boolean not null default false,
    last_applied_at       timestamptz,
    created_at            timestamptz not null,
    updated_at            timestamptz not null,
    constraint appointments_org_id_source_external_id_key unique (org_id, source, external_id)
);
create index appointments_org_start on appointments (org_id, start_at);
create index appointments_org_patient on appointments (org_id, patient_id);

create table appointment_events (
    id                 uuid primary key,
    org_id             uuid not null references organizations (id),
    appointment_id     uuid references appointments (id),
    source             text not null,
    source_message_id  text not null,
    event_type         text,
    event_at           timestamptz,
    received_at        timestamptz not null,
    payload            text not null,                 -- the event as received (canonical JSON)
    outcome            text not null,                 -- applied | stale | ignored | rejected
    reason             text not null,
    result             text not null,                 -- JSON answer given for this event
    constraint appointment_events_org_id_source_source_message_id_key unique (org_id, source, source_message_id)
);
create index appointment_events_appointment on appointment_events (appointment_id, received_at);
create index appointment_events_org_received on appointment_events (org_id, received_at);
