//! An appointment's replies and the requests they sent to the EHR, with each request's delivery
//! status: the part of the appointment's timeline this module writes.

use hearth_core::{AppointmentId, UtcTime};
use hearth_store::ehr_requests::EhrRequestRow;
use hearth_store::replies::ReplyRow;
use serde::Serialize;
use utoipa::ToSchema;

use crate::audit;
use crate::auth::Actor;
use crate::error::AppError;
use crate::state::AppState;

/// A patient's reply as the appointment's timeline shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplyView {
    /// The reply (inbound message) id.
    pub id: String,
    #[schema(value_type = String, format = DateTime)]
    pub received_at: UtcTime,
    pub channel: String,
    /// What it was read as: opt_out | opt_in | help | confirm | cancel | other
    pub kind: String,
    /// What was done: confirm_requested | cancel_requested | to_inbox | no_prompt | opted_out | …
    pub outcome: String,
    pub body: String,
    /// Free text that reads like a request to stop messages (a person decides).
    pub reads_as_opt_out: bool,
    /// open | assigned | done, when it is in the staff inbox.
    pub inbox_status: Option<String>,
}

impl From<&ReplyRow> for ReplyView {
    fn from(r: &ReplyRow) -> Self {
        Self {
            id: r.id.to_string(),
            received_at: r.received_at,
            channel: r.channel.clone(),
            kind: r.kind.clone(),
            outcome: r.outcome.clone(),
            body: r.body.clone(),
            reads_as_opt_out: r.reads_as_opt_out,
            inbox_status: r.inbox_status.clone(),
        }
    }
}

/// A request written back to the EHR and how its delivery went.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EhrRequestView {
    /// The `request_id` the EHR receives.
    pub id: String,
    pub reply_id: String,
    /// confirm | cancel
    pub kind: String,
    /// webhook | fhir
    pub method: String,
    /// queued | sending | delivered | failed | dead
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    /// The EHR's HTTP status of the last attempt.
    pub response_code: Option<String>,
    pub error: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<UtcTime>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: UtcTime,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<UtcTime>,
    /// The body sent (the EHR's and Hearth's ids; never the reply's text or the number).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

impl From<&EhrRequestRow> for EhrRequestView {
    fn from(r: &EhrRequestRow) -> Self {
        Self {
            id: r.id.to_string(),
            reply_id: r.reply_id.to_string(),
            kind: r.kind.clone(),
            method: r.method.clone(),
            status: r.status.clone(),
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            response_code: r.response_code.clone(),
            error: r.error_text.clone(),
            next_attempt_at: r.next_attempt_at,
            created_at: r.created_at,
            delivered_at: r.delivered_at,
            payload: serde_json::from_str(&r.payload).unwrap_or_default(),
        }
    }
}

/// An appointment's replies and EHR requests, oldest first.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct AppointmentReplies {
    pub replies: Vec<ReplyView>,
    pub requests: Vec<EhrRequestView>,
}

/// The replies about an appointment and their requests to the EHR (an audited read: replies are
/// patient data).
pub async fn of_appointment(
    app: &AppState,
    actor: &Actor,
    id: AppointmentId,
) -> Result<AppointmentReplies, AppError> {
    app.store.appointment(actor.org, id).await?;
    let replies = app.store.replies_about(actor.org, id).await?;
    let requests = app.store.ehr_requests_about(actor.org, id).await?;
    audit::record_read(app, actor, "appointment.replies_read", Some(("appointment", id.to_string())), None)
        .await?;
    Ok(AppointmentReplies {
        replies: replies.iter().map(ReplyView::from).collect(),
        requests: requests.iter().map(EhrRequestView::from).collect(),
    })
}
