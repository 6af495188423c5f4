//! The outbox workers. Each round: leases that expired while `sending` become `unknown`; queued
//! messages past their validity are canceled; `unknown` messages are reconciled with their provider;
//! then due messages are claimed (paced senders through their token buckets), sent with no
//! transaction open, and their outcomes recorded in short transactions that group whatever finished
//! together. Time comes from `app.clock`; [`run_once`] is the deterministic hook for tests.

use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use hearth_core::messaging::retry::backoff;
use hearth_core::messaging::{Channel, MessageStatus};
use hearth_core::{ConsentId, MessageAttemptId, UtcTime};
use hearth_store::outbox::{AttemptRow, Claim, MessageRow, Outcome, Pace};
use hearth_store::patients::ConsentRow;
use tokio_util::sync::CancellationToken;

use super::provider::{Outgoing, Reconciled, SendOutcome};
use crate::state::AppState;

pub const NAME: &str = "outbox";
/// Outcomes recorded per transaction, at most.
const RECORD_GROUP: usize = 500;
/// Twilio's "unsubscribed recipient": the provider refuses because the person opted out.
pub const UNSUBSCRIBED_CODES: &[&str] = &["21610"];

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundReport {
    pub lost_leases: usize,
    pub expired: usize,
    pub reconciled: usize,
    pub claimed: usize,
    /// Accepted by the provider.
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub dead: usize,
}

impl RoundReport {
    fn add(&mut self, o: &RoundReport) {
        self.lost_leases += o.lost_leases;
        self.expired += o.expired;
        self.reconciled += o.reconciled;
        self.claimed += o.claimed;
        self.sent += o.sent;
        self.retried += o.retried;
        self.failed += o.failed;
        self.dead += o.dead;
    }
    fn busy(&self) -> bool {
        self.claimed + self.reconciled + self.expired + self.lost_leases > 0
    }
}

/// This process's name in leases: `host/pid/nonce`, so a restart on the same host can tell its dead
/// predecessor's leases from a live process's.
fn process_owner() -> &'static str {
    static OWNER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    OWNER.get_or_init(|| format!("{}/{}/{:08x}", host(), std::process::id(), rand::random::<u32>()))
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map_or_else(|| "localhost".into(), |h| h.trim().replace('/', "_"))
}

/// Lease holders of this host whose process is gone (a crash or SIGKILL before a restart).
fn dead_owners(owners: &[String]) -> Vec<String> {
    let me = process_owner();
    let my_host = host();
    owners
        .iter()
        .filter(|o| {
            let mut parts = o.split('/');
            let (Some(h), Some(pid)) = (parts.next(), parts.next()) else { return false };
            let prefix: String = me.split('/').take(3).collect::<Vec<_>>().join("/");
            if h != my_host || o.starts_with(&prefix) {
                return false;
            }
            // Another process of this host: dead if /proc has no such pid (Linux); elsewhere its lease
            // simply expires.
            cfg!(target_os = "linux") && !std::path::Path::new(&format!("/proc/{pid}")).exists()
                || pid == std::process::id().to_string()
        })
        .cloned()
        .collect()
}

/// Runs `outbox.workers` worker loops until `cancel`.
pub async fn run(app: AppState, cancel: CancellationToken) -> anyhow::Result<()> {
    let interval =
        Duration::from_secs(app.config.workers.heartbeat_secs.min(app.config.outbox.idle_poll_secs));
    app.heartbeats.register(NAME, interval);
    match recover_after_restart(&app).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(messages = n, "messages left sending by a stopped process are now unknown"),
        Err(e) => tracing::warn!(error = %e, "outbox recovery failed; leases will expire instead"),
    }
    let mut loops = tokio::task::JoinSet::new();
    for n in 0..app.config.outbox.workers {
        loops.spawn(worker_loop(app.clone(), cancel.clone(), format!("{}/{n}", process_owner()), interval));
    }
    while loops.join_next().await.is_some() {}
    tracing::info!(worker = NAME, "worker stopped");
    Ok(())
}

/// Marks `unknown` the messages left in `sending` by a process of this host that is gone.
pub async fn recover_after_restart(app: &AppState) -> anyhow::Result<usize> {
    let owners = app.store.sending_lease_owners().await?;
    let dead = dead_owners(&owners);
    Ok(app.store.sending_to_unknown(app.clock.now(), &dead).await?)
}

async fn worker_loop(app: AppState, cancel: CancellationToken, owner: String, interval: Duration) {
    while !cancel.is_cancelled() {
        app.heartbeats.beat(NAME);
        let (report, pace_wait) = match round(&app, &owner).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "outbox round failed");
                (RoundReport::default(), Some(Duration::from_secs(1)))
            }
        };
        if report.busy() && pace_wait.is_none() {
            continue;
        }
        let mut sleep = interval;
        if let Some(w) = pace_wait {
            sleep = sleep.min(w);
        }
        if !report.busy()
            && let Ok(Some(next)) = app.store.next_outbox_wakeup().await
        {
            let until = next.as_micros() - app.clock.now().as_micros();
            sleep = sleep.min(Duration::from_micros(u64::try_from(until.max(0)).unwrap_or(0)));
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            () = app.outbox.woken() => {}
            () = tokio::time::sleep(sleep) => {}
        }
    }
}

/// One round by a worker of this process (the hook for tests: deterministic, on `app.clock`).
pub async fn run_once(app: &AppState) -> anyhow::Result<RoundReport> {
    Ok(round(app, &format!("{}/manual", process_owner())).await?.0)
}

/// Rounds until one finds nothing to do (tests, the CLI); the summed report.
pub async fn run_until_idle(app: &AppState) -> anyhow::Result<RoundReport> {
    let mut total = RoundReport::default();
    for _ in 0..10_000 {
        let r = run_once(app).await?;
        total.add(&r);
        if !r.busy() {
            break;
        }
    }
    Ok(total)
}

async fn round(app: &AppState, owner: &str) -> anyhow::Result<(RoundReport, Option<Duration>)> {
    let cfg = &app.config.outbox;
    let now = app.clock.now();
    let mut report = RoundReport {
        lost_leases: app.store.sending_to_unknown(now, &[]).await?,
        expired: app.store.expire_messages(now, 1000).await?,
        ..RoundReport::default()
    };
    let lease_until = now.plus(jiff::SignedDuration::from_secs(i64::try_from(cfg.lease_secs).unwrap_or(60)));
    let limit = i64::from(cfg.batch_size);
    let unknown = app.store.claim_unknown(owner, now, lease_until, limit).await?;
    report.reconciled = unknown.len();
    if !unknown.is_empty() {
        reconcile(app, unknown).await?;
    }
    let mut claimed = Vec::new();
    let mut pace_wait: Option<Duration> = None;
    let paced: Vec<String> = cfg.pacing.iter().map(|p| p.sender.clone()).collect();
    for rule in &cfg.pacing {
        let pace = Pace {
            per_second: rule.per_second,
            burst: rule.burst.unwrap_or(rule.per_second).max(1.0),
            by_segments: rule.unit == "segments",
        };
        let claim =
            Claim { owner, now, lease_until, limit, sender: Some(&rule.sender), exclude_senders: &[] };
        let (rows, wait) = app.store.claim_paced(&claim, pace).await?;
        claimed.extend(rows);
        pace_wait = match (pace_wait, wait) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let room = limit - i64::try_from(claimed.len()).unwrap_or(0);
    if room > 0 {
        let claim = Claim { owner, now, lease_until, limit: room, sender: None, exclude_senders: &paced };
        claimed.extend(app.store.claim_messages(&claim).await?);
    }
    report.claimed = claimed.len();
    if !claimed.is_empty() {
        let sent = send_all(app, owner, claimed).await?;
        report.sent = sent.sent;
        report.retried = sent.retried;
        report.failed = sent.failed;
        report.dead = sent.dead;
    }
    Ok((report, pace_wait))
}

fn outgoing(m: &MessageRow, now: UtcTime) -> Outgoing {
    Outgoing {
        message_id: m.id,
        channel: m.channel.parse().unwrap_or(Channel::Sms),
        to: m.to_address.clone(),
        from: m.from_address.clone(),
        subject: m.subject.clone(),
        body: m.body.clone(),
        language: m.language.clone(),
        validity: m
            .valid_until
            .map(|v| Duration::from_micros(u64::try_from(v.as_micros() - now.as_micros()).unwrap_or(0))),
    }
}

/// Sends claimed messages, `outbox.concurrency` at a time, while a recorder writes the outcomes:
/// whatever finished while the previous commit was running goes into the next one (a group commit),
/// so sending never waits for the disk and each outcome waits at most one commit.
async fn send_all(app: &AppState, owner: &str, rows: Vec<MessageRow>) -> anyhow::Result<RoundReport> {
    let concurrency = usize::try_from(app.config.outbox.concurrency).unwrap_or(16).max(1);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Outcome>();
    let sending = futures_util::stream::iter(rows)
        .map(|m| async move {
            let provider = app.providers.for_channel(m.channel.parse().unwrap_or(Channel::Sms));
            let started = app.clock.now();
            let t0 = Instant::now();
            let answer = provider.send(&outgoing(&m, started)).await;
            let latency = t0.elapsed();
            decide(owner, &m, provider.name(), &answer, started, latency, app.clock.now())
        })
        .buffer_unordered(concurrency)
        .for_each(move |o| {
            let _ = tx.send(o);
            std::future::ready(())
        });
    let recording = async {
        let mut report = RoundReport::default();
        while let Some(first) = rx.recv().await {
            let mut group = vec![first];
            while group.len() < RECORD_GROUP {
                match rx.try_recv() {
                    Ok(o) => group.push(o),
                    Err(_) => break,
                }
            }
            for o in &group {
                match o.status.as_str() {
                    "queued" => report.retried += 1,
                    "dead" => report.dead += 1,
                    "failed" | "canceled" => report.failed += 1,
                    _ => report.sent += 1,
                }
            }
            record(app, &group).await;
        }
        report
    };
    let ((), report) = tokio::join!(sending, recording);
    Ok(report)
}

/// Records outcomes, retrying a busy store briefly. If it still fails the messages stay `sending`
/// until their lease expires, then are reconciled: never resent blindly.
async fn record(app: &AppState, outcomes: &[Outcome]) {
    for attempt in 0..5u32 {
        match app.store.record_outcomes(outcomes).await {
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, attempt, messages = outcomes.len(), "recording outcomes failed");
                tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt + 1))).await;
            }
        }
    }
}

fn sent_status(s: MessageStatus) -> MessageStatus {
    if s.rank() <= MessageStatus::Sent.rank() { MessageStatus::Sent } else { s }
}

#[allow(clippy::too_many_arguments)]
fn decide(
    owner: &str,
    m: &MessageRow,
    provider: &'static str,
    answer: &SendOutcome,
    started: UtcTime,
    latency: Duration,
    now: UtcTime,
) -> Outcome {
    let mut o = Outcome {
        org_id: m.org_id,
        message_id: m.id,
        from_status: "sending",
        status: String::new(),
        reason: None,
        provider: Some(provider.to_owned()),
        provider_id: None,
        error_code: None,
        error_text: None,
        next_attempt_at: None,
        now,
        source: "worker",
        attempt: None,
        opt_out: None,
    };
    let (outcome, code, detail) = match answer {
        SendOutcome::Accepted { provider_id, status } => {
            o.status = sent_status(*status).as_str().into();
            o.provider_id = Some(provider_id.clone());
            ("accepted", None, None)
        }
        SendOutcome::Transient { code, reason, retry_after } => {
            o.error_code.clone_from(code);
            o.error_text = Some(reason.clone());
            if m.attempts >= m.max_attempts {
                o.status = MessageStatus::Dead.as_str().into();
                o.reason = Some("max_attempts".into());
            } else {
                let delay =
                    backoff(u32::try_from(m.attempts).unwrap_or(1), rand::random::<f64>(), *retry_after);
                let next =
                    now.plus(jiff::SignedDuration::try_from(delay).unwrap_or(jiff::SignedDuration::ZERO));
                if m.valid_until.is_some_and(|v| next >= v) {
                    o.status = MessageStatus::Canceled.as_str().into();
                    o.reason = Some("expired".into());
                } else {
                    o.status = MessageStatus::Queued.as_str().into();
                    o.next_attempt_at = Some(next);
                }
            }
            ("transient", code.clone(), Some(reason.clone()))
        }
        SendOutcome::Rejected { code, reason } => {
            o.status = MessageStatus::Failed.as_str().into();
            o.error_code.clone_from(code);
            o.error_text = Some(reason.clone());
            if let (Some(c), Some(patient)) = (code.as_deref(), m.patient_id)
                && UNSUBSCRIBED_CODES.contains(&c)
            {
                o.opt_out = Some(ConsentRow {
                    id: ConsentId::new(),
                    patient_id: patient,
                    channel: m.channel.clone(),
                    address: m.to_address.clone(),
                    opted_in: false,
                    source: "provider".into(),
                    words: Some(format!("{provider} error {c}: unsubscribed recipient")),
                    recorded_at: now,
                });
            }
            ("rejected", code.clone(), Some(reason.clone()))
        }
    };
    o.attempt = Some(AttemptRow {
        id: MessageAttemptId::new(),
        org_id: m.org_id,
        message_id: m.id,
        attempt: m.attempts,
        provider: provider.to_owned(),
        worker: owner.to_owned(),
        started_at: started,
        finished_at: now,
        latency_ms: i32::try_from(latency.as_millis()).unwrap_or(i32::MAX),
        outcome: outcome.into(),
        code,
        detail,
        provider_id: o.provider_id.clone(),
    });
    o
}

/// Asks each message's provider whether it already has it, then records what it said.
async fn reconcile(app: &AppState, rows: Vec<MessageRow>) -> anyhow::Result<()> {
    let concurrency = usize::try_from(app.config.outbox.concurrency).unwrap_or(16).max(1);
    let answers: Vec<(MessageRow, &'static str, Reconciled)> = futures_util::stream::iter(rows)
        .map(|m| async move {
            let provider = app.providers.for_channel(m.channel.parse().unwrap_or(Channel::Sms));
            let answer = provider.reconcile(&outgoing(&m, app.clock.now()), m.created_at).await;
            (m, provider.name(), answer)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let now = app.clock.now();
    let outcomes: Vec<Outcome> = answers
        .into_iter()
        .map(|(m, provider, answer)| {
            let mut o = Outcome {
                org_id: m.org_id,
                message_id: m.id,
                from_status: "unknown",
                status: MessageStatus::Unknown.as_str().into(),
                reason: None,
                provider: Some(provider.to_owned()),
                provider_id: None,
                error_code: m.error_code.clone(),
                error_text: m.error_text.clone(),
                next_attempt_at: None,
                now,
                source: "reconcile",
                attempt: None,
                opt_out: None,
            };
            match answer {
                Reconciled::Found { provider_id, status } => {
                    o.status = sent_status(status).as_str().into();
                    o.provider_id = Some(provider_id);
                    o.reason = Some("found_at_provider".into());
                }
                Reconciled::NotFound if m.valid_until.is_some_and(|v| v <= now) => {
                    o.status = MessageStatus::Canceled.as_str().into();
                    o.reason = Some("expired".into());
                }
                Reconciled::NotFound => {
                    o.status = MessageStatus::Queued.as_str().into();
                    o.reason = Some("not_at_provider".into());
                    o.next_attempt_at = Some(now);
                }
                Reconciled::CannotTell => o.reason = Some("needs_review".into()),
                Reconciled::Unavailable { reason } => {
                    o.reason = Some("reconcile_unavailable".into());
                    o.error_text = Some(reason);
                    let delay = backoff(3, rand::random::<f64>(), Some(Duration::from_secs(5)));
                    o.next_attempt_at = Some(
                        now.plus(jiff::SignedDuration::try_from(delay).unwrap_or(jiff::SignedDuration::ZERO)),
                    );
                }
            }
            o
        })
        .collect();
    record(app, &outcomes).await;
    Ok(())
}
