-- Twin of migrations/postgres/0008_integration_events.sql.
create table integration_events (
    id                  text primary key,
    org_id              text not null references organizations (id),
    source_system       text not null,
    event_code          text not null,
    encounter_id        text not null,
    patient_identifier  text not null,
    payload             text not null,
    received_at         text not null,
    mapped_to           text,
    appointment_id      text references appointments (id),
    outcome             text not null,
    reason              text not null,
    constraint integration_events_org_id_source_system_event_code_encounter_id_key
        unique (org_id, source_system, event_code, encounter_id)
) strict;
create index integration_events_org_received on integration_events (org_id, received_at);
