//! Messages as the API and pages show them.

use hearth_core::{MessageId, PatientId, UtcTime};
use hearth_store::outbox::{AttemptRow, HistoryRow, MessageRow};
use serde::Serialize;
use utoipa::ToSchema;

/// One outbound message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageView {
    #[schema(value_type = String, format = Uuid)]
    pub id: MessageId,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub patient_id: Option<PatientId>,
    /// sms | whatsapp | voice | email
    pub channel: String,
    pub to: String,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub body: String,
    pub language: String,
    pub purpose: String,
    pub dedup_key: String,
    pub cause_type: Option<String>,
    pub cause_id: Option<String>,
    /// queued | sending | sent | delivered | undelivered | failed | canceled | dead | unknown
    pub status: String,
    /// Why it is in that status: no_consent, expired, staff, needs_review, lease_lost, max_attempts, …
    pub status_reason: Option<String>,
    pub segments: i32,
    pub attempts: i32,
    pub max_attempts: i32,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<UtcTime>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub valid_until: Option<UtcTime>,
    pub provider: Option<String>,
    pub provider_id: Option<String>,
    /// The provider's error code (e.g. Twilio 21610) and text.
    pub error_code: Option<String>,
    pub error_text: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: UtcTime,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: UtcTime,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<UtcTime>,
}

impl From<&MessageRow> for MessageView {
    fn from(m: &MessageRow) -> Self {
        Self {
            id: m.id,
            patient_id: m.patient_id,
            channel: m.channel.clone(),
            to: m.to_address.clone(),
            from: m.from_address.clone(),
            subject: m.subject.clone(),
            body: m.body.clone(),
            language: m.language.clone(),
            purpose: m.purpose.clone(),
            dedup_key: m.dedup_key.clone(),
            cause_type: m.cause_type.clone(),
            cause_id: m.cause_id.clone(),
            status: m.status.clone(),
            status_reason: m.status_reason.clone(),
            segments: m.segments,
            attempts: m.attempts,
            max_attempts: m.max_attempts,
            next_attempt_at: m.next_attempt_at,
            valid_until: m.valid_until,
            provider: m.provider.clone(),
            provider_id: m.provider_id.clone(),
            error_code: m.error_code.clone(),
            error_text: m.error_text.clone(),
            created_at: m.created_at,
            updated_at: m.updated_at,
            sent_at: m.sent_at,
        }
    }
}

/// One send attempt.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttemptView {
    pub attempt: i32,
    pub provider: String,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: UtcTime,
    pub latency_ms: i32,
    /// accepted | transient | rejected
    pub outcome: String,
    pub code: Option<String>,
    pub detail: Option<String>,
    pub provider_id: Option<String>,
}

impl From<&AttemptRow> for AttemptView {
    fn from(a: &AttemptRow) -> Self {
        Self {
            attempt: a.attempt,
            provider: a.provider.clone(),
            started_at: a.started_at,
            latency_ms: a.latency_ms,
            outcome: a.outcome.clone(),
            code: a.code.clone(),
            detail: a.detail.clone(),
            provider_id: a.provider_id.clone(),
        }
    }
}

/// One status change (or a stale provider report, `applied: false`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryView {
    #[schema(value_type = String, format = DateTime)]
    pub at: UtcTime,
    pub from_status: Option<String>,
    pub to_status: String,
    /// enqueue | worker | provider | staff | reconcile
    pub source: String,
    pub reason: Option<String>,
    pub applied: bool,
}

impl From<&HistoryRow> for HistoryView {
    fn from(h: &HistoryRow) -> Self {
        Self {
            at: h.at,
            from_status: h.from_status.clone(),
            to_status: h.to_status.clone(),
            source: h.source.clone(),
            reason: h.reason.clone(),
            applied: h.applied,
        }
    }
}

/// A message with every attempt and status change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageDetail {
    pub message: MessageView,
    pub attempts: Vec<AttemptView>,
    pub history: Vec<HistoryView>,
}

/// Messages per status and channel.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutboxStats {
    pub counts: Vec<StatusCountView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusCountView {
    pub status: String,
    pub channel: String,
    pub count: i64,
}
