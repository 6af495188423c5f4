-- Patient search at a million patients (BENCHMARKS.md). A list reads its page's ids from an index that
-- holds every column its filters and its order need, then only those records: by name, by status,
-- or by a family-name prefix as a range of lower(family_name) in code point order (`collate "C"`,
-- whatever the database's collation, as the store queries it).
drop index patients_org_family;
create index patients_org_family on patients (org_id, family_name, given_names, id, status);
create index patients_org_status_family on patients (org_id, status, family_name, given_names, id);
create index patients_org_family_lower
    on patients (org_id, (lower(family_name) collate "C"), family_name, given_names, id, status);
