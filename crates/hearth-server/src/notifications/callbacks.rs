//! Twilio's webhooks after their signature was checked: each is persisted as received
//! (`inbound_messages`), answered, then worked on. A status callback becomes a [`StatusReport`] for
//! [`apply_provider_status`]; a patient's reply goes to [`crate::replies`] (keywords, confirm and cancel,
//! the staff inbox).
//!
//! The organization of a receipt: the `org` query parameter of the webhook URL (it is part of what
//! Twilio signs, so it cannot be forged; set it per number in the Twilio console when one Hearth
//! serves several organizations), else the only organization of a single-tenant installation, else
//! none yet (a status callback still names its message through `message_id`, which Hearth put in the
//! StatusCallback URL).

use hearth_core::{InboundMessageId, MessageId, OrgId};
use hearth_store::inbound::InboundRow;

use super::providers::twilio::status_of;
use super::{Applied, StatusReport, apply_provider_status};
use crate::error::AppError;
use crate::state::AppState;

/// What a Twilio webhook carried: the form fields (or JSON members) and the query of its URL.
#[derive(Debug, Clone)]
pub struct TwilioHook {
    pub params: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
}

impl TwilioHook {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// `MessageSid` (or the older `SmsSid`), else `CallSid`.
    fn sid(&self) -> Option<&str> {
        self.param("MessageSid").or_else(|| self.param("SmsSid")).or_else(|| self.param("CallSid"))
    }

    fn channel(&self) -> &'static str {
        let whatsapp = |k| self.param(k).is_some_and(|v| v.starts_with("whatsapp:"));
        if whatsapp("From") || whatsapp("To") {
            "whatsapp"
        } else if self.param("CallSid").is_some() && self.param("MessageSid").is_none() {
            "voice"
        } else {
            "sms"
        }
    }

    /// The provider's status word: `MessageStatus` (`SmsStatus`) or `CallStatus`.
    fn status(&self) -> Option<&str> {
        self.param("MessageStatus").or_else(|| self.param("SmsStatus")).or_else(|| self.param("CallStatus"))
    }

    fn payload(&self) -> String {
        let map: serde_json::Map<String, serde_json::Value> =
            self.params.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
        serde_json::Value::Object(map).to_string()
    }
}

/// The kinds of receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    Status,
    Reply,
}

/// Persists one verified webhook; `Ok(None)` for a retry of one already stored. Processing is left to
/// [`process`], so the caller can answer first.
pub async fn record_twilio(
    app: &AppState,
    kind: HookKind,
    hook: &TwilioHook,
) -> Result<Option<InboundRow>, AppError> {
    let Some(sid) = hook.sid() else {
        return Err(AppError::with_message(
            hearth_core::ErrorCode::InvalidRequest,
            "MessageSid or CallSid is missing",
        ));
    };
    let status = hook.status().map(str::to_owned);
    let (kind_word, dedup_key) = match kind {
        HookKind::Status => ("status", format!("twilio:status:{sid}:{}", status.as_deref().unwrap_or(""))),
        HookKind::Reply => ("reply", format!("twilio:reply:{sid}")),
    };
    let row = InboundRow {
        id: InboundMessageId::new(),
        org_id: resolve_org(app, hook).await?,
        provider: "twilio".into(),
        kind: kind_word.into(),
        dedup_key,
        provider_id: sid.to_owned(),
        account_id: hook.param("AccountSid").map(str::to_owned),
        message_id: hook.query("message_id").and_then(|m| m.parse::<MessageId>().ok()),
        channel: Some(hook.channel().to_owned()),
        from_address: hook.param("From").map(str::to_owned),
        to_address: hook.param("To").map(str::to_owned),
        body: if kind == HookKind::Reply { Some(hook.param("Body").unwrap_or("").to_owned()) } else { None },
        status,
        error_code: hook.param("ErrorCode").map(str::to_owned),
        payload: hook.payload(),
        received_at: app.clock.now(),
        processed_at: None,
        outcome: None,
    };
    let stored = app.store.insert_inbound(&row).await?;
    tracing::info!(
        provider = "twilio",
        kind = kind_word,
        sid = %row.provider_id,
        status = row.status.as_deref().unwrap_or(""),
        org_resolved = row.org_id.is_some(),
        duplicate = !stored,
        "webhook received"
    );
    Ok(stored.then_some(row))
}

/// The report a status receipt makes (`None` when Twilio's word means nothing to Hearth).
pub fn status_report(row: &InboundRow, params: &TwilioHook) -> Option<StatusReport> {
    let status = status_of(row.status.as_deref()?)?;
    Some(StatusReport {
        provider: "twilio".into(),
        provider_id: row.provider_id.clone(),
        status,
        error_code: row.error_code.clone(),
        error_text: params.param("ErrorMessage").map(str::to_owned),
        received_at: row.received_at,
    })
}

/// Works on a stored receipt: applies a status, marks it processed with what happened. A failure
/// leaves it unprocessed (`processed_at` null) and is logged.
pub async fn process(app: &AppState, row: &InboundRow, hook: &TwilioHook) {
    let outcome = match row.kind.as_str() {
        "status" => match status_report(row, hook) {
            None => "unmapped",
            Some(report) => match apply_provider_status(app, &report).await {
                Ok(Applied::Moved) => "moved",
                Ok(Applied::Stale) => "stale",
                Ok(Applied::UnknownMessage) => "unknown_message",
                Err(e) => {
                    tracing::error!(provider = "twilio", sid = %row.provider_id, error = %e, "status not applied");
                    return;
                }
            },
        },
        // Replies: keywords, confirmations, the staff inbox (they mark the receipt themselves).
        _ => return crate::replies::process_logged(app, row).await,
    };
    if let Err(e) = app.store.finish_inbound(row.id, outcome, app.clock.now()).await {
        tracing::error!(provider = "twilio", sid = %row.provider_id, error = %e, "receipt not marked processed");
    }
}

async fn resolve_org(app: &AppState, hook: &TwilioHook) -> Result<Option<OrgId>, AppError> {
    if let Some(raw) = hook.query("org") {
        match raw.parse::<OrgId>() {
            Ok(org) if app.store.organization_exists(org).await? => return Ok(Some(org)),
            _ => tracing::warn!(provider = "twilio", "webhook URL names an unknown organization"),
        }
    }
    Ok(app.store.sole_organization().await?)
}
