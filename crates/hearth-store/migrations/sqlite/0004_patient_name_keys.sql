-- Twin of migrations/postgres/0004_patient_name_keys.sql.
create table patient_name_keys (
    org_id      text not null references organizations (id),
    patient_id  text not null references patients (id),
    key         text not null,
    primary key (org_id, key, patient_id)
) strict, without rowid;
create index patient_name_keys_patient on patient_name_keys (patient_id);
