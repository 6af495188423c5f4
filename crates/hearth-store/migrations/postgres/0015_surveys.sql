-- Surveys (docs/surveys.md): imported Questionnaires (one row per url + version, never rewritten),
-- distribution rules, invitations (only the SHA-256 of a link's token is stored; it is cleared once
-- the survey is answered), completed responses (a FHIR QuestionnaireResponse plus scores; an
-- anonymous response keeps only the practitioner, location, type and week of the visit), the funnel
-- events, follow-up actions opened by score rules, and completion webhook deliveries.

create table questionnaires (
    id          uuid primary key,
    org_id      uuid not null references organizations (id),
    url         text not null,
    version     text not null,
    title       text not null,
    builtin     boolean not null,
    resource    text not null,                         -- the Questionnaire JSON as imported
    created_at  timestamptz not null,
    created_by  text not null,
    constraint questionnaires_org_id_url_version_key unique (org_id, url, version)
);
create index questionnaires_org_created on questionnaires (org_id, created_at);

create table survey_rules (
    id                 uuid primary key,
    org_id             uuid not null references organizations (id),
    name               text not null,
    questionnaire_id   uuid not null references questionnaires (id),
    trigger_status     text not null,                  -- FHIR Appointment.status, e.g. fulfilled
    practitioner_ids   text not null,                  -- JSON array of ids; [] = any
    location_ids       text not null,                  -- JSON array of ids; [] = any
    appointment_types  text not null,                  -- JSON array of types; [] = any
    delay_minutes      bigint not null,
    once_per_days      bigint not null,                -- at most one invitation per patient in this many days
    channels           text not null,                  -- JSON array, in order of preference
    anonymous          boolean not null,
    verify_birth_date  boolean not null,
    active             boolean not null,
    created_at         timestamptz not null,
    created_by         text not null
);
create index survey_rules_trigger on survey_rules (org_id, trigger_status, active);

create table survey_invitations (
    id                   uuid primary key,
    org_id               uuid not null references organizations (id),
    rule_id              uuid references survey_rules (id),
    questionnaire_id     uuid not null references questionnaires (id),
    patient_id           uuid references patients (id),
    appointment_id       uuid references appointments (id),
    practitioner_id      uuid,
    location_id          uuid,
    appointment_type     text,
    visit_week           text not null,                -- ISO week of the visit, e.g. 2026-W02
    token_hash           text,                         -- hex SHA-256 of the link's token; null once answered
    channel              text not null,
    language             text not null,
    anonymous            boolean not null,
    verify_birth_date    boolean not null,
    status               text not null check (status in ('sent', 'opened', 'started', 'completed', 'expired')),
    message_id           uuid,
    reminder_message_id  uuid,
    send_at              timestamptz not null,
    expires_at           timestamptz not null,
    opened_at            timestamptz,
    started_at           timestamptz,
    completed_at         timestamptz,
    verify_failures      bigint not null default 0,
    created_at           timestamptz not null,
    constraint survey_invitations_token_hash_key unique (token_hash),
    constraint survey_invitations_org_id_rule_id_appointment_id_key unique (org_id, rule_id, appointment_id)
);
create index survey_invitations_patient on survey_invitations (org_id, patient_id, rule_id, created_at);
create index survey_invitations_questionnaire on survey_invitations (org_id, questionnaire_id, send_at);

create table survey_responses (
    id                uuid primary key,
    org_id            uuid not null references organizations (id),
    questionnaire_id  uuid not null references questionnaires (id),
    invitation_id     uuid references survey_invitations (id),   -- null when anonymous
    patient_id        uuid references patients (id),             -- null when anonymous
    appointment_id    uuid references appointments (id),         -- null when anonymous
    practitioner_id   uuid,
    location_id       uuid,
    appointment_type  text,
    visit_week        text not null,
    anonymous         boolean not null,
    language          text not null,
    resource          text not null,                             -- FHIR QuestionnaireResponse JSON
    scores            text not null,                             -- JSON array of computed scores
    authored_at       timestamptz not null,                      -- anonymous: the Monday of the week
    constraint survey_responses_invitation_id_key unique (invitation_id)
);
create index survey_responses_questionnaire on survey_responses (org_id, questionnaire_id, authored_at);
create index survey_responses_patient on survey_responses (org_id, patient_id);

create table survey_events (
    id                uuid primary key,
    org_id            uuid not null references organizations (id),
    invitation_id     uuid not null references survey_invitations (id),
    questionnaire_id  uuid not null references questionnaires (id),
    kind              text not null check (kind in ('sent', 'opened', 'started', 'completed', 'expired')),
    at                timestamptz not null,
    constraint survey_events_invitation_id_kind_key unique (invitation_id, kind)
);
create index survey_events_funnel on survey_events (org_id, questionnaire_id, kind, at);

create table survey_actions (
    id                uuid primary key,
    org_id            uuid not null references organizations (id),
    response_id       uuid not null references survey_responses (id),
    questionnaire_id  uuid not null references questionnaires (id),
    rule_name         text not null,
    reason            text not null,
    owner             text not null,                  -- a role or a staff e-mail address
    due_at            timestamptz not null,
    status            text not null check (status in ('open', 'done')),
    created_at        timestamptz not null,
    constraint survey_actions_response_id_rule_name_key unique (response_id, rule_name)
);
create index survey_actions_open on survey_actions (org_id, status, due_at);

create table survey_webhooks (
    id               uuid primary key,
    org_id           uuid not null references organizations (id),
    response_id      uuid not null references survey_responses (id),
    url              text not null,
    payload          text not null,
    status           text not null check (status in ('pending', 'delivered', 'dead')),
    attempts         bigint not null,
    next_attempt_at  timestamptz,
    last_error       text,
    created_at       timestamptz not null,
    delivered_at     timestamptz,
    constraint survey_webhooks_response_id_key unique (response_id)
);
create index survey_webhooks_due on survey_webhooks (status, next_attempt_at);
