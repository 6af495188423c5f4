//! The loopback provider: every message as a JSON POST to one HTTP endpoint (`outbox.loopback_url`).
//! Used by the crash test and `hearth bench dispatch`, and usable for a local integration. The
//! endpoint's contract (docs/outbox.md "Loopback provider"):
//!
//! - `POST {url}/messages` with `{"message_id", "channel", "to", "from", "subject", "body", "language"}`:
//!   a 2xx answer with `{"id": "…", "status": "sent"}` (status optional, default `sent`) accepts the
//!   message; 429 and 5xx are transient (`Retry-After` in seconds is honored); any other status
//!   rejects it, with `{"code", "message"}` from the body when given.
//! - `GET {url}/messages/{message_id}`: 200 with `{"id", "status"}` if the endpoint accepted that
//!   message, 404 if not (reconciliation after a crash).

use std::time::Duration;

use futures_util::future::BoxFuture;
use hearth_core::UtcTime;
use hearth_core::messaging::MessageStatus;
use serde::Deserialize;

use super::provider::{Outgoing, Provider, Reconciled, SendOutcome};

pub struct LoopbackProvider {
    base: String,
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct Accepted {
    id: String,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize, Default)]
struct Problem {
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
}

impl LoopbackProvider {
    pub fn new(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().timeout(timeout).pool_max_idle_per_host(256).build()?;
        Ok(Self { base: url.trim_end_matches('/').to_owned(), client })
    }
}

fn status_of(s: Option<&str>) -> MessageStatus {
    match s.and_then(|s| s.parse::<MessageStatus>().ok()) {
        Some(s @ (MessageStatus::Delivered | MessageStatus::Undelivered | MessageStatus::Failed)) => s,
        _ => MessageStatus::Sent,
    }
}

impl Provider for LoopbackProvider {
    fn name(&self) -> &'static str {
        "loopback"
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, SendOutcome> {
        Box::pin(async move {
            let body = serde_json::json!({
                "message_id": msg.message_id, "channel": msg.channel, "to": msg.to, "from": msg.from,
                "subject": msg.subject, "body": msg.body, "language": msg.language,
            });
            let res = match self.client.post(format!("{}/messages", self.base)).json(&body).send().await {
                Ok(res) => res,
                Err(e) => {
                    let reason = if e.is_timeout() { "timeout" } else { "connection failed" };
                    return SendOutcome::Transient { code: None, reason: reason.into(), retry_after: None };
                }
            };
            let status = res.status();
            let retry_after = res
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            if status.is_success() {
                return match res.json::<Accepted>().await {
                    Ok(a) => {
                        SendOutcome::Accepted { provider_id: a.id, status: status_of(a.status.as_deref()) }
                    }
                    // Accepted, but the answer was unreadable: not a retry (it may have been sent).
                    Err(_) => SendOutcome::Rejected {
                        code: None,
                        reason: "the endpoint accepted the message but its answer had no id".into(),
                    },
                };
            }
            let problem: Problem = res.json().await.unwrap_or_default();
            let code = problem.code.map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_owned));
            let reason = problem.message.unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
            if status.as_u16() == 429 || status.is_server_error() {
                SendOutcome::Transient {
                    code: code.or(Some(status.as_u16().to_string())),
                    reason,
                    retry_after,
                }
            } else {
                SendOutcome::Rejected { code: code.or(Some(status.as_u16().to_string())), reason }
            }
        })
    }

    fn reconcile<'a>(&'a self, msg: &'a Outgoing, _since: UtcTime) -> BoxFuture<'a, Reconciled> {
        Box::pin(async move {
            let url = format!("{}/messages/{}", self.base, msg.message_id);
            match self.client.get(url).send().await {
                Ok(res) if res.status().is_success() => match res.json::<Accepted>().await {
                    Ok(a) => Reconciled::Found { provider_id: a.id, status: status_of(a.status.as_deref()) },
                    Err(_) => Reconciled::Unavailable { reason: "unreadable lookup answer".into() },
                },
                Ok(res) if res.status().as_u16() == 404 => Reconciled::NotFound,
                Ok(res) => Reconciled::Unavailable { reason: format!("HTTP {}", res.status().as_u16()) },
                Err(_) => Reconciled::Unavailable { reason: "connection failed".into() },
            }
        })
    }
}
