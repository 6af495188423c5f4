//! Building and running Hearth: connect and migrate the store, bind the listener, start the workers,
//! serve until cancelled, then let in-flight requests finish within the grace period.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hearth_core::{Clock, SystemClock};
use hearth_store::{Store, StoreOptions};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::state::AppState;
use crate::{web, workers};

/// What this process runs. `hearth serve` runs both; `hearth worker` (later) only workers.
#[derive(Debug, Clone, Copy)]
pub struct Roles {
    pub web: bool,
    pub workers: bool,
}

/// The outside world the app talks to; fakes in tests.
pub struct Deps {
    pub clock: Arc<dyn Clock>,
}

impl Deps {
    pub fn production() -> Self {
        Self { clock: Arc::new(SystemClock) }
    }
}

pub struct App {
    state: AppState,
    listener: Option<TcpListener>,
    roles: Roles,
}

impl App {
    pub async fn build(config: Config, deps: Deps, roles: Roles) -> anyhow::Result<Self> {
        let opts =
            StoreOptions { max_connections: config.database_max_connections, ..StoreOptions::default() };
        let store = Store::connect(config.database_url().expose(), &opts)
            .await
            .with_context(|| format!("cannot open the database {}", config.database_url_redacted()))?;
        let applied = store.migrate().await.context("cannot migrate the database")?;
        if !applied.is_empty() {
            tracing::info!(versions = ?applied, backend = store.backend().as_str(), "migrations applied");
        }
        crate::patients::name_keys::rebuild_after_migrations(&store, &applied).await?;
        let listener = if roles.web {
            Some(
                TcpListener::bind(config.listen)
                    .await
                    .with_context(|| format!("cannot listen on {}", config.listen))?,
            )
        } else {
            None
        };
        // A test instance whose simulator may move time runs on a clock it can shift.
        let clock: Arc<dyn Clock> = if config.simulator.clock {
            Arc::new(hearth_core::ShiftedClock::default())
        } else {
            deps.clock.clone()
        };
        let state = AppState::with_clocks(config, store, clock, deps.clock)?;
        // Survey invitations obey the patient's outreach caps (reminders are capped by the planner).
        state.outbox.set_policy(Arc::new(crate::reminders::policy::CapsPolicy));
        Ok(Self { state, listener, roles })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `cancel` fires; then stops accepting, waits for in-flight requests (at most
    /// `http.shutdown_grace_secs`), stops the workers and closes the store.
    pub async fn run_until_stopped(self, cancel: CancellationToken) -> anyhow::Result<()> {
        let Self { state, listener, roles } = self;
        let mut tasks: JoinSet<anyhow::Result<()>> = JoinSet::new();
        if roles.workers {
            tasks.spawn(workers::run_maintenance(state.clone(), cancel.clone()));
            tasks.spawn(crate::replies::run(state.clone(), cancel.clone()));
            if state.config.outbox.workers > 0 {
                tasks.spawn(crate::notifications::worker::run(state.clone(), cancel.clone()));
            }
            if state.config.reminders.workers > 0 {
                tasks.spawn(crate::reminders::run(state.clone(), cancel.clone()));
            }
        }
        if let Some(listener) = listener {
            let router = web::router(state.clone());
            let stop = cancel.clone();
            let mut server = tokio::spawn(async move {
                axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
                    .with_graceful_shutdown(async move { stop.cancelled().await })
                    .await
            });
            let grace = Duration::from_secs(state.config.http.shutdown_grace_secs);
            tokio::select! {
                res = &mut server => res??,
                () = cancel.cancelled() => {
                    tracing::info!("shutting down: finishing in-flight requests");
                    if let Ok(res) = tokio::time::timeout(grace, &mut server).await {
                        res??;
                    } else {
                        tracing::warn!(grace_secs = grace.as_secs(), "grace period over; abandoning in-flight requests");
                        server.abort();
                    }
                }
            }
        }
        cancel.cancel();
        while let Some(res) = tasks.join_next().await {
            res??;
        }
        state.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Cancels `token` on SIGINT (Ctrl-C) or SIGTERM.
pub fn cancel_on_signals(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => tracing::info!(signal = "SIGINT", "signal received"),
            () = term => tracing::info!(signal = "SIGTERM", "signal received"),
        }
        token.cancel();
    });
}
