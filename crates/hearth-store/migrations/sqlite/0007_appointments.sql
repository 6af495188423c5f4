-- Twin of migrations/postgres/0007_appointments.sql.
create table appointments (
    id                    text primary key,
    org_id                text not null references organizations (id),
    source                text not null,
    external_id           text not null,
    patient_id            text not null references patients (id),
    practitioner_id       text references practitioners (id),
    location_id           text references locations (id),
    appointment_type      text,
    start_at              text not null,
    time_zone             text not null,
    duration_minutes      integer,
    status                text not null,
    reminders             text not null,
    participant_accepted  integer not null default 0,
    last_applied_at       text,
    created_at            text not null,
    updated_at            text not null,
    constraint appointments_org_id_source_external_id_key unique (org_id, source, external_id)
) strict;
create index appointments_org_start on appointments (org_id, start_at);
create index appointments_org_patient on appointments (org_id, patient_id);

create table appointment_events (
    id                 text primary key,
    org_id             text not null references organizations (id),
    appointment_id     text references appointments (id),
    source             text not null,
    source_message_id  text not null,
    event_type         text,
    event_at           text,
    received_at        text not null,
    payload            text not null,
    outcome            text not null,
    reason             text not null,
    result             text not null,
    constraint appointment_events_org_id_source_source_message_id_key unique (org_id, source, source_message_id)
) strict;
create index appointment_events_appointment on appointment_events (appointment_id, received_at);
create index appointment_events_org_received on appointment_events (org_id, received_at);
