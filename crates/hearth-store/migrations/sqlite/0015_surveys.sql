-- Twin of migrations/postgres/0015_surveys.sql.
create table questionnaires (
    id          text primary key,
    org_id      text not null references organizations (id),
    url         text not null,
    version     text not null,
    title       text not null,
    builtin     integer not null,
    resource    text not null,
    created_at  text not null,
    created_by  text not null,
    constraint questionnaires_org_id_url_version_key unique (org_id, url, version)
) strict;
create index questionnaires_org_created on questionnaires (org_id, created_at);

create table survey_rules (
    id                 text primary key,
    org_id             text not null references organizations (id),
    name               text not null,
    questionnaire_id   text not null references questionnaires (id),
    trigger_status     text not null,
    practitioner_ids   text not null,
    location_ids       text not null,
    appointment_types  text not null,
    delay_minutes      integer not null,
    once_per_days      integer not null,
    channels           text not null,
    anonymous          integer not null,
    verify_birth_date  integer not null,
    active             integer not null,
    created_at         text not null,
    created_by         text not null
) strict;
create index survey_rules_trigger on survey_rules (org_id, trigger_status, active);

create table survey_invitations (
    id                   text primary key,
    org_id               text not null references organizations (id),
    rule_id              text references survey_rules (id),
    questionnaire_id     text not null references questionnaires (id),
    patient_id           text references patients (id),
    appointment_id       text references appointments (id),
    practitioner_id      text,
    location_id          text,
    appointment_type     text,
    visit_week           text not null,
    token_hash           text,
    channel              text not null,
    language             text not null,
    anonymous            integer not null,
    verify_birth_date    integer not null,
    status               text not null check (status in ('sent', 'opened', 'started', 'completed', 'expired')),
    message_id           text,
    reminder_message_id  text,
    send_at              text not null,
    expires_at           text not null,
    opened_at            text,
    started_at           text,
    completed_at         text,
    verify_failures      integer not null default 0,
    created_at           text not null,
    constraint survey_invitations_token_hash_key unique (token_hash),
    constraint survey_invitations_org_id_rule_id_appointment_id_key unique (org_id, rule_id, appointment_id)
) strict;
create index survey_invitations_patient on survey_invitations (org_id, patient_id, rule_id, created_at);
create index survey_invitations_questionnaire on survey_invitations (org_id, questionnaire_id, send_at);

create table survey_responses (
    id                text primary key,
    org_id            text not null references organizations (id),
    questionnaire_id  text not null references questionnaires (id),
    invitation_id     text references survey_invitations (id),
    patient_id        text references patients (id),
    appointment_id    text references appointments (id),
    practitioner_id   text,
    location_id       text,
    appointment_type  text,
    visit_week        text not null,
    anonymous         integer not null,
    language          text not null,
    resource          text not null,
    scores            text not null,
    authored_at       text not null,
    constraint survey_responses_invitation_id_key unique (invitation_id)
) strict;
create index survey_responses_questionnaire on survey_responses (org_id, questionnaire_id, authored_at);
create index survey_responses_patient on survey_responses (org_id, patient_id);

create table survey_events (
    id                text primary key,
    org_id            text not null references organizations (id),
    invitation_id     text not null references survey_invitations (id),
    questionnaire_id  text not null references questionnaires (id),
    kind              text not null check (kind in ('sent', 'opened', 'started', 'completed', 'expired')),
    at                text not null,
    constraint survey_events_invitation_id_kind_key unique (invitation_id, kind)
) strict;
create index survey_events_funnel on survey_events (org_id, questionnaire_id, kind, at);

create table survey_actions (
    id                text primary key,
    org_id            text not null references organizations (id),
    response_id       text not null references survey_responses (id),
    questionnaire_id  text not null references questionnaires (id),
    rule_name         text not null,
    reason            text not null,
    owner             text not null,
    due_at            text not null,
    status            text not null check (status in ('open', 'done')),
    created_at        text not null,
    constraint survey_actions_response_id_rule_name_key unique (response_id, rule_name)
) strict;
create index survey_actions_open on survey_actions (org_id, status, due_at);

create table survey_webhooks (
    id               text primary key,
    org_id           text not null references organizations (id),
    response_id      text not null references survey_responses (id),
    url              text not null,
    payload          text not null,
    status           text not null check (status in ('pending', 'delivered', 'dead')),
    attempts         integer not null,
    next_attempt_at  text,
    last_error       text,
    created_at       text not null,
    delivered_at     text,
    constraint survey_webhooks_response_id_key unique (response_id)
) strict;
create index survey_webhooks_due on survey_webhooks (status, next_attempt_at);
