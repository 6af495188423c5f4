//! Group commit for EHR event ingest: concurrent requests share one transaction, and so one fsync.
//!
//! Every request hands its events to one committer task and waits. The committer takes everything
//! that is waiting (up to [`MAX_EVENTS_PER_COMMIT`]), applies each request inside its own savepoint
//! — a request that fails is rolled back alone and answered with its error — commits once, and only
//! then answers every request. While that commit is on its way to disk the next requests queue up
//! and go together in the next one: the busier the webhook, the more events each commit carries,
//! with no timer and no added latency when it is quiet. A 202 still means the events are on disk
//! (SQLite `synchronous=FULL`, PostgreSQL's default `synchronous_commit`).
//!
//! One committer also means events are applied one request at a time, in arrival order, on both
//! stores: two requests about the same new patient cannot race to create it twice.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use hearth_core::PatientId;
use tokio::sync::{Notify, mpsc, oneshot};

use super::ingest::{self, Batch, IngestReport};
use crate::auth::Actor;
use crate::error::AppError;
use crate::state::{AppState, Inner};

/// A commit stops taking requests once it holds this many events (a request is never split).
pub const MAX_EVENTS_PER_COMMIT: usize = 5_000;
/// Requests waiting for the committer, at most; more wait to be queued (backpressure).
const QUEUE: usize = 1024;
/// New patients checked for duplicates at a time: the checker looks whether ingest is busy between them.
const CHECK_CHUNK: usize = 50;
/// The checker gives way to ingest: before each chunk it waits until the committer has been idle
/// this long…
const QUIET: Duration = Duration::from_millis(200);
/// …but never longer than this, so that the checks keep going under a load that never stops.
const MOST_WAIT: Duration = Duration::from_secs(5);

struct Job {
    actor: Actor,
    events: Batch,
    reply: oneshot::Sender<Result<IngestReport, AppError>>,
}

/// The committer's handle, kept in the application state. The task starts on first use.
#[derive(Default)]
pub struct GroupCommit {
    sender: OnceLock<mpsc::Sender<Job>>,
    commits: AtomicU64,
    events: AtomicU64,
    /// Patients created by committed events, waiting for the duplicate checker.
    unchecked: Mutex<Vec<(Actor, Vec<PatientId>)>>,
    /// How many patients that is, plus those of the pass under way.
    checks_waiting: AtomicU64,
    checker: OnceLock<()>,
    wake_checker: std::sync::Arc<Notify>,
    /// True while a shared commit is being built or written.
    committing: AtomicBool,
    /// When the last shared commit ended.
    last_commit: Mutex<Option<Instant>>,
}

/// Commits made and events they carried, since start; new patients not yet checked for duplicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitCounts {
    pub commits: u64,
    pub events: u64,
    pub checks_waiting: u64,
}

impl GroupCommit {
    pub fn counts(&self) -> CommitCounts {
        CommitCounts {
            commits: self.commits.load(Ordering::Relaxed),
            events: self.events.load(Ordering::Relaxed),
            checks_waiting: self.checks_waiting.load(Ordering::Relaxed),
        }
    }

    /// How long the committer has been idle; zero while it is building or writing a commit.
    fn idle(&self) -> Duration {
        if self.committing.load(Ordering::Acquire) {
            return Duration::ZERO;
        }
        let last = *self.last_commit.lock().unwrap_or_else(PoisonError::into_inner);
        last.map_or(Duration::MAX, |t| t.elapsed())
    }

    /// Waits until the committer has been idle for [`QUIET`], or [`MOST_WAIT`] has passed.
    async fn give_way(&self) {
        let started = Instant::now();
        loop {
            let idle = self.idle();
            let waited = started.elapsed();
            if idle >= QUIET || waited >= MOST_WAIT {
                return;
            }
            tokio::time::sleep(QUIET.saturating_sub(idle).min(MOST_WAIT.saturating_sub(waited))).await;
        }
    }
}

/// Applies `events` for `actor` in the next shared commit; answers once they are on disk.
pub async fn submit(app: &AppState, actor: &Actor, events: Batch) -> Result<IngestReport, AppError> {
    let sender = app.group_commit.sender.get_or_init(|| {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(app.downgrade(), rx));
        tx
    });
    let (reply, answer) = oneshot::channel();
    sender
        .send(Job { actor: actor.clone(), events, reply })
        .await
        .map_err(|_| anyhow::anyhow!("the ingest committer has stopped"))?;
    answer.await.map_err(|_| anyhow::anyhow!("the ingest committer stopped before answering"))?
}

/// The committer: runs until every handle to the application state is gone.
async fn run(app: Weak<Inner>, mut rx: mpsc::Receiver<Job>) {
    let mut carried: Option<Job> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match rx.recv().await {
                Some(job) => job,
                None => return,
            },
        };
        let mut jobs = vec![first];
        let mut size = jobs[0].events.len();
        while size < MAX_EVENTS_PER_COMMIT {
            match rx.try_recv() {
                Ok(job) if size + job.events.len() > MAX_EVENTS_PER_COMMIT => {
                    carried = Some(job);
                    break;
                }
                Ok(job) => {
                    size += job.events.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let Some(app) = AppState::upgrade(&app) else { return };
        let gc = &app.group_commit;
        gc.committing.store(true, Ordering::Release);
        round(&app, jobs).await;
        *gc.last_commit.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
        gc.committing.store(false, Ordering::Release);
    }
}

/// One shared commit.
async fn round(app: &AppState, jobs: Vec<Job>) {
    let mut tx = match app.store.begin().await {
        Ok(tx) => tx,
        Err(e) => {
            let e = AppError::from(e);
            tracing::error!(error = %e, "cannot begin an ingest commit");
            for job in jobs {
                let _ = job.reply.send(Err(for_each(&e)));
            }
            return;
        }
    };
    let now = app.clock.now();
    // (who asked, where to answer, the answer, patients created)
    let mut done = Vec::with_capacity(jobs.len());
    let mut events = 0;
    for Job { actor, events: batch, reply } in jobs {
        let size = batch.len();
        let part = async {
            tx.savepoint().await?;
            ingest::apply_all(&mut tx, app, &actor, batch, now).await
        }
        .await;
        match part {
            Ok((report, created)) => match tx.release_savepoint().await {
                Ok(()) => {
                    events += size;
                    done.push((actor, reply, report, created));
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Err(e) => {
                if let Err(undo) = tx.rollback_to_savepoint().await {
                    tracing::error!(error = %undo, "rollback to savepoint failed");
                }
                let _ = reply.send(Err(e));
            }
        }
    }
    if let Err(e) = tx.commit().await {
        let e = AppError::from(e);
        tracing::error!(error = %e, "an ingest commit failed; none of its requests is acknowledged");
        for (_, reply, ..) in done {
            let _ = reply.send(Err(for_each(&e)));
        }
        return;
    }
    app.group_commit.commits.fetch_add(1, Ordering::Relaxed);
    app.reminders.wake();
    app.group_commit.events.fetch_add(events as u64, Ordering::Relaxed);
    let mut created: Vec<(Actor, Vec<PatientId>)> = Vec::new();
    for (actor, reply, report, ids) in done {
        if !ids.is_empty() {
            created.push((actor, ids));
        }
        let _ = reply.send(Ok(report));
    }
    if !created.is_empty() {
        queue_duplicate_checks(app, created);
    }
}

/// New patients are checked for duplicates after the answer, off the committer's path, by one
/// checker task: however busy the webhook, at most one check writes beside the committer, and the
/// checks of many commits share a pass. The checker gives way to ingest: a burst of events is
/// applied first and checked when it has passed (or a chunk at least every [`MOST_WAIT`] under a load
/// that never stops). A check lost to a crash is caught by `hearth patients find-duplicates`.
fn queue_duplicate_checks(app: &AppState, created: Vec<(Actor, Vec<PatientId>)>) {
    let gc = &app.group_commit;
    let count: usize = created.iter().map(|(_, ids)| ids.len()).sum();
    gc.checks_waiting.fetch_add(count as u64, Ordering::Relaxed);
    gc.unchecked.lock().unwrap_or_else(PoisonError::into_inner).extend(created);
    gc.checker.get_or_init(|| {
        tokio::spawn(check_duplicates(app.downgrade()));
    });
    gc.wake_checker.notify_one();
}

async fn check_duplicates(app: Weak<Inner>) {
    loop {
        let Some(state) = AppState::upgrade(&app) else { return };
        let pending =
            std::mem::take(&mut *state.group_commit.unchecked.lock().unwrap_or_else(PoisonError::into_inner));
        if pending.is_empty() {
            let wake = state.group_commit.wake_checker.clone();
            drop(state);
            // Re-check the state now and then so the task ends with the application.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), wake.notified()).await;
            continue;
        }
        for (actor, ids) in pending {
            for chunk in ids.chunks(CHECK_CHUNK) {
                state.group_commit.give_way().await;
                if let Err(e) = crate::patients::refresh_queue_many(&state, &actor, chunk).await {
                    tracing::warn!(patients = chunk.len(), error = %e, "duplicate check failed");
                }
                state.group_commit.checks_waiting.fetch_sub(chunk.len() as u64, Ordering::Relaxed);
            }
        }
    }
}

/// The same failure, for each request that shared the commit (an internal cause is logged once).
fn for_each(e: &AppError) -> AppError {
    match e {
        AppError::Code { code, message } => AppError::Code { code: *code, message: message.clone() },
        AppError::Fields(f) => AppError::Fields(f.clone()),
        AppError::Internal(_) => AppError::Internal(anyhow::anyhow!("the shared ingest commit failed")),
    }
}
