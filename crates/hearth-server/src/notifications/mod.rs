//! Notifications: templates, the durable outbox, the providers that carry messages (channels) and
//! their webhooks. See `shared/specs/messaging.md` and `docs/notifications.md`.

pub mod callbacks;
pub mod provider;
pub mod providers;
pub mod status;
pub mod templates;
pub mod twilio_signature;

pub use provider::{Outgoing, Provider, Providers, Reconciled, SendOutcome};
pub use status::{Applied, StatusReport, apply_provider_status};
