//! What staff (API, pages, CLI) do with the outbox: send a message, list and read messages (audited:
//! bodies and addresses are patient data), retry and cancel.

use hearth_core::messaging::{Channel, MessageStatus, Purpose};
use hearth_core::{ErrorCode, LocationId, MessageId, PatientId, UtcTime};
use hearth_store::outbox::{HistoryRow, MessageFilter};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::views::StatusCountView;
use super::{
    MessageDetail, MessageView, NewMessage, OutboxStats, consent_allows, enqueue, normalize_address,
};
use crate::audit::{self, snapshot};
use crate::auth::Actor;
use crate::error::{AppError, FieldError};
use crate::state::AppState;

/// A message to send now, to a patient (the address comes from their contacts and consent) or to a
/// bare address.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessageInput {
    /// sms | whatsapp | voice | email
    pub channel: String,
    pub patient_id: Option<String>,
    /// The address; with `patient_id`, default: the patient's first address for the channel that has
    /// consent.
    pub to: Option<String>,
    pub body: Option<String>,
    pub subject: Option<String>,
    /// Render the body (and e-mail subject) from the organization's template for this purpose
    /// instead of giving `body`.
    pub template: Option<TemplateInput>,
    /// BCP 47; default: the patient's preferred language, else `en`.
    pub language: Option<String>,
    /// Default `staff_message`.
    pub purpose: Option<String>,
    /// Makes the request idempotent: a second send with the same key returns the first message.
    pub dedup_key: Option<String>,
    /// Never sent after this ISO-8601 instant.
    pub valid_until: Option<String>,
}

/// Which template to render, with its variables (see docs/notifications.md for each purpose's).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    /// appointment_booked | appointment_reminder | … | opt_out | opt_in | help
    pub purpose: String,
    /// The location whose name, zone and sensitive flag apply.
    pub location_id: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub variables: serde_json::Value,
}

/// A send request's fields, parsed.
struct Checked {
    channel: Channel,
    template: Option<(Purpose, Option<LocationId>)>,
    patient_id: Option<PatientId>,
    valid_until: Option<UtcTime>,
    to: Option<String>,
    body: String,
}

/// Parses every field of a send request, naming each that is wrong (all of them at once).
fn check(app: &AppState, input: &SendMessageInput) -> Result<Checked, AppError> {
    let mut errors = Vec::new();
    let channel = parse_channel(&input.channel).map_err(|e| errors.push(e)).ok();
    let template = match input.template.as_ref().map(parse_template).transpose() {
        Ok(t) => t,
        Err(e) => {
            errors.extend(e);
            None
        }
    };
    if input.template.is_some() && input.body.is_some() {
        errors.push(FieldError::new("template", "give a body or a template, not both"));
    }
    let patient_id = match input.patient_id.as_deref().map(str::parse::<PatientId>) {
        Some(Ok(p)) => Some(p),
        Some(Err(_)) => {
            errors.push(FieldError::new("patient_id", "expected a patient id (UUID)"));
            None
        }
        None => None,
    };
    if patient_id.is_none() && input.patient_id.is_none() && input.to.is_none() {
        errors.push(FieldError::new("to", "give the address, or a patient_id"));
    }
    let valid_until = match input.valid_until.as_deref().map(str::parse::<UtcTime>) {
        Some(Ok(t)) => Some(t),
        Some(Err(_)) => {
            errors.push(FieldError::new("valid_until", "expected an ISO-8601 instant"));
            None
        }
        None => None,
    };
    let region = app.config.patients.phone_region.clone();
    let to = match (channel, input.to.as_deref()) {
        (Some(c), Some(raw)) => normalize_address(c, raw, &region).map_err(|e| errors.push(e)).ok(),
        _ => None,
    };
    let body = input.body.clone().unwrap_or_default();
    if input.template.is_none() && body.trim().is_empty() {
        errors.push(FieldError::new("body", "expected the text of the message"));
    }
    if !errors.is_empty() {
        return Err(AppError::Fields(errors));
    }
    let channel = channel.ok_or_else(|| AppError::field("channel", "required"))?;
    Ok(Checked { channel, template, patient_id, valid_until, to, body })
}

/// The template's purpose and location, or the fields that are wrong.
fn parse_template(t: &TemplateInput) -> Result<(Purpose, Option<LocationId>), Vec<FieldError>> {
    let purpose = t.purpose.trim().parse::<Purpose>().map_err(|_| {
        let all: Vec<&str> = Purpose::ALL.iter().map(|p| p.as_str()).collect();
        FieldError::new("template.purpose", format!("expected one of {}", all.join(", ")))
    });
    let location = match t.location_id.as_deref().map(str::parse::<LocationId>) {
        Some(Ok(l)) => Ok(Some(l)),
        Some(Err(_)) => Err(FieldError::new("template.location_id", "expected a location id (UUID)")),
        None => Ok(None),
    };
    match (purpose, location) {
        (Ok(p), Ok(l)) => Ok((p, l)),
        (p, l) => Err(p.err().into_iter().chain(l.err()).collect()),
    }
}

fn parse_channel(raw: &str) -> Result<Channel, FieldError> {
    raw.trim()
        .to_lowercase()
        .parse::<Channel>()
        .map_err(|_| FieldError::new("channel", "expected one of sms, whatsapp, voice, email"))
}

/// Sends a message: validated, consent checked (refused with `consent_missing`, nothing written),
/// written to the outbox with an audit event, workers woken. A replayed `dedup_key` returns the
/// first message (`created` false).
pub async fn send(
    app: &AppState,
    actor: &Actor,
    input: SendMessageInput,
) -> Result<(MessageView, bool), AppError> {
    let Checked { channel, template, patient_id, valid_until, to, body } = check(app, &input)?;
    let patient = match patient_id {
        Some(p) => Some(crate::patients::get(app, actor, p).await?),
        None => None,
    };
    if patient.as_ref().is_some_and(|p| p.record.deceased || p.status != "active") {
        return Err(AppError::field(
            "patient_id",
            "the patient is not active (deceased, inactive or merged)",
        ));
    }
    let mut tx = app.store.begin().await?;
    let to = match to {
        Some(to) => to,
        None => choose_address(&mut tx, actor, patient.as_ref(), channel).await?,
    };
    if !consent_allows(&mut tx, actor.org, patient_id, channel, &to).await? {
        return Err(AppError::with_message(
            ErrorCode::ConsentMissing,
            format!("no consent for {channel} to this address (or the recipient opted out)"),
        ));
    }
    let mut language = input
        .language
        .clone()
        .or_else(|| patient.as_ref().and_then(|p| p.record.preferred_language.clone()))
        .unwrap_or_else(|| "en".into());
    let (mut body, mut subject) = (body, input.subject.clone());
    let mut purpose = input.purpose.clone().unwrap_or_else(|| "staff_message".into());
    if let (Some((template_purpose, location)), Some(t)) = (template, input.template.as_ref()) {
        let rendered = crate::notifications::templates::render(
            app,
            actor.org,
            channel,
            template_purpose,
            &language,
            location,
            &t.variables,
        )
        .await?;
        (body, language) = (rendered.body, rendered.language);
        subject = subject.or(rendered.subject);
        if input.purpose.is_none() {
            template_purpose.as_str().clone_into(&mut purpose);
        }
    }
    let msg = NewMessage {
        org: actor.org,
        patient: patient_id,
        channel,
        to,
        from: None,
        subject,
        body,
        language,
        purpose,
        dedup_key: input.dedup_key.clone().unwrap_or_else(|| format!("api:{}", MessageId::new())),
        cause: None,
        valid_until,
        not_before: None,
    };
    let done = enqueue(&mut tx, app, msg).await?;
    if done.created {
        let after = serde_json::json!({"message_id": done.message.id, "channel": done.message.channel,
            "patient_id": done.message.patient_id, "status": done.message.status});
        audit::record(
            &mut tx,
            app.clock.now(),
            actor,
            "message.send",
            Some(("message", done.message.id.to_string())),
            None,
            snapshot(&after),
        )
        .await?;
    }
    tx.commit().await?;
    app.outbox.wake();
    Ok((MessageView::from(&done.message), done.created))
}

/// The first of the patient's addresses for `channel` whose latest consent is an opt-in.
async fn choose_address(
    tx: &mut hearth_store::Tx,
    actor: &Actor,
    patient: Option<&crate::patients::PatientView>,
    channel: Channel,
) -> Result<String, AppError> {
    let Some(p) = patient else {
        return Err(AppError::field("to", "give the address, or a patient_id"));
    };
    let candidates: Vec<String> = if channel.uses_phone() {
        p.record.usable_phones().map(|c| c.value.clone()).collect()
    } else {
        p.record.emails.iter().filter(|c| c.problem.is_none()).map(|c| c.value.clone()).collect()
    };
    if candidates.is_empty() {
        return Err(AppError::field("to", format!("the patient has no address for {channel}; give one")));
    }
    for c in candidates {
        if consent_allows(tx, actor.org, Some(p.id), channel, &c).await? {
            return Ok(c);
        }
    }
    Err(AppError::with_message(
        ErrorCode::ConsentMissing,
        format!("none of the patient's addresses has consent for {channel}"),
    ))
}

/// Filters for listing messages.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// queued | sending | sent | delivered | undelivered | failed | canceled | dead | unknown
    pub status: Option<String>,
    pub channel: Option<String>,
    pub patient: Option<String>,
    /// Created at or after (ISO-8601 instant).
    pub from: Option<String>,
    /// Created before (ISO-8601 instant).
    pub to: Option<String>,
    /// 1–1000, default 100.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl MessageQuery {
    pub fn filter(&self) -> Result<MessageFilter, AppError> {
        let mut e = Vec::new();
        let some = |s: &Option<String>| s.as_ref().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let status = some(&self.status);
        if let Some(s) = &status
            && s.parse::<MessageStatus>().is_err()
        {
            e.push(FieldError::new(
                "status",
                "expected queued, sending, sent, delivered, undelivered, failed, canceled, dead or unknown",
            ));
        }
        let channel = some(&self.channel);
        if let Some(c) = &channel
            && let Err(err) = parse_channel(c)
        {
            e.push(err);
        }
        let mut time = |field: &str, v: Option<String>| {
            v.and_then(|t| {
                t.parse::<UtcTime>()
                    .map_err(|_| {
                        e.push(FieldError::new(
                            field,
                            "expected an ISO-8601 instant, e.g. 2026-03-14T00:00:00Z",
                        ));
                    })
                    .ok()
            })
        };
        let from = time("from", some(&self.from));
        let to = time("to", some(&self.to));
        let patient = some(&self.patient).and_then(|p| {
            p.parse::<PatientId>()
                .map_err(|_| e.push(FieldError::new("patient", "expected a patient id (UUID)")))
                .ok()
        });
        let f = MessageFilter {
            status,
            channel: channel.map(|c| c.to_lowercase()),
            patient,
            from,
            to,
            limit: self.limit.unwrap_or(100).clamp(1, 1000),
            offset: self.offset.unwrap_or(0).max(0),
        };
        if e.is_empty() { Ok(f) } else { Err(AppError::Fields(e)) }
    }
}

/// Lists messages, newest first (their bodies and addresses are patient data: the read is audited
/// with the ids shown).
pub async fn list(app: &AppState, actor: &Actor, q: &MessageQuery) -> Result<Vec<MessageView>, AppError> {
    let rows = app.store.list_messages(actor.org, &q.filter()?).await?;
    let ids: Vec<String> = rows.iter().map(|m| m.id.to_string()).collect();
    audit::record_read(app, actor, "message.list", None, snapshot(&serde_json::json!({"message_ids": ids})))
        .await?;
    Ok(rows.iter().map(MessageView::from).collect())
}

/// One message with its attempts and status history (audited read).
pub async fn get(app: &AppState, actor: &Actor, id: MessageId) -> Result<MessageDetail, AppError> {
    let m = app.store.message(actor.org, id).await?;
    let attempts = app.store.message_attempts(actor.org, id).await?;
    let history = app.store.message_history(actor.org, id).await?;
    audit::record_read(app, actor, "message.read", Some(("message", id.to_string())), None).await?;
    Ok(MessageDetail {
        message: MessageView::from(&m),
        attempts: attempts.iter().map(Into::into).collect(),
        history: history.iter().map(Into::into).collect(),
    })
}

/// Queues a message again at once, with a fresh count of attempts: a `dead` or `failed` one, a
/// `canceled` one still valid (consent is checked again), or an `unknown` one a person has checked
/// with the provider (it may then be sent twice: the person decides).
pub async fn retry(app: &AppState, actor: &Actor, id: MessageId) -> Result<MessageView, AppError> {
    change(app, actor, id, "message.retry", |m, now| {
        let status: MessageStatus = m.status.parse().unwrap_or(MessageStatus::Unknown);
        if !matches!(
            status,
            MessageStatus::Dead | MessageStatus::Failed | MessageStatus::Canceled | MessageStatus::Unknown
        ) {
            return Err(format!(
                "a {status} message cannot be retried; only dead, failed, canceled or unknown ones"
            ));
        }
        if m.valid_until.is_some_and(|v| v <= now) {
            return Err("the message's validity has passed; send a new one".into());
        }
        m.status = MessageStatus::Queued.as_str().into();
        m.status_reason = Some("staff_retry".into());
        m.attempts = 0;
        m.next_attempt_at = Some(now);
        Ok(())
    })
    .await
}

/// Cancels a message that has not gone out: `queued`, or `unknown` (a person decided not to resend).
pub async fn cancel(app: &AppState, actor: &Actor, id: MessageId) -> Result<MessageView, AppError> {
    change(app, actor, id, "message.cancel", |m, _| {
        let status: MessageStatus = m.status.parse().unwrap_or(MessageStatus::Unknown);
        if !matches!(status, MessageStatus::Queued | MessageStatus::Unknown) {
            return Err(format!("a {status} message cannot be canceled; only queued or unknown ones"));
        }
        m.status = MessageStatus::Canceled.as_str().into();
        m.status_reason = Some("staff".into());
        m.next_attempt_at = None;
        Ok(())
    })
    .await
}

async fn change(
    app: &AppState,
    actor: &Actor,
    id: MessageId,
    action: &'static str,
    decide: impl FnOnce(&mut hearth_store::outbox::MessageRow, UtcTime) -> Result<(), String>,
) -> Result<MessageView, AppError> {
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    let mut m = tx.message_for_update(actor.org, id).await?;
    let before = m.status.clone();
    decide(&mut m, now).map_err(|msg| AppError::with_message(ErrorCode::Conflict, msg))?;
    if m.status == MessageStatus::Queued.as_str()
        && !consent_allows(
            &mut tx,
            m.org_id,
            m.patient_id,
            m.channel.parse().unwrap_or(Channel::Sms),
            &m.to_address,
        )
        .await?
    {
        return Err(AppError::with_message(
            ErrorCode::ConsentMissing,
            "no consent for this channel and address any more (the recipient opted out)",
        ));
    }
    m.lease_owner = None;
    m.lease_until = None;
    m.updated_at = now;
    tx.update_message_state(&m).await?;
    tx.insert_history(&[HistoryRow {
        org_id: m.org_id,
        message_id: m.id,
        at: now,
        from_status: Some(before.clone()),
        to_status: m.status.clone(),
        source: "staff".into(),
        reason: m.status_reason.clone(),
        applied: true,
    }])
    .await?;
    let after = serde_json::json!({"message_id": m.id, "status": m.status});
    audit::record(
        &mut tx,
        now,
        actor,
        action,
        Some(("message", id.to_string())),
        snapshot(&serde_json::json!({"status": before})),
        snapshot(&after),
    )
    .await?;
    tx.commit().await?;
    app.outbox.wake();
    Ok(MessageView::from(&m))
}

/// Messages per status and channel in the actor's organization (no patient data).
pub async fn stats(app: &AppState, actor: &Actor) -> Result<OutboxStats, AppError> {
    let rows = app.store.outbox_counts(Some(actor.org)).await?;
    Ok(OutboxStats {
        counts: rows
            .into_iter()
            .map(|r| StatusCountView { status: r.status, channel: r.channel, count: r.count })
            .collect(),
    })
}
