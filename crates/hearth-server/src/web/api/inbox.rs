//! `/api/v1/inbox`: patient replies that need a person (list, read, assign, answer, done), and
//! `/api/v1/appointments/{id}/replies`: an appointment's replies and its requests to the EHR.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hearth_core::{AppointmentId, InboundMessageId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, perms};
use crate::error::{AppError, ErrorBody};
use crate::notifications::outbox::MessageView;
use crate::replies::inbox::{self, AssignInput, InboxReplyInput};
use crate::replies::{AppointmentReplies, InboxItemDetail, InboxItemView, InboxQuery, timeline};
use crate::state::AppState;
use crate::web::{ApiJson, ApiPath, ApiQuery};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_inbox))
        .routes(routes!(get_inbox_item))
        .routes(routes!(assign_inbox_item))
        .routes(routes!(reply_inbox_item))
        .routes(routes!(done_inbox_item))
        .routes(routes!(appointment_replies))
}

/// Inbox items, newest first: by default the ones not done; `status=open|assigned|done|all`,
/// `assigned_to=me|<user id>`. Each names the likely patient and appointment and whether the text
/// reads as an opt-out request. Patient data: the read is audited.
#[utoipa::path(get, path = "/api/v1/inbox", tag = "inbox", params(InboxQuery),
    security(("session" = ["inbox:read"]), ("api_key" = ["inbox:read"])),
    responses((status = 200, body = Vec<InboxItemView>), (status = 422, body = ErrorBody)))]
async fn list_inbox(
    auth: Authorized<perms::InboxRead>,
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> Result<Json<Vec<InboxItemView>>, AppError> {
    Ok(Json(inbox::list(&app, &auth.actor, &q).await?))
}

/// One inbox item with the earlier replies from its number and what staff answered (audited read).
#[utoipa::path(get, path = "/api/v1/inbox/{inbox_item_id}", tag = "inbox",
    params(("inbox_item_id" = String, Path, format = Uuid)),
    security(("session" = ["inbox:read"]), ("api_key" = ["inbox:read"])),
    responses((status = 200, body = InboxItemDetail), (status = 404, body = ErrorBody)))]
async fn get_inbox_item(
    auth: Authorized<perms::InboxRead>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<InboundMessageId>,
) -> Result<Json<InboxItemDetail>, AppError> {
    Ok(Json(inbox::get(&app, &auth.actor, id).await?))
}

/// Assigns the item to a staff member (`user_id`; default the caller). A done item is reopened.
#[utoipa::path(post, path = "/api/v1/inbox/{inbox_item_id}/assign", tag = "inbox",
    params(("inbox_item_id" = String, Path, format = Uuid)), request_body = AssignInput,
    security(("session" = ["inbox:write"]), ("api_key" = ["inbox:write"])),
    responses((status = 200, body = InboxItemView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn assign_inbox_item(
    auth: Authorized<perms::InboxWrite>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<InboundMessageId>,
    ApiJson(input): ApiJson<AssignInput>,
) -> Result<Json<InboxItemView>, AppError> {
    Ok(Json(inbox::assign(&app, &auth.actor, id, input).await?))
}

/// Answers the patient: a `staff_reply` message to the number, through the outbox. 201 with the
/// message; 409 `consent_missing` when the number opted out; 422 naming `body`.
#[utoipa::path(post, path = "/api/v1/inbox/{inbox_item_id}/reply", tag = "inbox",
    params(("inbox_item_id" = String, Path, format = Uuid)), request_body = InboxReplyInput,
    security(("session" = ["inbox:write"]), ("api_key" = ["inbox:write"])),
    responses((status = 201, body = MessageView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reply_inbox_item(
    auth: Authorized<perms::InboxWrite>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<InboundMessageId>,
    ApiJson(input): ApiJson<InboxReplyInput>,
) -> Result<(StatusCode, Json<MessageView>), AppError> {
    Ok((StatusCode::CREATED, Json(inbox::reply(&app, &auth.actor, id, input).await?)))
}

/// Marks the item done.
#[utoipa::path(post, path = "/api/v1/inbox/{inbox_item_id}/done", tag = "inbox",
    params(("inbox_item_id" = String, Path, format = Uuid)),
    security(("session" = ["inbox:write"]), ("api_key" = ["inbox:write"])),
    responses((status = 200, body = InboxItemView), (status = 404, body = ErrorBody)))]
async fn done_inbox_item(
    auth: Authorized<perms::InboxWrite>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<InboundMessageId>,
) -> Result<Json<InboxItemView>, AppError> {
    Ok(Json(inbox::done(&app, &auth.actor, id).await?))
}

/// The patient's replies about an appointment and the confirm/cancel requests they sent to the EHR,
/// with each request's delivery status (audited read).
#[utoipa::path(get, path = "/api/v1/appointments/{appointment_id}/replies", tag = "appointments",
    params(("appointment_id" = String, Path, format = Uuid)),
    security(("session" = ["appointment:read"]), ("api_key" = ["appointment:read"])),
    responses((status = 200, body = AppointmentReplies), (status = 404, body = ErrorBody)))]
async fn appointment_replies(
    auth: Authorized<perms::AppointmentRead>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<AppointmentId>,
) -> Result<Json<AppointmentReplies>, AppError> {
    Ok(Json(timeline::of_appointment(&app, &auth.actor, id).await?))
}
