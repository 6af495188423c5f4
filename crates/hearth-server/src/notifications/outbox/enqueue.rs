//! Writing a message into the outbox, inside the caller's transaction.

use hearth_core::contact::{Email, Phone};
use hearth_core::messaging::{Channel, MessageStatus};
use hearth_core::{MessageId, OrgId, PatientId, UtcTime};
use hearth_store::Tx;
use hearth_store::outbox::{HistoryRow, MessageRow};

use super::policy::Verdict;
use crate::error::{AppError, FieldError};
use crate::state::AppState;

/// The longest body accepted (Twilio's limit for one message: 1,600 characters).
pub const MAX_BODY_CHARS: usize = 1600;

/// A message to write into the outbox.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub org: OrgId,
    pub patient: Option<PatientId>,
    pub channel: Channel,
    /// E.164 (any notation the phone region allows) for sms, whatsapp and voice; an e-mail address.
    pub to: String,
    /// The sender; `None` = the provider's default.
    pub from: Option<String>,
    pub subject: Option<String>,
    pub body: String,
    /// BCP 47, e.g. `en`, `es`, `ar`.
    pub language: String,
    /// What it is for: `reminder`, `booking_notice`, `staff_message`, …
    pub purpose: String,
    /// Unique per organization: a second enqueue with the same key changes nothing and returns the
    /// first message (e.g. `reminder:{appointment}:{k}:{start_version}`).
    pub dedup_key: String,
    /// What caused it, e.g. (`appointment`, id).
    pub cause: Option<(String, String)>,
    /// Never sent after this (a reminder after the appointment's start is canceled, not sent late).
    pub valid_until: Option<UtcTime>,
    /// Not sent before this (quiet hours, a scheduled reminder).
    pub not_before: Option<UtcTime>,
}

/// What an enqueue did.
#[derive(Debug, Clone)]
pub struct Enqueued {
    pub message: MessageRow,
    /// False when the dedup key was already taken: `message` is the earlier one.
    pub created: bool,
}

/// The address in its canonical form for the channel, or the field error naming `to`.
pub fn normalize_address(channel: Channel, raw: &str, region: &str) -> Result<String, FieldError> {
    if channel.uses_phone() {
        Phone::parse(raw, region)
            .map(|p| p.as_str().to_owned())
            .map_err(|e| FieldError::new("to", format!("{e} (E.164, e.g. +15551230000)")))
    } else {
        Email::parse(raw).map(|e| e.as_str().to_owned()).map_err(|e| FieldError::new("to", e.to_string()))
    }
}

/// Checks the parts of `msg` a person could get wrong; each error names its field.
pub fn validate(app: &AppState, msg: &mut NewMessage) -> Result<(), AppError> {
    let mut errors = Vec::new();
    match normalize_address(msg.channel, msg.to.trim(), &app.config.patients.phone_region) {
        Ok(to) => msg.to = to,
        Err(e) => errors.push(e),
    }
    let chars = msg.body.chars().count();
    if msg.body.trim().is_empty() {
        errors.push(FieldError::new("body", "expected the text of the message"));
    } else if chars > MAX_BODY_CHARS {
        errors.push(FieldError::new("body", format!("{chars} characters; at most {MAX_BODY_CHARS}")));
    }
    if msg.dedup_key.trim().is_empty() || msg.dedup_key.len() > 200 {
        errors.push(FieldError::new("dedup_key", "expected 1 to 200 characters"));
    }
    if msg.language.trim().is_empty() || msg.language.len() > 35 {
        errors.push(FieldError::new("language", "expected a BCP 47 language tag such as en or es"));
    }
    if msg.purpose.trim().is_empty() || msg.purpose.len() > 64 {
        errors.push(FieldError::new("purpose", "expected 1 to 64 characters"));
    }
    if msg.subject.as_ref().is_some_and(|s| s.chars().count() > 200) {
        errors.push(FieldError::new("subject", "at most 200 characters"));
    }
    if errors.is_empty() { Ok(()) } else { Err(AppError::Fields(errors)) }
}

/// Whether the consent ledger allows messaging `to` on `channel`: for a patient, their latest entry
/// for that channel and address must be an opt-in; for a bare address, no one's latest entry for it
/// may be an opt-out.
pub async fn consent_allows(
    tx: &mut Tx,
    org: OrgId,
    patient: Option<PatientId>,
    channel: Channel,
    to: &str,
) -> Result<bool, AppError> {
    Ok(match patient {
        Some(p) => tx.latest_consent(org, p, channel.as_str(), to).await? == Some(true),
        None => tx.latest_consent_for_address(org, channel.as_str(), to).await? != Some(false),
    })
}

/// Writes `msg` into the outbox inside `tx` (the caller's transaction, with the change that caused
/// it). A second call with the same dedup key is a no-op returning the first message.
///
/// Nothing is dropped silently: without consent the message is recorded `canceled` with reason
/// `no_consent`; a refusal of the [`super::OutreachPolicy`] is recorded `canceled` with its reason;
/// a message already past its validity is recorded `canceled` with reason `expired`. Invalid input
/// (`to`, `body`, …) is an error naming the field and writes nothing.
///
/// Call [`super::Outbox::wake`] after the commit so a worker picks the message up at once.
pub async fn enqueue(tx: &mut Tx, app: &AppState, mut msg: NewMessage) -> Result<Enqueued, AppError> {
    validate(app, &mut msg)?;
    let now = app.clock.now();
    let mut status = MessageStatus::Queued;
    let mut reason = None;
    let mut next = Some(msg.not_before.map_or(now, |t| t.max(now)));
    if consent_allows(tx, msg.org, msg.patient, msg.channel, &msg.to).await? {
        let policy = app.outbox.policy();
        match policy.check(tx, &msg, now).await? {
            Verdict::Allow => {}
            Verdict::Defer { until } => next = next.map(|n| n.max(until)),
            Verdict::Refuse { reason: r } => (status, reason) = (MessageStatus::Canceled, Some(r)),
        }
    } else {
        (status, reason) = (MessageStatus::Canceled, Some("no_consent".to_owned()));
    }
    if status == MessageStatus::Queued
        && let (Some(valid), Some(n)) = (msg.valid_until, next)
        && n >= valid
    {
        (status, reason) = (MessageStatus::Canceled, Some("expired".to_owned()));
    }
    if status != MessageStatus::Queued {
        next = None;
    }
    let history_reason = reason.clone();
    write(tx, app, msg, Written { status, reason, next, now, history_reason }).await
}

/// Writes `msg` queued now, without the consent check or the outreach policy: only for the answer
/// to a patient's own message (STOP, START, HELP), which carriers require whatever the consent.
/// Checked like any message; idempotent by its dedup key. `why` goes into its history.
pub async fn enqueue_answer(
    tx: &mut Tx,
    app: &AppState,
    mut msg: NewMessage,
    why: &str,
) -> Result<Enqueued, AppError> {
    validate(app, &mut msg)?;
    let now = app.clock.now();
    let written = Written {
        status: MessageStatus::Queued,
        reason: None,
        next: Some(now),
        now,
        history_reason: Some(why.into()),
    };
    write(tx, app, msg, written).await
}

/// How a checked message is written.
struct Written {
    status: MessageStatus,
    reason: Option<String>,
    next: Option<UtcTime>,
    now: UtcTime,
    history_reason: Option<String>,
}

/// Inserts the message row (a no-op on a taken dedup key) and, when new, its first history row.
async fn write(tx: &mut Tx, app: &AppState, msg: NewMessage, w: Written) -> Result<Enqueued, AppError> {
    let Written { status, reason, next, now, history_reason } = w;
    let provider = app.providers.for_channel(msg.channel);
    let row = MessageRow {
        id: MessageId::new(),
        org_id: msg.org,
        patient_id: msg.patient,
        channel: msg.channel.as_str().to_owned(),
        sender: format!("{}:{}", provider.name(), msg.from.as_deref().unwrap_or("default")),
        segments: segments(msg.channel, &msg.body),
        to_address: msg.to,
        from_address: msg.from,
        subject: msg.subject,
        body: msg.body,
        language: msg.language,
        purpose: msg.purpose,
        dedup_key: msg.dedup_key,
        cause_type: msg.cause.as_ref().map(|c| c.0.clone()),
        cause_id: msg.cause.map(|c| c.1),
        status: status.as_str().to_owned(),
        status_reason: reason,
        attempts: 0,
        max_attempts: i32::try_from(app.config.outbox.max_attempts).unwrap_or(8),
        next_attempt_at: next,
        lease_until: None,
        lease_owner: None,
        valid_until: msg.valid_until,
        provider: None,
        provider_id: None,
        error_code: None,
        error_text: None,
        created_at: now,
        updated_at: now,
        sent_at: None,
    };
    let (message, created) = tx.insert_message(&row).await?;
    if created {
        tx.insert_history(&[HistoryRow {
            org_id: message.org_id,
            message_id: message.id,
            at: now,
            from_status: None,
            to_status: message.status.clone(),
            source: "enqueue".into(),
            reason: history_reason,
            applied: true,
        }])
        .await?;
    }
    Ok(Enqueued { message, created })
}

/// SMS segments of `body` (exactly as the template preview counts them: GSM-7 with its extension
/// table, else UCS-2); 1 for the other channels. Pacing by segments uses it.
pub fn segments(channel: Channel, body: &str) -> i32 {
    if !matches!(channel, Channel::Sms | Channel::Whatsapp) {
        return 1;
    }
    i32::try_from(hearth_core::messaging::sms::analyze(body).segments.max(1)).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_gsm7_and_ucs2_limits() {
        assert_eq!(segments(Channel::Sms, &"a".repeat(160)), 1);
        assert_eq!(segments(Channel::Sms, &"a".repeat(161)), 2);
        assert_eq!(segments(Channel::Sms, &"a".repeat(306)), 2);
        assert_eq!(segments(Channel::Sms, &"€".repeat(80)), 1);
        assert_eq!(segments(Channel::Sms, &"€".repeat(81)), 2);
        assert_eq!(segments(Channel::Sms, &"é".repeat(70)), 1);
        assert_eq!(segments(Channel::Sms, "ok 😀"), 1);
        assert_eq!(segments(Channel::Sms, &"ы".repeat(71)), 2);
        assert_eq!(segments(Channel::Email, &"a".repeat(1000)), 1);
    }

    #[test]
    fn addresses_are_checked_per_channel() {
        assert_eq!(normalize_address(Channel::Sms, "(312) 555-0143", "US").unwrap(), "+13125550143");
        assert_eq!(normalize_address(Channel::Sms, "nope", "US").unwrap_err().field, "to");
        assert_eq!(normalize_address(Channel::Email, "+13125550143", "US").unwrap_err().field, "to");
        assert!(normalize_address(Channel::Email, "ana@example.org", "US").is_ok());
    }
}
