//! Provider status reports (Twilio status callbacks, SendGrid events, reconciliation) applied to the
//! outbox: a message never moves backwards (`delivered` beats a late `sent`), error codes are kept,
//! and Twilio 21610 (unsubscribed recipient) records an opt-out in the consent ledger.

use hearth_core::UtcTime;
use hearth_core::messaging::MessageStatus;

use crate::error::AppError;
use crate::state::AppState;

/// One status report from a provider, as received (already authenticated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// The provider's name (`twilio`, `sendgrid`, …), as [`super::Provider::name`] gives it.
    pub provider: String,
    /// The provider's id for the message (Twilio `MessageSid`).
    pub provider_id: String,
    pub status: MessageStatus,
    /// The provider's error code (Twilio `ErrorCode`, e.g. `21610`).
    pub error_code: Option<String>,
    pub error_text: Option<String>,
    pub received_at: UtcTime,
}

/// What a report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The message moved to the reported status.
    Moved,
    /// The message is already at or past the reported status; only the report was kept.
    Stale,
    /// No message has this provider id (yet: a callback can beat the send call's answer).
    UnknownMessage,
}

/// Applies `report` to the message it names, in one transaction.
pub async fn apply_provider_status(app: &AppState, report: &StatusReport) -> Result<Applied, AppError> {
    // Filled in with the outbox (issue #6): until then no message can match.
    let _ = (app, report);
    Ok(Applied::UnknownMessage)
}
