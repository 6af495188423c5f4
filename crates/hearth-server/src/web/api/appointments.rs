//! `/api/v1/ingest/appointment-events` (EHR events in) and `/api/v1/appointments` (lists, history).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hearth_core::AppointmentId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::appointments::{self, AppointmentHistory, AppointmentQuery, AppointmentView, IngestReport};
use crate::auth::{Authorized, perms};
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::web::{ApiJson, ApiPath, ApiQuery};

/// Events per request, at most.
pub const MAX_BATCH: usize = 1000;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ingest_appointment_events))
        .routes(routes!(list_appointments))
        .routes(routes!(appointment_history))
        .routes(routes!(export_appointments))
        .routes(routes!(integration_event))
}

/// One event or an array of up to 1,000 (specs/appointments.md §1). Each event is answered on its
/// own: an invalid one gets `result: rejected` with its field errors while the valid ones in the
/// same batch are applied. Replays (same `source_message_id`, or the same event) answer as the first
/// time and change nothing. A 202 means the batch is on disk.
#[utoipa::path(post, path = "/api/v1/ingest/appointment-events", tag = "appointments",
    request_body(content = Object, description = "An appointment event, or an array of them"),
    security(("api_key" = ["ingest:write"]), ("session" = ["ingest:write"])),
    responses((status = 202, body = IngestReport), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn ingest_appointment_events(
    auth: Authorized<perms::IngestWrite>,
    State(app): State<AppState>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response, AppError> {
    let events = match body {
        serde_json::Value::Array(items) if items.is_empty() => {
            return Err(AppError::field("(body)", "expected at least one event"));
        }
        serde_json::Value::Array(items) if items.len() > MAX_BATCH => {
            return Err(AppError::field(
                "(body)",
                format!("{} events in one request; send at most {MAX_BATCH}", items.len()),
            ));
        }
        serde_json::Value::Array(items) => items,
        obj @ serde_json::Value::Object(_) => vec![obj],
        _ => return Err(AppError::field("(body)", "expected an event object or an array of events")),
    };
    let report = appointments::ingest(&app, &auth.actor, events, false).await?;
    Ok((StatusCode::ACCEPTED, Json(report)).into_response())
}

#[utoipa::path(get, path = "/api/v1/appointments", tag = "appointments", params(AppointmentQuery),
    security(("session" = ["appointment:read"]), ("api_key" = ["appointment:read"])),
    responses((status = 200, body = Vec<AppointmentView>), (status = 422, body = ErrorBody)))]
async fn list_appointments(
    auth: Authorized<perms::AppointmentRead>,
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<AppointmentQuery>,
) -> Result<Json<Vec<AppointmentView>>, AppError> {
    Ok(Json(appointments::list(&app, &auth.actor, &q).await?))
}

/// Every event received about the appointment — applied, stale, ignored or rejected — with its
/// source, payload and outcome.
#[utoipa::path(get, path = "/api/v1/appointments/{appointment_id}/history", tag = "appointments",
    params(("appointment_id" = String, Path, format = Uuid)),
    security(("session" = ["appointment:read"]), ("api_key" = ["appointment:read"])),
    responses((status = 200, body = AppointmentHistory), (status = 404, body = ErrorBody)))]
async fn appointment_history(
    auth: Authorized<perms::AppointmentRead>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<AppointmentId>,
) -> Result<Json<AppointmentHistory>, AppError> {
    Ok(Json(appointments::history(&app, &auth.actor, id).await?))
}

/// `appointments.csv`, `appointments.ndjson`, `appointment-events.csv` or
/// `appointment-events.ndjson`, with the filters of the list (limit and offset aside). Streamed:
/// any size, constant memory. The export is audited with its filters.
#[utoipa::path(get, path = "/api/v1/exports/{export}", tag = "appointments", params(
        ("export" = String, Path, description = "appointments.csv | appointments.ndjson | appointment-events.csv | appointment-events.ndjson"),
        AppointmentQuery),
    security(("session" = ["appointment:read"]), ("api_key" = ["appointment:read"])),
    responses((status = 200, description = "CSV with a header line, or one JSON object per line", content_type = "text/csv"),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export_appointments(
    auth: Authorized<perms::AppointmentRead>,
    State(app): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<AppointmentQuery>,
) -> Result<Response, AppError> {
    let what = appointments::Export::from_file_name(&name).ok_or_else(|| {
        AppError::with_message(
            hearth_core::ErrorCode::NotFound,
            "no such export; expected appointments.csv, appointments.ndjson, appointment-events.csv or appointment-events.ndjson",
        )
    })?;
    let stream = appointments::export(&app, &auth.actor, what, &q).await?;
    let headers = [
        (axum::http::header::CONTENT_TYPE, what.content_type().to_owned()),
        (axum::http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
    ];
    Ok((headers, axum::body::Body::from_stream(stream)).into_response())
}

/// A patient-experience integration event (PX360 style). Stored; an arrival or discharge code
/// (`integrations.arrival_codes` / `discharge_codes`) also moves the appointment whose EHR id is the
/// encounter id; other codes are kept for patient journeys. A resend answers `replayed: true`.
#[utoipa::path(post, path = "/api/integrations/events", tag = "appointments",
    request_body = appointments::IntegrationEvent,
    security(("api_key" = ["ingest:write"]), ("session" = ["ingest:write"])),
    responses((status = 202, body = appointments::IntegrationResult), (status = 422, body = ErrorBody)))]
async fn integration_event(
    auth: Authorized<perms::IngestWrite>,
    State(app): State<AppState>,
    ApiJson(ev): ApiJson<appointments::IntegrationEvent>,
) -> Result<Response, AppError> {
    let r = appointments::receive_integration_event(&app, &auth.actor, ev).await?;
    Ok((StatusCode::ACCEPTED, Json(r)).into_response())
}
