//! The maintenance worker: periodic housekeeping that belongs to no request. Today it proves the
//! background machinery is alive (heartbeat) and keeps SQLite's WAL file from growing without bound;
//! expiring sessions and pruning old rate-limit state will run here too.

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
        if ticks.is_multiple_of(12)
            && let Err(e) = app.store.checkpoint().await
        {
            tracing::warn!(error = %e, "wal checkpoint failed");
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
