//! Exports of appointments and their events, as CSV or NDJSON, streamed row by row from the store
//! (a bounded channel in between): a million rows never sit in memory.

use bytes::Bytes;
use hearth_core::{AppointmentId, UtcTime};
use serde::Serialize;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;

use super::{AppointmentQuery, AppointmentView};
use crate::audit;
use crate::auth::Actor;
use crate::error::AppError;
use crate::state::AppState;

/// What can be exported, by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    AppointmentsCsv,
    AppointmentsNdjson,
    EventsCsv,
    EventsNdjson,
}

impl Export {
    pub fn from_file_name(name: &str) -> Option<Self> {
        Some(match name {
            "appointments.csv" => Self::AppointmentsCsv,
            "appointments.ndjson" => Self::AppointmentsNdjson,
            "appointment-events.csv" => Self::EventsCsv,
            "appointment-events.ndjson" => Self::EventsNdjson,
            _ => return None,
        })
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::AppointmentsCsv | Self::EventsCsv => "text/csv; charset=utf-8",
            Self::AppointmentsNdjson | Self::EventsNdjson => "application/x-ndjson",
        }
    }

    fn csv(self) -> bool {
        matches!(self, Self::AppointmentsCsv | Self::EventsCsv)
    }
}

/// One event as exported (the payload as the JSON text received).
#[derive(Debug, Serialize)]
struct EventLine {
    appointment_id: Option<AppointmentId>,
    source: String,
    source_message_id: String,
    event_type: Option<String>,
    event_at: Option<UtcTime>,
    received_at: UtcTime,
    outcome: String,
    reason: String,
    payload: String,
}

/// The chunks of an export.
pub type ExportStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

const APPOINTMENT_HEADER: &str = "id,source,external_id,patient_id,practitioner_id,location_id,appointment_type,\
start,local_start,time_zone,duration_minutes,status,reminders,participant_accepted,updated_at\n";
const EVENT_HEADER: &str =
    "appointment_id,source,source_message_id,event_type,event_at,received_at,outcome,reason,payload\n";

/// Turns rows into lines: CSV (the header is sent first, even for no rows) or NDJSON.
struct Lines {
    csv: bool,
}

impl Lines {
    fn new(csv: bool) -> Self {
        Self { csv }
    }

    fn line<T: Serialize>(&mut self, row: &T) -> Result<Bytes, std::io::Error> {
        if self.csv {
            let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::with_capacity(256));
            w.serialize(row).map_err(std::io::Error::other)?;
            return w.into_inner().map(Bytes::from).map_err(|e| std::io::Error::other(e.to_string()));
        }
        let mut v = serde_json::to_vec(row)?;
        v.push(b'\n');
        Ok(Bytes::from(v))
    }
}

/// The export as a stream of chunks; the export itself is an audited read (its filters, not ids).
pub async fn export(
    app: &AppState,
    actor: &Actor,
    what: Export,
    q: &AppointmentQuery,
) -> Result<ExportStream, AppError> {
    let filter = q.filter()?;
    let detail = audit::snapshot(&serde_json::json!({
        "export": format!("{what:?}"), "status": q.status, "from": q.from, "to": q.to,
        "practitioner": q.practitioner, "location": q.location, "patient": q.patient,
    }));
    audit::record_read(app, actor, "appointment.export", None, detail).await?;
    let mut lines = Lines::new(what.csv());
    let failed = |e: hearth_store::StoreError| {
        tracing::error!(error = %e, "export interrupted");
        std::io::Error::other("export interrupted")
    };
    let header = match what {
        Export::AppointmentsCsv => APPOINTMENT_HEADER,
        Export::EventsCsv => EVENT_HEADER,
        Export::AppointmentsNdjson | Export::EventsNdjson => "",
    };
    let header = tokio_stream::iter((!header.is_empty()).then(|| Ok(Bytes::from_static(header.as_bytes()))));
    let stream: ExportStream = match what {
        Export::AppointmentsCsv | Export::AppointmentsNdjson => {
            let rows = ReceiverStream::new(app.store.stream_appointments(actor.org, filter));
            Box::pin(header.chain(
                rows.map(move |r| r.map_err(failed).and_then(|row| lines.line(&AppointmentView::from(&row)))),
            ))
        }
        Export::EventsCsv | Export::EventsNdjson => {
            let rows = ReceiverStream::new(app.store.stream_appointment_events(actor.org, filter));
            Box::pin(header.chain(rows.map(move |r| {
                r.map_err(failed).and_then(|e| {
                    lines.line(&EventLine {
                        appointment_id: e.appointment_id,
                        source: e.source,
                        source_message_id: e.source_message_id,
                        event_type: e.event_type,
                        event_at: e.event_at,
                        received_at: e.received_at,
                        outcome: e.outcome,
                        reason: e.reason,
                        payload: e.payload,
                    })
                })
            })))
        }
    };
    Ok(stream)
}
