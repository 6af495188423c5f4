//! The consent ledger: each opt-in or opt-out is appended with when, how (source) and the words used;
//! the current consent per channel and address is the latest entry.

use hearth_core::contact::{Email, Phone};
use hearth_core::{ConsentId, PatientId, UtcTime};
use hearth_store::patients::ConsentRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{PatientView, view};
use crate::audit::{self, snapshot};
use crate::auth::Actor;
use crate::error::{AppError, FieldError};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// sms | whatsapp | voice | email
    pub channel: String,
    /// The phone number or e-mail address; default: the patient's first one for the channel.
    pub address: Option<String>,
    pub opted_in: bool,
    /// staff | ehr | import | keyword | patient
    pub source: String,
    /// The words the patient used ("STOP", "yes please text me").
    pub words: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentView {
    pub channel: String,
    pub address: String,
    pub opted_in: bool,
    pub source: String,
    pub words: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: UtcTime,
}

impl From<&ConsentRow> for ConsentView {
    fn from(c: &ConsentRow) -> Self {
        Self {
            channel: c.channel.clone(),
            address: c.address.clone(),
            opted_in: c.opted_in,
            source: c.source.clone(),
            words: c.words.clone(),
            recorded_at: c.recorded_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentsView {
    /// The latest entry per channel and address.
    pub current: Vec<ConsentView>,
    /// Every entry, oldest first.
    pub ledger: Vec<ConsentView>,
}

const CHANNELS: &[&str] = &["sms", "whatsapp", "voice", "email"];
const SOURCES: &[&str] = &["staff", "ehr", "import", "keyword", "patient"];

fn address_for(
    p: &PatientView,
    channel: &str,
    given: Option<&str>,
    region: &str,
) -> Result<String, FieldError> {
    let field = |m: String| FieldError::new("address", m);
    match (channel, given) {
        ("email", Some(a)) => {
            Email::parse(a).map(|e| e.as_str().to_owned()).map_err(|e| field(e.to_string()))
        }
        (_, Some(a)) => {
            Phone::parse(a, region).map(|p| p.as_str().to_owned()).map_err(|e| field(e.to_string()))
        }
        ("email", None) => p
            .record
            .emails
            .first()
            .map(|e| e.value.clone())
            .ok_or_else(|| field("the patient has no e-mail address; give one".into())),
        (_, None) => p
            .record
            .phones
            .first()
            .map(|e| e.value.clone())
            .ok_or_else(|| field("the patient has no phone number; give one".into())),
    }
}

pub async fn record_consent(
    app: &AppState,
    actor: &Actor,
    id: PatientId,
    input: ConsentInput,
) -> Result<ConsentsView, AppError> {
    let patient = view(&app.store.patient(actor.org, id).await?)?;
    let mut errors = Vec::new();
    let channel = input.channel.trim().to_lowercase();
    if !CHANNELS.contains(&channel.as_str()) {
        errors.push(FieldError::new("channel", format!("expected one of {}", CHANNELS.join(", "))));
    }
    let source = input.source.trim().to_lowercase();
    if !SOURCES.contains(&source.as_str()) {
        errors.push(FieldError::new("source", format!("expected one of {}", SOURCES.join(", "))));
    }
    let address =
        address_for(&patient, &channel, input.address.as_deref(), &app.config.patients.phone_region)
            .map_err(|e| errors.push(e))
            .ok();
    let words = input.words.map(|w| w.chars().take(500).collect::<String>());
    if !errors.is_empty() {
        return Err(AppError::Fields(errors));
    }
    let now = app.clock.now();
    let row = ConsentRow {
        id: ConsentId::new(),
        patient_id: id,
        channel,
        address: address.unwrap_or_default(),
        opted_in: input.opted_in,
        source,
        words,
        recorded_at: now,
    };
    let mut tx = app.store.begin().await?;
    tx.append_consent(actor.org, &row).await?;
    // Nothing queued to an address that opted out goes, whatever it is; the patient's reminders
    // follow the consent (stopped ones resume after an opt-in).
    if !row.opted_in && !row.address.is_empty() {
        tx.cancel_queued_to(actor.org, &row.channel, &row.address, "opted_out", now).await?;
    }
    crate::reminders::queue_replan(&mut tx, actor.org, id, now).await?;
    let action = if row.opted_in { "patient.consent_opt_in" } else { "patient.consent_opt_out" };
    audit::record(
        &mut tx,
        now,
        actor,
        action,
        Some(("patient", id.to_string())),
        None,
        snapshot(&ConsentView::from(&row)),
    )
    .await?;
    tx.commit().await?;
    app.reminders.wake();
    ledger(app, actor, id).await
}

async fn ledger(app: &AppState, actor: &Actor, id: PatientId) -> Result<ConsentsView, AppError> {
    let rows = app.store.consents(actor.org, id).await?;
    let ledger: Vec<ConsentView> = rows.iter().map(ConsentView::from).collect();
    let mut current: Vec<ConsentView> = Vec::new();
    for c in &ledger {
        match current.iter_mut().find(|x| x.channel == c.channel && x.address == c.address) {
            Some(slot) => *slot = c.clone(),
            None => current.push(c.clone()),
        }
    }
    Ok(ConsentsView { current, ledger })
}

/// A patient's consents (a read of patient data: audited).
pub async fn consents(app: &AppState, actor: &Actor, id: PatientId) -> Result<ConsentsView, AppError> {
    app.store.patient(actor.org, id).await?;
    audit::record_read(app, actor, "patient.consents_read", Some(("patient", id.to_string())), None).await?;
    ledger(app, actor, id).await
}
