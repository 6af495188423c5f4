//! Surveys: Questionnaires (one row per url + version), distribution rules, invitations (by token
//! hash), responses, the funnel, follow-up actions and completion webhooks. See migration 0015.

use hearth_core::survey::{
    QuestionnaireId, SurveyActionId, SurveyEventId, SurveyInvitationId, SurveyResponseId, SurveyRuleId,
    SurveyWebhookId,
};
use hearth_core::{AppointmentId, LocationId, MessageId, OrgId, PatientId, PractitionerId, UtcTime};

use crate::patients::PatientRow;
use crate::{Store, StoreError, Tx};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct QuestionnaireRow {
    pub id: QuestionnaireId,
    pub org_id: OrgId,
    pub url: String,
    pub version: String,
    pub title: String,
    pub builtin: bool,
    pub resource: String,
    pub created_at: UtcTime,
    pub created_by: String,
}

const Q_COLUMNS: &str = "id, org_id, url, version, title, builtin, resource, created_at, created_by";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SurveyRuleRow {
    pub id: SurveyRuleId,
    pub org_id: OrgId,
    pub name: String,
    pub questionnaire_id: QuestionnaireId,
    pub trigger_status: String,
    /// JSON arrays; empty = any.
    pub practitioner_ids: String,
    pub location_ids: String,
    pub appointment_types: String,
    pub delay_minutes: i64,
    pub once_per_days: i64,
    /// JSON array of channels, in order of preference.
    pub channels: String,
    pub anonymous: bool,
    pub verify_birth_date: bool,
    pub active: bool,
    pub created_at: UtcTime,
    pub created_by: String,
}

const RULE_COLUMNS: &str = "id, org_id, name, questionnaire_id, trigger_status, practitioner_ids, location_ids,
     appointment_types, delay_minutes, once_per_days, channels, anonymous, verify_birth_date, active, created_at,
     created_by";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InvitationRow {
    pub id: SurveyInvitationId,
    pub org_id: OrgId,
    pub rule_id: Option<SurveyRuleId>,
    pub questionnaire_id: QuestionnaireId,
    pub patient_id: Option<PatientId>,
    pub appointment_id: Option<AppointmentId>,
    pub practitioner_id: Option<PractitionerId>,
    pub location_id: Option<LocationId>,
    pub appointment_type: Option<String>,
    pub visit_week: String,
    pub token_hash: Option<String>,
    pub channel: String,
    pub language: String,
    pub anonymous: bool,
    pub verify_birth_date: bool,
    /// sent | opened | started | completed | expired
    pub status: String,
    pub message_id: Option<MessageId>,
    pub reminder_message_id: Option<MessageId>,
    pub send_at: UtcTime,
    pub expires_at: UtcTime,
    pub opened_at: Option<UtcTime>,
    pub started_at: Option<UtcTime>,
    pub completed_at: Option<UtcTime>,
    pub verify_failures: i64,
    pub created_at: UtcTime,
}

const INV_COLUMNS: &str = "id, org_id, rule_id, questionnaire_id, patient_id, appointment_id, practitioner_id,
     location_id, appointment_type, visit_week, token_hash, channel, language, anonymous, verify_birth_date, status,
     message_id, reminder_message_id, send_at, expires_at, opened_at, started_at, completed_at, verify_failures,
     created_at";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ResponseRow {
    pub id: SurveyResponseId,
    pub org_id: OrgId,
    pub questionnaire_id: QuestionnaireId,
    pub invitation_id: Option<SurveyInvitationId>,
    pub patient_id: Option<PatientId>,
    pub appointment_id: Option<AppointmentId>,
    pub practitioner_id: Option<PractitionerId>,
    pub location_id: Option<LocationId>,
    pub appointment_type: Option<String>,
    pub visit_week: String,
    pub anonymous: bool,
    pub language: String,
    pub resource: String,
    pub scores: String,
    pub authored_at: UtcTime,
}

pub(crate) const RESP_COLUMNS: &str =
    "id, org_id, questionnaire_id, invitation_id, patient_id, appointment_id, practitioner_id,
     location_id, appointment_type, visit_week, anonymous, language, resource, scores, authored_at";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ActionRow {
    pub id: SurveyActionId,
    pub org_id: OrgId,
    pub response_id: SurveyResponseId,
    pub questionnaire_id: QuestionnaireId,
    pub rule_name: String,
    pub reason: String,
    pub owner: String,
    pub due_at: UtcTime,
    pub status: String,
    pub created_at: UtcTime,
}

const ACTION_COLUMNS: &str =
    "id, org_id, response_id, questionnaire_id, rule_name, reason, owner, due_at, status, created_at";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: SurveyWebhookId,
    pub org_id: OrgId,
    pub response_id: SurveyResponseId,
    pub url: String,
    pub payload: String,
    /// pending | delivered | dead
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<UtcTime>,
    pub last_error: Option<String>,
    pub created_at: UtcTime,
    pub delivered_at: Option<UtcTime>,
}

const HOOK_COLUMNS: &str = "id, org_id, response_id, url, payload, status, attempts, next_attempt_at, last_error, created_at, delivered_at";

/// Funnel counts of one questionnaire: (kind, count).
pub type FunnelCounts = Vec<(String, i64)>;

impl Tx {
    /// Inserts a Questionnaire version; false when that url + version already exists.
    pub async fn insert_questionnaire(&mut self, q: &QuestionnaireRow) -> Result<bool, StoreError> {
        let sql = format!(
            "insert into questionnaires ({Q_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             on conflict (org_id, url, version) do nothing"
        );
        Ok(on_tx!(self, |c| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(q.id)
            .bind(q.org_id)
            .bind(&q.url)
            .bind(&q.version)
            .bind(&q.title)
            .bind(q.builtin)
            .bind(&q.resource)
            .bind(q.created_at)
            .bind(&q.created_by)
            .execute(c)
            .await
            .map(|r| r.rows_affected() == 1))?)
    }

    pub async fn questionnaire_in_tx(
        &mut self,
        org: OrgId,
        id: QuestionnaireId,
    ) -> Result<QuestionnaireRow, StoreError> {
        let sql = format!("select {Q_COLUMNS} from questionnaires where org_id = $1 and id = $2");
        Ok(on_tx!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org).bind(id).fetch_one(c).await)?)
    }

    pub async fn insert_survey_rule(&mut self, r: &SurveyRuleRow) -> Result<(), StoreError> {
        let sql = format!(
            "insert into survey_rules ({RULE_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        );
        on_tx!(self, |c| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(r.id)
            .bind(r.org_id)
            .bind(&r.name)
            .bind(r.questionnaire_id)
            .bind(&r.trigger_status)
            .bind(&r.practitioner_ids)
            .bind(&r.location_ids)
            .bind(&r.appointment_types)
            .bind(r.delay_minutes)
            .bind(r.once_per_days)
            .bind(&r.channels)
            .bind(r.anonymous)
            .bind(r.verify_birth_date)
            .bind(r.active)
            .bind(r.created_at)
            .bind(&r.created_by)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The active rules triggered by an appointment reaching `status`.
    pub async fn survey_rules_for_status(
        &mut self,
        org: OrgId,
        status: &str,
    ) -> Result<Vec<SurveyRuleRow>, StoreError> {
        let sql = format!(
            "select {RULE_COLUMNS} from survey_rules where org_id = $1 and trigger_status = $2 and active = $3 order by created_at"
        );
        Ok(on_tx!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(status)
            .bind(true)
            .fetch_all(c)
            .await)?)
    }

    /// A patient as seen inside this transaction (a patient created by the same request included).
    pub async fn survey_patient(&mut self, org: OrgId, id: PatientId) -> Result<PatientRow, StoreError> {
        const SQL: &str = "select id, org_id, mrn, status, family_name, given_names, birth_date, gender, preferred_language,
             preferred_channel, time_zone, document, version, merged_into, created_at, updated_at, deleted_at
             from patients where org_id = $1 and id = $2";
        Ok(on_tx!(self, |c| sqlx::query_as(SQL).bind(org).bind(id).fetch_one(c).await)?)
    }

    /// Whether the patient was invited by this rule at or after `since`.
    pub async fn invited_since(
        &mut self,
        org: OrgId,
        patient: PatientId,
        rule: SurveyRuleId,
        since: UtcTime,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "select count(*) from survey_invitations
                            where org_id = $1 and patient_id = $2 and rule_id = $3 and created_at >= $4";
        let n: i64 = on_tx!(self, |c| sqlx::query_scalar(SQL)
            .bind(org)
            .bind(patient)
            .bind(rule)
            .bind(since)
            .fetch_one(c)
            .await)?;
        Ok(n > 0)
    }

    /// Inserts an invitation; false when the rule already invited for this appointment.
    pub async fn insert_invitation(&mut self, i: &InvitationRow) -> Result<bool, StoreError> {
        let sql = format!(
            "insert into survey_invitations ({INV_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
             $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)
             on conflict (org_id, rule_id, appointment_id) do nothing"
        );
        Ok(on_tx!(self, |c| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(i.id)
            .bind(i.org_id)
            .bind(i.rule_id)
            .bind(i.questionnaire_id)
            .bind(i.patient_id)
            .bind(i.appointment_id)
            .bind(i.practitioner_id)
            .bind(i.location_id)
            .bind(&i.appointment_type)
            .bind(&i.visit_week)
            .bind(&i.token_hash)
            .bind(&i.channel)
            .bind(&i.language)
            .bind(i.anonymous)
            .bind(i.verify_birth_date)
            .bind(&i.status)
            .bind(i.message_id)
            .bind(i.reminder_message_id)
            .bind(i.send_at)
            .bind(i.expires_at)
            .bind(i.opened_at)
            .bind(i.started_at)
            .bind(i.completed_at)
            .bind(i.verify_failures)
            .bind(i.created_at)
            .execute(c)
            .await
            .map(|r| r.rows_affected() == 1))?)
    }

    pub async fn set_invitation_messages(
        &mut self,
        org: OrgId,
        id: SurveyInvitationId,
        message: Option<MessageId>,
        reminder: Option<MessageId>,
    ) -> Result<(), StoreError> {
        const SQL: &str = "update survey_invitations set message_id = $3, reminder_message_id = $4 where org_id = $1 and id = $2";
        on_tx!(self, |c| sqlx::query(SQL)
            .bind(org)
            .bind(id)
            .bind(message)
            .bind(reminder)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The invitation, locked for the rest of the transaction where the backend can.
    pub async fn invitation_for_update(
        &mut self,
        org: OrgId,
        id: SurveyInvitationId,
    ) -> Result<InvitationRow, StoreError> {
        let sql = match self {
            Tx::Sqlite(_) => {
                format!("select {INV_COLUMNS} from survey_invitations where org_id = $1 and id = $2")
            }
            Tx::Postgres(_) => {
                format!(
                    "select {INV_COLUMNS} from survey_invitations where org_id = $1 and id = $2 for update"
                )
            }
        };
        Ok(on_tx!(self, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org).bind(id).fetch_one(c).await)?)
    }

    /// Writes the progress fields of an invitation.
    pub async fn update_invitation(&mut self, i: &InvitationRow) -> Result<(), StoreError> {
        const SQL: &str =
            "update survey_invitations set status = $3, opened_at = $4, started_at = $5, completed_at = $6,
                                  token_hash = $7, verify_failures = $8, patient_id = $9
                            where org_id = $1 and id = $2";
        on_tx!(self, |c| sqlx::query(SQL)
            .bind(i.org_id)
            .bind(i.id)
            .bind(&i.status)
            .bind(i.opened_at)
            .bind(i.started_at)
            .bind(i.completed_at)
            .bind(&i.token_hash)
            .bind(i.verify_failures)
            .bind(i.patient_id)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Records a funnel event once per invitation and kind.
    pub async fn insert_survey_event(
        &mut self,
        org: OrgId,
        invitation: SurveyInvitationId,
        questionnaire: QuestionnaireId,
        kind: &str,
        at: UtcTime,
    ) -> Result<(), StoreError> {
        const SQL: &str = "insert into survey_events (id, org_id, invitation_id, questionnaire_id, kind, at)
                           values ($1, $2, $3, $4, $5, $6) on conflict (invitation_id, kind) do nothing";
        on_tx!(self, |c| sqlx::query(SQL)
            .bind(SurveyEventId::new())
            .bind(org)
            .bind(invitation)
            .bind(questionnaire)
            .bind(kind)
            .bind(at)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub async fn insert_response(&mut self, r: &ResponseRow) -> Result<(), StoreError> {
        let sql = format!(
            "insert into survey_responses ({RESP_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        );
        on_tx!(self, |c| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(r.id)
            .bind(r.org_id)
            .bind(r.questionnaire_id)
            .bind(r.invitation_id)
            .bind(r.patient_id)
            .bind(r.appointment_id)
            .bind(r.practitioner_id)
            .bind(r.location_id)
            .bind(&r.appointment_type)
            .bind(&r.visit_week)
            .bind(r.anonymous)
            .bind(&r.language)
            .bind(&r.resource)
            .bind(&r.scores)
            .bind(r.authored_at)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub async fn insert_survey_action(&mut self, a: &ActionRow) -> Result<(), StoreError> {
        let sql = format!(
            "insert into survey_actions ({ACTION_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             on conflict (response_id, rule_name) do nothing"
        );
        on_tx!(self, |c| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(a.id)
            .bind(a.org_id)
            .bind(a.response_id)
            .bind(a.questionnaire_id)
            .bind(&a.rule_name)
            .bind(&a.reason)
            .bind(&a.owner)
            .bind(a.due_at)
            .bind(&a.status)
            .bind(a.created_at)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub async fn insert_survey_webhook(&mut self, w: &WebhookRow) -> Result<(), StoreError> {
        let sql = format!(
            "insert into survey_webhooks ({HOOK_COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             on conflict (response_id) do nothing"
        );
        on_tx!(self, |c| sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(w.id)
            .bind(w.org_id)
            .bind(w.response_id)
            .bind(&w.url)
            .bind(&w.payload)
            .bind(&w.status)
            .bind(w.attempts)
            .bind(w.next_attempt_at)
            .bind(&w.last_error)
            .bind(w.created_at)
            .bind(w.delivered_at)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}

impl Store {
    pub async fn questionnaires(&self, org: OrgId) -> Result<Vec<QuestionnaireRow>, StoreError> {
        let sql =
            format!("select {Q_COLUMNS} from questionnaires where org_id = $1 order by url, created_at");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org).fetch_all(p).await)?)
    }

    pub async fn questionnaire(
        &self,
        org: OrgId,
        id: QuestionnaireId,
    ) -> Result<QuestionnaireRow, StoreError> {
        let sql = format!("select {Q_COLUMNS} from questionnaires where org_id = $1 and id = $2");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(id)
            .fetch_one(p)
            .await)?)
    }

    pub async fn questionnaire_version(
        &self,
        org: OrgId,
        url: &str,
        version: &str,
    ) -> Result<Option<QuestionnaireRow>, StoreError> {
        let sql =
            format!("select {Q_COLUMNS} from questionnaires where org_id = $1 and url = $2 and version = $3");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(url)
            .bind(version)
            .fetch_optional(p)
            .await)?)
    }

    pub async fn survey_rules(&self, org: OrgId) -> Result<Vec<SurveyRuleRow>, StoreError> {
        let sql = format!("select {RULE_COLUMNS} from survey_rules where org_id = $1 order by created_at");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org).fetch_all(p).await)?)
    }

    /// The invitation whose link token hashes to `hash` (any organization: the token is the key).
    pub async fn invitation_by_token_hash(&self, hash: &str) -> Result<Option<InvitationRow>, StoreError> {
        let sql = format!("select {INV_COLUMNS} from survey_invitations where token_hash = $1");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(hash).fetch_optional(p).await)?)
    }

    pub async fn invitation(&self, org: OrgId, id: SurveyInvitationId) -> Result<InvitationRow, StoreError> {
        let sql = format!("select {INV_COLUMNS} from survey_invitations where org_id = $1 and id = $2");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(id)
            .fetch_one(p)
            .await)?)
    }

    /// Invitations of a questionnaire sent in [from, to), oldest first.
    pub async fn invitations_of(
        &self,
        org: OrgId,
        questionnaire: QuestionnaireId,
    ) -> Result<Vec<InvitationRow>, StoreError> {
        let sql = format!(
            "select {INV_COLUMNS} from survey_invitations where org_id = $1 and questionnaire_id = $2 order by send_at"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(questionnaire)
            .fetch_all(p)
            .await)?)
    }

    /// Responses to one questionnaire version, oldest first.
    pub async fn responses_of(
        &self,
        org: OrgId,
        questionnaire: QuestionnaireId,
    ) -> Result<Vec<ResponseRow>, StoreError> {
        let sql = format!(
            "select {RESP_COLUMNS} from survey_responses where org_id = $1 and questionnaire_id = $2 order by authored_at, id"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(questionnaire)
            .fetch_all(p)
            .await)?)
    }

    pub async fn survey_funnel(
        &self,
        org: OrgId,
        questionnaire: QuestionnaireId,
    ) -> Result<FunnelCounts, StoreError> {
        const SQL: &str =
            "select kind, count(*) from survey_events where org_id = $1 and questionnaire_id = $2
                            group by kind order by kind";
        Ok(on_pool!(self, |p| sqlx::query_as(SQL).bind(org).bind(questionnaire).fetch_all(p).await)?)
    }

    pub async fn survey_actions(
        &self,
        org: OrgId,
        response: SurveyResponseId,
    ) -> Result<Vec<ActionRow>, StoreError> {
        let sql = format!(
            "select {ACTION_COLUMNS} from survey_actions where org_id = $1 and response_id = $2 order by id"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(response)
            .fetch_all(p)
            .await)?)
    }

    /// Webhook deliveries due at `now`.
    pub async fn due_survey_webhooks(&self, now: UtcTime, limit: i64) -> Result<Vec<WebhookRow>, StoreError> {
        let sql = format!(
            "select {HOOK_COLUMNS} from survey_webhooks where status = 'pending' and next_attempt_at <= $1
              order by next_attempt_at limit $2"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(now)
            .bind(limit)
            .fetch_all(p)
            .await)?)
    }

    pub async fn survey_webhook(
        &self,
        org: OrgId,
        response: SurveyResponseId,
    ) -> Result<Option<WebhookRow>, StoreError> {
        let sql =
            format!("select {HOOK_COLUMNS} from survey_webhooks where org_id = $1 and response_id = $2");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .bind(response)
            .fetch_optional(p)
            .await)?)
    }

    /// Records the outcome of a delivery attempt (only while still pending: a delivery is settled once).
    pub async fn settle_survey_webhook(&self, w: &WebhookRow) -> Result<(), StoreError> {
        const SQL: &str =
            "update survey_webhooks set status = $3, attempts = $4, next_attempt_at = $5, last_error = $6,
                                  delivered_at = $7
                            where org_id = $1 and id = $2 and status = 'pending'";
        on_pool!(self, |p| sqlx::query(SQL)
            .bind(w.org_id)
            .bind(w.id)
            .bind(&w.status)
            .bind(w.attempts)
            .bind(w.next_attempt_at)
            .bind(&w.last_error)
            .bind(w.delivered_at)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}
