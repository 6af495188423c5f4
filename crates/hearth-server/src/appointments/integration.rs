//! Patient-experience integration events (PX360 style): `{source_system, event_code, encounter_id,
//! patient_identifier, payload}`. Every one is stored; a code that means arrival or discharge
//! (`integrations.arrival_codes`, `integrations.discharge_codes`) also moves the appointment whose
//! EHR id is the encounter id; the others are kept for patient journeys. A resend is a no-op.

use hearth_core::appointment::EventKind;
use hearth_core::{AppointmentId, IntegrationEventId};
use hearth_store::appointments::IntegrationEventRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Actor;
use crate::error::{AppError, FieldError};
use crate::state::AppState;

/// An integration event as sent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationEvent {
    pub source_system: String,
    /// e.g. ARRIVAL, DISCHARGE, or any code of the source's own.
    pub event_code: String,
    /// The encounter; for arrival and discharge, the EHR's appointment id.
    pub encounter_id: String,
    pub patient_identifier: String,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub payload: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntegrationResult {
    #[schema(value_type = String, format = Uuid)]
    pub id: IntegrationEventId,
    /// applied | stale | ignored | kept
    pub outcome: String,
    /// ARRIVED or FULFILLED when the code means arrival or discharge.
    pub mapped_to: Option<String>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub appointment_id: Option<AppointmentId>,
    /// The appointment's status after the event.
    pub status: Option<String>,
    pub reason: String,
    /// True when this event was received before (nothing changed now).
    pub replayed: bool,
}

fn check(ev: &IntegrationEvent) -> Result<(), AppError> {
    let mut e = Vec::new();
    for (field, v) in [
        ("source_system", &ev.source_system),
        ("event_code", &ev.event_code),
        ("encounter_id", &ev.encounter_id),
        ("patient_identifier", &ev.patient_identifier),
    ] {
        if v.trim().is_empty() || v.chars().count() > 200 {
            e.push(FieldError::new(field, "expected 1 to 200 characters"));
        }
    }
    if ev.payload.as_ref().is_some_and(|p| !p.is_object()) {
        e.push(FieldError::new("payload", "expected a JSON object"));
    }
    if e.is_empty() { Ok(()) } else { Err(AppError::Fields(e)) }
}

/// What the code means, by the configured lists (case-insensitive).
fn mapping(app: &AppState, code: &str) -> Option<EventKind> {
    let cfg = &app.config.integrations;
    let is = |list: &[String]| list.iter().any(|c| c.eq_ignore_ascii_case(code.trim()));
    if is(&cfg.arrival_codes) {
        Some(EventKind::Arrived)
    } else if is(&cfg.discharge_codes) {
        Some(EventKind::Fulfilled)
    } else {
        None
    }
}

pub async fn receive(
    app: &AppState,
    actor: &Actor,
    ev: IntegrationEvent,
) -> Result<IntegrationResult, AppError> {
    check(&ev)?;
    let (source, code, encounter) = (ev.source_system.trim(), ev.event_code.trim(), ev.encounter_id.trim());
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    if let Some(seen) = tx.integration_event(actor.org, source, code, encounter).await? {
        return Ok(IntegrationResult {
            id: seen.id,
            outcome: seen.outcome,
            mapped_to: seen.mapped_to,
            appointment_id: seen.appointment_id,
            status: None,
            reason: seen.reason,
            replayed: true,
        });
    }
    let payload = serde_json::json!({
        "source_system": source, "event_code": code, "encounter_id": encounter,
        "patient_identifier": ev.patient_identifier.trim(), "payload": ev.payload,
    })
    .to_string();
    let kind = mapping(app, code);
    let applied = match kind {
        Some(kind) => {
            let message_id = format!("integration:{code}:{encounter}");
            super::ingest::apply_fact(&mut tx, actor.org, source, encounter, kind, &message_id, &payload, now)
                .await?
        }
        None => None,
    };
    let (outcome, reason) = match (&kind, &applied) {
        (Some(_), Some(r)) => {
            (if r.result == "updated" { "applied".to_owned() } else { r.result.clone() }, r.reason.clone())
        }
        (Some(_), None) => (
            "kept".to_owned(),
            format!("no appointment {encounter} from {source}; kept for patient journeys"),
        ),
        (None, _) => (
            "kept".to_owned(),
            format!("{code} is neither an arrival nor a discharge; kept for patient journeys"),
        ),
    };
    let row = IntegrationEventRow {
        id: IntegrationEventId::new(),
        org_id: actor.org,
        source_system: source.to_owned(),
        event_code: code.to_owned(),
        encounter_id: encounter.to_owned(),
        patient_identifier: ev.patient_identifier.trim().to_owned(),
        payload,
        received_at: now,
        mapped_to: kind.map(|k| k.as_str().to_owned()),
        appointment_id: applied.as_ref().and_then(|r| r.appointment_id),
        outcome,
        reason,
    };
    tx.insert_integration_event(&row).await?;
    tx.commit().await?;
    app.reminders.wake();
    Ok(IntegrationResult {
        id: row.id,
        outcome: row.outcome,
        mapped_to: row.mapped_to,
        appointment_id: row.appointment_id,
        status: applied.and_then(|r| r.status),
        reason: row.reason,
        replayed: false,
    })
}
