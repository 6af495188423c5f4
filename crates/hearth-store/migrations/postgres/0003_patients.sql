-- Patients: a small master patient index. Multi-valued FHIR-shaped fields (names, telecom,
-- addresses, contacts) are JSON documents; what must be unique or searched is copied into indexed
-- side tables written in the same transaction.

create table patients (
    id                  uuid primary key,
    org_id              uuid not null references organizations (id),
    mrn                 text not null,
    status              text not null check (status in ('active', 'inactive', 'deleted', 'merged')),
    family_name         text not null,
    given_names         text not null,              -- space-separated, for display and search
    birth_date          text,                       -- YYYY-MM-DD
    gender              text check (gender in ('male', 'female', 'other', 'unknown')),
    preferred_language  text,                       -- BCP 47, e.g. en, es, ar
    preferred_channel   text check (preferred_channel in ('sms', 'whatsapp', 'voice', 'email')),
    time_zone           text,
    document            text not null,              -- the full record as JSON (PatientDocument)
    version             bigint not null,
    merged_into         uuid references patients (id),
    created_at          timestamptz not null,
    updated_at          timestamptz not null,
    deleted_at          timestamptz,
    constraint patients_org_id_mrn_key unique (org_id, mrn)
);
create index patients_org_family on patients (org_id, family_name);
create index patients_org_birth on patients (org_id, birth_date);

create table patient_identifiers (
    org_id      uuid not null references organizations (id),
    patient_id  uuid not null references patients (id),
    system      text not null,
    value       text not null,
    constraint patient_identifiers_org_id_system_value_key unique (org_id, system, value)
);
create index patient_identifiers_patient on patient_identifiers (patient_id);

-- Normalized phones (E.164) and e-mails (lower-cased) for lookup; a family may share one.
create table patient_contacts (
    org_id      uuid not null references organizations (id),
    patient_id  uuid not null references patients (id),
    kind        text not null check (kind in ('phone', 'email')),
    value       text not null
);
create index patient_contacts_lookup on patient_contacts (org_id, kind, value);
create index patient_contacts_patient on patient_contacts (patient_id);

create table mrn_counters (
    org_id  uuid not null references organizations (id),
    year    integer not null,
    next    bigint not null,
    primary key (org_id, year)
);

-- The consent ledger: every opt-in and opt-out, never updated. Current consent is the latest entry
-- per (patient, channel, address).
create table consents (
    id          uuid primary key,
    org_id      uuid not null references organizations (id),
    patient_id  uuid not null references patients (id),
    channel     text not null check (channel in ('sms', 'whatsapp', 'voice', 'email')),
    address     text not null,
    opted_in    boolean not null,
    source      text not null check (source in ('keyword', 'staff', 'ehr', 'import', 'patient')),
    words       text,
    recorded_at timestamptz not null
);
create index consents_patient on consents (org_id, patient_id, channel, address, recorded_at);

-- Lifecycle events (patient.created, .updated, .merged, .deleted) for later modules and webhooks.
create table patient_events (
    id          uuid primary key,
    org_id      uuid not null references organizations (id),
    patient_id  uuid not null references patients (id),
    kind        text not null,
    payload     text not null,
    at          timestamptz not null
);
create index patient_events_org_at on patient_events (org_id, at);
