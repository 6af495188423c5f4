//! Distribution rules: which appointments get which survey, how long after, on which channel.
//! Evaluated by [`super::invite::on_appointment_status`] when an appointment's status changes.

use hearth_core::messaging::Channel;
use hearth_core::survey::{QuestionnaireId, SurveyRuleId};
use hearth_core::{LocationId, PractitionerId, UtcTime};
use hearth_store::StoreError;
use hearth_store::surveys::SurveyRuleRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, snapshot};
use crate::auth::Actor;
use crate::error::{AppError, FieldError};
use crate::state::AppState;

/// A new distribution rule. The survey sender's rule: `trigger_status` fulfilled ("Seen"),
/// `appointment_types` `["CLINICIAN"]`, `practitioner_ids` the allowed clinicians, `delay_minutes` 0.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyRuleInput {
    pub name: String,
    #[schema(value_type = String, format = Uuid)]
    pub questionnaire_id: QuestionnaireId,
    /// The FHIR Appointment.status that triggers it. Default `fulfilled`.
    #[serde(default)]
    pub trigger_status: Option<String>,
    /// Only these clinicians' appointments (empty: any).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub practitioner_ids: Vec<PractitionerId>,
    /// Only at these locations (empty: any).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub location_ids: Vec<LocationId>,
    /// Only these appointment types, compared without regard to case (empty: any).
    #[serde(default)]
    pub appointment_types: Vec<String>,
    /// Minutes after the status change; the message then waits for the outreach window. Default 0.
    #[serde(default)]
    pub delay_minutes: Option<i64>,
    /// At most one invitation per patient by this rule in this many days. Default 30.
    #[serde(default)]
    pub once_per_days: Option<i64>,
    /// Channels in order of preference (the patient's preferred channel first when listed).
    /// Default sms, email.
    #[serde(default)]
    pub channels: Option<Vec<String>>,
    /// Keep only the visit's practitioner, location, type and week with the response.
    #[serde(default)]
    pub anonymous: bool,
    /// Ask for the patient's birth date before showing the survey.
    #[serde(default)]
    pub verify_birth_date: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SurveyRuleView {
    #[schema(value_type = String, format = Uuid)]
    pub id: SurveyRuleId,
    pub name: String,
    #[schema(value_type = String, format = Uuid)]
    pub questionnaire_id: QuestionnaireId,
    pub trigger_status: String,
    #[schema(value_type = Vec<String>)]
    pub practitioner_ids: Vec<PractitionerId>,
    #[schema(value_type = Vec<String>)]
    pub location_ids: Vec<LocationId>,
    pub appointment_types: Vec<String>,
    pub delay_minutes: i64,
    pub once_per_days: i64,
    pub channels: Vec<String>,
    pub anonymous: bool,
    pub verify_birth_date: bool,
    pub active: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: UtcTime,
}

/// The parsed lists of a stored rule.
pub struct Rule {
    pub row: SurveyRuleRow,
    pub practitioners: Vec<PractitionerId>,
    pub locations: Vec<LocationId>,
    pub types: Vec<String>,
    pub channels: Vec<Channel>,
}

impl Rule {
    pub fn from_row(row: SurveyRuleRow) -> Self {
        let list = |s: &str| serde_json::from_str::<Vec<String>>(s).unwrap_or_default();
        Self {
            practitioners: list(&row.practitioner_ids).iter().filter_map(|s| s.parse().ok()).collect(),
            locations: list(&row.location_ids).iter().filter_map(|s| s.parse().ok()).collect(),
            types: list(&row.appointment_types),
            channels: list(&row.channels).iter().filter_map(|s| s.parse().ok()).collect(),
            row,
        }
    }

    pub fn view(&self) -> SurveyRuleView {
        let r = &self.row;
        SurveyRuleView {
            id: r.id,
            name: r.name.clone(),
            questionnaire_id: r.questionnaire_id,
            trigger_status: r.trigger_status.clone(),
            practitioner_ids: self.practitioners.clone(),
            location_ids: self.locations.clone(),
            appointment_types: self.types.clone(),
            delay_minutes: r.delay_minutes,
            once_per_days: r.once_per_days,
            channels: self.channels.iter().map(|c| c.as_str().to_owned()).collect(),
            anonymous: r.anonymous,
            verify_birth_date: r.verify_birth_date,
            active: r.active,
            created_at: r.created_at,
        }
    }
}

fn check(input: &SurveyRuleInput) -> Result<(String, Vec<Channel>), AppError> {
    let mut e = Vec::new();
    if input.name.trim().is_empty() || input.name.len() > 200 {
        e.push(FieldError::new("name", "expected 1 to 200 characters"));
    }
    let status = input.trigger_status.clone().unwrap_or_else(|| "fulfilled".into());
    if hearth_core::appointment::Status::parse(&status).is_err() {
        e.push(FieldError::new("trigger_status", "expected a FHIR Appointment status, e.g. fulfilled"));
    }
    if input.delay_minutes.is_some_and(|d| !(0..=60 * 24 * 30).contains(&d)) {
        e.push(FieldError::new("delay_minutes", "expected 0 to 43200 (30 days)"));
    }
    if input.once_per_days.is_some_and(|d| !(0..=3650).contains(&d)) {
        e.push(FieldError::new("once_per_days", "expected 0 to 3650"));
    }
    let raw = input.channels.clone().unwrap_or_else(|| vec!["sms".into(), "email".into()]);
    let mut channels = Vec::new();
    for (i, c) in raw.iter().enumerate() {
        match c.parse::<Channel>() {
            Ok(ch) if ch != Channel::Voice => channels.push(ch),
            _ => e.push(FieldError::new(format!("channels[{i}]"), "expected sms, whatsapp or email")),
        }
    }
    if raw.is_empty() {
        e.push(FieldError::new("channels", "list at least one channel"));
    }
    if e.is_empty() { Ok((status, channels)) } else { Err(AppError::Fields(e)) }
}

pub async fn create(
    app: &AppState,
    actor: &Actor,
    input: SurveyRuleInput,
) -> Result<SurveyRuleView, AppError> {
    let (status, channels) = check(&input)?;
    app.store.questionnaire(actor.org, input.questionnaire_id).await.map_err(|e| match e {
        StoreError::NotFound => {
            AppError::field("questionnaire_id", "no such questionnaire in this organization")
        }
        e => e.into(),
    })?;
    let json = |v: Vec<String>| serde_json::to_string(&v).unwrap_or_else(|_| "[]".into());
    let row = SurveyRuleRow {
        id: SurveyRuleId::new(),
        org_id: actor.org,
        name: input.name.trim().to_owned(),
        questionnaire_id: input.questionnaire_id,
        trigger_status: status,
        practitioner_ids: json(input.practitioner_ids.iter().map(ToString::to_string).collect()),
        location_ids: json(input.location_ids.iter().map(ToString::to_string).collect()),
        appointment_types: json(input.appointment_types.clone()),
        delay_minutes: input.delay_minutes.unwrap_or(0),
        once_per_days: input.once_per_days.unwrap_or(30),
        channels: json(channels.iter().map(|c| c.as_str().to_owned()).collect()),
        anonymous: input.anonymous,
        verify_birth_date: input.verify_birth_date,
        active: true,
        created_at: app.clock.now(),
        created_by: actor.audit_identity().2.unwrap_or_default(),
    };
    let mut tx = app.store.begin().await?;
    tx.insert_survey_rule(&row).await?;
    let view = Rule::from_row(row).view();
    audit::record(
        &mut tx,
        app.clock.now(),
        actor,
        "survey_rule.create",
        Some(("survey_rule", view.id.to_string())),
        None,
        snapshot(&view),
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}

pub async fn list(app: &AppState, actor: &Actor) -> Result<Vec<SurveyRuleView>, AppError> {
    Ok(app.store.survey_rules(actor.org).await?.into_iter().map(|r| Rule::from_row(r).view()).collect())
}
