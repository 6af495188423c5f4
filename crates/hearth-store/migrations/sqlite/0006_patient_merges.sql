-- Twin of migrations/postgres/0006_patient_merges.sql.
create table patient_merges (
    id           text primary key,
    org_id       text not null references organizations (id),
    survivor_id  text not null references patients (id),
    merged_id    text not null references patients (id),
    moved        text not null,
    merged_by    text not null,
    merged_at    text not null,
    unmerged_at  text
) strict;
create index patient_merges_org on patient_merges (org_id, merged_at);
