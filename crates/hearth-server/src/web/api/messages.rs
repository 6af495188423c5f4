//! `/api/v1/messages`: send a message, list and read the outbox, retry and cancel.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hearth_core::MessageId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, perms};
use crate::error::{AppError, ErrorBody};
use crate::notifications::outbox::{
    self, MessageDetail, MessageQuery, MessageView, OutboxStats, SendMessageInput,
};
use crate::state::AppState;
use crate::web::{ApiJson, ApiPath, ApiQuery};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_message, list_messages))
        .routes(routes!(outbox_stats))
        .routes(routes!(get_message))
        .routes(routes!(retry_message))
        .routes(routes!(cancel_message))
}

/// Sends a message by SMS, WhatsApp, voice or e-mail through the outbox: to a patient (the address
/// is the first of theirs for the channel with consent) or to an address. 201 with the queued
/// message; 200 with the earlier message when `dedup_key` was used before; 409 `consent_missing`
/// without consent (nothing is written); 422 naming `to`, `body` (at most 1,600 characters) or
/// `template` (not available yet).
#[utoipa::path(post, path = "/api/v1/messages", tag = "messages", request_body = SendMessageInput,
    security(("session" = ["message:send"]), ("api_key" = ["message:send"])),
    responses((status = 201, body = MessageView), (status = 200, body = MessageView),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn send_message(
    auth: Authorized<perms::MessageSend>,
    State(app): State<AppState>,
    ApiJson(input): ApiJson<SendMessageInput>,
) -> Result<Response, AppError> {
    let (view, created) = outbox::send(&app, &auth.actor, input).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(view)).into_response())
}

/// Messages, newest first, filtered by status (`dead` is the dead-letter list), channel, patient
/// and creation time. Bodies and addresses are patient data: the read is audited.
#[utoipa::path(get, path = "/api/v1/messages", tag = "messages", params(MessageQuery),
    security(("session" = ["message:read"]), ("api_key" = ["message:read"])),
    responses((status = 200, body = Vec<MessageView>), (status = 422, body = ErrorBody)))]
async fn list_messages(
    auth: Authorized<perms::MessageRead>,
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<MessageQuery>,
) -> Result<Json<Vec<MessageView>>, AppError> {
    Ok(Json(outbox::list(&app, &auth.actor, &q).await?))
}

/// Messages per status and channel.
#[utoipa::path(get, path = "/api/v1/messages/stats", tag = "messages",
    security(("session" = ["message:read"]), ("api_key" = ["message:read"])),
    responses((status = 200, body = OutboxStats)))]
async fn outbox_stats(
    auth: Authorized<perms::MessageRead>,
    State(app): State<AppState>,
) -> Result<Json<OutboxStats>, AppError> {
    Ok(Json(outbox::stats(&app, &auth.actor).await?))
}

/// One message with every send attempt and status change (audited read).
#[utoipa::path(get, path = "/api/v1/messages/{message_id}", tag = "messages",
    params(("message_id" = String, Path, format = Uuid)),
    security(("session" = ["message:read"]), ("api_key" = ["message:read"])),
    responses((status = 200, body = MessageDetail), (status = 404, body = ErrorBody)))]
async fn get_message(
    auth: Authorized<perms::MessageRead>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<MessageId>,
) -> Result<Json<MessageDetail>, AppError> {
    Ok(Json(outbox::get(&app, &auth.actor, id).await?))
}

/// Queues a dead, failed, canceled or unknown message again now, with a fresh count of attempts
/// (409 otherwise, or when its validity has passed).
#[utoipa::path(post, path = "/api/v1/messages/{message_id}/retry", tag = "messages",
    params(("message_id" = String, Path, format = Uuid)),
    security(("session" = ["message:send"]), ("api_key" = ["message:send"])),
    responses((status = 200, body = MessageView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn retry_message(
    auth: Authorized<perms::MessageSend>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<MessageId>,
) -> Result<Json<MessageView>, AppError> {
    Ok(Json(outbox::retry(&app, &auth.actor, id).await?))
}

/// Cancels a queued or unknown message (409 otherwise).
#[utoipa::path(post, path = "/api/v1/messages/{message_id}/cancel", tag = "messages",
    params(("message_id" = String, Path, format = Uuid)),
    security(("session" = ["message:send"]), ("api_key" = ["message:send"])),
    responses((status = 200, body = MessageView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel_message(
    auth: Authorized<perms::MessageSend>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<MessageId>,
) -> Result<Json<MessageView>, AppError> {
    Ok(Json(outbox::cancel(&app, &auth.actor, id).await?))
}
