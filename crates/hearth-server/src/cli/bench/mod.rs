//! `hearth bench patient-search`: loads a deterministic data set of realistic patients (by default one
//! million) through the store's write path, then times each kind of patient search through
//! [`crate::patients::search`], the code behind `GET /api/v1/patients` without its audit row. A
//! primary-key read of one patient, timed in the same run, is the baseline every p99 is divided by:
//! machines are noisy, ratios hold. The verdict against the 5 ms target is printed, never asserted.

mod dispatch;
mod export;
pub mod generate;
mod ingest;
mod names;
mod reminders;
mod survey_page;

pub use dispatch::{DispatchArgs, dispatch};
pub use export::{ExportArgs, export};
pub use ingest::{IngestArgs, ingest};
pub use reminders::{RemindersArgs, reminders};
pub use survey_page::{SurveyPageArgs, survey_page};

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hearth_core::{OrgId, PatientId};
use hearth_store::organizations::NewOrganization;
use hearth_store::patients::NewPatientRow;
use hearth_store::{Store, StoreOptions};
use serde::Serialize;

use crate::patients::{PatientQuery, PatientView, Strictness};
use generate::{GeneratedPatient, Generator, Rng};

/// The target of issue #4: p99 under 5 ms at a million patients.
const TARGET_P99_MS: f64 = 5.0;
/// Phone numbers without a country code are read as US numbers (Hearth's default).
const PHONE_REGION: &str = "US";

/// Options of `hearth bench patient-search`.
#[derive(Debug, clap::Args)]
pub struct PatientSearchArgs {
    /// How many patients to load.
    #[arg(long, default_value_t = 1_000_000)]
    pub patients: u64,
    /// Where: a `sqlite:` URL, or a `postgres://` server on which a throwaway database is created and
    /// dropped afterwards [default: a new SQLite file in a temporary directory].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Use the database named by --database-url as it is, loading the data set only if it is not there
    /// yet (e.g. one kept by an earlier run with --keep).
    #[arg(long)]
    pub reuse: bool,
    /// Keep the new database (or SQLite file) and print its URL, for a later --reuse.
    #[arg(long)]
    pub keep: bool,
    /// Timed queries of each kind.
    #[arg(long, default_value_t = 2000)]
    pub queries: usize,
    /// Seed of the data set and of the queries.
    #[arg(long, default_value_t = 4)]
    pub seed: u64,
    /// Patients per transaction while loading.
    #[arg(long, default_value_t = 5000)]
    pub batch: u64,
    /// Concurrent writers while loading [default: 1 on SQLite, 2 on PostgreSQL].
    #[arg(long)]
    pub writers: Option<u64>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also print the N slowest queries of each kind, and N that missed their patient (to stderr).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub show_slowest: usize,
}

/// What a run measured.
#[derive(Debug, Serialize)]
pub struct Report {
    pub store: &'static str,
    pub patients: u64,
    pub seed: u64,
    pub machine: Machine,
    /// `None` when an existing data set was reused.
    pub load: Option<Load>,
    pub target_p99_ms: f64,
    pub baseline: KindReport,
    pub kinds: Vec<KindReport>,
}

/// Where the numbers came from.
#[derive(Debug, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
}

#[derive(Debug, Serialize)]
pub struct Load {
    pub seconds: f64,
    pub patients_per_second: f64,
    pub writers: u64,
    pub batch: u64,
}

/// Latencies of one kind of query, in milliseconds.
#[derive(Debug, Serialize)]
pub struct KindReport {
    pub kind: &'static str,
    pub what: &'static str,
    pub count: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// p99 divided by the baseline's p99.
    pub p99_ratio: f64,
    /// Mean number of records returned.
    pub mean_results: f64,
    /// Share of queries whose page shows the patient the query was made from, or is full of records
    /// at least as good (a name search: scoring at least as well); `None` where there is no such patient.
    pub found: Option<f64>,
    /// `pass` when p99 is under the target.
    pub verdict: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    ById,
    Name,
    Phone,
    Email,
    Mrn,
    Identifier,
    BirthDate,
    Family,
    Status,
}

impl Kind {
    const SEARCHES: [Kind; 8] = [
        Kind::Name,
        Kind::Phone,
        Kind::Email,
        Kind::Mrn,
        Kind::Identifier,
        Kind::BirthDate,
        Kind::Family,
        Kind::Status,
    ];

    fn label(self) -> &'static str {
        match self {
            Kind::ById => "patient_by_id",
            Kind::Name => "name",
            Kind::Phone => "phone",
            Kind::Email => "email",
            Kind::Mrn => "mrn",
            Kind::Identifier => "identifier",
            Kind::BirthDate => "birth_date",
            Kind::Family => "family_prefix",
            Kind::Status => "status",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Kind::ById => "baseline: Store::patient, one primary-key read",
            Kind::Name => "name=, 1-3 words with 1-2 typos or sound-alike spellings, ranked (10% ask page 2)",
            Kind::Phone => "phone=, another notation than the one stored",
            Kind::Email => "email=, in other capitals",
            Kind::Mrn => "mrn=",
            Kind::Identifier => "identifier=system|value",
            Kind::BirthDate => "birth_date=YYYY-MM-DD",
            Kind::Family => "family=, the first 3-5 letters",
            Kind::Status => "status=inactive|deleted, one of the first ten pages",
        }
    }
}

/// One timed query and the patient it was made from.
#[derive(Debug, Clone)]
struct Probe {
    kind: Kind,
    source: PatientId,
    /// The query text of a name search and how well the source's name scores on it (for judging the
    /// page).
    name: Option<String>,
    source_score: Option<f64>,
    params: Params,
}

/// The fields of a [`PatientQuery`] (which is not `Clone`).
#[derive(Debug, Clone, Default)]
struct Params {
    status: Option<String>,
    mrn: Option<String>,
    birth_date: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    identifier: Option<String>,
    family: Option<String>,
    name: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

impl Params {
    fn query(&self) -> PatientQuery {
        let p = self.clone();
        PatientQuery {
            status: p.status,
            mrn: p.mrn,
            birth_date: p.birth_date,
            phone: p.phone,
            email: p.email,
            identifier: p.identifier,
            family: p.family,
            name: p.name,
            limit: p.limit,
            offset: p.offset,
        }
    }
}

/// The database a run uses, and what to do with it afterwards.
enum Target {
    /// A SQLite file in a directory of our own.
    TempSqlite { dir: PathBuf },
    /// A database created on a PostgreSQL server.
    FreshPostgres { server: String, name: String },
    /// The database named on the command line.
    Given,
}

/// `hearth bench patient-search`.
pub async fn patient_search(args: PatientSearchArgs) -> anyhow::Result<ExitCode> {
    let (target, url) = open_target(args.database_url.as_deref(), args.reuse).await?;
    let result = run(&args, &url).await;
    let cleanup = if args.keep || args.reuse { Ok(()) } else { cleanup(&target).await };
    let report = result?;
    cleanup?;
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        print_table(&mut out, &report)?;
    }
    if args.keep && !args.reuse {
        writeln!(
            std::io::stderr().lock(),
            "hearth bench: kept {url} (run again with --database-url {url} --reuse)"
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Where a run writes: a new SQLite file, a new database on the PostgreSQL server of `database_url`,
/// or (with `reuse`) the database named.
async fn open_target(database_url: Option<&str>, reuse: bool) -> anyhow::Result<(Target, String)> {
    let stamp =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis();
    match database_url {
        None if reuse => anyhow::bail!("--reuse needs --database-url"),
        None => {
            let dir = std::env::temp_dir().join(format!("hearth-bench-{}-{stamp}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            let url = format!("sqlite://{}", dir.join("bench.db").display());
            Ok((Target::TempSqlite { dir }, url))
        }
        Some(server) if !reuse && (server.starts_with("postgres:") || server.starts_with("postgresql:")) => {
            let name = format!("hearth_bench_{}_{stamp}", std::process::id());
            let url = hearth_store::scratch::create_postgres_database(server, &name).await?;
            Ok((Target::FreshPostgres { server: server.to_owned(), name }, url))
        }
        Some(url) => Ok((Target::Given, url.to_owned())),
    }
}

async fn cleanup(target: &Target) -> anyhow::Result<()> {
    match target {
        Target::TempSqlite { dir } => std::fs::remove_dir_all(dir)?,
        Target::FreshPostgres { server, name } => {
            hearth_store::scratch::drop_postgres_database(server, name).await?;
        }
        Target::Given => {}
    }
    Ok(())
}

async fn run(args: &PatientSearchArgs, url: &str) -> anyhow::Result<Report> {
    let gen_ = Arc::new(Generator::new(args.seed, args.patients));
    let is_sqlite = url.starts_with("sqlite:");
    let writers = args.writers.unwrap_or(if is_sqlite { 1 } else { 2 }).max(1);
    let options = StoreOptions {
        max_connections: u32::try_from(writers).unwrap_or(1).max(2),
        ..StoreOptions::default()
    };
    let store = Store::connect(url, &options).await?;
    store.migrate().await?;
    let org = gen_.org_id();
    let load = if store.organization(org).await.is_ok() {
        let expected = (0..gen_.count()).filter(|i| gen_.status(*i) != "deleted").count();
        let found = store.active_patient_ids(org).await?.len();
        anyhow::ensure!(
            args.reuse && found == expected,
            "the database already holds this data set{}; pass --reuse to use it",
            if found == expected { "" } else { " (partly: an interrupted load? use a fresh database)" }
        );
        progress(format_args!("reusing the {} patients of seed {}", gen_.count(), args.seed))?;
        None
    } else {
        Some(load(&store, &gen_, org, writers, args.batch.max(1)).await?)
    };
    progress(format_args!("refreshing planner statistics"))?;
    hearth_store::scratch::settle(&store).await?;
    let (warmup, probes) = probes(&gen_, args.queries.max(1), args.seed);
    progress(format_args!("warming up with {} queries", warmup.len()))?;
    for probe in &warmup {
        execute(&store, org, probe).await?;
    }
    progress(format_args!("timing {} queries", probes.len()))?;
    let mut samples: BTreeMap<Kind, Vec<Sample>> = BTreeMap::new();
    for probe in &probes {
        let (elapsed, views) = execute(&store, org, probe).await?;
        let found = judge(probe, views.as_deref());
        let results = views.map_or(1, |v| v.len());
        samples.entry(probe.kind).or_default().push(Sample { elapsed, found, results, probe: probe.clone() });
    }
    store.close().await;
    if args.show_slowest > 0 {
        for (kind, list) in &samples {
            for s in list.iter().filter(|s| s.found == Some(false)).take(args.show_slowest) {
                progress(format_args!("missed {}: {:?}", kind.label(), s.probe))?;
            }
        }
        for (kind, list) in &mut samples {
            list.sort_by_key(|s| std::cmp::Reverse(s.elapsed));
            for s in list.iter().take(args.show_slowest) {
                let ms = s.elapsed.as_secs_f64() * 1000.0;
                progress(format_args!(
                    "slow {}: {ms:.2} ms, {} rows: {:?}",
                    kind.label(),
                    s.results,
                    s.probe.params
                ))?;
            }
        }
    }
    let baseline = summarize(Kind::ById, samples.remove(&Kind::ById).unwrap_or_default(), None);
    let kinds = Kind::SEARCHES
        .iter()
        .map(|k| summarize(*k, samples.remove(k).unwrap_or_default(), Some(baseline.p99_ms)))
        .collect();
    Ok(Report {
        store: if is_sqlite { "sqlite" } else { "postgres" },
        patients: gen_.count(),
        seed: args.seed,
        machine: machine(),
        load,
        target_p99_ms: TARGET_P99_MS,
        baseline: KindReport { p99_ratio: 1.0, ..baseline },
        kinds,
    })
}

fn progress(line: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    writeln!(std::io::stderr().lock(), "hearth bench: {line}")
}

/// Writes the data set: `writers` tasks, each committing `batch` patients per transaction, every
/// record checked by [`crate::patients::normalize`] and written by `Tx::insert_patients` (the product's
/// own path; audit rows and lifecycle events are not written).
async fn load(
    store: &Store,
    gen_: &Arc<Generator>,
    org: OrgId,
    writers: u64,
    batch: u64,
) -> anyhow::Result<Load> {
    let started = Instant::now();
    let now = hearth_core::UtcTime::new(jiff::Timestamp::now());
    store
        .create_organization(&NewOrganization {
            id: org,
            name: &format!("Benchmark patients ({} patients)", gen_.count()),
            time_zone: "America/New_York",
            now,
        })
        .await?;
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..writers {
        let (store, gen_, next, done) = (store.clone(), gen_.clone(), next.clone(), done.clone());
        tasks.spawn(async move {
            loop {
                let start = next.fetch_add(batch, Ordering::Relaxed);
                if start >= gen_.count() {
                    return anyhow::Ok(());
                }
                let end = (start + batch).min(gen_.count());
                let patients: Vec<GeneratedPatient> = (start..end).map(|i| gen_.patient(i)).collect();
                let mut tx = store.begin().await?;
                insert_batch(&mut tx, org, &patients).await?;
                tx.commit().await?;
                done.fetch_add(end - start, Ordering::Relaxed);
            }
        });
    }
    let total = gen_.count();
    let reporter = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            tick.tick().await;
            loop {
                tick.tick().await;
                let n = done.load(Ordering::Relaxed);
                let rate = per_second(n, started.elapsed());
                let left = if rate > 0.0 { as_f64(total - n) / rate / 60.0 } else { 0.0 };
                let _ = progress(format_args!(
                    "loaded {n} of {total} patients ({:.0}%), {rate:.0}/s, about {left:.0} min left",
                    100.0 * as_f64(n) / as_f64(total)
                ));
            }
        })
    };
    let mut outcome = Ok(());
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined.map_err(anyhow::Error::from).and_then(|r| r) {
            outcome = Err(e);
            tasks.abort_all();
        }
    }
    reporter.abort();
    outcome?;
    let seconds = started.elapsed().as_secs_f64();
    let rate = per_second(total, started.elapsed());
    progress(format_args!(
        "loaded {total} patients in {seconds:.0} s ({rate:.0}/s, {writers} writer(s), {batch} per commit)"
    ))?;
    Ok(Load { seconds, patients_per_second: rate, writers, batch })
}

fn per_second(n: u64, elapsed: Duration) -> f64 {
    as_f64(n) / elapsed.as_secs_f64().max(1e-9)
}

#[allow(clippy::cast_precision_loss)] // counts of patients: far below 2^52
fn as_f64(n: u64) -> f64 {
    n as f64
}

/// Writes one batch the way a batch of ingest writes new patients: one multi-row statement per table
/// (`Tx::insert_patients`), the records carrying the batch's last registration time.
async fn insert_batch(
    tx: &mut hearth_store::Tx,
    org: OrgId,
    batch: &[GeneratedPatient],
) -> anyhow::Result<()> {
    let Some(last) = batch.last() else { return Ok(()) };
    let mut fields = Vec::with_capacity(batch.len());
    for p in batch {
        let (_, f) =
            crate::patients::normalize(&p.record, generate::REFERENCE_DATE, PHONE_REGION, Strictness::Strict)
                .map_err(|e| anyhow::anyhow!("generated patient {} is invalid: {e:?}", p.index))?;
        fields.push(f);
    }
    let rows: Vec<NewPatientRow<'_>> =
        batch.iter().zip(&fields).map(|(p, f)| NewPatientRow { id: p.id, mrn: &p.mrn, fields: f }).collect();
    tx.insert_patients(org, &rows, last.created_at).await?;
    for p in batch.iter().filter(|p| p.status != "active") {
        tx.set_patient_status(org, p.id, None, p.status, last.created_at).await?;
    }
    Ok(())
}

/// The warm-up queries and the timed ones (each kind `per_kind` times, in a shuffled order so that
/// noise falls on every kind alike).
fn probes(gen_: &Generator, per_kind: usize, seed: u64) -> (Vec<Probe>, Vec<Probe>) {
    let mut r = Rng::new(seed ^ 0x5EED_0F0E_4E4A);
    let make = |r: &mut Rng, n: usize| -> Vec<Probe> {
        let mut out = Vec::new();
        for kind in std::iter::once(Kind::ById).chain(Kind::SEARCHES) {
            while out.iter().filter(|p: &&Probe| p.kind == kind).count() < n {
                if let Some(p) = probe(gen_, r, kind) {
                    out.push(p);
                }
            }
        }
        // Fisher-Yates.
        for i in (1..out.len()).rev() {
            out.swap(i, r.index(i + 1));
        }
        out
    };
    let warmup = make(&mut r, (per_kind / 10).clamp(1, 200));
    let timed = make(&mut r, per_kind);
    (warmup, timed)
}

/// A query of `kind` made from a random patient; `None` when that patient lacks the field.
fn probe(gen_: &Generator, r: &mut Rng, kind: Kind) -> Option<Probe> {
    let i = r.below(gen_.count());
    let p = gen_.patient(i);
    if kind != Kind::ById && p.status == "deleted" {
        return None;
    }
    let rec = &p.record;
    let mut params = Params::default();
    let (mut name, mut source_score) = (None, None);
    match kind {
        Kind::ById => {}
        Kind::Name => {
            let query = name_query(r, rec);
            if r.chance(0.1) {
                params.offset = Some(50);
            }
            let words: Vec<&str> =
                rec.name.given.iter().map(String::as_str).chain([rec.name.family.as_str()]).collect();
            source_score = hearth_core::names::score(&query, &words);
            params.name = Some(query.clone());
            name = Some(query);
        }
        Kind::Phone => {
            let stored = rec.phones.first()?;
            let e164 = hearth_core::contact::Phone::parse(&stored.value, PHONE_REGION).ok()?;
            let digits = &e164.as_str()[2..];
            let mut other = generate::written(r, digits);
            while other == stored.value {
                other = generate::written(r, digits);
            }
            params.phone = Some(other);
        }
        Kind::Email => {
            let stored = &rec.emails.first()?.value;
            let (local, domain) = stored.split_once('@')?;
            let mut local: Vec<char> = local.chars().collect();
            if let Some(c) = local.first_mut() {
                *c = c.to_ascii_uppercase();
            }
            params.email =
                Some(format!(" {}@{} ", local.into_iter().collect::<String>(), domain.to_uppercase()));
        }
        Kind::Mrn => params.mrn = Some(p.mrn.clone()),
        Kind::Identifier => {
            let id = rec.identifiers.first()?;
            params.identifier = Some(format!("{}|{}", id.system, id.value));
        }
        Kind::BirthDate => params.birth_date.clone_from(&rec.birth_date),
        Kind::Family => {
            let lower: Vec<char> = rec.name.family.to_lowercase().chars().collect();
            let len = 3 + r.index(3);
            params.family = Some(lower.iter().take(len).collect());
        }
        Kind::Status => {
            params.status = Some(if r.chance(0.5) { "inactive" } else { "deleted" }.into());
            params.offset = Some(50 * i64::try_from(r.below(10)).unwrap_or(0));
        }
    }
    Some(Probe { kind, source: p.id, name, source_score, params })
}

/// "Jon Smyth" from John Smith: given and family name (55%), the family name alone (20%), family
/// first (15%) or with the middle name (10%), with one or two words misspelled.
fn name_query(r: &mut Rng, rec: &crate::patients::PatientRecord) -> String {
    let given: Vec<String> = rec.name.given.iter().flat_map(|g| hearth_core::names::tokens(g)).collect();
    let family = hearth_core::names::tokens(&rec.name.family);
    let mut words: Vec<String> = match r.below(20) {
        0..11 => given.iter().take(1).chain(&family).cloned().collect(),
        11..15 => family.clone(),
        15..18 => family.iter().chain(given.iter().take(1)).cloned().collect(),
        _ => given.iter().chain(&family).cloned().collect(),
    };
    if words.is_empty() {
        words = family;
    }
    let first = r.index(words.len());
    for (k, w) in words.iter_mut().enumerate() {
        if k == first || r.chance(0.25) {
            *w = generate::misspell(r, w);
        }
    }
    let capitalized = words.iter().map(|w| {
        let mut c = w.chars();
        c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
    });
    capitalized.collect::<Vec<_>>().join(" ")
}

/// Runs one query; returns its time and (for searches) what it found.
async fn execute(
    store: &Store,
    org: OrgId,
    probe: &Probe,
) -> anyhow::Result<(Duration, Option<Vec<PatientView>>)> {
    if probe.kind == Kind::ById {
        let started = Instant::now();
        let row = store.patient(org, probe.source).await?;
        let elapsed = started.elapsed();
        anyhow::ensure!(row.id == probe.source, "read the wrong patient");
        return Ok((elapsed, None));
    }
    let query = probe.params.query();
    let started = Instant::now();
    let views = crate::patients::search(store, org, PHONE_REGION, query)
        .await
        .map_err(|e| anyhow::anyhow!("{:?} query {:?} failed: {e}", probe.kind, probe.params))?;
    Ok((started.elapsed(), Some(views)))
}

/// Whether a first page shows the source patient, or is full of records at least as good.
fn judge(probe: &Probe, views: Option<&[PatientView]>) -> Option<bool> {
    let views = views?;
    if probe.kind == Kind::Status || probe.params.offset.unwrap_or(0) > 0 {
        return None;
    }
    if views.iter().any(|v| v.id == probe.source) {
        return Some(true);
    }
    let full = views.len() >= usize::try_from(probe.params.limit.unwrap_or(50)).unwrap_or(50);
    let Some(query) = &probe.name else { return Some(full) };
    // A full page of names that score at least as well as the source's is as good an answer.
    let score = |v: &PatientView| {
        let words: Vec<&str> =
            v.record.name.given.iter().map(String::as_str).chain([v.record.name.family.as_str()]).collect();
        hearth_core::names::score(query, &words).unwrap_or(0.0)
    };
    Some(full && probe.source_score.is_some_and(|s| views.last().is_some_and(|last| score(last) >= s)))
}

struct Sample {
    elapsed: Duration,
    found: Option<bool>,
    results: usize,
    probe: Probe,
}

#[allow(clippy::cast_precision_loss)] // counts and nanoseconds well within f64's exact range
fn summarize(kind: Kind, mut samples: Vec<Sample>, baseline_p99: Option<f64>) -> KindReport {
    samples.sort_by_key(|s| s.elapsed);
    let n = samples.len();
    let ms = |q: f64| {
        if n == 0 {
            return 0.0;
        }
        // Nearest rank.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        round3(samples[rank - 1].elapsed.as_secs_f64() * 1000.0)
    };
    let judged: Vec<bool> = samples.iter().filter_map(|s| s.found).collect();
    let p99 = ms(0.99);
    KindReport {
        kind: kind.label(),
        what: kind.what(),
        count: n,
        p50_ms: ms(0.50),
        p95_ms: ms(0.95),
        p99_ms: p99,
        max_ms: ms(1.0),
        p99_ratio: baseline_p99.map_or(1.0, |b| round3(p99 / b.max(1e-6))),
        mean_results: round3(samples.iter().map(|s| s.results as f64).sum::<f64>() / n.max(1) as f64),
        found: (!judged.is_empty())
            .then(|| round3(judged.iter().filter(|f| **f).count() as f64 / judged.len() as f64)),
        verdict: if p99 < TARGET_P99_MS { "pass" } else { "fail" },
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        cpu_model,
        memory_gib: (kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
    }
}

fn print_table(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    writeln!(out, "patient search on {}: {} patients (seed {})", r.store, r.patients, r.seed)?;
    writeln!(out, "machine: {} CPUs, {}, {} GiB", r.machine.cpus, r.machine.cpu_model, r.machine.memory_gib)?;
    if let Some(l) = &r.load {
        writeln!(
            out,
            "load: {:.0} s, {:.0} patients/s ({} writer(s), {} per commit)",
            l.seconds, l.patients_per_second, l.writers, l.batch
        )?;
    }
    writeln!(
        out,
        "{:<15} {:>6} {:>8} {:>8} {:>8} {:>8} {:>9} {:>7} {:>6}  verdict (p99 < {} ms)",
        "kind", "count", "p50 ms", "p95 ms", "p99 ms", "max ms", "p99/base", "found", "rows", r.target_p99_ms
    )?;
    for k in std::iter::once(&r.baseline).chain(&r.kinds) {
        let found = k.found.map_or_else(|| "-".to_owned(), |f| format!("{:.1}%", f * 100.0));
        writeln!(
            out,
            "{:<15} {:>6} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>9.2} {:>7} {:>6.1}  {}",
            k.kind,
            k.count,
            k.p50_ms,
            k.p95_ms,
            k.p99_ms,
            k.max_ms,
            k.p99_ratio,
            found,
            k.mean_results,
            k.verdict
        )?;
    }
    Ok(())
}
