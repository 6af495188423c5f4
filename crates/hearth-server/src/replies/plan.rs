//! What to do about one reply, decided with reads only: who has the number, what the reply means,
//! which prompt it answers, the answer and acknowledgement texts, the requests for the EHR.
//! [`super::apply`] then writes all of it in one transaction.

use hearth_core::contact::Phone;
use hearth_core::messaging::reply::{self, Reply, ReplyKind};
use hearth_core::messaging::{Channel, Purpose};
use hearth_core::{OrgId, PatientId, UtcTime};
use hearth_store::appointments::AppointmentRow;
use hearth_store::ehr_requests::EhrRequestRow;
use hearth_store::inbound::InboundRow;
use hearth_store::replies::NumberPatientRow;

use super::prompts::{self, Prompted};
use super::writeback;
use crate::error::AppError;
use crate::notifications::NewMessage;
use crate::notifications::templates;
use crate::state::AppState;

/// What a reply leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Consent off for the channel and number, queued outreach canceled, one confirmation.
    OptOut,
    /// Consent on, a confirmation.
    OptIn,
    /// The HELP text.
    Help,
    /// A confirm or cancel request matched to a prompt: acknowledged, written back to the EHR.
    Request(ReplyKind),
    /// A person reads it in the inbox.
    Inbox,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub org: OrgId,
    pub channel: Channel,
    /// The sender in E.164 (as received when it is not a phone number).
    pub from: String,
    pub body: String,
    pub reply: Reply,
    pub action: Action,
    /// What the receipt and the reply record say was done.
    pub outcome: &'static str,
    pub patients: Vec<NumberPatientRow>,
    /// The patient the reply most likely comes from.
    pub patient: Option<PatientId>,
    /// The appointments it is about (most likely, for the inbox).
    pub appointments: Vec<AppointmentRow>,
    pub prompt: Option<hearth_core::MessageId>,
    /// The answer to a keyword (written directly: it answers the patient's own message).
    pub answer: Option<NewMessage>,
    /// The acknowledgement of a confirm or cancel request (through the outbox's consent check).
    pub ack: Option<NewMessage>,
    pub requests: Vec<EhrRequestRow>,
    pub now: UtcTime,
    /// Acted on without an answer (see [`fallback`]): also put in the inbox for a person.
    pub needs_review: bool,
}

/// The sender's number without the WhatsApp prefix, in E.164 when it parses.
pub fn sender(raw: Option<&str>, region: &str) -> String {
    let raw = raw.unwrap_or("").trim();
    let raw = raw.strip_prefix("whatsapp:").unwrap_or(raw);
    Phone::parse(raw, region).map_or_else(|_| raw.to_owned(), |p| p.as_str().to_owned())
}

/// The reply, classified, with the patients of its number; to the inbox unless decided otherwise.
async fn base(app: &AppState, org: OrgId, row: &InboundRow) -> Result<(Plan, bool), AppError> {
    let channel = row.channel.as_deref().and_then(|c| c.parse::<Channel>().ok()).unwrap_or(Channel::Sms);
    let from = sender(row.from_address.as_deref(), &app.config.patients.phone_region);
    let body = row.body.clone().unwrap_or_default();
    let now = app.clock.now();
    let opted_out = app.store.address_opted_out(org, channel.as_str(), &from).await?;
    // The words the organization's messages name (the reminders' confirm and cancel words).
    let r = &app.config.reminders;
    let cancel = [r.cancel_words.en.as_str(), r.cancel_words.es.as_str(), r.cancel_words.ar.as_str()];
    let extra = reply::ExtraWords { confirm: &[r.confirm_word.as_str()], cancel: &cancel };
    let reply = reply::classify_with(&body, opted_out, extra);
    let patients = app.store.patients_with_phone(org, &from).await?;
    let p = Plan {
        org,
        channel,
        from,
        body,
        action: Action::Inbox,
        outcome: "to_inbox",
        patient: (patients.len() == 1).then(|| patients[0].id),
        patients,
        appointments: Vec::new(),
        prompt: None,
        answer: None,
        ack: None,
        requests: Vec::new(),
        now,
        reply,
        needs_review: false,
    };
    Ok((p, opted_out))
}

/// When the plan cannot be made or applied for a reason that will not pass (a template that does
/// not render, an address the outbox refuses): the same plan without the answer or acknowledgement,
/// also put in the inbox (`needs_review`), so the consent change or the request still happens, a
/// person sees that the patient got no answer, and nothing is retried forever.
pub async fn fallback(app: &AppState, org: OrgId, row: &InboundRow) -> Result<Plan, AppError> {
    let mut p = plan_with(app, org, row, false).await?;
    p.needs_review = true;
    p.outcome = match p.outcome {
        "opted_out" => "opted_out_unanswered",
        "opted_in" => "opted_in_unanswered",
        "help_sent" => "help_unanswered",
        "confirm_requested" => "confirm_requested_unanswered",
        "cancel_requested" => "cancel_requested_unanswered",
        other => other,
    };
    Ok(p)
}

pub async fn plan(app: &AppState, org: OrgId, row: &InboundRow) -> Result<Plan, AppError> {
    plan_with(app, org, row, true).await
}

async fn plan_with(app: &AppState, org: OrgId, row: &InboundRow, answers: bool) -> Result<Plan, AppError> {
    let (mut p, opted_out) = base(app, org, row).await?;
    // Answers need a phone channel and a number to answer (not a short code or a sender name).
    let texts = matches!(p.channel, Channel::Sms | Channel::Whatsapp) && p.from.starts_with('+');
    let now = p.now;
    match p.reply.kind {
        ReplyKind::OptOut if texts => {
            (p.action, p.outcome) = (Action::OptOut, "opted_out");
            // An opted-out number gets no second confirmation: after STOP nothing more goes out.
            if answers && !opted_out {
                p.answer = Some(answer(app, row, &p, Purpose::OptOut).await?);
            }
        }
        ReplyKind::OptIn if texts => {
            (p.action, p.outcome) = (Action::OptIn, "opted_in");
            if answers {
                p.answer = Some(answer(app, row, &p, Purpose::OptIn).await?);
            }
        }
        ReplyKind::Help if texts => {
            (p.action, p.outcome) = (Action::Help, "help_sent");
            if answers {
                p.answer = Some(answer(app, row, &p, Purpose::Help).await?);
            }
        }
        kind if kind.is_intent() && texts => {
            if let Some(m) = prompts::outstanding(app, org, &p.from, now).await? {
                request(app, row, &mut p, kind, m, answers).await?;
            } else {
                p.outcome = "no_prompt";
                likely(app, &mut p).await?;
            }
        }
        _ => likely(app, &mut p).await?,
    }
    Ok(p)
}

/// For the inbox: the patient and appointment of the latest prompt to the number, if any.
async fn likely(app: &AppState, p: &mut Plan) -> Result<(), AppError> {
    if let Some(m) = prompts::latest(app, p.org, &p.from, p.now).await? {
        p.patient = m.patient().or(p.patient);
        p.prompt = Some(m.prompt.id);
        p.appointments = m.appointments.into_iter().take(1).collect();
    }
    Ok(())
}

async fn request(
    app: &AppState,
    row: &InboundRow,
    p: &mut Plan,
    kind: ReplyKind,
    m: Prompted,
    answers: bool,
) -> Result<(), AppError> {
    p.action = Action::Request(kind);
    p.outcome = if kind == ReplyKind::Confirm { "confirm_requested" } else { "cancel_requested" };
    p.patient = m.patient();
    p.prompt = Some(m.prompt.id);
    let method = app.config.writeback.effective();
    for a in &m.appointments {
        if let Some(r) = writeback::request(app, row, a, kind, method, p.now).await? {
            p.requests.push(r);
        }
    }
    p.appointments = m.appointments;
    if answers {
        p.ack = acknowledgement(app, row, p, kind, &m.prompt.language).await?;
    }
    Ok(())
}

/// The number patients call: configured, else the number they wrote to.
fn support_phone(app: &AppState, row: &InboundRow) -> String {
    app.config.replies.support_phone.clone().unwrap_or_else(|| {
        let to = row.to_address.as_deref().unwrap_or("").trim();
        to.strip_prefix("whatsapp:").unwrap_or(to).to_owned()
    })
}

async fn language(app: &AppState, p: &Plan, first: Option<&str>) -> Result<String, AppError> {
    let preferred = p
        .patient
        .and_then(|id| p.patients.iter().find(|x| x.id == id))
        .or(p.patients.first())
        .and_then(|x| x.preferred_language.clone());
    match first.map(str::to_owned).or(preferred) {
        Some(l) => Ok(l),
        None => Ok(app.store.organization_language(p.org).await?),
    }
}

fn message(
    p: &Plan,
    row: &InboundRow,
    purpose: Purpose,
    body: String,
    language: String,
    key: &str,
) -> NewMessage {
    NewMessage {
        org: p.org,
        patient: p.patient.or_else(|| p.patients.first().map(|x| x.id)),
        channel: p.channel,
        to: p.from.clone(),
        from: None,
        subject: None,
        body,
        language,
        purpose: purpose.as_str().to_owned(),
        dedup_key: format!("reply:{}:{key}", row.id),
        cause: Some(("reply".to_owned(), row.id.to_string())),
        valid_until: None,
        not_before: None,
    }
}

/// The answer to STOP, START or HELP, in the language the keyword was written in (else the
/// patient's, else the organization's).
async fn answer(
    app: &AppState,
    row: &InboundRow,
    p: &Plan,
    purpose: Purpose,
) -> Result<NewMessage, AppError> {
    let lang = language(app, p, p.reply.language).await?;
    let vars = serde_json::json!({ "support_phone": support_phone(app, row) });
    let r = templates::render(app, p.org, p.channel, purpose, &lang, None, &vars).await?;
    Ok(message(p, row, purpose, r.body, r.language, "answer"))
}

/// "We received your confirmation / request to cancel", about the first appointment, in the
/// prompt's language.
async fn acknowledgement(
    app: &AppState,
    row: &InboundRow,
    p: &Plan,
    kind: ReplyKind,
    prompt_language: &str,
) -> Result<Option<NewMessage>, AppError> {
    let Some(a) = p.appointments.first() else { return Ok(None) };
    let patient = app.store.patient(p.org, a.patient_id).await?;
    let first_name = patient.given_names.split_whitespace().next().unwrap_or("").to_owned();
    let practitioner = match a.practitioner_id {
        Some(id) => app
            .store
            .practitioner(p.org, id)
            .await
            .ok()
            .map(|x| format!("{} {}", x.given_name, x.family_name)),
        None => None,
    };
    let vars = serde_json::json!({
        "patient_first_name": first_name,
        "appointment_start": a.start_at.to_string(),
        "support_phone": support_phone(app, row),
        "practitioner_name": practitioner.map(|s| s.trim().to_owned()),
        "appointment_type": a.appointment_type,
    });
    let purpose = if kind == ReplyKind::Confirm { Purpose::ConfirmReceived } else { Purpose::CancelReceived };
    let lang = language(app, p, Some(prompt_language)).await?;
    let r = templates::render(app, p.org, p.channel, purpose, &lang, a.location_id, &vars).await?;
    let mut msg = message(p, row, purpose, r.body, r.language, "ack");
    msg.patient = Some(a.patient_id);
    Ok(Some(msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senders_lose_the_whatsapp_prefix_and_become_e164() {
        assert_eq!(sender(Some("whatsapp:+34600111222"), "US"), "+34600111222");
        assert_eq!(sender(Some("+1 (312) 555-0143"), "US"), "+13125550143");
        assert_eq!(sender(Some("  SHORTCODE "), "US"), "SHORTCODE");
        assert_eq!(sender(None, "US"), "");
    }
}
