-- Keys for typo-tolerant, phonetic name search: t:<token> and p:<double metaphone code> per name
-- token. Candidates are selected by key; ranking happens in Hearth.
create table patient_name_keys (
    org_id      uuid not null references organizations (id),
    patient_id  uuid not null references patients (id),
    key         text not null,
    primary key (org_id, key, patient_id)
);
create index patient_name_keys_patient on patient_name_keys (patient_id);
