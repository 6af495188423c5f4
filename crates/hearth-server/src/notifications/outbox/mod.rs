//! The durable outbox (docs/outbox.md): messages are written in the transaction of their cause
//! ([`enqueue`]), workers claim and send them ([`crate::notifications::worker`]), staff read, send,
//! retry and cancel them ([`manage`]).

mod enqueue;
pub mod manage;
mod policy;
mod views;

use std::sync::{Arc, PoisonError, RwLock};

use tokio::sync::Notify;

pub use enqueue::{
    Enqueued, MAX_BODY_CHARS, NewMessage, consent_allows, enqueue, enqueue_answer, normalize_address,
    segments, validate,
};
pub use manage::{MessageQuery, SendMessageInput, cancel, get, list, retry, send, stats};
pub use policy::{AllowAll, OutreachPolicy, Verdict};
pub use views::{AttemptView, HistoryView, MessageDetail, MessageView, OutboxStats};

/// What the outbox shares across the process: the workers' wake-up and the outreach policy.
pub struct Outbox {
    wake: Notify,
    policy: RwLock<Arc<dyn OutreachPolicy>>,
}

impl Default for Outbox {
    fn default() -> Self {
        Self { wake: Notify::new(), policy: RwLock::new(Arc::new(AllowAll)) }
    }
}

impl Outbox {
    /// Wakes this process's idle workers (call after committing an enqueue).
    pub fn wake(&self) {
        self.wake.notify_waiters();
        // A worker between its claim and its wait gets the permit instead.
        self.wake.notify_one();
    }

    /// Resolves when [`Outbox::wake`] is called.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    pub fn policy(&self) -> Arc<dyn OutreachPolicy> {
        self.policy.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Installs the policy consulted at every enqueue.
    pub fn set_policy(&self, policy: Arc<dyn OutreachPolicy>) {
        *self.policy.write().unwrap_or_else(PoisonError::into_inner) = policy;
    }
}
