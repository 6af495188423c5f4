//! The patient's side: resolving a link, the optional birth-date check, and storing a response once
//! (a second submission of the same link stores nothing and answers "already received").

use std::sync::Arc;

use hearth_core::messaging::MessageStatus;
use hearth_core::survey::fhir::{Context, questionnaire_response};
use hearth_core::survey::{Answers, Instrument, SurveyActionId, SurveyResponseId, SurveyWebhookId};
use hearth_core::{MessageId, OrgId, UtcTime};
use hearth_store::Tx;
use hearth_store::outbox::HistoryRow;
use hearth_store::surveys::{ActionRow, InvitationRow, ResponseRow, WebhookRow};

use super::invite::token_hash;
use crate::error::AppError;
use crate::state::AppState;

/// What a link leads to.
pub enum Link {
    /// No such link (or not a well-formed token).
    Unknown,
    /// The link's time is over.
    Expired,
    /// Answered already.
    Received(Box<InvitationRow>),
    Open(Box<InvitationRow>, Arc<Instrument>),
}

fn well_formed(token: &str) -> bool {
    token.len() == 22 && token.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Resolves a link token; an expired link records its `expired` event (once).
pub async fn resolve(app: &AppState, token: &str) -> Result<Link, AppError> {
    if !well_formed(token) {
        return Ok(Link::Unknown);
    }
    let Some(inv) = app.store.invitation_by_token_hash(&token_hash(token)).await? else {
        return Ok(Link::Unknown);
    };
    if inv.status == "completed" {
        return Ok(Link::Received(Box::new(inv)));
    }
    let now = app.clock.now();
    let locked = inv.verify_failures >= i64::from(app.config.surveys.birth_date_attempts);
    if now >= inv.expires_at || inv.status == "expired" || locked {
        if inv.status != "expired" {
            let mut tx = app.store.begin().await?;
            let mut i = tx.invitation_for_update(inv.org_id, inv.id).await?;
            if i.status != "completed" {
                "expired".clone_into(&mut i.status);
                tx.update_invitation(&i).await?;
                tx.insert_survey_event(i.org_id, i.id, i.questionnaire_id, "expired", now).await?;
            }
            tx.commit().await?;
        }
        return Ok(Link::Expired);
    }
    let q = app.store.questionnaire(inv.org_id, inv.questionnaire_id).await?;
    let ins = super::instrument(&q)?;
    Ok(Link::Open(Box::new(inv), ins))
}

/// Records a funnel step (`opened` or `started`) the first time it happens.
pub async fn progress(app: &AppState, inv: &InvitationRow, step: &str) -> Result<(), AppError> {
    let already = match step {
        "opened" => inv.opened_at.is_some(),
        _ => inv.started_at.is_some(),
    };
    if already {
        return Ok(());
    }
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    let mut i = tx.invitation_for_update(inv.org_id, inv.id).await?;
    if i.status == "completed" || i.status == "expired" {
        return Ok(());
    }
    i.opened_at.get_or_insert(now);
    if step == "started" {
        i.started_at.get_or_insert(now);
    }
    step.clone_into(&mut i.status);
    tx.update_invitation(&i).await?;
    tx.insert_survey_event(i.org_id, i.id, i.questionnaire_id, "opened", now).await?;
    if step == "started" {
        tx.insert_survey_event(i.org_id, i.id, i.questionnaire_id, "started", now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The context a verified-birth-date cookie is sealed with.
const VERIFIED: &str = "survey-birth-date-verified";

/// The cookie value proving this browser gave the right birth date for the link.
pub fn verified_cookie(app: &AppState, inv: &InvitationRow) -> String {
    app.keys.seal(&inv.id.to_string(), VERIFIED)
}

pub fn is_verified(app: &AppState, inv: &InvitationRow, cookie: Option<&str>) -> bool {
    !inv.verify_birth_date
        || cookie.and_then(|c| app.keys.open(c, VERIFIED).ok()).is_some_and(|v| v == inv.id.to_string())
}

/// Checks a birth date (YYYY-MM-DD) against the patient's; a wrong one counts toward the limit.
pub async fn check_birth_date(app: &AppState, inv: &InvitationRow, given: &str) -> Result<bool, AppError> {
    let Some(patient) = inv.patient_id else { return Ok(false) };
    let mut tx = app.store.begin().await?;
    let p = tx.survey_patient(inv.org_id, patient).await?;
    let given = jiff::civil::Date::strptime("%Y-%m-%d", given.trim()).ok();
    let right = given.is_some_and(|g| p.birth_date.as_deref() == Some(g.to_string().as_str()));
    if !right {
        let mut i = tx.invitation_for_update(inv.org_id, inv.id).await?;
        i.verify_failures += 1;
        tx.update_invitation(&i).await?;
    }
    tx.commit().await?;
    Ok(right)
}

/// The Monday 00:00 UTC of the week of `t` (what an anonymous response keeps as its time).
fn week_start(t: UtcTime) -> UtcTime {
    let d = t.get().to_zoned(jiff::tz::TimeZone::UTC).date();
    let back = i64::from(d.weekday().to_monday_zero_offset());
    let monday = d.checked_sub(jiff::Span::new().days(back)).unwrap_or(d);
    monday.to_zoned(jiff::tz::TimeZone::UTC).map_or(t, |z| UtcTime::new(z.timestamp()))
}

pub enum Submitted {
    Stored(SurveyResponseId),
    AlreadyReceived,
}

/// Stores a checked response with its scores, actions and webhook, once per invitation.
pub async fn submit(
    app: &AppState,
    inv: &InvitationRow,
    ins: &Instrument,
    answers: &Answers,
    language: &str,
) -> Result<Submitted, AppError> {
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    let mut i = tx.invitation_for_update(inv.org_id, inv.id).await?;
    if i.status == "completed" {
        tx.rollback().await?;
        return Ok(Submitted::AlreadyReceived);
    }
    let id = SurveyResponseId::new();
    let scores = hearth_core::survey::score(ins, answers);
    let authored = if i.anonymous { week_start(now) } else { now };
    let ctx =
        Context { subject: if i.anonymous { None } else { i.patient_id.map(|p| format!("Patient/{p}")) } };
    let resource =
        questionnaire_response(ins, &id.to_string(), answers, language, &authored.to_string(), &ctx);
    let response = ResponseRow {
        id,
        org_id: i.org_id,
        questionnaire_id: i.questionnaire_id,
        invitation_id: (!i.anonymous).then_some(i.id),
        patient_id: if i.anonymous { None } else { i.patient_id },
        appointment_id: if i.anonymous { None } else { i.appointment_id },
        practitioner_id: i.practitioner_id,
        location_id: i.location_id,
        appointment_type: i.appointment_type.clone(),
        visit_week: i.visit_week.clone(),
        anonymous: i.anonymous,
        language: language.to_owned(),
        resource: resource.to_string(),
        scores: serde_json::to_string(&scores).map_err(anyhow::Error::from)?,
        authored_at: authored,
    };
    tx.insert_response(&response).await?;
    i.opened_at.get_or_insert(now);
    i.started_at.get_or_insert(now);
    i.completed_at = Some(now);
    "completed".clone_into(&mut i.status);
    tx.update_invitation(&i).await?;
    for step in ["opened", "started", "completed"] {
        tx.insert_survey_event(i.org_id, i.id, i.questionnaire_id, step, now).await?;
    }
    for rule in hearth_core::survey::triggered_actions(ins, answers, &scores) {
        let reason = match &rule.when {
            hearth_core::survey::Condition::Band { score, band } => format!("score {score} is {band}"),
            hearth_core::survey::Condition::Answer { item, answer } => format!("{item} answered {answer}"),
        };
        tx.insert_survey_action(&ActionRow {
            id: SurveyActionId::new(),
            org_id: i.org_id,
            response_id: id,
            questionnaire_id: i.questionnaire_id,
            rule_name: rule.name.clone(),
            reason,
            owner: rule.owner.clone(),
            due_at: now.plus(jiff::SignedDuration::from_hours(rule.due_hours)),
            status: "open".into(),
            created_at: now,
        })
        .await?;
    }
    if let Some(url) = &app.config.surveys.webhook_url {
        let payload = super::webhook::payload(ins, &response, &resource, &scores);
        tx.insert_survey_webhook(&WebhookRow {
            id: SurveyWebhookId::new(),
            org_id: i.org_id,
            response_id: id,
            url: url.clone(),
            payload: payload.to_string(),
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: Some(now),
            last_error: None,
            created_at: now,
            delivered_at: None,
        })
        .await?;
    }
    if let Some(reminder) = i.reminder_message_id {
        cancel_reminder(&mut tx, i.org_id, reminder, now).await?;
    }
    tx.commit().await?;
    if app.config.surveys.webhook_url.is_some() {
        let app = app.clone();
        tokio::spawn(async move { super::webhook::deliver_due(&app).await });
    }
    tracing::info!(response_id = %id, questionnaire_id = %i.questionnaire_id, "survey response stored");
    Ok(Submitted::Stored(id))
}

/// The non-responder reminder is not sent once the survey is answered.
async fn cancel_reminder(tx: &mut Tx, org: OrgId, id: MessageId, now: UtcTime) -> Result<(), AppError> {
    let mut m = tx.message_for_update(org, id).await?;
    if m.status != MessageStatus::Queued.as_str() {
        return Ok(());
    }
    let before = m.status.clone();
    MessageStatus::Canceled.as_str().clone_into(&mut m.status);
    m.status_reason = Some("survey_completed".into());
    m.next_attempt_at = None;
    m.updated_at = now;
    tx.update_message_state(&m).await?;
    tx.insert_history(&[HistoryRow {
        org_id: org,
        message_id: id,
        at: now,
        from_status: Some(before),
        to_status: m.status.clone(),
        source: "reconcile".into(),
        reason: Some("survey_completed".into()),
        applied: true,
    }])
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_times_are_the_monday_of_the_week() {
        let t = UtcTime::new("2026-01-08T15:30:00Z".parse().unwrap());
        assert_eq!(week_start(t).to_string(), "2026-01-05T00:00:00Z");
    }
}
