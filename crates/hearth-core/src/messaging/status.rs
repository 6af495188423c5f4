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

    /// How far along the lifecycle a status is. A provider's report moves a message only to a
    /// higher rank (`delivered` beats a late `sent`); between two final statuses the first one stays.
    ///
    /// | rank | statuses |
    /// |---|---|
    /// | 0 | queued |
    /// | 1 | sending, unknown |
    /// | 2 | sent |
    /// | 3 | delivered, undelivered, failed, canceled, dead (final) |
    pub fn rank(self) -> u8 {
        match self {
            MessageStatus::Queued => 0,
            MessageStatus::Sending | MessageStatus::Unknown => 1,
            MessageStatus::Sent => 2,
            MessageStatus::Delivered
            | MessageStatus::Undelivered
            | MessageStatus::Failed
            | MessageStatus::Canceled
            | MessageStatus::Dead => 3,
        }
    }

    /// No worker will touch the message again (only staff: retry).
    pub fn is_final(self) -> bool {
        self.rank() == 3
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_order_the_lifecycle() {
        use MessageStatus as S;
        assert!(S::Queued.rank() < S::Sending.rank());
        assert!(S::Sending.rank() < S::Sent.rank());
        assert!(S::Sent.rank() < S::Delivered.rank());
        assert_eq!(S::Delivered.rank(), S::Undelivered.rank());
        assert!(S::Failed.is_final() && S::Dead.is_final() && S::Canceled.is_final());
        assert!(!S::Unknown.is_final() && !S::Sent.is_final());
        for s in S::ALL {
            assert_eq!(s.as_str().parse::<S>(), Ok(s));
        }
    }
}
