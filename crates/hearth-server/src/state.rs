//! The application state handed to every handler and worker: one cheap-to-clone struct. Integrations
//! are trait objects so tests can swap in fakes.

use std::sync::Arc;

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
}

impl AppState {
    pub fn new(config: Config, store: Store, clock: Arc<dyn Clock>) -> Self {
        let metrics = Metrics::new(store.backend().as_str());
        Self(Arc::new(Inner {
            config,
            store,
            clock,
            metrics,
            heartbeats: Heartbeats::default(),
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
