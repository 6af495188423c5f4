//! `/fhir/r4`: the FHIR R4 facade. Patient read, search, create and update, and batches of Patients.
//! Answers are `application/fhir+json`; every error is an OperationOutcome whose `expression` names
//! the FHIR element at fault. Authentication and permissions are the same as the JSON API's.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hearth_core::{ErrorCode, PatientId};
use hearth_fhir as fhir;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Actor, Authorized, perms};
use crate::error::{AppError, FieldError};
use crate::patients::{self, PatientQuery, PatientView, Strictness};
use crate::state::AppState;
use crate::web::{ApiJson, ApiPath, ApiQuery};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_patients, create_patient))
        .routes(routes!(read_patient, update_patient))
        .routes(routes!(batch))
        .layer(axum::middleware::from_fn(as_operation_outcome))
}

/// A FHIR resource as the response body.
fn resource<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, fhir::CONTENT_TYPE)], bytes).into_response()
}

fn base(app: &AppState) -> String {
    format!("{}/fhir/r4", app.config.public_url())
}

fn mrn_system(app: &AppState) -> String {
    crate::fhir::mrn_system(&app.config.public_url())
}

/// A Patient with its version in `ETag` (`W/"3"`) and, when created, its `Location`.
fn patient_response(app: &AppState, status: StatusCode, v: &PatientView) -> Response {
    let mut res = resource(status, &crate::fhir::to_fhir(v, &mrn_system(app)));
    let h = res.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&format!("W/\"{}\"", v.version)) {
        h.insert(header::ETAG, etag);
    }
    if status == StatusCode::CREATED
        && let Ok(loc) =
            HeaderValue::from_str(&format!("{}/Patient/{}/_history/{}", base(app), v.id, v.version))
    {
        h.insert(header::LOCATION, loc);
    }
    res
}

/// Rewrites Hearth's JSON errors as OperationOutcomes, naming FHIR paths.
async fn as_operation_outcome(req: Request, next: Next) -> Response {
    let resource_type = req.uri().path().trim_start_matches("/fhir/r4").trim_start_matches('/');
    let resource_type =
        resource_type.split('/').next().filter(|s| !s.is_empty()).unwrap_or("Bundle").to_owned();
    let res = next.run(req).await;
    let is_json_error = res.status().is_client_error() || res.status().is_server_error();
    let is_hearth_json = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v == "application/json");
    if !is_json_error || !is_hearth_json {
        return res;
    }
    let (parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(err) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let code = issue_type(parts.status);
    let message = err["message"].as_str().unwrap_or_default();
    let mut issues: Vec<fhir::Issue> = err["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let field = f["field"].as_str().unwrap_or_default();
            let at = if field.starts_with(&resource_type) || field == "(body)" {
                field.to_owned()
            } else {
                format!("{resource_type}.{field}")
            };
            fhir::Issue::error(code, f["message"].as_str().unwrap_or_default()).at(at)
        })
        .collect();
    if issues.is_empty() {
        issues.push(fhir::Issue::error(code, message));
    }
    let mut out = resource(parts.status, &fhir::OperationOutcome::new(issues));
    for name in ["x-request-id", "www-authenticate", "retry-after"] {
        if let Some(v) = parts.headers.get(name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

/// The FHIR IssueType for an HTTP status.
fn issue_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "login",
        403 => "forbidden",
        404 | 410 => "not-found",
        409 | 412 => "conflict",
        413 => "too-costly",
        429 => "throttled",
        500.. => "exception",
        _ => "invalid",
    }
}

/// Hearth's patient errors, renamed to the FHIR elements they came from.
fn at_fhir_paths(imported: &crate::fhir::ImportedPatient, e: AppError) -> AppError {
    match e {
        AppError::Fields(f) => AppError::Fields(imported.fhir_errors(f)),
        e => e,
    }
}

fn read_resource(body: &serde_json::Value, expected: &str) -> Result<fhir::Patient, AppError> {
    let found = body.get("resourceType").and_then(|v| v.as_str()).unwrap_or("(none)");
    if found != expected {
        return Err(AppError::field("resourceType", format!("expected {expected}, found {found}")));
    }
    crate::web::parse_json(body.to_string().as_bytes())
}

async fn create(app: &AppState, actor: &Actor, p: &fhir::Patient) -> Result<PatientView, AppError> {
    let imported = crate::fhir::from_fhir(p, &mrn_system(app));
    let v = patients::create(app, actor, imported.record.clone(), Strictness::Lenient)
        .await
        .map_err(|e| at_fhir_paths(&imported, e))?;
    if imported.active { Ok(v) } else { patients::deactivate(app, actor, v.id).await }
}

async fn update(
    app: &AppState,
    actor: &Actor,
    id: PatientId,
    version: Option<i64>,
    p: &fhir::Patient,
) -> Result<PatientView, AppError> {
    if p.id.as_deref().is_some_and(|body_id| body_id != id.to_string()) {
        return Err(AppError::field("id", "expected the id in the URL (FHIR update keeps the id)"));
    }
    let imported = crate::fhir::from_fhir(p, &mrn_system(app));
    let v = patients::replace(app, actor, id, version, imported.record.clone(), Strictness::Lenient)
        .await
        .map_err(|e| at_fhir_paths(&imported, e))?;
    match (imported.active, v.status.as_str()) {
        (false, "active") => patients::deactivate(app, actor, id).await,
        (true, "inactive") => patients::reactivate(app, actor, id).await,
        _ => Ok(v),
    }
}

#[utoipa::path(get, path = "/fhir/r4/Patient/{patient_id}", tag = "fhir",
    params(("patient_id" = String, Path, format = Uuid)),
    security(("session" = ["patient:read"]), ("api_key" = ["patient:read"])),
    responses((status = 200, description = "A FHIR R4 Patient", content_type = "application/fhir+json"),
              (status = 404, description = "OperationOutcome"), (status = 410, description = "Deleted")))]
async fn read_patient(
    auth: Authorized<perms::PatientRead>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<PatientId>,
) -> Result<Response, AppError> {
    let v = patients::get(&app, &auth.actor, id).await?;
    if v.status == "deleted" {
        return Err(AppError::with_message(ErrorCode::Gone, "the patient was deleted"));
    }
    Ok(patient_response(&app, StatusCode::OK, &v))
}

/// FHIR search parameters for Patient.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FhirPatientSearch {
    /// Any part of the name; typo-tolerant and phonetic, ranked.
    pub name: Option<String>,
    /// Start of the family name.
    pub family: Option<String>,
    /// A given name (typo-tolerant).
    pub given: Option<String>,
    /// YYYY-MM-DD, optionally prefixed `eq`.
    pub birthdate: Option<String>,
    /// `system|value`
    pub identifier: Option<String>,
    /// A phone number in any notation.
    pub phone: Option<String>,
    pub email: Option<String>,
    /// `phone|…`, `email|…` or a bare number or address.
    pub telecom: Option<String>,
    /// true | false
    pub active: Option<String>,
    /// Page size, 1–500 (default 50).
    #[serde(rename = "_count")]
    pub count: Option<i64>,
    /// Results to skip (for the next page).
    #[serde(rename = "_offset")]
    pub offset: Option<i64>,
}

impl FhirPatientSearch {
    fn to_query(&self) -> Result<PatientQuery, AppError> {
        let mut errors = Vec::new();
        let birth_date = self.birthdate.as_deref().map(|d| {
            let d = d.strip_prefix("eq").unwrap_or(d);
            if d.starts_with(|c: char| c.is_ascii_alphabetic()) {
                errors.push(FieldError::new(
                    "birthdate",
                    "only an exact date (YYYY-MM-DD or eqYYYY-MM-DD) is supported",
                ));
            }
            d.to_owned()
        });
        let (mut phone, mut email) = (self.phone.clone(), self.email.clone());
        if let Some(t) = &self.telecom {
            match t.split_once('|') {
                Some(("phone" | "sms", v)) => phone = Some(v.to_owned()),
                Some(("email", v)) => email = Some(v.to_owned()),
                Some((other, _)) => errors.push(FieldError::new(
                    "telecom",
                    format!("`{other}` is not searchable; expected phone|… or email|…"),
                )),
                None if t.contains('@') => email = Some(t.clone()),
                None => phone = Some(t.clone()),
            }
        }
        let status = match self.active.as_deref() {
            None => None,
            Some("true") => Some("active".to_owned()),
            Some("false") => Some("inactive".to_owned()),
            Some(_) => {
                errors.push(FieldError::new("active", "expected true or false"));
                None
            }
        };
        if !errors.is_empty() {
            return Err(AppError::Fields(errors));
        }
        let name = match (&self.name, &self.given) {
            (Some(n), Some(g)) => Some(format!("{g} {n}")),
            (n, g) => n.clone().or_else(|| g.clone()),
        };
        Ok(PatientQuery {
            status,
            birth_date,
            phone,
            email,
            identifier: self.identifier.clone(),
            family: self.family.clone(),
            name,
            limit: self.count,
            offset: self.offset,
            ..PatientQuery::default()
        })
    }
}

#[utoipa::path(get, path = "/fhir/r4/Patient", tag = "fhir", params(FhirPatientSearch),
    security(("session" = ["patient:read"]), ("api_key" = ["patient:read"])),
    responses((status = 200, description = "A searchset Bundle", content_type = "application/fhir+json"),
              (status = 422, description = "OperationOutcome naming the parameter")))]
async fn search_patients(
    auth: Authorized<perms::PatientRead>,
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<FhirPatientSearch>,
    uri: axum::http::Uri,
) -> Result<Response, AppError> {
    let query = q.to_query()?;
    let (limit, offset) = (query.limit.unwrap_or(50).clamp(1, 500), query.offset.unwrap_or(0).max(0));
    let found = patients::list(&app, &auth.actor, query).await?;
    let base = base(&app);
    let mut bundle = fhir::Bundle::new("searchset");
    let self_query = uri.query().unwrap_or_default();
    bundle
        .link
        .push(fhir::BundleLink { relation: "self".into(), url: format!("{base}/Patient?{self_query}") });
    if i64::try_from(found.len()).unwrap_or(i64::MAX) >= limit {
        let rest: Vec<(String, String)> =
            url_pairs(self_query).into_iter().filter(|(k, _)| k != "_offset" && k != "_count").collect();
        let mut next = serde_urlencoded::to_string(&rest).unwrap_or_default();
        let sep = if next.is_empty() { "" } else { "&" };
        next = format!("{next}{sep}_count={limit}&_offset={}", offset + limit);
        bundle.link.push(fhir::BundleLink { relation: "next".into(), url: format!("{base}/Patient?{next}") });
    }
    let system = mrn_system(&app);
    bundle.entry = found
        .iter()
        .map(|v| fhir::BundleEntry {
            full_url: Some(format!("{base}/Patient/{}", v.id)),
            resource: serde_json::to_value(crate::fhir::to_fhir(v, &system)).ok(),
            search: Some(serde_json::json!({"mode": "match"})),
            ..fhir::BundleEntry::default()
        })
        .collect();
    Ok(resource(StatusCode::OK, &bundle))
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query).unwrap_or_default()
}

/// Creates a Patient from FHIR JSON. Real-world EHR data is taken as it is: a phone number Hearth
/// cannot use is kept and flagged (never messaged), a missing name is allowed, an identifier without
/// a value is dropped and one listed twice counts once.
#[utoipa::path(post, path = "/fhir/r4/Patient", tag = "fhir",
    request_body(content = Object, content_type = "application/fhir+json", description = "A FHIR R4 Patient"),
    security(("session" = ["patient:write"]), ("api_key" = ["patient:write"])),
    responses((status = 201, description = "The Patient as stored", content_type = "application/fhir+json"),
              (status = 422, description = "OperationOutcome naming the element")))]
async fn create_patient(
    auth: Authorized<perms::PatientWrite>,
    State(app): State<AppState>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response, AppError> {
    let p = read_resource(&body, "Patient")?;
    let v = create(&app, &auth.actor, &p).await?;
    Ok(patient_response(&app, StatusCode::CREATED, &v))
}

/// Replaces a Patient. With `If-Match: W/"n"`, only if it is still at version n.
#[utoipa::path(put, path = "/fhir/r4/Patient/{patient_id}", tag = "fhir",
    params(("patient_id" = String, Path, format = Uuid), ("if-match" = Option<String>, Header, description = "W/\"version\"")),
    request_body(content = Object, content_type = "application/fhir+json", description = "A FHIR R4 Patient"),
    security(("session" = ["patient:write"]), ("api_key" = ["patient:write"])),
    responses((status = 200, description = "The Patient as stored", content_type = "application/fhir+json"),
              (status = 404, description = "OperationOutcome"), (status = 412, description = "OperationOutcome"),
              (status = 422, description = "OperationOutcome naming the element")))]
async fn update_patient(
    auth: Authorized<perms::PatientWrite>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<PatientId>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response, AppError> {
    let version = crate::web::if_match_version(&headers)?;
    let p = read_resource(&body, "Patient")?;
    let v = update(&app, &auth.actor, id, version, &p).await?;
    Ok(patient_response(&app, StatusCode::OK, &v))
}

/// A `batch` (or `collection`) Bundle of Patients: each entry is created (or, with
/// `request: {method: PUT, url: Patient/{id}}`, updated) on its own; the answer is a `batch-response`
/// with a status per entry. `transaction` Bundles are refused: Hearth does not apply them atomically.
#[utoipa::path(post, path = "/fhir/r4", tag = "fhir",
    request_body(content = Object, content_type = "application/fhir+json", description = "A batch Bundle of Patients"),
    security(("session" = ["patient:write"]), ("api_key" = ["patient:write"])),
    responses((status = 200, description = "A batch-response Bundle", content_type = "application/fhir+json"),
              (status = 422, description = "OperationOutcome")))]
async fn batch(
    auth: Authorized<perms::PatientWrite>,
    State(app): State<AppState>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Response, AppError> {
    if body.get("resourceType").and_then(|v| v.as_str()) != Some("Bundle") {
        return Err(AppError::field("resourceType", "expected Bundle"));
    }
    let bundle: fhir::Bundle = crate::web::parse_json(body.to_string().as_bytes())?;
    if !matches!(bundle.type_.as_str(), "batch" | "collection") {
        return Err(AppError::field("type", format!("expected batch or collection, found {}", bundle.type_)));
    }
    let mut out = fhir::Bundle::new("batch-response");
    for (i, entry) in bundle.entry.iter().enumerate() {
        let response = match batch_entry(&app, &auth.actor, entry).await {
            Ok((status, v)) => fhir::BundleResponse {
                status: format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or_default()),
                location: Some(format!("Patient/{}/_history/{}", v.id, v.version)),
                etag: Some(format!("W/\"{}\"", v.version)),
                last_modified: Some(v.updated_at.to_string()),
                outcome: None,
            },
            Err(e) => entry_error(i, e),
        };
        out.entry.push(fhir::BundleEntry { response: Some(response), ..fhir::BundleEntry::default() });
    }
    Ok(resource(StatusCode::OK, &out))
}

async fn batch_entry(
    app: &AppState,
    actor: &Actor,
    entry: &fhir::BundleEntry,
) -> Result<(StatusCode, PatientView), AppError> {
    let body = entry.resource.clone().unwrap_or_default();
    let p = read_resource(&body, "Patient")?;
    match &entry.request {
        Some(r) if r.method.eq_ignore_ascii_case("PUT") => {
            let id = r.url.strip_prefix("Patient/").and_then(|id| id.parse::<PatientId>().ok()).ok_or_else(
                || AppError::field("request.url", "expected Patient/{id} with a Hearth patient id"),
            )?;
            Ok((StatusCode::OK, update(app, actor, id, None, &p).await?))
        }
        Some(r) if !r.method.eq_ignore_ascii_case("POST") => {
            Err(AppError::field("request.method", "expected POST or PUT"))
        }
        _ => Ok((StatusCode::CREATED, create(app, actor, &p).await?)),
    }
}

/// A failed batch entry: its status and an OperationOutcome naming `Bundle.entry[i].…`.
fn entry_error(i: usize, e: AppError) -> fhir::BundleResponse {
    let code = e.error_code();
    let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let issues = match e {
        AppError::Fields(fields) => fields
            .into_iter()
            .map(|f| {
                let field = f.field.strip_prefix("Patient.").unwrap_or(&f.field).to_owned();
                fhir::Issue::error("invalid", f.message).at(format!("Bundle.entry[{i}].resource.{field}"))
            })
            .collect(),
        AppError::Code { message, .. } => vec![fhir::Issue::error(issue_type(status), message)],
        AppError::Internal(cause) => {
            tracing::error!(error = format!("{cause:#}"), "internal error in a batch entry");
            vec![fhir::Issue::error("exception", code.message())]
        }
    };
    fhir::BundleResponse {
        status: format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or_default()),
        location: None,
        etag: None,
        last_modified: None,
        outcome: serde_json::to_value(fhir::OperationOutcome::new(issues)).ok(),
    }
}
