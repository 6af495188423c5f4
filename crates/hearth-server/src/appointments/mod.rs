//! Appointments: EHR events in (the webhook, CSV schedules), the state machine applied, every event
//! kept in the appointment's history; queries for lists and timelines.

mod export;
mod group_commit;
mod ingest;
mod ingest_seen;
mod ingest_writes;
mod integration;
pub mod schedule;
pub mod simulation;
mod wire;

use hearth_core::{AppointmentId, LocationId, PatientId, PractitionerId, UtcTime};
use hearth_store::appointments::{AppointmentEventRow, AppointmentFilter, AppointmentRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub use export::{Export, ExportStream, export};
pub use group_commit::{CommitCounts, GroupCommit, MAX_EVENTS_PER_COMMIT};
pub use ingest::{EventResult, IngestReport, ingest};
pub use integration::{IntegrationEvent, IntegrationResult, receive as receive_integration_event};

use crate::audit;
use crate::auth::Actor;
use crate::error::{AppError, FieldError};
use crate::state::AppState;

/// An appointment as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppointmentView {
    #[schema(value_type = String, format = Uuid)]
    pub id: AppointmentId,
    /// The EHR system and its id for the appointment.
    pub source: String,
    pub external_id: String,
    #[schema(value_type = String, format = Uuid)]
    pub patient_id: PatientId,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub practitioner_id: Option<PractitionerId>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub location_id: Option<LocationId>,
    pub appointment_type: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub start: UtcTime,
    /// The start as a wall-clock time where the appointment is.
    pub local_start: String,
    pub time_zone: String,
    pub duration_minutes: Option<i32>,
    /// FHIR Appointment.status
    pub status: String,
    /// pending:k | done | suppressed:reason | expired
    pub reminders: String,
    pub participant_accepted: bool,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: UtcTime,
}

/// A wall-clock time in `zone` (an IANA name or a fixed offset), `YYYY-MM-DDTHH:MM:SS`.
pub fn local_time(start: UtcTime, zone: &str) -> String {
    let tz = hearth_core::TimeZoneName::parse(zone)
        .map(|z| z.time_zone())
        .ok()
        .or_else(|| wire::fixed_offset(zone).map(jiff::tz::TimeZone::fixed));
    tz.map_or_else(|| start.to_string(), |tz| start.get().to_zoned(tz).datetime().to_string())
}

impl From<&AppointmentRow> for AppointmentView {
    fn from(r: &AppointmentRow) -> Self {
        Self {
            id: r.id,
            source: r.source.clone(),
            external_id: r.external_id.clone(),
            patient_id: r.patient_id,
            practitioner_id: r.practitioner_id,
            location_id: r.location_id,
            appointment_type: r.appointment_type.clone(),
            start: r.start_at,
            local_start: local_time(r.start_at, &r.time_zone),
            time_zone: r.time_zone.clone(),
            duration_minutes: r.duration_minutes,
            status: r.status.clone(),
            reminders: r.reminders.clone(),
            participant_accepted: r.participant_accepted,
            updated_at: r.updated_at,
        }
    }
}

/// Filters for listing appointments.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AppointmentQuery {
    /// FHIR status, e.g. booked
    pub status: Option<String>,
    /// Start at or after (ISO-8601 instant).
    pub from: Option<String>,
    /// Start before (ISO-8601 instant).
    pub to: Option<String>,
    pub practitioner: Option<String>,
    pub location: Option<String>,
    pub patient: Option<String>,
    /// 1–1000, default 100.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

fn instant(e: &mut Vec<FieldError>, field: &str, v: Option<&String>) -> Option<UtcTime> {
    v.and_then(|t| {
        t.parse::<jiff::Timestamp>()
            .map(UtcTime::new)
            .map_err(|_| {
                e.push(FieldError::new(field, "expected an ISO-8601 instant, e.g. 2026-03-14T00:00:00Z"));
            })
            .ok()
    })
}

fn id<T: std::str::FromStr>(e: &mut Vec<FieldError>, field: &str, v: Option<&String>) -> Option<T> {
    v.and_then(|t| t.parse().map_err(|_| e.push(FieldError::new(field, "expected an id (UUID)"))).ok())
}

impl AppointmentQuery {
    pub(crate) fn filter(&self) -> Result<AppointmentFilter, AppError> {
        let mut e = Vec::new();
        if let Some(s) = &self.status
            && hearth_core::appointment::Status::parse(s).is_err()
        {
            e.push(FieldError::new(
                "status",
                "expected a FHIR status: proposed, pending, booked, arrived, fulfilled, cancelled, noshow, entered-in-error, checked-in, waitlist",
            ));
        }
        let f = AppointmentFilter {
            status: self.status.clone(),
            from: instant(&mut e, "from", self.from.as_ref()),
            to: instant(&mut e, "to", self.to.as_ref()),
            practitioner: id(&mut e, "practitioner", self.practitioner.as_ref()),
            location: id(&mut e, "location", self.location.as_ref()),
            patient: id(&mut e, "patient", self.patient.as_ref()),
            limit: self.limit.unwrap_or(100).clamp(1, 1000),
            offset: self.offset.unwrap_or(0).max(0),
        };
        if e.is_empty() { Ok(f) } else { Err(AppError::Fields(e)) }
    }
}

/// Lists appointments (patient data: the read is audited with the ids shown).
pub async fn list(
    app: &AppState,
    actor: &Actor,
    q: &AppointmentQuery,
) -> Result<Vec<AppointmentView>, AppError> {
    let rows = app.store.list_appointments(actor.org, &q.filter()?).await?;
    let views: Vec<AppointmentView> = rows.iter().map(AppointmentView::from).collect();
    let ids: Vec<String> = views.iter().map(|v| v.id.to_string()).collect();
    audit::record_read(
        app,
        actor,
        "appointment.list",
        None,
        audit::snapshot(&serde_json::json!({"appointment_ids": ids})),
    )
    .await?;
    Ok(views)
}

/// One received event in an appointment's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub source: String,
    pub source_message_id: String,
    pub event_type: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub event_at: Option<UtcTime>,
    #[schema(value_type = String, format = DateTime)]
    pub received_at: UtcTime,
    /// applied | stale | ignored | rejected
    pub outcome: String,
    pub reason: String,
    /// The event as received.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// The answer given for it.
    #[schema(value_type = Object)]
    pub result: serde_json::Value,
}

impl From<&AppointmentEventRow> for HistoryEntry {
    fn from(e: &AppointmentEventRow) -> Self {
        Self {
            source: e.source.clone(),
            source_message_id: e.source_message_id.clone(),
            event_type: e.event_type.clone(),
            event_at: e.event_at,
            received_at: e.received_at,
            outcome: e.outcome.clone(),
            reason: e.reason.clone(),
            payload: serde_json::from_str(&e.payload).unwrap_or_default(),
            result: serde_json::from_str(&e.result).unwrap_or_default(),
        }
    }
}

/// An appointment and every event received about it (audited read).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppointmentHistory {
    pub appointment: AppointmentView,
    pub events: Vec<HistoryEntry>,
    /// What the reminder planner decided, per start the appointment had (newest first).
    pub reminders: Vec<crate::reminders::planning::DecisionView>,
    /// Messages about the appointment (notices, reminders), oldest first.
    pub messages: Vec<crate::reminders::planning::AboutMessage>,
}

pub async fn history(
    app: &AppState,
    actor: &Actor,
    id: AppointmentId,
) -> Result<AppointmentHistory, AppError> {
    let row = app.store.appointment(actor.org, id).await?;
    let events = app.store.appointment_events(actor.org, id).await?;
    audit::record_read(app, actor, "appointment.history_read", Some(("appointment", id.to_string())), None)
        .await?;
    let (reminders, messages) = crate::reminders::planning::history(app, &row).await?;
    Ok(AppointmentHistory {
        appointment: AppointmentView::from(&row),
        events: events.iter().map(HistoryEntry::from).collect(),
        reminders,
        messages,
    })
}
