//! Patient replies (`shared/specs/messaging.md` "Inbound replies", `docs/replies.md`): each reply the
//! Twilio webhook stored is classified, then acted on exactly once: STOP, START and HELP change
//! consent and are answered; CONFIRM and CANCEL are matched to the most recent outstanding prompt
//! (reminder or booking notice) sent to that number, acknowledged, and written back to the EHR
//! ([`writeback`]); everything else goes to the staff [`inbox`].
//!
//! Processing is planned with reads only ([`plan`]), then applied in one transaction that starts by
//! marking the receipt processed ([`apply`]): a second processor (a retried webhook, the recovery
//! pass, another node) finds it claimed and does nothing, and a crash before the commit leaves it
//! unprocessed for the recovery pass. Nothing here logs a body or a number.

pub mod apply;
pub mod inbox;
mod plan;
mod prompts;
pub mod timeline;
pub mod writeback;

use std::time::Duration;

use hearth_store::inbound::InboundRow;
use tokio_util::sync::CancellationToken;

pub use apply::Processed;
pub use inbox::{InboxItemDetail, InboxItemView, InboxQuery};
pub use timeline::{AppointmentReplies, EhrRequestView, ReplyView};

use crate::error::AppError;
use crate::state::AppState;
use hearth_core::ErrorCode;

pub const NAME: &str = "replies";
/// A reply unprocessed for this long is picked up by the sweep (its processing task failed).
const SWEEP_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_secs(30);

/// Processes one stored reply (see the module documentation). Returns what was done, or
/// [`Processed::Already`] when another processor got there first.
pub async fn process(app: &AppState, row: &InboundRow) -> Result<Processed, AppError> {
    let Some(org) = row.org_id else {
        return apply::without_organization(app, row).await;
    };
    let planned = match plan::plan(app, org, row).await {
        Ok(p) => apply::apply(app, row, p).await,
        Err(e) => Err(e),
    };
    match planned {
        Err(e) if is_permanent(&e) => {
            tracing::error!(reply_id = %row.id, error = %e, "reply cannot be acted on; it goes to the inbox");
            apply::apply(app, row, plan::fallback(app, org, row).await?).await
        }
        other => other,
    }
}

/// A failure that trying again will not cure (refused input, a missing row), as opposed to a busy or
/// unreachable store.
fn is_permanent(e: &AppError) -> bool {
    let code = e.error_code();
    matches!(e, AppError::Fields(_))
        || ((400..500).contains(&code.http_status()) && code != ErrorCode::Conflict)
}

/// Processes a reply the webhook just stored, after any earlier unprocessed reply from the same
/// number (so that STOP then START is applied in that order however the tasks are scheduled),
/// logging each outcome or failure by receipt id only. A failure leaves the receipt unprocessed for
/// the sweep.
pub async fn process_logged(app: &AppState, row: &InboundRow) {
    let mut queue = match app.store.unprocessed_replies_up_to(row).await {
        Ok(earlier) => earlier,
        Err(e) => {
            tracing::warn!(reply_id = %row.id, error = %e, "earlier replies not read; processing this one");
            Vec::new()
        }
    };
    if queue.last().is_none_or(|r| r.id != row.id) {
        queue.push(row.clone());
    }
    for r in &queue {
        match process(app, r).await {
            Ok(done) => tracing::info!(reply_id = %r.id, outcome = done.outcome(), "reply processed"),
            Err(e) => {
                tracing::error!(reply_id = %r.id, error = %e, "reply not processed; the sweep will retry");
                return;
            }
        }
    }
}

/// Processes every stored reply not processed yet and received at or before `before`; returns how
/// many were processed now.
pub async fn process_pending(app: &AppState, before: hearth_core::UtcTime) -> Result<usize, AppError> {
    let mut done = 0;
    loop {
        let rows = app.store.unprocessed_replies(before, 100).await?;
        let n = rows.len();
        let mut progressed = false;
        for row in rows {
            match process(app, &row).await {
                Ok(Processed::Already) => {}
                Ok(_) => {
                    done += 1;
                    progressed = true;
                }
                Err(e) => tracing::error!(reply_id = %row.id, error = %e, "reply not processed"),
            }
        }
        if n < 100 || !progressed {
            return Ok(done);
        }
    }
}

/// The replies worker: at start, every reply a stopped process left unprocessed; then, each
/// interval, replies whose processing task failed, and (when this process runs outbox workers) the
/// EHR write-back.
pub async fn run(app: AppState, cancel: CancellationToken) -> anyhow::Result<()> {
    let interval =
        Duration::from_secs(app.config.workers.heartbeat_secs.min(app.config.outbox.idle_poll_secs));
    app.heartbeats.register(NAME, interval);
    match process_pending(&app, app.clock.now()).await {
        Ok(0) => {}
        Ok(n) => {
            tracing::warn!(replies = n, "replies left unprocessed by a stopped process are now processed");
        }
        Err(e) => tracing::warn!(error = %e, "reply recovery failed; the sweep will retry"),
    }
    let deliver = app.config.outbox.workers > 0;
    while !cancel.is_cancelled() {
        app.heartbeats.beat(NAME);
        if let Err(e) = process_pending(&app, app.clock.now().plus(-SWEEP_AFTER)).await {
            tracing::warn!(error = %e, "reply sweep failed");
        }
        let mut sleep = interval;
        if deliver {
            match writeback::run_once(&app).await {
                Ok(r) if r.claimed > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "write-back round failed"),
            }
            if let Ok(Some(next)) = app.store.next_ehr_request_due().await {
                let until = next.as_micros() - app.clock.now().as_micros();
                sleep = sleep.min(Duration::from_micros(u64::try_from(until.max(0)).unwrap_or(0)));
            }
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            () = writeback::woken() => {}
            () = tokio::time::sleep(sleep) => {}
        }
    }
    tracing::info!(worker = NAME, "worker stopped");
    Ok(())
}
