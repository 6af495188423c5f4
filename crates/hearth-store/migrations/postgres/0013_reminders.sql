-- Reminder scheduling (docs/reminders.md).
--
-- `reminder_rules`: the organization's rule, and overrides per location or appointment type (the most
-- specific wins: type, then location, then organization, then the spec's default).
--
-- `outreach_work`: what changed and still has to be planned, one row per applied appointment event
-- (or rule change), written in the transaction of the change. A worker takes a patient's rows, sends
-- the event notices they name and re-plans the patient's reminders into the outbox, and deletes the
-- rows, all in one transaction: a crash loses nothing and does nothing twice.
--
-- `reminder_decisions`: what the planner decided for reminder k of an appointment at one start time
-- (sent by which message, deferred to when, skipped or dropped and why): the appointment's history.
create table reminder_rules (
    org_id      uuid not null references organizations (id),
    scope       text not null,              -- organization | location | appointment_type
    scope_key   text not null,              -- '' | location id | appointment type code
    rule        text not null,              -- JSON (hearth_core::outreach::Rule)
    updated_at  timestamptz not null,
    primary key (org_id, scope, scope_key)
);

create table outreach_work (
    id              uuid primary key,
    org_id          uuid not null references organizations (id),
    patient_id      uuid not null references patients (id),
    appointment_id  uuid references appointments (id),
    event_id        uuid,                    -- the appointment event that caused it
    notices         text not null,           -- comma-separated notice names; '' = re-plan only
    previous_start  timestamptz,             -- the start before a reschedule (for its notice)
    created_at      timestamptz not null
);
create index outreach_work_order on outreach_work (created_at, id);
create index outreach_work_patient on outreach_work (org_id, patient_id);

create table reminder_decisions (
    id              uuid primary key,
    org_id          uuid not null references organizations (id),
    appointment_id  uuid not null references appointments (id),
    k               integer not null,
    start_at        timestamptz not null,
    patient_id      uuid not null references patients (id),
    offset_text     text not null,
    due_at          timestamptz not null,
    send_at         timestamptz,
    decision        text not null,           -- send | skipped | dropped
    reason          text,
    moved_by        text,
    message_id      uuid,
    decided_at      timestamptz not null,
    constraint reminder_decisions_appointment_id_k_start_at_key unique (appointment_id, k, start_at)
);
create index reminder_decisions_org_appointment on reminder_decisions (org_id, appointment_id);
create index reminder_decisions_patient on reminder_decisions (org_id, patient_id);

-- Message history sources: the scheduler (a re-plan moves or cancels a queued reminder) and replies
-- (a STOP cancels what is queued to that number).
alter table message_status_history drop constraint message_status_history_source_check;
alter table message_status_history add constraint message_status_history_source_check
    check (source in ('enqueue', 'worker', 'provider', 'staff', 'reconcile', 'scheduler', 'reply'));
