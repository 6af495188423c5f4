//! `/api/v1/users`: staff accounts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hearth_core::UserId;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, perms};
use crate::error::{AppError, ErrorBody};
use crate::staff::{self, CreateUserInput, CreatedUser, UpdateUserInput, UserView};
use crate::state::AppState;
use crate::web::{ApiJson, ApiPath};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(reset_user_password))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "staff",
    security(("session" = ["user:read"]), ("api_key" = ["user:read"])),
    responses((status = 200, body = Vec<UserView>)))]
async fn list_users(
    auth: Authorized<perms::UserRead>,
    State(app): State<AppState>,
) -> Result<Json<Vec<UserView>>, AppError> {
    Ok(Json(staff::list(&app, &auth.actor).await?))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "staff", request_body = CreateUserInput,
    security(("session" = ["user:manage"]), ("api_key" = ["user:manage"])),
    responses((status = 201, body = CreatedUser), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_user(
    auth: Authorized<perms::UserManage>,
    State(app): State<AppState>,
    ApiJson(input): ApiJson<CreateUserInput>,
) -> Result<(StatusCode, Json<CreatedUser>), AppError> {
    Ok((StatusCode::CREATED, Json(staff::create(&app, &auth.actor, input).await?)))
}

#[utoipa::path(get, path = "/api/v1/users/{user_id}", tag = "staff",
    params(("user_id" = String, Path, format = Uuid)),
    security(("session" = ["user:read"]), ("api_key" = ["user:read"])),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody)))]
async fn get_user(
    auth: Authorized<perms::UserRead>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<UserId>,
) -> Result<Json<UserView>, AppError> {
    Ok(Json(staff::get(&app, &auth.actor, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/users/{user_id}", tag = "staff", request_body = UpdateUserInput,
    params(("user_id" = String, Path, format = Uuid)),
    security(("session" = ["user:manage"]), ("api_key" = ["user:manage"])),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_user(
    auth: Authorized<perms::UserManage>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(input): ApiJson<UpdateUserInput>,
) -> Result<Json<UserView>, AppError> {
    Ok(Json(staff::update(&app, &auth.actor, id, input).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemporaryPassword {
    /// Shown once. The user must choose a new password when signing in with it.
    pub temporary_password: String,
}

#[utoipa::path(post, path = "/api/v1/users/{user_id}/reset-password", tag = "staff",
    params(("user_id" = String, Path, format = Uuid)),
    security(("session" = ["user:manage"]), ("api_key" = ["user:manage"])),
    responses((status = 200, body = TemporaryPassword), (status = 404, body = ErrorBody)))]
async fn reset_user_password(
    auth: Authorized<perms::UserManage>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<UserId>,
) -> Result<Json<TemporaryPassword>, AppError> {
    Ok(Json(TemporaryPassword { temporary_password: staff::reset_password(&app, &auth.actor, id).await? }))
}
