//! The reminder scheduler (docs/reminders.md). An applied appointment event queues a change
//! (`outreach_work`) in its own transaction; the scheduler takes a patient's changes, writes the
//! event notices they call for and re-plans the patient's reminders into the outbox, in one
//! transaction. The outbox then sends each message at its time: its workers sleep until the next
//! due message, so nothing scans every appointment on a timer. Exactly once: a reminder's outbox key
//! is `reminder:{appointment}:{k}:{start}`, and on PostgreSQL one patient is planned by one worker
//! at a time (`take_outreach_work`).

mod message;
pub mod notices;
pub mod planning;
pub mod policy;
pub mod rules;

use std::time::Duration;

use hearth_core::{AppointmentEventId, OrgId, OutreachWorkId, PatientId, UtcTime};
use hearth_store::Tx;
use hearth_store::reminders::WorkRow;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::appointments::EventResult;
use crate::error::AppError;
use crate::state::AppState;

pub const NAME: &str = "reminders";
/// A patient whose planning failed is tried again after this long.
const RETRY_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

/// The scheduler's wake-up, shared by the process.
#[derive(Default)]
pub struct Scheduler {
    wake: Notify,
}

impl Scheduler {
    /// Wakes this process's scheduler (call after committing a change).
    pub fn wake(&self) {
        self.wake.notify_waiters();
        self.wake.notify_one();
    }
}

/// Queues what an applied event changed, in the event's transaction: its notices and a re-plan of
/// the patient's reminders. Events that changed nothing queue nothing.
pub async fn queue_change(
    tx: &mut Tx,
    org: OrgId,
    result: &EventResult,
    event: Option<AppointmentEventId>,
    now: UtcTime,
) -> Result<(), AppError> {
    if let Some(work) = work_for_change(org, result, event, now) {
        tx.queue_outreach(&work).await?;
    }
    Ok(())
}

/// The scheduler's work for an event's answer ([`queue_change`] writes it): `None` for events that
/// changed nothing.
pub fn work_for_change(
    org: OrgId,
    result: &EventResult,
    event: Option<AppointmentEventId>,
    now: UtcTime,
) -> Option<WorkRow> {
    let patient = result.patient_id?;
    if !matches!(result.result.as_str(), "created" | "updated") {
        return None;
    }
    Some(WorkRow {
        id: OutreachWorkId::new(),
        org_id: org,
        patient_id: patient,
        appointment_id: result.appointment_id,
        event_id: event,
        notices: notices::wanted(&result.notices),
        previous_start: result.previous_start,
        created_at: now,
    })
}

/// Queues a re-plan of the patient's reminders (their consent changed, or a rule did).
pub async fn queue_replan(tx: &mut Tx, org: OrgId, patient: PatientId, now: UtcTime) -> Result<(), AppError> {
    tx.queue_outreach(&WorkRow {
        id: OutreachWorkId::new(),
        org_id: org,
        patient_id: patient,
        appointment_id: None,
        event_id: None,
        notices: String::new(),
        previous_start: None,
        created_at: now,
    })
    .await?;
    Ok(())
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub patients: usize,
    pub notices: usize,
    pub reminders: usize,
    pub moved: usize,
    pub canceled: usize,
    pub failed: usize,
    /// Why planning failed, per failed patient (no patient data: error texts only).
    pub errors: Vec<String>,
}

/// Plans every queued change that is due, one patient per transaction, then wakes the outbox.
pub async fn run_once(app: &AppState) -> Result<PassReport, AppError> {
    let mut report = PassReport::default();
    loop {
        let now = app.clock.now();
        let mut tx = app.store.begin().await?;
        let Some((org, patient, work)) = tx.take_outreach_work(now).await? else {
            tx.rollback().await?;
            break;
        };
        let done = async {
            let n = notices::send(&mut tx, app, org, &work, now).await?;
            let p = planning::plan_patient(&mut tx, app, org, patient, now).await?;
            Ok::<_, AppError>((n, p))
        }
        .await;
        match done {
            Ok((n, p)) => {
                tx.commit().await?;
                report.notices += n;
                report.reminders += p.enqueued;
                report.moved += p.moved;
                report.canceled += p.canceled;
            }
            Err(e) => {
                tx.rollback().await?;
                // Ids only: no patient data in logs.
                tracing::warn!(error = %e, org = %org, patient = %patient, "planning a patient failed; retried later");
                report.errors.push(e.to_string());
                let mut tx = app.store.begin().await?;
                tx.defer_outreach_work(org, patient, now.plus(RETRY_AFTER)).await?;
                tx.commit().await?;
                report.failed += 1;
            }
        }
        report.patients += 1;
    }
    if report.notices + report.reminders + report.moved > 0 {
        app.outbox.wake();
    }
    Ok(report)
}

/// Runs `reminders.workers` scheduler loops until `cancel`. Each sleeps until woken by a committed
/// change, or until the next deferred change is due (at most the heartbeat interval, so `/health`
/// sees it alive).
pub async fn run(app: AppState, cancel: CancellationToken) -> anyhow::Result<()> {
    let interval = Duration::from_secs(app.config.workers.heartbeat_secs.max(1));
    app.heartbeats.register(NAME, interval);
    let mut loops = tokio::task::JoinSet::new();
    for _ in 0..app.config.reminders.workers {
        loops.spawn(worker_loop(app.clone(), cancel.clone(), interval));
    }
    while loops.join_next().await.is_some() {}
    tracing::info!(worker = NAME, "worker stopped");
    Ok(())
}

async fn worker_loop(app: AppState, cancel: CancellationToken, interval: Duration) {
    while !cancel.is_cancelled() {
        app.heartbeats.beat(NAME);
        // Registered before the pass, so a wake during it is not lost.
        let woken = app.reminders.wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        if let Err(e) = run_once(&app).await {
            tracing::warn!(error = %e, "reminder scheduling failed");
        }
        let mut sleep = interval;
        if let Ok(mut tx) = app.store.begin().await {
            if let Ok(Some(next)) = tx.next_outreach_work().await {
                let until = next.as_micros() - app.clock.now().as_micros();
                sleep = sleep.min(Duration::from_micros(u64::try_from(until.max(0)).unwrap_or(0)));
            }
            let _ = tx.rollback().await;
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            () = woken => {}
            () = tokio::time::sleep(sleep) => {}
        }
    }
}
