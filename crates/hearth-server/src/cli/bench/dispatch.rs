//! `hearth bench dispatch`: N messages through the outbox to a loopback provider (an HTTP server in
//! this process that accepts every message at once) with the real workers (claim with a lease, HTTP
//! call outside any transaction, group-recorded outcomes with attempt and history rows). Beside it,
//! in the same run and on the same store, the raw batch-claim rate: claim a batch and record it sent
//! with no sending at all, from as many tasks as workers. Messages/s, claims/s and their ratio are
//! printed; the targets (issue #6) are printed, never asserted.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hearth_core::messaging::Channel;
use hearth_core::{MessageAttemptId, OrgId, UtcTime};
use hearth_store::organizations::NewOrganization;
use hearth_store::outbox::{AttemptRow, Claim, Outcome};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::{Machine, Target, cleanup, machine, open_target, per_second, progress, round3};
use crate::app::{App, Deps, Roles};
use crate::config::Config;
use crate::notifications::{NewMessage, enqueue};
use crate::state::AppState;

const TARGET_SQLITE: f64 = 5_000.0;
const TARGET_POSTGRES: f64 = 8_000.0;

#[derive(Debug, clap::Args)]
pub struct DispatchArgs {
    /// Messages dispatched (and as many claimed in the baseline).
    #[arg(long, default_value_t = 50_000)]
    pub messages: u32,
    /// Where: a `sqlite:` URL, or a `postgres://` server on which a throwaway database is created and
    /// dropped afterwards [default: a new SQLite file in a temporary directory].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Outbox workers (and baseline claim tasks).
    #[arg(long, default_value_t = 2)]
    pub workers: u32,
    /// Messages per claim.
    #[arg(long, default_value_t = 500)]
    pub batch: u32,
    /// Provider calls in flight per worker.
    #[arg(long, default_value_t = 64)]
    pub concurrency: u32,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
pub struct DispatchReport {
    pub store: &'static str,
    pub machine: Machine,
    pub messages: u32,
    pub workers: u32,
    pub batch: u32,
    pub concurrency: u32,
    /// Claim a batch, record it sent: no network (the ceiling of the store).
    pub claim_per_second: f64,
    /// Through the workers and the loopback provider over HTTP.
    pub dispatch_per_second: f64,
    pub dispatch_seconds: f64,
    /// dispatch ÷ claim.
    pub ratio: f64,
    pub target_per_second: f64,
    pub verdict: &'static str,
}

pub async fn dispatch(args: DispatchArgs) -> anyhow::Result<ExitCode> {
    let (target, url) = open_target(args.database_url.as_deref(), false).await?;
    let data_dir = match &target {
        Target::TempSqlite { dir } => dir.clone(),
        _ => std::env::temp_dir().join(format!("hearth-bench-dispatch-{}", std::process::id())),
    };
    let result = run(&args, &url, &data_dir).await;
    let cleaned = cleanup(&target).await;
    if !matches!(target, Target::TempSqlite { .. }) {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    let report = result?;
    cleaned?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        writeln!(
            out,
            "dispatch on {} ({} workers, batch {}, {} in flight each)",
            report.store, report.workers, report.batch, report.concurrency
        )?;
        writeln!(out, "  raw claim+record:  {:>10.0} messages/s", report.claim_per_second)?;
        writeln!(
            out,
            "  dispatch (HTTP):   {:>10.0} messages/s ({} in {:.2} s)",
            report.dispatch_per_second, report.messages, report.dispatch_seconds
        )?;
        writeln!(out, "  ratio:             {:>10.3}", report.ratio)?;
        writeln!(
            out,
            "  target:            {:>10.0} messages/s: {}",
            report.target_per_second, report.verdict
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The loopback endpoint: accepts every message at once, and counts them.
pub(super) async fn loopback() -> anyhow::Result<(String, Arc<AtomicU64>)> {
    use axum::Json;
    use axum::extract::State;
    use axum::routing::post;
    async fn accept(
        State(accepted): State<Arc<AtomicU64>>,
        Json(m): Json<serde_json::Value>,
    ) -> (axum::http::StatusCode, Json<serde_json::Value>) {
        accepted.fetch_add(1, Ordering::Relaxed);
        let id = m["message_id"].as_str().unwrap_or_default();
        (
            axum::http::StatusCode::CREATED,
            Json(serde_json::json!({"id": format!("lb-{id}"), "status": "sent"})),
        )
    }
    let accepted = Arc::new(AtomicU64::new(0));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let router = axum::Router::new().route("/messages", post(accept)).with_state(accepted.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok((format!("http://{addr}"), accepted))
}

async fn run(args: &DispatchArgs, url: &str, data_dir: &std::path::Path) -> anyhow::Result<DispatchReport> {
    let (endpoint, accepted) = loopback().await?;
    let mut config = Config::for_tests(url);
    config.data_dir = data_dir.to_path_buf();
    config.database_max_connections = 8 + args.workers * 2;
    config.outbox.workers = args.workers.max(1);
    config.outbox.batch_size = args.batch.clamp(1, 1000);
    config.outbox.concurrency = args.concurrency.max(1);
    config.outbox.loopback_url = Some(endpoint);
    let app = App::build(config, Deps::production(), Roles { web: false, workers: false }).await?;
    let state = app.state().clone();
    let store_name = state.store.backend().as_str();
    let org = OrgId::new();
    let now = state.clock.now();
    state
        .store
        .create_organization(&NewOrganization { id: org, name: "Bench", time_zone: "UTC", now })
        .await?;

    progress(format_args!(
        "dispatch on {store_name}: enqueueing {} messages for the baseline…",
        args.messages
    ))?;
    fill(&state, org, "claim", args.messages).await?;
    progress(format_args!("claiming and recording them with {} tasks (no sending)…", args.workers))?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..args.workers.max(1) {
        let (state, batch) = (state.clone(), i64::from(args.batch.clamp(1, 1000)));
        tasks.spawn(async move { claim_and_record(&state, &format!("bench/claim/{n}"), batch).await });
    }
    let mut claimed = 0;
    while let Some(n) = tasks.join_next().await {
        claimed += n??;
    }
    let claim_rate = per_second(claimed, started.elapsed());

    progress(format_args!("enqueueing {} messages to dispatch…", args.messages))?;
    fill(&state, org, "send", args.messages).await?;
    progress(format_args!("dispatching through {} workers to the loopback provider…", args.workers))?;
    let cancel = CancellationToken::new();
    let started = Instant::now();
    let workers = tokio::spawn(crate::notifications::worker::run(state.clone(), cancel.clone()));
    let want = i64::from(args.messages) * 2;
    // Waits on the provider's own count, which costs the store nothing (a count of the store's
    // pending messages every 20 ms took a quarter of a CPU on PostgreSQL), then for the last
    // outcomes to be recorded.
    while accepted.load(Ordering::Relaxed) < u64::from(args.messages) {
        anyhow::ensure!(started.elapsed() < Duration::from_mins(30), "dispatch did not finish in 30 minutes");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    while state.store.pending_messages(org).await? > 0 {
        anyhow::ensure!(started.elapsed() < Duration::from_mins(30), "dispatch did not finish in 30 minutes");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = started.elapsed();
    cancel.cancel();
    workers.await??;
    let sent: i64 = state
        .store
        .outbox_counts(Some(org))
        .await?
        .iter()
        .filter(|c| c.status == "sent")
        .map(|c| c.count)
        .sum();
    anyhow::ensure!(sent == want, "{sent} of {want} messages sent");
    state.store.close().await;
    let dispatch_rate = per_second(u64::from(args.messages), took);
    let target = if store_name == "sqlite" { TARGET_SQLITE } else { TARGET_POSTGRES };
    Ok(DispatchReport {
        store: store_name,
        machine: machine(),
        messages: args.messages,
        workers: args.workers,
        batch: args.batch,
        concurrency: args.concurrency,
        claim_per_second: round3(claim_rate),
        dispatch_per_second: round3(dispatch_rate),
        dispatch_seconds: round3(took.as_secs_f64()),
        ratio: round3(dispatch_rate / claim_rate.max(1e-9)),
        target_per_second: target,
        verdict: if dispatch_rate >= target { "pass" } else { "below target" },
    })
}

/// Enqueues `n` messages to bare addresses, 1,000 per transaction, through the product's enqueue.
async fn fill(state: &AppState, org: OrgId, tag: &str, n: u32) -> anyhow::Result<()> {
    let mut i = 0;
    while i < n {
        let mut tx = state.store.begin().await?;
        for k in i..(i + 1000).min(n) {
            let msg = NewMessage {
                org,
                patient: None,
                channel: Channel::Sms,
                to: format!("+1312555{:04}", k % 10_000),
                from: None,
                subject: None,
                body: format!("Reminder {k}: your appointment is tomorrow at 9:30. Reply C to confirm."),
                language: "en".into(),
                purpose: "bench".into(),
                dedup_key: format!("bench:{tag}:{k}"),
                cause: None,
                valid_until: None,
                not_before: None,
            };
            enqueue(&mut tx, state, msg).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        tx.commit().await?;
        i = (i + 1000).min(n);
    }
    Ok(())
}

/// The baseline: claim a batch and record every message sent (attempt and history rows included),
/// until nothing is left.
async fn claim_and_record(state: &AppState, owner: &str, batch: i64) -> anyhow::Result<u64> {
    let mut total = 0;
    loop {
        let now: UtcTime = state.clock.now();
        let claim = Claim {
            owner,
            now,
            lease_until: now.plus(jiff::SignedDuration::from_mins(1)),
            limit: batch,
            sender: None,
            exclude_senders: &[],
        };
        let rows = state.store.claim_messages(&claim).await?;
        if rows.is_empty() {
            return Ok(total);
        }
        let outcomes: Vec<Outcome> = rows
            .iter()
            .map(|m| Outcome {
                org_id: m.org_id,
                message_id: m.id,
                from_status: "sending",
                status: "sent".into(),
                reason: None,
                provider: Some("none".into()),
                provider_id: Some(format!("raw-{}", m.id)),
                error_code: None,
                error_text: None,
                next_attempt_at: None,
                now,
                source: "worker",
                attempt: Some(AttemptRow {
                    id: MessageAttemptId::new(),
                    org_id: m.org_id,
                    message_id: m.id,
                    attempt: m.attempts,
                    provider: "none".into(),
                    worker: owner.into(),
                    started_at: now,
                    finished_at: now,
                    latency_ms: 0,
                    outcome: "accepted".into(),
                    code: None,
                    detail: None,
                    provider_id: Some(format!("raw-{}", m.id)),
                }),
                opt_out: None,
            })
            .collect();
        state.store.record_outcomes(&outcomes).await?;
        total += rows.len() as u64;
    }
}
