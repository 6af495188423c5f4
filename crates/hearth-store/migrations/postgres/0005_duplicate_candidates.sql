-- The duplicate review queue: one row per pair of patients (patient_a < patient_b) that scored as a
-- possible duplicate. Decisions (not_duplicate, merged) are kept so a pair is not proposed again.
create table duplicate_candidates (
    id           uuid primary key,
    org_id       uuid not null references organizations (id),
    patient_a    uuid not null references patients (id),
    patient_b    uuid not null references patients (id),
    score        double precision not null,
    explanation  text not null,
    status       text not null check (status in ('pending', 'not_duplicate', 'merged')),
    decided_by   text,
    created_at   timestamptz not null,
    updated_at   timestamptz not null,
    constraint duplicate_candidates_org_id_patient_a_patient_b_key unique (org_id, patient_a, patient_b),
    check (patient_a < patient_b)
);
create index duplicate_candidates_queue on duplicate_candidates (org_id, status, score);
