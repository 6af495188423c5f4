-- Twin of migrations/postgres/0005_duplicate_candidates.sql.
create table duplicate_candidates (
    id           text primary key,
    org_id       text not null references organizations (id),
    patient_a    text not null references patients (id),
    patient_b    text not null references patients (id),
    score        real not null,
    explanation  text not null,
    status       text not null check (status in ('pending', 'not_duplicate', 'merged')),
    decided_by   text,
    created_at   text not null,
    updated_at   text not null,
    constraint duplicate_candidates_org_id_patient_a_patient_b_key unique (org_id, patient_a, patient_b),
    check (patient_a < patient_b)
) strict;
create index duplicate_candidates_queue on duplicate_candidates (org_id, status, score);
