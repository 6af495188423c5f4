//! The one trait every channel implementation (Twilio, SMTP, SendGrid, signed webhook, local outbox)
//! sits behind, and the table that says which provider carries which channel.
//!
//! A provider performs exactly one network call per `send` and never touches the store: the outbox
//! claims, calls `send` outside any transaction, then records the outcome.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use hearth_core::messaging::{Channel, MessageStatus};
use hearth_core::{MessageId, UtcTime};

/// One message as a provider sees it: rendered, addressed, consent already checked.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Hearth's id; carried to the provider where it takes a reference (status callback URL,
    /// SendGrid `custom_args`, webhook body) so callbacks and reconciliation can find the message.
    pub message_id: MessageId,
    pub channel: Channel,
    /// E.164 for sms, whatsapp and voice; an e-mail address for email.
    pub to: String,
    /// The sender (number, messaging service or address); `None` = the provider's configured default.
    pub from: Option<String>,
    /// E-mail subject; ignored by the other channels.
    pub subject: Option<String>,
    pub body: String,
    /// BCP-47 language of the body (`en`, `es`, `ar`): voice reads it in that language.
    pub language: String,
    /// How long the provider may keep trying (Twilio `ValidityPeriod`); `None` = provider default.
    pub validity: Option<Duration>,
}

/// What the provider answered to one send attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Accepted: the provider's id for the message and the status it reported.
    Accepted { provider_id: String, status: MessageStatus },
    /// Worth retrying later: 429, 5xx, a timeout or a connection error. `retry_after` is the
    /// provider's `Retry-After`, when it sent one.
    Transient { code: Option<String>, reason: String, retry_after: Option<Duration> },
    /// Will never succeed as it is (a 4xx other than 429): the message fails at once with the
    /// provider's code and text (Twilio 21610 = the recipient unsubscribed).
    Rejected { code: Option<String>, reason: String },
}

/// Whether the provider already holds a message that a crash left in `sending`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reconciled {
    /// The provider has it: record this id and status, never send it again.
    Found { provider_id: String, status: MessageStatus },
    /// The provider has no such message: safe to send.
    NotFound,
    /// The provider cannot be asked (SMTP): a person decides (the message stays `unknown`).
    CannotTell,
    /// The provider could not be reached; ask again later.
    Unavailable { reason: String },
}

/// One way of carrying messages. Implementations hold their own HTTP or SMTP client.
pub trait Provider: Send + Sync + 'static {
    /// A short name stored with each attempt: `local`, `twilio`, `smtp`, `sendgrid`, `webhook`.
    fn name(&self) -> &'static str;

    /// Sends one message: one network call, no store access.
    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, SendOutcome>;

    /// Looks for `msg` among what the provider accepted since `since` (a crash between "accepted"
    /// and "recorded" is the only way a message can be sent twice).
    fn reconcile<'a>(&'a self, msg: &'a Outgoing, since: UtcTime) -> BoxFuture<'a, Reconciled>;
}

/// The local outbox: the default when no provider is configured. Messages are "delivered" into the
/// outbox itself, where the admin pages show them; nothing leaves the machine.
#[derive(Debug, Default)]
pub struct LocalProvider;

impl Provider for LocalProvider {
    fn name(&self) -> &'static str {
        "local"
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, SendOutcome> {
        Box::pin(async move {
            SendOutcome::Accepted {
                provider_id: format!("local-{}", msg.message_id),
                status: MessageStatus::Delivered,
            }
        })
    }

    fn reconcile<'a>(&'a self, msg: &'a Outgoing, _since: UtcTime) -> BoxFuture<'a, Reconciled> {
        // Local sends have no side effect outside the outbox: "sent" can be recorded again safely.
        Box::pin(async move {
            Reconciled::Found {
                provider_id: format!("local-{}", msg.message_id),
                status: MessageStatus::Delivered,
            }
        })
    }
}

/// Which provider carries each channel.
#[derive(Clone)]
pub struct Providers {
    by_channel: HashMap<Channel, Arc<dyn Provider>>,
}

impl Providers {
    /// Every channel through the local outbox.
    pub fn local() -> Self {
        Self::uniform(Arc::new(LocalProvider))
    }

    /// The providers the configuration names: every channel through the loopback endpoint when
    /// `outbox.loopback_url` is set, else the local outbox.
    pub fn from_config(config: &crate::config::Config) -> anyhow::Result<Self> {
        Ok(match &config.outbox.loopback_url {
            Some(url) => Self::uniform(Arc::new(super::loopback::LoopbackProvider::new(
                url,
                Duration::from_secs(config.outbox.send_timeout_secs),
            )?)),
            None => Self::local(),
        })
    }

    /// Every channel through one provider (tests, benchmarks).
    #[allow(clippy::needless_pass_by_value)] // the signature callers already use
    pub fn uniform(provider: Arc<dyn Provider>) -> Self {
        Self { by_channel: Channel::ALL.into_iter().map(|c| (c, provider.clone())).collect() }
    }

    /// Replaces the provider of one channel.
    #[must_use]
    pub fn with(mut self, channel: Channel, provider: Arc<dyn Provider>) -> Self {
        self.by_channel.insert(channel, provider);
        self
    }

    pub fn for_channel(&self, channel: Channel) -> Arc<dyn Provider> {
        self.by_channel.get(&channel).cloned().unwrap_or_else(|| Arc::new(LocalProvider))
    }
}

impl Default for Providers {
    fn default() -> Self {
        Self::local()
    }
}
