//! `/api/v1/me`, `/api/v1/organization`, `/api/v1/locations`, `/api/v1/practitioners`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hearth_core::{LocationId, PractitionerId};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{ActorKind, Authorized, perms};
use crate::directory::{
    self, CreateLocationInput, CreatePractitionerInput, LocationView, OrganizationView, PractitionerView,
    UpdateLocationInput,
};
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::web::{ApiJson, ApiPath};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me))
        .routes(routes!(get_organization))
        .routes(routes!(list_locations, create_location))
        .routes(routes!(get_location, update_location))
        .routes(routes!(list_practitioners, create_practitioner))
        .routes(routes!(get_practitioner))
}

/// Who the caller is.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    /// `user` or `api_key`.
    pub kind: &'static str,
    pub id: String,
    pub label: String,
    /// The role (users) or scopes (API keys).
    pub grants: Vec<String>,
    pub permissions: Vec<&'static str>,
    pub organization: OrganizationView,
    /// For a browser session: the token to send as `x-csrf-token` with state-changing requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "directory",
    security(("session" = ["organization:read"]), ("api_key" = ["organization:read"])),
    responses((status = 200, body = MeView), (status = 401, body = ErrorBody)))]
async fn get_me(
    auth: Authorized<perms::OrganizationRead>,
    State(app): State<AppState>,
) -> Result<Json<MeView>, AppError> {
    let a = &auth.actor;
    let (kind, id, label, grants) = match &a.kind {
        ActorKind::User { id, role, email, .. } => {
            ("user", id.to_string(), email.clone(), vec![role.as_str().to_owned()])
        }
        ActorKind::ApiKey { id, name, scopes } => {
            ("api_key", id.to_string(), name.clone(), scopes.iter().map(|s| s.as_str().to_owned()).collect())
        }
        ActorKind::System { label } => ("system", String::new(), (*label).to_owned(), Vec::new()),
    };
    let permissions =
        hearth_core::Permission::ALL.iter().filter(|p| a.grants(**p)).map(|p| p.as_str()).collect();
    let organization = directory::organization(&app, a).await?;
    let csrf_token = Some(auth.csrf.clone()).filter(|c| !c.is_empty());
    Ok(Json(MeView { kind, id, label, grants, permissions, organization, csrf_token }))
}

#[utoipa::path(get, path = "/api/v1/organization", tag = "directory",
    security(("session" = ["organization:read"]), ("api_key" = ["organization:read"])),
    responses((status = 200, body = OrganizationView)))]
async fn get_organization(
    auth: Authorized<perms::OrganizationRead>,
    State(app): State<AppState>,
) -> Result<Json<OrganizationView>, AppError> {
    Ok(Json(directory::organization(&app, &auth.actor).await?))
}

#[utoipa::path(get, path = "/api/v1/locations", tag = "directory",
    security(("session" = ["location:read"]), ("api_key" = ["location:read"])),
    responses((status = 200, body = Vec<LocationView>)))]
async fn list_locations(
    auth: Authorized<perms::LocationRead>,
    State(app): State<AppState>,
) -> Result<Json<Vec<LocationView>>, AppError> {
    Ok(Json(directory::list_locations(&app, &auth.actor).await?))
}

#[utoipa::path(post, path = "/api/v1/locations", tag = "directory", request_body = CreateLocationInput,
    security(("session" = ["location:write"]), ("api_key" = ["location:write"])),
    responses((status = 201, body = LocationView), (status = 422, body = ErrorBody)))]
async fn create_location(
    auth: Authorized<perms::LocationWrite>,
    State(app): State<AppState>,
    ApiJson(input): ApiJson<CreateLocationInput>,
) -> Result<(StatusCode, Json<LocationView>), AppError> {
    Ok((StatusCode::CREATED, Json(directory::create_location(&app, &auth.actor, input).await?)))
}

#[utoipa::path(get, path = "/api/v1/locations/{location_id}", tag = "directory",
    params(("location_id" = String, Path, format = Uuid)),
    security(("session" = ["location:read"]), ("api_key" = ["location:read"])),
    responses((status = 200, body = LocationView), (status = 404, body = ErrorBody)))]
async fn get_location(
    auth: Authorized<perms::LocationRead>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<LocationId>,
) -> Result<Json<LocationView>, AppError> {
    Ok(Json(directory::location(&app, &auth.actor, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/locations/{location_id}", tag = "directory", request_body = UpdateLocationInput,
    params(("location_id" = String, Path, format = Uuid)),
    security(("session" = ["location:write"]), ("api_key" = ["location:write"])),
    responses((status = 200, body = LocationView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_location(
    auth: Authorized<perms::LocationWrite>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<LocationId>,
    ApiJson(input): ApiJson<UpdateLocationInput>,
) -> Result<Json<LocationView>, AppError> {
    Ok(Json(directory::update_location(&app, &auth.actor, id, input).await?))
}

#[utoipa::path(get, path = "/api/v1/practitioners", tag = "directory",
    security(("session" = ["practitioner:read"]), ("api_key" = ["practitioner:read"])),
    responses((status = 200, body = Vec<PractitionerView>)))]
async fn list_practitioners(
    auth: Authorized<perms::PractitionerRead>,
    State(app): State<AppState>,
) -> Result<Json<Vec<PractitionerView>>, AppError> {
    Ok(Json(directory::list_practitioners(&app, &auth.actor).await?))
}

#[utoipa::path(post, path = "/api/v1/practitioners", tag = "directory", request_body = CreatePractitionerInput,
    security(("session" = ["practitioner:write"]), ("api_key" = ["practitioner:write"])),
    responses((status = 201, body = PractitionerView), (status = 422, body = ErrorBody)))]
async fn create_practitioner(
    auth: Authorized<perms::PractitionerWrite>,
    State(app): State<AppState>,
    ApiJson(input): ApiJson<CreatePractitionerInput>,
) -> Result<(StatusCode, Json<PractitionerView>), AppError> {
    Ok((StatusCode::CREATED, Json(directory::create_practitioner(&app, &auth.actor, input).await?)))
}

#[utoipa::path(get, path = "/api/v1/practitioners/{practitioner_id}", tag = "directory",
    params(("practitioner_id" = String, Path, format = Uuid)),
    security(("session" = ["practitioner:read"]), ("api_key" = ["practitioner:read"])),
    responses((status = 200, body = PractitionerView), (status = 404, body = ErrorBody)))]
async fn get_practitioner(
    auth: Authorized<perms::PractitionerRead>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<PractitionerId>,
) -> Result<Json<PractitionerView>, AppError> {
    Ok(Json(directory::practitioner(&app, &auth.actor, id).await?))
}
