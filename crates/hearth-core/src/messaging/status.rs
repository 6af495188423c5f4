use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where an outbound message is in its lifecycle (`shared/specs/messaging.md`):
/// `queued → sending → sent → delivered | undelivered | failed`, `queued → canceled`,
/// `sending → queued` (retry) or `→ dead`; `unknown` is a message a crash left in `sending`, until it
/// is reconciled with the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    Queued,
    Sending,
    Sent,
    Delivered,
    Undelivered,
    Failed,
    Canceled,
    Dead,
    Unknown,
}

impl MessageStatus {
    pub const ALL: [MessageStatus; 9] = [
        MessageStatus::Queued,
        MessageStatus::Sending,
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Undelivered,
        MessageStatus::Failed,
        MessageStatus::Canceled,
        MessageStatus::Dead,
        MessageStatus::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Queued => "queued",
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Undelivered => "undelivered",
            MessageStatus::Failed => "failed",
            MessageStatus::Canceled => "canceled",
            MessageStatus::Dead => "dead",
            MessageStatus::Unknown => "unknown",
        }
    }
}

impl fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not a message status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected one of queued, sending, sent, delivered, undelivered, failed, canceled, dead, unknown")]
pub struct UnknownStatus;

impl FromStr for MessageStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MessageStatus::ALL.into_iter().find(|c| c.as_str() == s).ok_or(UnknownStatus)
    }
}
