//! Provider status reports (Twilio status callbacks, SendGrid events) applied to the outbox: a
//! message never moves backwards (`delivered` beats a late `sent`), error codes are kept, and Twilio
//! 21610 (unsubscribed recipient) records an opt-out in the consent ledger.
//!
//! Rules (see `MessageStatus::rank`): a report moves a message only to a status of higher rank
//! (queued < sending/unknown < sent < delivered/undelivered/failed). A final status is never changed
//! by a report (the first final report wins; a later one is kept in the history as not applied), with
//! one exception: an `unknown` message (a crash left it `sending`) takes whatever the provider reports,
//! because the report proves the provider has it. Every report leaves a history row (source
//! `provider`, `applied` false when stale); an error code is stored when the message has none yet or
//! the report moved it.

use hearth_core::messaging::MessageStatus;
use hearth_core::{ConsentId, UtcTime};
use hearth_store::outbox::HistoryRow;
use hearth_store::patients::ConsentRow;

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

/// Whether a message in `current` moves to `reported`.
pub fn moves(current: MessageStatus, reported: MessageStatus) -> bool {
    if current == MessageStatus::Unknown {
        return reported != MessageStatus::Unknown && reported != MessageStatus::Queued;
    }
    !current.is_final() && reported.rank() > current.rank()
}

/// Applies `report` to the message it names, in one transaction.
pub async fn apply_provider_status(app: &AppState, report: &StatusReport) -> Result<Applied, AppError> {
    let mut tx = app.store.begin().await?;
    let Some(mut m) = tx.message_by_provider_id(&report.provider, &report.provider_id).await? else {
        tx.rollback().await?;
        return Ok(Applied::UnknownMessage);
    };
    let now = app.clock.now();
    let current: MessageStatus = m.status.parse().unwrap_or(MessageStatus::Unknown);
    let applied = moves(current, report.status);
    let code_changes = report.error_code.is_some() && (applied || m.error_code.is_none());
    if applied {
        m.status = report.status.as_str().into();
        m.status_reason = None;
        m.next_attempt_at = None;
        m.lease_owner = None;
        m.lease_until = None;
        if m.sent_at.is_none() && report.status.rank() >= MessageStatus::Sent.rank() {
            m.sent_at = Some(report.received_at);
        }
    }
    if code_changes {
        m.error_code.clone_from(&report.error_code);
        m.error_text.clone_from(&report.error_text);
    }
    if applied || code_changes {
        m.updated_at = now;
        tx.update_message_state(&m).await?;
    }
    tx.insert_history(&[HistoryRow {
        org_id: m.org_id,
        message_id: m.id,
        at: report.received_at,
        from_status: Some(current.as_str().into()),
        to_status: report.status.as_str().into(),
        source: "provider".into(),
        reason: report.error_code.clone(),
        applied,
    }])
    .await?;
    if let (Some(code), Some(patient)) = (report.error_code.as_deref(), m.patient_id)
        && super::worker::UNSUBSCRIBED_CODES.contains(&code)
        && tx.latest_consent(m.org_id, patient, &m.channel, &m.to_address).await? != Some(false)
    {
        tx.append_consent(
            m.org_id,
            &ConsentRow {
                id: ConsentId::new(),
                patient_id: patient,
                channel: m.channel.clone(),
                address: m.to_address.clone(),
                opted_in: false,
                source: "provider".into(),
                words: Some(format!("{} error {code}: unsubscribed recipient", report.provider)),
                recorded_at: now,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(if applied { Applied::Moved } else { Applied::Stale })
}

#[cfg(test)]
mod tests {
    use super::moves;
    use hearth_core::messaging::MessageStatus as S;

    #[test]
    fn reports_never_move_a_message_backwards() {
        assert!(moves(S::Sending, S::Sent));
        assert!(moves(S::Sent, S::Delivered));
        assert!(moves(S::Sending, S::Delivered));
        assert!(!moves(S::Delivered, S::Sent));
        assert!(!moves(S::Delivered, S::Undelivered));
        assert!(!moves(S::Failed, S::Delivered));
        assert!(!moves(S::Sent, S::Sent));
        assert!(!moves(S::Sent, S::Queued));
        assert!(moves(S::Unknown, S::Sent));
        assert!(moves(S::Unknown, S::Delivered));
        assert!(!moves(S::Dead, S::Delivered));
    }
}
