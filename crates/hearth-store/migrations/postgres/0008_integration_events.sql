-- Events of patient-experience integrations (PX360 style): stored as received; an arrival or a
-- discharge also moves the matching appointment (by encounter id); the rest is kept for journeys.
-- One row per (source, code, encounter): a resend is a no-op.
create table integration_events (
    id                  uuid primary key,
    org_id              uuid not null references organizations (id),
    source_system       text not null,
    event_code          text not null,
    encounter_id        text not null,
    patient_identifier  text not null,
    payload             text not null,              -- JSON as received
    received_at         timestamptz not null,
    mapped_to           text,                       -- ARRIVED | FULFILLED when the code means that
    appointment_id      uuid references appointments (id),
    outcome             text not null,              -- applied | stale | ignored | kept
    reason              text not null,
    constraint integration_events_org_id_source_system_event_code_encounter_id_key
        unique (org_id, source_system, event_code, encounter_id)
);
create index integration_events_org_received on integration_events (org_id, received_at);
