//! `hearth bench reminders`: the reminder planner over N appointments (default one million) of
//! patients with one to three appointments each in sixteen time zones: the first plan, then a re-plan
//! under a changed rule with what went out by then fixed, each timed against computing only the due
//! times of the same appointments in the same run, with the process's peak heap (sampled `RssAnon`).
//! Then, through the store, the scheduler itself (ingest → notices → plan → outbox) on a smaller set,
//! a re-plan after a rule change through the API's code, and the idle scheduler's CPU use against
//! the same process idling without workers. Targets are printed, never asserted.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hearth_core::OrgId;
use hearth_core::outreach::{self, Appointment, Decision, Offset, Rule};
use hearth_store::organizations::NewOrganization;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::{Machine, Target, cleanup, machine, open_target, progress, round3};
use crate::app::{App, Deps, Roles};
use crate::auth::Actor;
use crate::config::Config;
use crate::reminders::rules::RuleText;

const ZONES: &[&str] = &[
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Africa/Cairo",
    "Asia/Riyadh",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "UTC",
];

#[derive(Debug, clap::Args)]
pub struct RemindersArgs {
    /// Appointments planned in memory.
    #[arg(long, default_value_t = 1_000_000)]
    pub appointments: u64,
    /// Appointments taken through the store and the scheduler (ingest, notices, plan, outbox).
    #[arg(long, default_value_t = 2_000)]
    pub store_appointments: u64,
    /// Where the store part runs: a `sqlite:` URL, or a `postgres://` server on which a throwaway
    /// database is created and dropped afterwards [default: a new SQLite file].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Seconds the idle scheduler (and, as the baseline, the idle process) is watched.
    #[arg(long, default_value_t = 20)]
    pub idle_secs: u64,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
pub struct RemindersReport {
    pub machine: Machine,
    pub planner: PlannerReport,
    pub store: StoreReport,
    pub idle: IdleReport,
}

#[derive(Debug, Serialize)]
pub struct PlannerReport {
    pub appointments: u64,
    pub patients: u64,
    /// Computing only each reminder's due time (rule 1) for every appointment: the baseline.
    pub baseline_seconds: f64,
    pub first_plan_seconds: f64,
    pub first_plan_per_second: f64,
    pub first_plan_ratio: f64,
    pub replan_seconds: f64,
    pub replan_per_second: f64,
    pub replan_ratio: f64,
    pub reminders_sent_before_the_change: u64,
    /// Heap (RssAnon) with the data set loaded, before planning; and the peak while planning.
    pub heap_before_mib: f64,
    pub heap_peak_mib: f64,
}

#[derive(Debug, Serialize)]
pub struct StoreReport {
    pub store: &'static str,
    pub appointments: u64,
    pub patients: usize,
    pub ingest_seconds: f64,
    /// One scheduler pass over every patient: notices written, reminders planned and enqueued.
    pub schedule_seconds: f64,
    pub patients_per_second: f64,
    pub notices: usize,
    pub reminders: usize,
    /// After `PUT` of an organization rule: every patient re-planned.
    pub replan_seconds: f64,
    pub replan_patients_per_second: f64,
    pub replan_moved: usize,
    pub replan_canceled: usize,
    pub replan_enqueued: usize,
}

#[derive(Debug, Serialize)]
pub struct IdleReport {
    pub seconds: u64,
    /// CPU time of the whole process while only the scheduler and outbox workers run, idle.
    pub workers_cpu_percent: f64,
    /// The same process, same duration, with no workers.
    pub baseline_cpu_percent: f64,
}

pub async fn reminders(args: RemindersArgs) -> anyhow::Result<ExitCode> {
    progress(format_args!("planner: generating {} appointments…", args.appointments))?;
    let planner = planner(&args)?;
    let (target, url) = open_target(args.database_url.as_deref(), false).await?;
    let data_dir = match &target {
        Target::TempSqlite { dir } => dir.clone(),
        _ => std::env::temp_dir().join(format!("hearth-bench-reminders-{}", std::process::id())),
    };
    let result = through_store(&args, &url, &data_dir).await;
    let cleaned = cleanup(&target).await;
    if !matches!(target, Target::TempSqlite { .. }) {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    let (store, idle) = result?;
    cleaned?;
    let report = RemindersReport { machine: machine(), planner, store, idle };
    print(&report, args.json)?;
    Ok(ExitCode::SUCCESS)
}

fn print(r: &RemindersReport, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(r)?)?;
        return Ok(());
    }
    let p = &r.planner;
    writeln!(out, "machine: {} CPUs, {}, {} GiB", r.machine.cpus, r.machine.cpu_model, r.machine.memory_gib)?;
    writeln!(
        out,
        "planner: {} appointments of {} patients in {} zones",
        p.appointments,
        p.patients,
        ZONES.len()
    )?;
    writeln!(out, "  due times only (baseline): {:>8.2} s", p.baseline_seconds)?;
    writeln!(
        out,
        "  first plan:                {:>8.2} s = {:>9.0} appointments/s, ÷ baseline {:.2}",
        p.first_plan_seconds, p.first_plan_per_second, p.first_plan_ratio
    )?;
    writeln!(
        out,
        "  re-plan, new rule:         {:>8.2} s = {:>9.0} appointments/s, ÷ baseline {:.2} ({} sent fixed)",
        p.replan_seconds, p.replan_per_second, p.replan_ratio, p.reminders_sent_before_the_change
    )?;
    writeln!(
        out,
        "  heap: {:.1} MiB loaded, {:.1} MiB peak while planning",
        p.heap_before_mib, p.heap_peak_mib
    )?;
    let s = &r.store;
    writeln!(out, "scheduler on {}: {} appointments of {} patients", s.store, s.appointments, s.patients)?;
    writeln!(
        out,
        "  first pass: {:.2} s = {:.0} patients/s ({} notices, {} reminders enqueued)",
        s.schedule_seconds, s.patients_per_second, s.notices, s.reminders
    )?;
    writeln!(
        out,
        "  re-plan after a rule change: {:.2} s = {:.0} patients/s ({} moved, {} canceled, {} new)",
        s.replan_seconds, s.replan_patients_per_second, s.replan_moved, s.replan_canceled, s.replan_enqueued
    )?;
    let i = &r.idle;
    writeln!(
        out,
        "idle scheduler + outbox workers: {:.3}% CPU over {} s (process without workers: {:.3}%)",
        i.workers_cpu_percent, i.seconds, i.baseline_cpu_percent
    )?;
    Ok(())
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

struct Patient {
    zone: usize,
    appointments: Vec<Appointment>,
}

/// Patients with one to three appointments within four weeks of a base in 2026, each starting on a
/// quarter hour between 07:00 and 19:00 UTC-ish and booked up to three weeks before.
fn generate(n: u64, seed: u64) -> Vec<Patient> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let base = Timestamp::from_second(1_772_323_200).unwrap_or(Timestamp::UNIX_EPOCH); // 2026-03-01
    let mut out = Vec::new();
    let mut made = 0;
    while made < n {
        let k = (1 + rng.below(3)).min(n - made);
        let zone = usize::try_from(rng.below(ZONES.len() as u64)).unwrap_or(0);
        let appointments = (0..k)
            .map(|_| {
                let minutes = i64::try_from(rng.below(28 * 24 * 4)).unwrap_or(0) * 15;
                let start = base + SignedDuration::from_mins(minutes);
                let ahead = i64::try_from(rng.below(21 * 24)).unwrap_or(0);
                let booked = start - SignedDuration::from_hours(ahead);
                Appointment { start, booked, contacts: vec![booked], stopped: None, sent: Vec::new() }
            })
            .collect();
        out.push(Patient { zone, appointments });
        made += k;
    }
    out
}

fn planner(args: &RemindersArgs) -> anyhow::Result<PlannerReport> {
    let mut patients = generate(args.appointments, args.seed);
    let zones: Vec<TimeZone> = ZONES.iter().map(|z| TimeZone::get(z)).collect::<Result<_, _>>()?;
    let rule = Rule::default();
    let heap_before = super::export::anon_memory_kib();
    let (stop, peak) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(heap_before)));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(super::export::anon_memory_kib(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    progress(format_args!("planner: due times only (the baseline)…"))?;
    let started = Instant::now();
    let mut checksum = 0i64;
    for p in &patients {
        for a in &p.appointments {
            for &o in &rule.offsets {
                checksum ^= outreach::due(a.start, o, &zones[p.zone]).as_second();
            }
        }
    }
    let baseline = started.elapsed();
    progress(format_args!("planner: first plan…"))?;
    // What went out by the change: everything sent before the middle of the period.
    let cut = Timestamp::from_second(1_772_323_200 + 14 * 86_400).unwrap_or(Timestamp::UNIX_EPOCH);
    let started = Instant::now();
    let mut sent_before = 0u64;
    for p in &mut patients {
        let plans = outreach::plan(&rule, &zones[p.zone], &p.appointments, &[]);
        for (a, planned) in p.appointments.iter_mut().zip(&plans) {
            for r in planned.iter().filter(|r| r.decision == Decision::Send) {
                if let Some(at) = r.send.filter(|t| *t < cut) {
                    a.sent.push((r.k, at));
                    sent_before += 1;
                }
            }
        }
    }
    let first = started.elapsed();
    progress(format_args!("planner: re-plan under a new rule…"))?;
    let changed = Rule {
        offsets: vec![Offset::Days(3), Offset::Days(1), Offset::Exact(SignedDuration::from_hours(2))],
        window: "09:00-19:00".parse()?,
        ..Rule::default()
    };
    let started = Instant::now();
    let mut decisions = 0usize;
    for p in &patients {
        decisions += outreach::plan(&changed, &zones[p.zone], &p.appointments, &[])
            .iter()
            .map(Vec::len)
            .sum::<usize>();
    }
    let replan = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    std::hint::black_box((checksum, decisions));
    let n = args.appointments;
    let secs = |d: Duration| round3(d.as_secs_f64());
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    Ok(PlannerReport {
        appointments: n,
        patients: patients.len() as u64,
        baseline_seconds: secs(baseline),
        first_plan_seconds: secs(first),
        first_plan_per_second: round3(n as f64 / first.as_secs_f64().max(1e-9)),
        first_plan_ratio: round3(first.as_secs_f64() / baseline.as_secs_f64().max(1e-9)),
        replan_seconds: secs(replan),
        replan_per_second: round3(n as f64 / replan.as_secs_f64().max(1e-9)),
        replan_ratio: round3(replan.as_secs_f64() / baseline.as_secs_f64().max(1e-9)),
        reminders_sent_before_the_change: sent_before,
        heap_before_mib: round3(heap_before as f64 / 1024.0),
        heap_peak_mib: round3(peak.load(Ordering::Relaxed) as f64 / 1024.0),
    })
}

async fn through_store(
    args: &RemindersArgs,
    url: &str,
    data_dir: &std::path::Path,
) -> anyhow::Result<(StoreReport, IdleReport)> {
    let mut config = Config::for_tests(url);
    config.data_dir = data_dir.to_path_buf();
    config.database_max_connections = 8;
    // Messages go to a local endpoint that accepts them all (as in `hearth bench dispatch`).
    config.outbox.loopback_url = Some(super::dispatch::loopback().await?.0);
    let app = App::build(config, Deps::production(), Roles { web: false, workers: false }).await?;
    let state = app.state().clone();
    let org = OrgId::new();
    let now = state.clock.now();
    let zone = "America/New_York";
    state
        .store
        .create_organization(&NewOrganization { id: org, name: "Bench", time_zone: zone, now })
        .await?;
    let actor = Actor::system(org, "bench");
    let n = args.store_appointments;
    progress(format_args!("scheduler on {}: ingesting {n} bookings…", state.store.backend().as_str()))?;
    let started = Instant::now();
    let mut rng = Rng(args.seed | 1);
    let mut events: Vec<serde_json::Value> = Vec::new();
    for i in 0..n {
        let start =
            now.get() + SignedDuration::from_hours(i64::try_from(6 + rng.below(14 * 24)).unwrap_or(6));
        let local = start.to_zoned(TimeZone::get(zone).unwrap_or(TimeZone::UTC)).datetime();
        let person = serde_json::json!({"patient_id": format!("P-{}", i / 2), "patient_first_name": "Bench",
            "patient_last_name": format!("Patient{}", i / 2), "patient_phone": format!("+1312555{:04}", i / 2 % 10_000)});
        if i % 2 == 0 {
            // The patient's SMS consent, as registration records it, before the first booking.
            let mut consent = person.clone();
            consent["event_type"] = "OPTED-IN".into();
            events.push(consent);
        }
        let mut booking = person;
        booking["event_type"] = "BOOKED".into();
        booking["appointment_id"] = format!("A-{i}").into();
        booking["appointment_datetime"] = local.strftime("%Y-%m-%dT%H:%M:00").to_string().into();
        booking["appointment_timezone"] = zone.into();
        events.push(booking);
    }
    for chunk in events.chunks(500) {
        crate::appointments::ingest(&state, &actor, chunk.to_vec(), false).await?;
    }
    let ingest_seconds = started.elapsed().as_secs_f64();
    progress(format_args!("scheduler: first pass…"))?;
    let started = Instant::now();
    let first = drain(&state).await?;
    let schedule = started.elapsed().as_secs_f64();
    progress(format_args!("scheduler: a new organization rule, re-plan…"))?;
    let text = RuleText { offsets: vec!["72h".into(), "24h".into(), "2h".into()], ..RuleText::default() };
    crate::reminders::rules::put(&state, &actor, "organization", "", text).await?;
    let started = Instant::now();
    let again = drain(&state).await?;
    let replan = started.elapsed().as_secs_f64();
    // Everything due goes out first: then only future reminders are queued, as on a quiet day.
    crate::notifications::worker::run_until_idle(&state).await?;
    let idle = idle(&state, args.idle_secs).await;
    #[allow(clippy::cast_precision_loss)]
    let store = StoreReport {
        store: state.store.backend().as_str(),
        appointments: n,
        patients: first.patients,
        ingest_seconds: round3(ingest_seconds),
        schedule_seconds: round3(schedule),
        patients_per_second: round3(first.patients as f64 / schedule.max(1e-9)),
        notices: first.notices,
        reminders: first.reminders,
        replan_seconds: round3(replan),
        replan_patients_per_second: round3(again.patients as f64 / replan.max(1e-9)),
        replan_moved: again.moved,
        replan_canceled: again.canceled,
        replan_enqueued: again.reminders,
    };
    state.store.close().await;
    Ok((store, idle))
}

/// Scheduler passes until nothing is queued, as the worker loop would run them (a pass that meets
/// a busy store ends early and the next one goes on), summed.
async fn drain(state: &crate::state::AppState) -> anyhow::Result<crate::reminders::PassReport> {
    let mut total = crate::reminders::PassReport::default();
    for _ in 0..1000 {
        match crate::reminders::run_once(state).await {
            Ok(r) => {
                total.patients += r.patients;
                total.notices += r.notices;
                total.reminders += r.reminders;
                total.moved += r.moved;
                total.canceled += r.canceled;
                total.failed += r.failed;
            }
            Err(e) => {
                progress(format_args!("scheduler pass ended early ({e}); going on"))?;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        if state.store.outreach_backlog().await? == 0 {
            return Ok(total);
        }
    }
    anyhow::bail!("the scheduler did not drain its queue")
}

/// CPU seconds this process has used (Linux `/proc/self/stat`: utime + stime, in clock ticks of
/// 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, r)| r).split_whitespace().collect();
    let ticks: u64 = [11, 12].iter().filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok())).sum();
    #[allow(clippy::cast_precision_loss)]
    let s = ticks as f64 / 100.0;
    s
}

async fn idle(state: &crate::state::AppState, secs: u64) -> IdleReport {
    let watch = Duration::from_secs(secs.max(1));
    // Background work of the load (the duplicate checks of the new patients) finishes first: until
    // two seconds pass with under 1% CPU, at most two minutes.
    for _ in 0..60 {
        let before = cpu_seconds();
        tokio::time::sleep(Duration::from_secs(2)).await;
        if cpu_seconds() - before < 0.02 {
            break;
        }
    }
    let _ = progress(format_args!("idle: the process without workers for {secs} s…"));
    let before = cpu_seconds();
    tokio::time::sleep(watch).await;
    let baseline = (cpu_seconds() - before) / watch.as_secs_f64() * 100.0;
    let _ =
        progress(format_args!("idle: the scheduler and the outbox workers, nothing to do, for {secs} s…"));
    let cancel = CancellationToken::new();
    let mut with_workers = Config::clone(&state.config);
    with_workers.reminders.workers = 1;
    with_workers.outbox.workers = 1;
    let running =
        crate::state::AppState::new(with_workers, state.store.clone(), Arc::new(hearth_core::SystemClock));
    let mut tasks = tokio::task::JoinSet::new();
    if let Ok(s) = running {
        tasks.spawn(crate::reminders::run(s.clone(), cancel.clone()));
        tasks.spawn(crate::notifications::worker::run(s, cancel.clone()));
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // start-up recovery passes
    let before = cpu_seconds();
    tokio::time::sleep(watch).await;
    let busy = (cpu_seconds() - before) / watch.as_secs_f64() * 100.0;
    cancel.cancel();
    while tasks.join_next().await.is_some() {}
    IdleReport { seconds: secs, workers_cpu_percent: round3(busy), baseline_cpu_percent: round3(baseline) }
}
