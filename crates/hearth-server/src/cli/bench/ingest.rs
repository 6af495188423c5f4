//! `hearth bench ingest`: EHR appointment events through the real HTTP webhook of an in-process
//! Hearth (its router, API-key check, JSON parsing, state machine, history and group commit), in two
//! loads: batches of up to 1,000 events from a few clients, then one event per request from many
//! concurrent clients. Before them, the same store's durable-commit rate — one-row transactions, each
//! waiting for its own flush — is measured in the same run: it is what one commit per request could
//! at best reach, and the single-event rate divided by it is how many events each flush carried.
//! The events are those of `hearth simulate` (new patients booked, then confirmed and rescheduled).
//! Targets (issue #5) are printed, never asserted.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hearth_core::OrgId;
use hearth_store::organizations::NewOrganization;
use serde::Serialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::{Machine, Target, as_f64, cleanup, machine, open_target, per_second, progress, round3};
use crate::app::{App, Deps, Roles};
use crate::appointments::{CommitCounts, IngestReport};
use crate::auth::Actor;
use crate::cli::simulate::{self, Step};
use crate::config::Config;
use hearth_core::ApiScope;

/// Issue #5: batched ingest through HTTP, events per second.
const TARGET_BATCHED_PER_SECOND: f64 = 10_000.0;
/// Issue #5: events per durable commit under concurrent single-event load.
const TARGET_EVENTS_PER_COMMIT: f64 = 30.0;

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// Where: a `sqlite:` URL, or a `postgres://` server on which a throwaway database is created and
    /// dropped afterwards [default: a new SQLite file in a temporary directory].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Events sent in batches (rounded down to whole patients: each is booked, confirmed, rescheduled).
    #[arg(long, default_value_t = 60_000)]
    pub events: u32,
    /// Events per batched request (at most 1,000).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub batch: u16,
    /// Concurrent clients sending batches.
    #[arg(long, default_value_t = 4)]
    pub batch_clients: usize,
    /// Events sent one per request (booked, then confirmed).
    #[arg(long, default_value_t = 20_000)]
    pub single_events: u32,
    /// Concurrent clients sending single events.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// How long to measure the durable-commit rate, in seconds.
    #[arg(long, default_value_t = 3)]
    pub commit_seconds: u64,
    /// Seed of the simulated patients and events.
    #[arg(long, default_value_t = 5)]
    pub seed: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
pub struct IngestBenchReport {
    pub store: &'static str,
    pub machine: Machine,
    /// One-row transactions, one after another, each flushed before the next.
    pub durable_commits_per_second: f64,
    pub batched: Phase,
    pub single: Phase,
    /// Single-event requests per second ÷ durable commits per second.
    pub single_rate_over_commit_rate: f64,
    pub target_batched_per_second: f64,
    pub target_events_per_commit: f64,
}

/// One load.
#[derive(Debug, Serialize)]
pub struct Phase {
    pub requests: u64,
    pub events: u64,
    pub clients: usize,
    pub seconds: f64,
    pub events_per_second: f64,
    /// Shared commits the server made during the load, and events per commit (counted, not derived).
    pub commits: u64,
    pub events_per_commit: f64,
    /// Answers by result (created, updated, unchanged, stale, ignored, rejected).
    pub results: std::collections::BTreeMap<String, u64>,
    /// New patients of the load still waiting for the duplicate check when it ended (the checker
    /// gives way to ingest; see `appointments::group_commit`).
    pub duplicate_checks_waiting: u64,
    /// Requests not answered 202.
    pub failed: u64,
    /// Those requests by HTTP status, or `error` when no answer came.
    pub failures: std::collections::BTreeMap<String, u64>,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

pub async fn ingest(args: IngestArgs) -> anyhow::Result<ExitCode> {
    let (target, url) = open_target(args.database_url.as_deref(), false).await?;
    let data_dir = match &target {
        Target::TempSqlite { dir } => dir.clone(),
        _ => std::env::temp_dir().join(format!("hearth-bench-ingest-{}", std::process::id())),
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
        print_table(&mut out, &report)?;
    }
    let failed = report.batched.failed + report.single.failed;
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn run(args: &IngestArgs, url: &str, data_dir: &std::path::Path) -> anyhow::Result<IngestBenchReport> {
    let mut config = Config::for_tests(url);
    config.data_dir = data_dir.to_path_buf();
    // Enough connections for the committer, the duplicate checks after it and the API-key lookups
    // of 64 clients.
    config.database_max_connections = 16;
    let app = App::build(config, Deps::production(), Roles { web: true, workers: false }).await?;
    let addr = app.local_addr().ok_or_else(|| anyhow::anyhow!("no listener"))?;
    let state = app.state().clone();
    let key = seed(&state).await?;
    let store_name = state.store.backend().as_str();
    let cancel = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(cancel.clone()));

    progress(format_args!("ingest on {store_name}: durable commits for {}s…", args.commit_seconds))?;
    let (commits, took) =
        hearth_store::scratch::durable_commit_rate(&state.store, Duration::from_secs(args.commit_seconds))
            .await?;
    let durable = per_second(commits, took);

    let endpoint = format!("http://{addr}{}", simulate::INGEST_PATH);
    let client =
        reqwest::Client::builder().pool_max_idle_per_host(args.clients.max(args.batch_clients)).build()?;
    let anchor = jiff::Timestamp::now();

    let script = [Step::Book, Step::Confirm, Step::Reschedule];
    let patients = (args.events / 3).max(1);
    let events: Vec<Value> =
        simulate::plan(args.seed, patients, &script, anchor)?.into_iter().map(|e| e.body).collect();
    let bodies: Vec<Value> =
        events.chunks(usize::from(args.batch)).map(|c| Value::Array(c.to_vec())).collect();
    progress(format_args!(
        "batched: {} events in {} requests from {} clients…",
        events.len(),
        bodies.len(),
        args.batch_clients
    ))?;
    let batched = phase(&state.group_commit, &client, &endpoint, &key, bodies, args.batch_clients).await;

    let script = [Step::Book, Step::Confirm];
    let patients = (args.single_events / 2).max(1);
    let bodies: Vec<Value> = simulate::plan(args.seed.wrapping_add(1), patients, &script, anchor)?
        .into_iter()
        .map(|e| e.body)
        .collect();
    progress(format_args!("single: {} events from {} clients…", bodies.len(), args.clients))?;
    let single = phase(&state.group_commit, &client, &endpoint, &key, bodies, args.clients).await;

    cancel.cancel();
    server.await??;
    Ok(IngestBenchReport {
        store: store_name,
        machine: machine(),
        durable_commits_per_second: round3(durable),
        single_rate_over_commit_rate: round3(single.events_per_second / durable.max(f64::MIN_POSITIVE)),
        batched,
        single,
        target_batched_per_second: TARGET_BATCHED_PER_SECOND,
        target_events_per_commit: TARGET_EVENTS_PER_COMMIT,
    })
}

/// An organization and an API key with the ingest scope.
async fn seed(state: &crate::state::AppState) -> anyhow::Result<String> {
    let org = OrgId::new();
    let new = NewOrganization {
        id: org,
        name: "Bench Clinic",
        time_zone: simulate::TIME_ZONE,
        now: state.clock.now(),
    };
    state.store.create_organization(&new).await?;
    let actor = Actor::system(org, "hearth bench");
    let input =
        crate::api_keys::CreateApiKeyInput { name: "bench ingest".into(), scopes: vec![ApiScope::Ingest] };
    let created = crate::api_keys::create(state, &actor, input).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(created.key)
}

/// Sends every body (one request each) from `clients` concurrent clients; times the whole.
async fn phase(
    counts: &crate::appointments::GroupCommit,
    client: &reqwest::Client,
    endpoint: &str,
    key: &str,
    bodies: Vec<Value>,
    clients: usize,
) -> Phase {
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let before: CommitCounts = counts.counts();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients.max(1) {
        let (bodies, next, client, endpoint, key) =
            (bodies.clone(), next.clone(), client.clone(), endpoint.to_owned(), key.to_owned());
        tasks.spawn(async move {
            let mut mine = Client::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let sent = Instant::now();
                let res = client.post(&endpoint).bearer_auth(&key).json(body).send().await;
                let answer = match res {
                    Ok(r) if r.status() == reqwest::StatusCode::ACCEPTED => {
                        r.json::<IngestReport>().await.map_err(|_| "unreadable 202".to_owned())
                    }
                    Ok(r) => Err(r.status().as_u16().to_string()),
                    Err(e) => Err(if e.is_timeout() { "timeout" } else { "error" }.to_owned()),
                };
                mine.latencies.push(sent.elapsed());
                match answer {
                    Ok(report) => {
                        for r in report.results {
                            *mine.results.entry(r.result).or_default() += 1;
                            mine.events += 1;
                        }
                    }
                    Err(why) => {
                        mine.failed += 1;
                        *mine.failures.entry(why).or_default() += 1;
                    }
                }
            }
            mine
        });
    }
    let mut all = Client::default();
    while let Some(done) = tasks.join_next().await {
        let Ok(c) = done else {
            all.failed += 1;
            continue;
        };
        all.latencies.extend(c.latencies);
        all.events += c.events;
        all.failed += c.failed;
        for (k, v) in c.results {
            *all.results.entry(k).or_default() += v;
        }
        for (k, v) in c.failures {
            *all.failures.entry(k).or_default() += v;
        }
    }
    let elapsed = started.elapsed();
    let after = counts.counts();
    let commits = after.commits - before.commits;
    all.latencies.sort_unstable();
    let at = |q: f64| {
        let n = all.latencies.len();
        if n == 0 {
            return 0.0;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a rank within n
        let i = ((q * as_f64(n as u64)).ceil() as usize).clamp(1, n) - 1;
        round3(all.latencies[i].as_secs_f64() * 1000.0)
    };
    Phase {
        requests: bodies.len() as u64,
        events: all.events,
        clients,
        seconds: round3(elapsed.as_secs_f64()),
        events_per_second: round3(per_second(all.events, elapsed)),
        commits,
        events_per_commit: round3(as_f64(after.events - before.events) / as_f64(commits.max(1))),
        results: all.results,
        duplicate_checks_waiting: after.checks_waiting,
        failed: all.failed,
        failures: all.failures,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
    }
}

#[derive(Default)]
struct Client {
    latencies: Vec<Duration>,
    events: u64,
    failed: u64,
    results: std::collections::BTreeMap<String, u64>,
    failures: std::collections::BTreeMap<String, u64>,
}

fn print_table(out: &mut impl Write, r: &IngestBenchReport) -> std::io::Result<()> {
    writeln!(out, "event ingest through HTTP on {}", r.store)?;
    writeln!(out, "machine: {} CPUs, {}, {} GiB", r.machine.cpus, r.machine.cpu_model, r.machine.memory_gib)?;
    writeln!(
        out,
        "durable commits (one-row transactions, one after another): {:.0}/s",
        r.durable_commits_per_second
    )?;
    for (name, p) in [("batched", &r.batched), ("single", &r.single)] {
        writeln!(
            out,
            "{name:>8}: {} events in {} requests from {} clients in {:.2}s = {:.0} events/s; \
             {} commits, {:.1} events/commit; p50 {:.1} ms, p99 {:.1} ms; failed {} {:?}; {:?}; \
             {} new patients awaiting the duplicate check at the end",
            p.events,
            p.requests,
            p.clients,
            p.seconds,
            p.events_per_second,
            p.commits,
            p.events_per_commit,
            p.p50_ms,
            p.p99_ms,
            p.failed,
            p.failures,
            p.results,
            p.duplicate_checks_waiting
        )?;
    }
    writeln!(
        out,
        "batched {:.0} events/s (target ≥ {:.0}: {}); single events: {:.1} per shared commit (counted), \
         their rate ÷ the durable-commit rate = {:.1} (target ≥ {:.0}: {})",
        r.batched.events_per_second,
        r.target_batched_per_second,
        verdict(r.batched.events_per_second >= r.target_batched_per_second),
        r.single.events_per_commit,
        r.single_rate_over_commit_rate,
        r.target_events_per_commit,
        verdict(r.single_rate_over_commit_rate >= r.target_events_per_commit),
    )
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}
