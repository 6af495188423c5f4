//! Invitations: when an appointment reaches a rule's status, the rule's filters decide whether its
//! patient is invited; the invitation gets a random link token (only its SHA-256 is stored), and the
//! invitation message (and the one non-responder reminder) go into the outbox in the same
//! transaction, not before the outreach window opens.

use std::collections::HashMap;

use hearth_core::messaging::{Channel, Purpose};
use hearth_core::outreach::{Rule as OutreachRule, open_at_or_after};
use hearth_core::survey::SurveyInvitationId;
use hearth_core::{OrgId, PatientId, UtcTime};
use hearth_store::Tx;
use hearth_store::appointments::AppointmentRow;
use hearth_store::surveys::InvitationRow;
use sha2::{Digest, Sha256};

use super::rules::Rule;
use crate::error::AppError;
use crate::notifications::{NewMessage, enqueue, templates};
use crate::patients::PatientRecord;
use crate::state::AppState;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A fresh link token: 128 random bits in base62 (22 characters), never derived from anything.
pub fn new_token() -> String {
    let mut n: u128 = rand::random();
    let mut out = [b'0'; 22];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[usize::try_from(n % 62).unwrap_or(0)];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What is stored of a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().fold(String::with_capacity(64), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The ISO week of an instant in a zone, e.g. `2026-W02`.
pub fn iso_week(t: UtcTime, zone: &jiff::tz::TimeZone) -> String {
    let w = t.get().to_zoned(zone.clone()).date().iso_week_date();
    format!("{:04}-W{:02}", w.year(), w.week())
}

fn zone_of(name: &str) -> jiff::tz::TimeZone {
    hearth_core::TimeZoneName::parse(name).map_or(jiff::tz::TimeZone::UTC, |z| z.time_zone())
}

/// Called where an appointment's new state is saved (inside that transaction): invites its patient
/// for every active rule the new status triggers and whose filters match. `before` is the status
/// before the change (`None` for a new appointment).
pub async fn on_appointment_status(
    tx: &mut Tx,
    app: &AppState,
    before: Option<&str>,
    row: &AppointmentRow,
    now: UtcTime,
) -> Result<(), AppError> {
    StatusTriggers::default().invite(tx, app, before, row, now).await
}

/// The active survey rules of each status, read once and kept (for a batch of status changes; the
/// rules a request sees do not change under it).
#[derive(Default)]
pub struct StatusTriggers {
    rules: HashMap<(OrgId, String), Vec<Rule>>,
}

impl StatusTriggers {
    async fn rules(&mut self, tx: &mut Tx, org: OrgId, status: &str) -> Result<&[Rule], AppError> {
        let key = (org, status.to_owned());
        if !self.rules.contains_key(&key) {
            let rules =
                tx.survey_rules_for_status(org, status).await?.into_iter().map(Rule::from_row).collect();
            self.rules.insert(key.clone(), rules);
        }
        Ok(self.rules.get(&key).map_or(&[], Vec::as_slice))
    }

    /// Whether the change from `before` to the appointment's status triggers a rule whose filters
    /// match (without writing anything).
    pub async fn fires(
        &mut self,
        tx: &mut Tx,
        before: Option<&str>,
        row: &AppointmentRow,
    ) -> Result<bool, AppError> {
        if before == Some(row.status.as_str()) {
            return Ok(false);
        }
        Ok(self.rules(tx, row.org_id, &row.status).await?.iter().any(|rule| matches(rule, row)))
    }

    /// Invites the appointment's patient for every rule the change triggers and whose filters match.
    pub async fn invite(
        &mut self,
        tx: &mut Tx,
        app: &AppState,
        before: Option<&str>,
        row: &AppointmentRow,
        now: UtcTime,
    ) -> Result<(), AppError> {
        if before == Some(row.status.as_str()) {
            return Ok(());
        }
        for rule in self.rules(tx, row.org_id, &row.status).await? {
            if matches(rule, row) {
                invite(tx, app, rule, row, now).await?;
            }
        }
        Ok(())
    }
}

fn matches(rule: &Rule, row: &AppointmentRow) -> bool {
    (rule.practitioners.is_empty() || row.practitioner_id.is_some_and(|p| rule.practitioners.contains(&p)))
        && (rule.locations.is_empty() || row.location_id.is_some_and(|l| rule.locations.contains(&l)))
        && (rule.types.is_empty()
            || row
                .appointment_type
                .as_deref()
                .is_some_and(|t| rule.types.iter().any(|x| x.eq_ignore_ascii_case(t))))
}

/// The channel and address to use: the rule's channels in order (the patient's preferred one first
/// when the rule lists it), the first address with consent; else the first address at all (the
/// outbox then records the message canceled for want of consent, so nothing is dropped silently).
async fn address(
    tx: &mut Tx,
    org: OrgId,
    patient: PatientId,
    record: &PatientRecord,
    rule: &Rule,
) -> Result<Option<(Channel, String)>, AppError> {
    let mut order = rule.channels.clone();
    if let Some(p) = record.preferred_channel.as_deref().and_then(|c| c.parse::<Channel>().ok())
        && let Some(i) = order.iter().position(|c| *c == p)
    {
        order.remove(i);
        order.insert(0, p);
    }
    let mut fallback = None;
    for channel in order {
        let candidates: Vec<&str> = if channel.uses_phone() {
            record.usable_phones().map(|c| c.value.as_str()).collect()
        } else if record.deceased {
            Vec::new()
        } else {
            record.emails.iter().filter(|c| c.problem.is_none()).map(|c| c.value.as_str()).collect()
        };
        for to in candidates {
            if crate::notifications::outbox::consent_allows(tx, org, Some(patient), channel, to).await? {
                return Ok(Some((channel, to.to_owned())));
            }
            fallback.get_or_insert((channel, to.to_owned()));
        }
    }
    Ok(fallback)
}

#[allow(clippy::too_many_lines)] // one invitation, from filters to outbox, in order
async fn invite(
    tx: &mut Tx,
    app: &AppState,
    rule: &Rule,
    row: &AppointmentRow,
    now: UtcTime,
) -> Result<(), AppError> {
    let org = row.org_id;
    let patient = tx.survey_patient(org, row.patient_id).await?;
    let record: PatientRecord = serde_json::from_str(&patient.document).map_err(anyhow::Error::from)?;
    if patient.status != "active" || record.deceased {
        return Ok(());
    }
    let since = now.plus(jiff::SignedDuration::from_hours(-24 * rule.row.once_per_days));
    if rule.row.once_per_days > 0 && tx.invited_since(org, row.patient_id, rule.row.id, since).await? {
        tracing::info!(rule_id = %rule.row.id, appointment_id = %row.id, "survey: patient invited recently; skipped");
        return Ok(());
    }
    let Some((channel, to)) = address(tx, org, row.patient_id, &record, rule).await? else {
        tracing::info!(rule_id = %rule.row.id, appointment_id = %row.id, "survey: patient has no address; skipped");
        return Ok(());
    };
    let zone = zone_of(&row.time_zone);
    let window = OutreachRule::default();
    let send_at = UtcTime::new(open_at_or_after(
        now.plus(jiff::SignedDuration::from_mins(rule.row.delay_minutes)).get(),
        &window,
        &zone,
    ));
    let ttl = i64::try_from(app.config.surveys.link_ttl_days).unwrap_or(7);
    let expires_at = send_at.plus(jiff::SignedDuration::from_hours(24 * ttl));
    let language = match patient.preferred_language.clone() {
        Some(l) => l,
        None => app.store.organization_language(org).await?,
    };
    let token = new_token();
    let link = format!("{}/s/{token}", app.config.public_url());
    let first_name = record.name.given.first().cloned().unwrap_or_default();
    let vars = serde_json::json!({"patient_first_name": first_name, "survey_link": link});
    let render = |purpose| templates::render(app, org, channel, purpose, &language, None, &vars);
    let invitation = match render(Purpose::SurveyInvitation).await {
        Ok(r) => r,
        Err(AppError::Fields(errors)) => {
            tracing::warn!(rule_id = %rule.row.id, ?errors, "survey: the invitation template cannot be rendered; skipped");
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let inv = InvitationRow {
        id: SurveyInvitationId::new(),
        org_id: org,
        rule_id: Some(rule.row.id),
        questionnaire_id: rule.row.questionnaire_id,
        patient_id: Some(row.patient_id),
        appointment_id: Some(row.id),
        practitioner_id: row.practitioner_id,
        location_id: row.location_id,
        appointment_type: row.appointment_type.clone(),
        visit_week: iso_week(row.start_at, &zone),
        token_hash: Some(token_hash(&token)),
        channel: channel.as_str().to_owned(),
        language: invitation.language.clone(),
        anonymous: rule.row.anonymous,
        verify_birth_date: rule.row.verify_birth_date && patient.birth_date.is_some(),
        status: "sent".into(),
        message_id: None,
        reminder_message_id: None,
        send_at,
        expires_at,
        opened_at: None,
        started_at: None,
        completed_at: None,
        verify_failures: 0,
        created_at: now,
    };
    if !tx.insert_invitation(&inv).await? {
        return Ok(()); // this rule already invited for this appointment
    }
    let message =
        |body: String, subject: Option<String>, purpose: Purpose, at: UtcTime, key: &str| NewMessage {
            org,
            patient: Some(row.patient_id),
            channel,
            to: to.clone(),
            from: None,
            subject,
            body,
            language: inv.language.clone(),
            purpose: purpose.as_str().to_owned(),
            dedup_key: format!("survey:{}:{key}", inv.id),
            cause: Some(("survey_invitation".into(), inv.id.to_string())),
            valid_until: Some(expires_at),
            not_before: Some(at),
        };
    let sent = enqueue(
        tx,
        app,
        message(invitation.body, invitation.subject, Purpose::SurveyInvitation, send_at, "invitation"),
    )
    .await?;
    let mut reminder_id = None;
    let hours = i64::try_from(app.config.surveys.reminder_after_hours).unwrap_or(0);
    if hours > 0 {
        let at = UtcTime::new(open_at_or_after(
            send_at.plus(jiff::SignedDuration::from_hours(hours)).get(),
            &window,
            &zone,
        ));
        if at < expires_at
            && let Ok(r) = render(Purpose::SurveyReminder).await
        {
            let m =
                enqueue(tx, app, message(r.body, r.subject, Purpose::SurveyReminder, at, "reminder")).await?;
            reminder_id = Some(m.message.id);
        }
    }
    tx.set_invitation_messages(org, inv.id, Some(sent.message.id), reminder_id).await?;
    tx.insert_survey_event(org, inv.id, inv.questionnaire_id, "sent", send_at).await?;
    tracing::info!(invitation_id = %inv.id, rule_id = %rule.row.id, appointment_id = %row.id, "survey invitation queued");
    app.outbox.wake();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_22_base62_characters_and_differ() {
        let a = new_token();
        assert_eq!(a.len(), 22);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(a, new_token());
        assert_eq!(token_hash("abc").len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn weeks_are_iso_weeks_in_the_zone() {
        let t = UtcTime::new("2026-01-05T03:00:00Z".parse().unwrap());
        assert_eq!(iso_week(t, &jiff::tz::TimeZone::UTC), "2026-W02");
        assert_eq!(iso_week(t, &jiff::tz::TimeZone::get("America/Chicago").unwrap()), "2026-W01");
    }
}
