-- Merges: which record survived, which was merged into it, and exactly which rows moved, so a merge
-- can be undone.
create table patient_merges (
    id           uuid primary key,
    org_id       uuid not null references organizations (id),
    survivor_id  uuid not null references patients (id),
    merged_id    uuid not null references patients (id),
    moved        text not null,                   -- JSON: {"<table>": ["<row id>", …]}
    merged_by    text not null,
    merged_at    timestamptz not null,
    unmerged_at  timestamptz
);
create index patient_merges_org on patient_merges (org_id, merged_at);
