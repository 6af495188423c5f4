//! The maintenance worker: periodic housekeeping that belongs to no request. Today it proves the
//! background machinery is alive (heartbeat), deletes expired staff sessions, forgets idle sign-in
//! rate-limit entries, and keeps SQLite's WAL file from growing without bound and its query planner's
//! statistics current.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::state::AppState;

pub const NAME: &str = "maintenance";

pub async fn run(app: AppState, cancel: CancellationToken) -> anyhow::Result<()> {
    let interval = Duration::from_secs(app.config.workers.heartbeat_secs);
    app.heartbeats.register(NAME, interval);
    let mut ticks: u64 = 0;
    loop {
        app.heartbeats.beat(NAME);
        // About once a minute, fold the WAL back into the database (SQLite's automatic checkpoint
        // cannot finish while readers are active; a passive one never blocks them).
        if ticks.is_multiple_of(12) {
            housekeeping(&app).await;
        }
        ticks += 1;
        tokio::select! {
            () = cancel.cancelled() => break,
            () = tokio::time::sleep(interval) => {}
        }
    }
    tracing::info!(worker = NAME, "worker stopped");
    Ok(())
}

async fn housekeeping(app: &AppState) {
    let now = app.clock.now();
    let idle = i64::try_from(app.config.auth.session_idle_minutes).unwrap_or(30);
    match app.store.purge_sessions(now, now.plus(jiff::SignedDuration::from_mins(-idle))).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(sessions = n, "expired sessions removed"),
        Err(e) => tracing::warn!(error = %e, "session purge failed"),
    }
    app.login_limiter.retain_recent();
    // Survey completion webhooks whose first delivery failed (docs/surveys.md).
    crate::surveys::webhook::deliver_due(app).await;
    if let Err(e) = app.store.checkpoint().await {
        tracing::warn!(error = %e, "wal checkpoint failed");
    }
    if let Err(e) = app.store.refresh_statistics().await {
        tracing::warn!(error = %e, "statistics refresh failed");
    }
}
