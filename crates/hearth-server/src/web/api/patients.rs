//! `/api/v1/patients`: records, their versions (ETag / If-Match), and consent.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_core::PatientId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, perms};
use crate::error::{AppError, ErrorBody};
use crate::patients::{
    self, ConsentInput, ConsentsView, DuplicateCandidate, PatientQuery, PatientRecord, PatientView,
    QueueEntry,
};
use crate::state::AppState;
use crate::web::{ApiJson, ApiPath, ApiQuery};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_patients, create_patient))
        .routes(routes!(get_patient, update_patient, delete_patient))
        .routes(routes!(reactivate_patient))
        .routes(routes!(reveal_sensitive))
        .routes(routes!(list_consents, record_consent))
        .routes(routes!(list_duplicates))
        .routes(routes!(list_duplicate_queue))
        .routes(routes!(mark_not_duplicate))
        .routes(routes!(merge_patient))
        .routes(routes!(unmerge_patients))
}

/// The record with its version as a strong ETag.
fn with_etag(status: StatusCode, v: PatientView) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", v.version)).ok();
    let mut res = (status, Json(v)).into_response();
    if let Some(etag) = etag {
        res.headers_mut().insert(header::ETAG, etag);
    }
    res
}

#[utoipa::path(get, path = "/api/v1/patients", tag = "patients", params(PatientQuery),
    security(("session" = ["patient:read"]), ("api_key" = ["patient:read"])),
    responses((status = 200, body = Vec<PatientView>), (status = 422, body = ErrorBody)))]
async fn list_patients(
    auth: Authorized<perms::PatientRead>,
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<PatientQuery>,
) -> Result<Json<Vec<PatientView>>, AppError> {
    Ok(Json(patients::list(&app, &auth.actor, q).await?))
}

#[utoipa::path(post, path = "/api/v1/patients", tag = "patients", request_body = PatientRecord,
    security(("session" = ["patient:write"]), ("api_key" = ["patient:write"])),
    responses((status = 201, body = PatientView), (status = 422, body = ErrorBody)))]
async fn create_patient(
    auth: Authorized<perms::PatientWrite>,
    State(app): State<AppState>,
    ApiJson(record): ApiJson<PatientRecord>,
) -> Result<Response, AppError> {
    Ok(with_etag(
        StatusCode::CREATED,
        patients::create(&app, &auth.actor, record, patients::Strictness::Strict).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/patients/{patient_id}", tag = "patients",
    params(("patient_id" = String, Path, format = Uuid)),
    security(("session" = ["patient:read"]), ("api_key" = ["patient:read"])),
    responses((status = 200, body = PatientView, headers(("etag" = String))), (status = 404, body = ErrorBody)))]
async fn get_patient(
    auth: Authorized<perms::PatientRead>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<PatientId>,
) -> Result<Response, AppError> {
    Ok(with_etag(StatusCode::OK, patients::get(&app, &auth.actor, id).await?))
}

/// A JSON merge patch (RFC 7386) of the record; `If-Match` must carry the version it was read at.
#[utoipa::path(patch, path = "/api/v1/patients/{patient_id}", tag = "patients", request_body(content = Object, content_type = "application/merge-patch+json"),
    params(("patient_id" = String, Path, format = Uuid), ("if-match" = String, Header, description = "The ETag you read")),
    security(("session" = ["patient:write"]), ("api_key" = ["patient:write"])),
    responses((status = 200, body = PatientView), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody),
               (status = 422, body = ErrorBody), (status = 428, body = ErrorBody)))]
async fn update_patient(
    auth: Authorized<perms::PatientWrite>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<PatientId>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<serde_json::Value>,
) -> Result<Response, AppError> {
    let version = crate::web::if_match_version(&headers)?;
    Ok(with_etag(StatusCode::OK, patients::update(&app, &auth.actor, id, version, patch).await?))
}

/// Soft delete. With `If-Match`, only if the record is still at that version.
#[utoipa::path(delete, path = "/api/v1/patients/{patient_id}", tag = "patients",
    params(("patient_id" = String, Path, format = Uuid)),
    security(("session" = ["patient:write"]), ("api_key" = ["patient:write"])),
    responses((status = 200, body = PatientView), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody)))]
async fn delete_patient(
    auth: Authorized<perms::PatientWrite>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<PatientId>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let version = crate::web::if_match_version(&headers)?;
    Ok(with_etag(StatusCode::OK, patients::delete(&app, &auth.actor, id, version).await?))
}

/// The patient's sensitive identifiers (e.g. SSN) in full; elsewhere they are masked. Audited.
#[utoipa::path(get, path = "/api/v1/patients/{patient_id}/sensitive", tag = "patients",
    params(("patient_id" = String, Path, format = Uuid)),
    security(("session" = ["patient:read_sensitive"]), ("api_key" = ["patient:read_sensitive"])),
    responses((status = 200, body = patients::SensitiveView), (status = 404, body = ErrorBody)))]
async fn reveal_sensitive(
    auth: Authorized<perms::PatientSensitiveRead>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<PatientId>,
) -> Result<Json<patients::SensitiveView>, AppError> {
    Ok(Json(patients::reveal_sensitive(&app, &auth.actor, id).await?))
}

#[utoipa::path(post, path = "/api/v1/patients/{patient_id}/reactivate", tag = "patients",
    params(("patient_id" = String, Path, format = Uuid)),
    security(("session" = ["patient:write"]), ("api_key" = ["patient:write"])),
    responses((status = 200, body = PatientView), (status = 404, body = ErrorBody)))]
async fn reactivate_patient(
    auth: Authorized<perms::PatientWrite>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<PatientId>,
) -> Result<Response, AppError> {
    Ok(with_etag(StatusCode::OK, patients::reactivate(&app, &auth.actor, id).await?))
}

#[utoipa::path(get, path = "/api/v1/patients/{patient_id}/consents", tag = "patients",
    params(("patient_id" = String, Path, format = Uuid)),
    security(("session" = ["patient:read"]), ("api_key" = ["patient:read"])),
    responses((status = 200, body = ConsentsView), (status = 404, body = ErrorBody)))]
async fn list_consents(
    auth: Authorized<perms::PatientRead>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<PatientId>,
) -> Result<Json<ConsentsView>, AppError> {
    Ok(Json(patients::consents(&app, &auth.actor, id).await?))
}

#[utoipa::path(post, path = "/api/v1/patients/{patient_id}/consents", tag = "patients", request_body = ConsentInput,
    params(("patient_id" = String, Path, format = Uuid)),
    security(("session" = ["patient:write"]), ("api_key" = ["patient:write"])),
    responses((status = 201, body = ConsentsView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn record_consent(
    auth: Authorized<perms::PatientWrite>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<PatientId>,
    ApiJson(input): ApiJson<ConsentInput>,
) -> Result<(StatusCode, Json<ConsentsView>), AppError> {
    Ok((StatusCode::CREATED, Json(patients::record_consent(&app, &auth.actor, id, input).await?)))
}

/// Records that may be the same person, best first, each with a per-field explanation of its score.
#[utoipa::path(get, path = "/api/v1/patients/{patient_id}/duplicates", tag = "patients",
    params(("patient_id" = String, Path, format = Uuid)),
    security(("session" = ["patient:read"]), ("api_key" = ["patient:read"])),
    responses((status = 200, body = Vec<DuplicateCandidate>), (status = 404, body = ErrorBody)))]
async fn list_duplicates(
    auth: Authorized<perms::PatientRead>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<PatientId>,
) -> Result<Json<Vec<DuplicateCandidate>>, AppError> {
    Ok(Json(patients::duplicates(&app, &auth.actor, id).await?))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct QueueQuery {
    /// pending (default) | not_duplicate | merged
    status: Option<String>,
}

/// The duplicate review queue, highest score first.
#[utoipa::path(get, path = "/api/v1/duplicate-candidates", tag = "patients", params(QueueQuery),
    security(("session" = ["patient:read"]), ("api_key" = ["patient:read"])),
    responses((status = 200, body = Vec<QueueEntry>), (status = 422, body = ErrorBody)))]
async fn list_duplicate_queue(
    auth: Authorized<perms::PatientRead>,
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> Result<Json<Vec<QueueEntry>>, AppError> {
    Ok(Json(patients::queue(&app, &auth.actor, q.status.as_deref().unwrap_or("pending")).await?))
}

/// A reviewer's decision: these are two different people. The pair is not proposed again.
#[utoipa::path(post, path = "/api/v1/duplicate-candidates/{duplicate_id}/not-duplicate", tag = "patients",
    params(("duplicate_id" = String, Path, format = Uuid)),
    security(("session" = ["patient:write"]), ("api_key" = ["patient:write"])),
    responses((status = 200, body = QueueEntry), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn mark_not_duplicate(
    auth: Authorized<perms::PatientWrite>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<hearth_core::DuplicateId>,
) -> Result<Json<QueueEntry>, AppError> {
    Ok(Json(patients::mark_not_duplicate(&app, &auth.actor, id).await?))
}

/// Merges another record into this one: what belongs to the duplicate moves here in one
/// transaction; the duplicate is kept with status `merged`. Undo with the returned merge id.
#[utoipa::path(post, path = "/api/v1/patients/{patient_id}/merge", tag = "patients", request_body = patients::MergeInput,
    params(("patient_id" = String, Path, format = Uuid, description = "The survivor")),
    security(("session" = ["patient:write"]), ("api_key" = ["patient:write"])),
    responses((status = 201, body = patients::MergeView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn merge_patient(
    auth: Authorized<perms::PatientWrite>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<PatientId>,
    ApiJson(input): ApiJson<patients::MergeInput>,
) -> Result<(StatusCode, Json<patients::MergeView>), AppError> {
    Ok((StatusCode::CREATED, Json(patients::merge(&app, &auth.actor, id, input.duplicate_id).await?)))
}

/// Undoes a merge: exactly the rows that moved go back, and the duplicate is active again.
#[utoipa::path(post, path = "/api/v1/patient-merges/{merge_id}/unmerge", tag = "patients",
    params(("merge_id" = String, Path, format = Uuid)),
    security(("session" = ["patient:write"]), ("api_key" = ["patient:write"])),
    responses((status = 200, body = patients::MergeView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn unmerge_patients(
    auth: Authorized<perms::PatientWrite>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<hearth_core::MergeId>,
) -> Result<Json<patients::MergeView>, AppError> {
    Ok(Json(patients::unmerge(&app, &auth.actor, id).await?))
}
