//! `/api/v1/api-keys`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hearth_core::ApiKeyId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api_keys::{self, ApiKeyView, CreateApiKeyInput, CreatedApiKey};
use crate::auth::{Authorized, perms};
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::web::{ApiJson, ApiPath};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_api_keys, create_api_key)).routes(routes!(revoke_api_key))
}

#[utoipa::path(get, path = "/api/v1/api-keys", tag = "staff",
    security(("session" = ["api_key:manage"]), ("api_key" = ["api_key:manage"])),
    responses((status = 200, body = Vec<ApiKeyView>)))]
async fn list_api_keys(
    auth: Authorized<perms::ApiKeyManage>,
    State(app): State<AppState>,
) -> Result<Json<Vec<ApiKeyView>>, AppError> {
    Ok(Json(api_keys::list(&app, &auth.actor).await?))
}

#[utoipa::path(post, path = "/api/v1/api-keys", tag = "staff", request_body = CreateApiKeyInput,
    security(("session" = ["api_key:manage"]), ("api_key" = ["api_key:manage"])),
    responses((status = 201, body = CreatedApiKey), (status = 422, body = ErrorBody)))]
async fn create_api_key(
    auth: Authorized<perms::ApiKeyManage>,
    State(app): State<AppState>,
    ApiJson(input): ApiJson<CreateApiKeyInput>,
) -> Result<(StatusCode, Json<CreatedApiKey>), AppError> {
    Ok((StatusCode::CREATED, Json(api_keys::create(&app, &auth.actor, input).await?)))
}

#[utoipa::path(delete, path = "/api/v1/api-keys/{api_key_id}", tag = "staff",
    params(("api_key_id" = String, Path, format = Uuid)),
    security(("session" = ["api_key:manage"]), ("api_key" = ["api_key:manage"])),
    responses((status = 200, description = "Revoked (revoking twice is harmless)", body = ApiKeyView), (status = 404, body = ErrorBody)))]
async fn revoke_api_key(
    auth: Authorized<perms::ApiKeyManage>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<ApiKeyId>,
) -> Result<Json<ApiKeyView>, AppError> {
    Ok(Json(api_keys::revoke(&app, &auth.actor, id).await?))
}
