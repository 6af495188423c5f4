//! The hook for outreach limits (per-patient caps per local day and week, quiet hours): an
//! [`OutreachPolicy`] is consulted at every enqueue, inside the enqueue's transaction, and may allow
//! the message, defer it, or refuse it (recorded `canceled` with the policy's reason, never dropped).
//! The default allows everything; the reminder planner installs its own with
//! [`super::Outbox::set_policy`].

use futures_util::future::BoxFuture;
use hearth_core::UtcTime;
use hearth_store::{StoreError, Tx};

use super::NewMessage;

/// What a policy decided about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Not before `until` (e.g. the end of quiet hours, or the next local day under a daily cap).
    Defer {
        until: UtcTime,
    },
    /// Not at all; `reason` is stored with the message (e.g. `daily_cap`).
    Refuse {
        reason: String,
    },
}

pub trait OutreachPolicy: Send + Sync + 'static {
    /// Decides about `msg` at `now`. `tx` is the enqueue's transaction: counts read through it see
    /// the messages enqueued earlier in the same change.
    fn check<'a>(
        &'a self,
        tx: &'a mut Tx,
        msg: &'a NewMessage,
        now: UtcTime,
    ) -> BoxFuture<'a, Result<Verdict, StoreError>>;
}

/// Allows every message (the default).
#[derive(Debug, Default)]
pub struct AllowAll;

impl OutreachPolicy for AllowAll {
    fn check<'a>(
        &'a self,
        _tx: &'a mut Tx,
        _msg: &'a NewMessage,
        _now: UtcTime,
    ) -> BoxFuture<'a, Result<Verdict, StoreError>> {
        Box::pin(async { Ok(Verdict::Allow) })
    }
}
