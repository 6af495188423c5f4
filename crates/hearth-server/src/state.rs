//! The application state handed to every handler and worker: one cheap-to-clone struct. Integrations
//! are trait objects so tests can swap in fakes.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use hearth_core::Clock;
use hearth_store::Store;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::workers::Heartbeats;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    pub heartbeats: Heartbeats,
    /// Sign-in attempts per client IP (in this process).
    pub login_limiter: DefaultKeyedRateLimiter<IpAddr>,
    /// Encryption keys for sensitive fields and TOTP secrets.
    pub keys: crate::keys::Keys,
    /// The shared commits of EHR event ingest.
    pub group_commit: crate::appointments::GroupCommit,
    /// Which provider carries each channel (the local outbox unless configured).
    pub providers: crate::notifications::Providers,
    /// The outbox's wake-up and outreach policy.
    pub outbox: crate::notifications::Outbox,
    /// The reminder scheduler's wake-up.
    pub reminders: crate::reminders::Scheduler,
}

impl AppState {
    /// Reads (or creates) the keyring; the only I/O here.
    pub fn new(config: Config, store: Store, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let keys = crate::keys::Keys::new(&config)?;
        let metrics = Metrics::new(store.backend().as_str());
        let per_minute =
            NonZeroU32::new(config.auth.login_attempts_per_minute_per_ip).unwrap_or(NonZeroU32::MIN);
        let login_limiter = RateLimiter::keyed(Quota::per_minute(per_minute));
        let providers = crate::notifications::Providers::from_config(&config)?;
        tracing::info!(providers = %providers.summary(), "message providers");
        Ok(Self(Arc::new(Inner {
            store,
            clock,
            metrics,
            heartbeats: Heartbeats::default(),
            login_limiter,
            keys,
            group_commit: crate::appointments::GroupCommit::default(),
            providers,
            outbox: crate::notifications::Outbox::default(),
            reminders: crate::reminders::Scheduler::default(),
            config,
        })))
    }

    /// A handle that does not keep the state alive (for tasks that should end with it).
    pub fn downgrade(&self) -> std::sync::Weak<Inner> {
        Arc::downgrade(&self.0)
    }

    pub fn upgrade(weak: &std::sync::Weak<Inner>) -> Option<Self> {
        weak.upgrade().map(Self)
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
