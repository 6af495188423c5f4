-- Twin of migrations/postgres/0013_reminders.sql.
create table reminder_rules (
    org_id      text not null references organizations (id),
    scope       text not null,              -- organization | location | appointment_type
    scope_key   text not null,              -- '' | location id | appointment type code
    rule        text not null,              -- JSON (hearth_core::outreach::Rule)
    updated_at  text not null,
    primary key (org_id, scope, scope_key)
) strict;

create table outreach_work (
    id              text primary key,
    org_id          text not null references organizations (id),
    patient_id      text not null references patients (id),
    appointment_id  text references appointments (id),
    event_id        text,                    -- the appointment event that caused it
    notices         text not null,           -- comma-separated notice names; '' = re-plan only
    previous_start  text,                    -- the start before a reschedule (for its notice)
    created_at      text not null
) strict;
create index outreach_work_order on outreach_work (created_at, id);
create index outreach_work_patient on outreach_work (org_id, patient_id);

create table reminder_decisions (
    id              text primary key,
    org_id          text not null references organizations (id),
    appointment_id  text not null references appointments (id),
    k               integer not null,
    start_at        text not null,
    patient_id      text not null references patients (id),
    offset_text     text not null,
    due_at          text not null,
    send_at         text,
    decision        text not null,           -- send | skipped | dropped
    reason          text,
    moved_by        text,
    message_id      text,
    decided_at      text not null,
    constraint reminder_decisions_appointment_id_k_start_at_key unique (appointment_id, k, start_at)
) strict;
create index reminder_decisions_org_appointment on reminder_decisions (org_id, appointment_id);
create index reminder_decisions_patient on reminder_decisions (org_id, patient_id);

-- Message history sources: the scheduler and replies (SQLite changes a check by rebuilding).
create table message_status_history_new (
    id           integer primary key autoincrement,
    org_id       text not null references organizations (id),
    message_id   text not null references messages (id),
    at           text not null,
    from_status  text,
    to_status    text not null,
    source       text not null
                 check (source in ('enqueue', 'worker', 'provider', 'staff', 'reconcile', 'scheduler', 'reply')),
    reason       text,
    applied      integer not null
) strict;
insert into message_status_history_new select * from message_status_history;
drop table message_status_history;
alter table message_status_history_new rename to message_status_history;
create index message_status_history_message on message_status_history (message_id, id);
