-- Patients: twin of migrations/postgres/0003_patients.sql.

create table patients (
    id                  text primary key,
    org_id              text not null references organizations (id),
    mrn                 text not null,
    status              text not null check (status in ('active', 'inactive', 'deleted', 'merged')),
    family_name         text not null,
    given_names         text not null,
    birth_date          text,
    gender              text check (gender in ('male', 'female', 'other', 'unknown')),
    preferred_language  text,
    preferred_channel   text check (preferred_channel in ('sms', 'whatsapp', 'voice', 'email')),
    time_zone           text,
    document            text not null,
    version             integer not null,
    merged_into         text references patients (id),
    created_at          text not null,
    updated_at          text not null,
    deleted_at          text,
    constraint patients_org_id_mrn_key unique (org_id, mrn)
) strict;
create index patients_org_family on patients (org_id, family_name);
create index patients_org_birth on patients (org_id, birth_date);

create table patient_identifiers (
    org_id      text not null references organizations (id),
    patient_id  text not null references patients (id),
    system      text not null,
    value       text not null,
    constraint patient_identifiers_org_id_system_value_key unique (org_id, system, value)
) strict;
create index patient_identifiers_patient on patient_identifiers (patient_id);

create table patient_contacts (
    org_id      text not null references organizations (id),
    patient_id  text not null references patients (id),
    kind        text not null check (kind in ('phone', 'email')),
    value       text not null
) strict;
create index patient_contacts_lookup on patient_contacts (org_id, kind, value);
create index patient_contacts_patient on patient_contacts (patient_id);

create table mrn_counters (
    org_id  text not null references organizations (id),
    year    integer not null,
    next    integer not null,
    primary key (org_id, year)
) strict;

create table consents (
    id          text primary key,
    org_id      text not null references organizations (id),
    patient_id  text not null references patients (id),
    channel     text not null check (channel in ('sms', 'whatsapp', 'voice', 'email')),
    address     text not null,
    opted_in    integer not null,
    source      text not null check (source in ('keyword', 'staff', 'ehr', 'import', 'patient')),
    words       text,
    recorded_at text not null
) strict;
create index consents_patient on consents (org_id, patient_id, channel, address, recorded_at);

create table patient_events (
    id          text primary key,
    org_id      text not null references organizations (id),
    patient_id  text not null references patients (id),
    kind        text not null,
    payload     text not null,
    at          text not null
) strict;
create index patient_events_org_at on patient_events (org_id, at);
