//! `/api/v1/templates`: the organization's message templates (with the built-in defaults), their
//! versions, and the preview with SMS encoding.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hearth_core::TemplateId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, perms};
use crate::error::{AppError, ErrorBody};
use crate::notifications::templates::{
    CreateTemplateInput, PreviewInput, PreviewView, TemplateEntryView, TemplateListQuery, TemplateView,
    UpdateTemplateInput, manage,
};
use crate::state::AppState;
use crate::web::{ApiJson, ApiPath, ApiQuery};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_templates, create_template))
        .routes(routes!(preview_template))
        .routes(routes!(get_template, update_template))
        .routes(routes!(deactivate_template))
}

/// The organization's templates and the built-in defaults nobody overrides (`source`).
#[utoipa::path(get, path = "/api/v1/templates", tag = "templates", params(TemplateListQuery),
    security(("session" = ["template:read"]), ("api_key" = ["template:read"])),
    responses((status = 200, body = Vec<TemplateEntryView>), (status = 422, body = ErrorBody)))]
async fn list_templates(
    auth: Authorized<perms::TemplateRead>,
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<TemplateListQuery>,
) -> Result<Json<Vec<TemplateEntryView>>, AppError> {
    Ok(Json(manage::list(&app, &auth.actor, &q).await?))
}

/// Creates the organization's template for a channel, purpose and language (version 1); it is used
/// instead of the built-in default from now on. 409 if one exists: edit it instead.
#[utoipa::path(post, path = "/api/v1/templates", tag = "templates", request_body = CreateTemplateInput,
    security(("session" = ["template:write"]), ("api_key" = ["template:write"])),
    responses((status = 201, body = TemplateView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_template(
    auth: Authorized<perms::TemplateWrite>,
    State(app): State<AppState>,
    ApiJson(input): ApiJson<CreateTemplateInput>,
) -> Result<(StatusCode, Json<TemplateView>), AppError> {
    Ok((StatusCode::CREATED, Json(manage::create(&app, &auth.actor, input).await?)))
}

/// Renders a draft, a saved template, or what would be sent now, with sample variables; reports
/// GSM-7/UCS-2, characters, segments and warnings.
#[utoipa::path(post, path = "/api/v1/templates/preview", tag = "templates", request_body = PreviewInput,
    security(("session" = ["template:read"]), ("api_key" = ["template:read"])),
    responses((status = 200, body = PreviewView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn preview_template(
    auth: Authorized<perms::TemplateRead>,
    State(app): State<AppState>,
    ApiJson(input): ApiJson<PreviewInput>,
) -> Result<Json<PreviewView>, AppError> {
    Ok(Json(manage::preview(&app, &auth.actor, input).await?))
}

/// A template with its current text and every version, newest first.
#[utoipa::path(get, path = "/api/v1/templates/{template_id}", tag = "templates",
    params(("template_id" = String, Path, format = Uuid)),
    security(("session" = ["template:read"]), ("api_key" = ["template:read"])),
    responses((status = 200, body = TemplateView), (status = 404, body = ErrorBody)))]
async fn get_template(
    auth: Authorized<perms::TemplateRead>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<TemplateId>,
) -> Result<Json<TemplateView>, AppError> {
    Ok(Json(manage::get(&app, &auth.actor, id).await?))
}

/// Saves a new version (the old ones stay readable) and makes the template active.
#[utoipa::path(put, path = "/api/v1/templates/{template_id}", tag = "templates", request_body = UpdateTemplateInput,
    params(("template_id" = String, Path, format = Uuid)),
    security(("session" = ["template:write"]), ("api_key" = ["template:write"])),
    responses((status = 200, body = TemplateView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_template(
    auth: Authorized<perms::TemplateWrite>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<TemplateId>,
    ApiJson(input): ApiJson<UpdateTemplateInput>,
) -> Result<Json<TemplateView>, AppError> {
    Ok(Json(manage::update(&app, &auth.actor, id, input).await?))
}

/// Stops using the template; the built-in default is used again.
#[utoipa::path(post, path = "/api/v1/templates/{template_id}/deactivate", tag = "templates",
    params(("template_id" = String, Path, format = Uuid)),
    security(("session" = ["template:write"]), ("api_key" = ["template:write"])),
    responses((status = 200, body = TemplateView), (status = 404, body = ErrorBody)))]
async fn deactivate_template(
    auth: Authorized<perms::TemplateWrite>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<TemplateId>,
) -> Result<Json<TemplateView>, AppError> {
    Ok(Json(manage::deactivate(&app, &auth.actor, id).await?))
}
