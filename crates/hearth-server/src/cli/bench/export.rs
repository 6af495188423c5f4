//! `hearth bench export`: is a streamed export's memory independent of its size? Loads N appointments
//! (default one million, for 1,000 patients), then downloads `GET /api/v1/exports/appointments.csv`
//! from an in-process Hearth twice — one percent of the rows (a `to` filter), then all of them —
//! reading the body as it arrives, and reports for each the rows, bytes, rows per second and the
//! process's peak anonymous memory during the download (Linux `RssAnon`, sampled every 10 ms: the
//! heap, without the pages of the SQLite file that its memory map brings in and the kernel can drop at
//! will). Constant memory shows as a ratio near 1 between the two peaks.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use hearth_core::{AppointmentId, OrgId, UtcTime};
use hearth_store::appointments::AppointmentRow;
use hearth_store::organizations::NewOrganization;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::generate::Generator;
use super::{
    Machine, Target, as_f64, cleanup, insert_batch, machine, open_target, per_second, progress, round3,
};
use crate::app::{App, Deps, Roles};
use crate::auth::Actor;
use crate::config::Config;
use hearth_core::ApiScope;

/// Patients the appointments belong to.
const PATIENTS: u64 = 1000;
/// Appointments per transaction while loading.
const BATCH: u64 = 10_000;

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Where: a `sqlite:` URL, or a `postgres://` server on which a throwaway database is created and
    /// dropped afterwards [default: a new SQLite file in a temporary directory].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Appointments to load and export.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
pub struct ExportBenchReport {
    pub store: &'static str,
    pub machine: Machine,
    pub load_seconds: f64,
    pub small: Download,
    pub full: Download,
    /// Peak anonymous memory of the full export ÷ that of the one-percent export.
    pub peak_ratio: f64,
}

#[derive(Debug, Serialize)]
pub struct Download {
    pub rows: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub rows_per_second: f64,
    /// The process's peak anonymous resident memory during the download (sampled `RssAnon`), MiB.
    pub peak_anon_mib: f64,
}

pub async fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let (target, url) = open_target(args.database_url.as_deref(), false).await?;
    let data_dir = match &target {
        Target::TempSqlite { dir } => dir.clone(),
        _ => std::env::temp_dir().join(format!("hearth-bench-export-{}", std::process::id())),
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
        writeln!(out, "appointment export (CSV through HTTP) on {}", report.store)?;
        writeln!(
            out,
            "machine: {} CPUs, {}, {} GiB; loaded in {:.1}s",
            report.machine.cpus, report.machine.cpu_model, report.machine.memory_gib, report.load_seconds
        )?;
        for (name, d) in [("1%", &report.small), ("all", &report.full)] {
            writeln!(
                out,
                "{name:>4}: {} rows, {} bytes in {:.2}s = {:.0} rows/s; peak heap (RssAnon) {:.1} MiB",
                d.rows, d.bytes, d.seconds, d.rows_per_second, d.peak_anon_mib
            )?;
        }
        writeln!(out, "peak heap, all ÷ 1%: {:.2}", report.peak_ratio)?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn run(args: &ExportArgs, url: &str, data_dir: &std::path::Path) -> anyhow::Result<ExportBenchReport> {
    let mut config = Config::for_tests(url);
    config.data_dir = data_dir.to_path_buf();
    let app = App::build(config, Deps::production(), Roles { web: true, workers: false }).await?;
    let addr = app.local_addr().ok_or_else(|| anyhow::anyhow!("no listener"))?;
    let state = app.state().clone();
    let store_name = state.store.backend().as_str();

    let generator = Generator::new(11, PATIENTS);
    let org = generator.org_id();
    let new = NewOrganization { id: org, name: "Export Clinic", time_zone: "UTC", now: state.clock.now() };
    state.store.create_organization(&new).await?;
    let actor = Actor::system(org, "hearth bench");
    let input =
        crate::api_keys::CreateApiKeyInput { name: "bench export".into(), scopes: vec![ApiScope::Read] };
    let key = crate::api_keys::create(&state, &actor, input).await.map_err(|e| anyhow::anyhow!("{e}"))?.key;

    let started = Instant::now();
    let base = UtcTime::new(jiff::Timestamp::from_second(1_900_000_000)?);
    load(&state.store, org, &generator, args.rows, base).await?;
    let load_seconds = started.elapsed().as_secs_f64();

    let cancel = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(cancel.clone()));
    let client = reqwest::Client::new();
    let endpoint = format!("http://{addr}/api/v1/exports/appointments.csv");
    let one_percent = base.plus(jiff::SignedDuration::from_mins(i64::try_from(args.rows / 100).unwrap_or(0)));
    progress(format_args!("exporting 1%…"))?;
    let small = download(&client, &endpoint, &key, Some(one_percent)).await?;
    progress(format_args!("exporting all {} rows…", args.rows))?;
    let full = download(&client, &endpoint, &key, None).await?;
    cancel.cancel();
    server.await??;
    Ok(ExportBenchReport {
        store: store_name,
        machine: machine(),
        load_seconds: round3(load_seconds),
        peak_ratio: round3(full.peak_anon_mib / small.peak_anon_mib.max(f64::MIN_POSITIVE)),
        small,
        full,
    })
}

/// The patients, then `rows` appointments a minute apart from `base`, round-robin over them.
async fn load(
    store: &hearth_store::Store,
    org: OrgId,
    generator: &Generator,
    rows: u64,
    base: UtcTime,
) -> anyhow::Result<()> {
    let generated: Vec<_> = (0..generator.count()).map(|i| generator.patient(i)).collect();
    let mut tx = store.begin().await?;
    insert_batch(&mut tx, org, &generated).await?;
    tx.commit().await?;
    let patients: Vec<_> = generated.iter().map(|p| p.id).collect();
    let mut done = 0;
    while done < rows {
        let mut tx = store.begin().await?;
        let end = (done + BATCH).min(rows);
        for i in done..end {
            let minutes = i64::try_from(i)?;
            let start = base.plus(jiff::SignedDuration::from_mins(minutes));
            let row = AppointmentRow {
                id: AppointmentId::new(),
                org_id: org,
                source: "bench".into(),
                external_id: format!("A-{i}"),
                patient_id: patients[usize::try_from(i % PATIENTS)?],
                practitioner_id: None,
                location_id: None,
                appointment_type: Some("Follow-up".into()),
                start_at: start,
                time_zone: "America/Chicago".into(),
                duration_minutes: Some(20),
                status: "booked".into(),
                reminders: "pending:0".into(),
                participant_accepted: false,
                last_applied_at: Some(base),
                created_at: base,
                updated_at: base,
            };
            tx.save_appointment(&row).await?;
        }
        tx.commit().await?;
        done = end;
        if done % 100_000 == 0 {
            progress(format_args!("loaded {done} of {rows} appointments"))?;
        }
    }
    Ok(())
}

async fn download(
    client: &reqwest::Client,
    endpoint: &str,
    key: &str,
    to: Option<UtcTime>,
) -> anyhow::Result<Download> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut peak = anon_memory_kib();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(10)).await;
                peak = peak.max(anon_memory_kib());
            }
            peak
        })
    };
    let started = Instant::now();
    let url = match to {
        Some(to) => format!("{endpoint}?to={to}"),
        None => endpoint.to_owned(),
    };
    let mut res = client.get(url).bearer_auth(key).send().await?;
    anyhow::ensure!(res.status().is_success(), "the export answered {}", res.status());
    let (mut bytes, mut lines) = (0_u64, 0_u64);
    while let Some(chunk) = res.chunk().await? {
        bytes += chunk.len() as u64;
        #[allow(clippy::naive_bytecount)] // a benchmark's client, not worth a crate
        let n = chunk.iter().filter(|b| **b == b'\n').count();
        lines += n as u64;
    }
    let elapsed: Duration = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.await?;
    let rows = lines.saturating_sub(1); // the header
    Ok(Download {
        rows,
        bytes,
        seconds: round3(elapsed.as_secs_f64()),
        rows_per_second: round3(per_second(rows, elapsed)),
        peak_anon_mib: round3(as_f64(peak) / 1024.0),
    })
}

/// Linux: the process's anonymous resident memory now, in KiB (0 elsewhere).
pub(super) fn anon_memory_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("RssAnon:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
