//! What the scheduler's messages share: whom they go to (channel and address), in which language,
//! and the template variables of an appointment.

use hearth_core::messaging::{Channel, Purpose};
use hearth_core::{OrgId, PatientId, UtcTime};
use hearth_store::Tx;
use hearth_store::appointments::AppointmentRow;

use crate::error::AppError;
use crate::notifications::outbox::consent_allows;
use crate::notifications::templates::{self, Rendered};
use crate::patients::PatientView;
use crate::state::AppState;

/// Where a patient's appointment messages go.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub patient: PatientId,
    pub first_name: String,
    pub channel: Channel,
    pub address: String,
    pub language: String,
    /// The patient's own time zone, when the record has one.
    pub zone: Option<String>,
}

/// The patient's address for appointment messages: their preferred channel first, then SMS, then
/// e-mail; the first address whose consent allows it, else the first address at all (the outbox then
/// records the message `canceled: no_consent`, visible, never silently dropped). `None`: no address
/// Hearth may use (none given, unusable, or the patient is deceased or inactive).
pub async fn recipient(
    tx: &mut Tx,
    app: &AppState,
    org: OrgId,
    patient: PatientId,
) -> Result<Option<Recipient>, AppError> {
    let row = app.store.patient(org, patient).await?;
    let view = PatientView::try_from(&row).map_err(AppError::Internal)?;
    if view.record.deceased || view.status != "active" {
        return Ok(None);
    }
    let phones: Vec<String> = view.record.usable_phones().map(|c| c.value.clone()).collect();
    let emails: Vec<String> =
        view.record.emails.iter().filter(|c| c.problem.is_none()).map(|c| c.value.clone()).collect();
    let preferred = view.record.preferred_channel.as_deref().and_then(|c| c.parse::<Channel>().ok());
    let mut order: Vec<Channel> = preferred.into_iter().collect();
    for c in [Channel::Sms, Channel::Email] {
        if !order.contains(&c) {
            order.push(c);
        }
    }
    let candidates: Vec<(Channel, String)> = order
        .iter()
        .flat_map(|&c| {
            let list = if c.uses_phone() { &phones } else { &emails };
            list.iter().map(move |a| (c, a.clone()))
        })
        .collect();
    let mut chosen = None;
    for (c, a) in &candidates {
        if consent_allows(tx, org, Some(patient), *c, a).await? {
            chosen = Some((*c, a.clone()));
            break;
        }
    }
    let Some((channel, address)) = chosen.or_else(|| candidates.first().cloned()) else {
        return Ok(None);
    };
    let org_language = app.store.organization_language(org).await?;
    Ok(Some(Recipient {
        patient,
        first_name: view.record.name.given.first().cloned().unwrap_or_default(),
        channel,
        address,
        language: view.record.preferred_language.clone().unwrap_or(org_language),
        zone: view.record.time_zone.clone(),
    }))
}

/// Renders `purpose` about `appointments` (the first one is the subject; others of the same local
/// day are listed after it) for `to`.
pub async fn render(
    app: &AppState,
    purpose: Purpose,
    to: &Recipient,
    appointments: &[&AppointmentRow],
    previous_start: Option<UtcTime>,
) -> Result<Rendered, AppError> {
    let first = appointments.first().ok_or_else(|| AppError::Internal(anyhow::anyhow!("no appointment")))?;
    let org = first.org_id;
    let mut vars = variables(app, to, first).await?;
    if let Some(p) = previous_start {
        vars["previous_start"] = serde_json::Value::String(rfc3339(p));
    }
    let zone = Some(first.time_zone.as_str());
    let mut rendered = templates::render_in_zone(
        app,
        org,
        to.channel,
        purpose,
        &to.language,
        first.location_id,
        zone,
        &vars,
    )
    .await?;
    for other in &appointments[1..] {
        let vars = variables(app, to, other).await?;
        let zone = Some(other.time_zone.as_str());
        let more = templates::render_in_zone(
            app,
            org,
            to.channel,
            purpose,
            &to.language,
            other.location_id,
            zone,
            &vars,
        )
        .await?;
        // The second appointment's own sentence, without the greeting repeated: its text after the
        // first colon (templates start "{organization}…: ").
        let tail = more.body.split_once(": ").map_or(more.body.as_str(), |(_, t)| t);
        rendered.body = format!("{}\n{}", rendered.body, tail);
    }
    Ok(rendered)
}

async fn variables(
    app: &AppState,
    to: &Recipient,
    a: &AppointmentRow,
) -> Result<serde_json::Value, AppError> {
    let cfg = &app.config.reminders;
    let cancel = cfg.cancel_words.for_language(&to.language);
    let mut vars = serde_json::json!({
        "support_phone": app.config.replies.support_phone.clone().unwrap_or_default(),
        "patient_first_name": to.first_name,
        "appointment_start": rfc3339(a.start_at),
        "reply_confirm_word": cfg.confirm_word,
        "reply_cancel_word": cancel,
    });
    if let Some(t) = &a.appointment_type {
        vars["appointment_type"] = serde_json::Value::String(t.clone());
    }
    if let Some(p) = a.practitioner_id {
        let row = app.store.practitioner(a.org_id, p).await?;
        let name = format!("{} {}", row.given_name, row.family_name).trim().to_owned();
        if !name.is_empty() {
            vars["practitioner_name"] = serde_json::Value::String(name);
        }
    }
    Ok(vars)
}

fn rfc3339(t: UtcTime) -> String {
    t.get().to_string()
}
