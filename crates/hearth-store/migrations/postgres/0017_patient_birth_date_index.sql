-- A list by birth date reads its page's ids from an index that holds every column its filters and its
-- order need (BENCHMARKS.md, patient search), like the lists by name, status and family prefix.
drop index patients_org_birth;
create index patients_org_birth on patients (org_id, birth_date, family_name, given_names, id, status);
