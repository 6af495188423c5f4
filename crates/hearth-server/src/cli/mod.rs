//! The `hearth` command line. Each subcommand lives in its own file and calls the same code as the
//! web layer.

mod admin;
mod audit;
mod bench;
mod config;
mod import;
mod keys;
mod matching;
mod migrate;
mod outbox;
mod reminders;
mod serve;
mod simulate;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Overrides;

#[derive(Debug, Parser)]
#[command(name = "hearth", version, about = "Hearth: patient engagement for clinics, in one binary.")]
pub struct Cli {
    /// Configuration file [default: hearth.toml if present; env: HEARTH_CONFIG].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080; env: HEARTH_LISTEN].
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Directory for Hearth's data [default: ./hearth-data; env: HEARTH_DATA_DIR].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server and background workers (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Administer staff accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Check the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Patient records.
    #[command(subcommand)]
    Patients(PatientsCommand),
    /// Encryption keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Benchmarks: timed against a baseline measured in the same run (see BENCHMARKS.md).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Import data exported by other systems.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Reminder planning.
    #[command(subcommand)]
    Reminders(RemindersCommand),
    /// The outbox: counts, retry or cancel a message.
    #[command(subcommand)]
    Outbox(outbox::OutboxCommand),
    /// Play simulated EHR appointment events against a running Hearth over HTTP (same seed, same
    /// events: a second run is answered as replays).
    Simulate(simulate::SimulateArgs),
}

#[derive(Debug, Subcommand)]
pub enum RemindersCommand {
    /// Print what the planner decides for one appointment under a rule: each reminder's due time,
    /// send time (local and UTC) and decision with its reason. Exit 2 on a bad option.
    Explain(reminders::ExplainArgs),
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import an EHR's CSV schedule export with a mapping file; `--dry-run` reports what would
    /// change. Exit 1 when some lines have errors (the valid rows are imported), 2 when none is read.
    Schedule(import::ScheduleArgs),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Load N realistic patients (default one million) and time every kind of patient search.
    PatientSearch(bench::PatientSearchArgs),
    /// EHR event ingest through HTTP: batched, and single events from concurrent clients, against the
    /// disk's durable-commit rate measured in the same run.
    Ingest(bench::IngestArgs),
    /// A streamed export of N appointments (default one million): rows/s and peak memory against an
    /// export of one percent of them.
    Export(bench::ExportArgs),
    /// N messages through the outbox workers to a loopback HTTP provider, against the raw batch-claim
    /// rate of the same store measured in the same run.
    Dispatch(bench::DispatchArgs),
    /// The reminder planner over N appointments (default one million): first plan and re-plan after a
    /// rule change against computing due times only, peak heap; the scheduler through the store; the
    /// idle scheduler's CPU.
    Reminders(bench::RemindersArgs),
    /// The public survey page at a fixed rate (default 1,000 requests/s, open loop): p50/p95/p99
    /// against a hello-world axum server driven the same way in the same run.
    SurveyPage(bench::SurveyPageArgs),
}

#[derive(Debug, Subcommand)]
pub enum PatientsCommand {
    /// Measure duplicate detection on a FEBRL-style records file and its true links (in memory;
    /// soc_sec_id is ignored).
    EvalMatching {
        /// CSV with a header; first column rec_id.
        records: PathBuf,
        /// CSV with a header and two rec_id columns per true pair.
        links: PathBuf,
        /// Print {"precision":…,"recall":…,"f1":…,"pairs_predicted":…}.
        #[arg(long)]
        json: bool,
    },
    /// Check every active patient for duplicates and fill the review queue.
    FindDuplicates,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a key to the keyring file (or use the last of `encryption.keys`) and re-encrypt every
    /// sensitive value and TOTP secret under it.
    Rotate {
        /// Print {"active_key":…,"added_key":…,"patient_values":…,"totp_secrets":…}.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a PX admin (and the organization, if new).
    Create(admin::CreateArgs),
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify every organization's hash chain; names the first broken link.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print every effective value and where it came from (secrets
    /// masked).
    Check,
    /// Print a commented example configuration file with every key and its default.
    Example,
}

impl Cli {
    pub fn overrides(&self) -> Overrides {
        Overrides { config_path: self.config.clone(), listen: self.listen, data_dir: self.data_dir.clone() }
    }
}

/// Runs the parsed command line; the exit code is the return value.
pub async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let overrides = cli.overrides();
    match cli.command {
        Some(Command::Config(ConfigCommand::Example)) => config::example(),
        Some(Command::Config(ConfigCommand::Check)) => config::check(&overrides),
        Some(Command::Migrate) => migrate::run(&overrides).await,
        Some(Command::Admin(AdminCommand::Create(args))) => admin::create(&overrides, args).await,
        Some(Command::Audit(AuditCommand::Verify)) => audit::verify(&overrides).await,
        Some(Command::Patients(PatientsCommand::FindDuplicates)) => {
            matching::find_duplicates(&overrides).await
        }
        Some(Command::Patients(PatientsCommand::EvalMatching { records, links, json })) => {
            matching::eval_matching(&records, &links, json)
        }
        Some(Command::Keys(KeysCommand::Rotate { json })) => keys::rotate(&overrides, json).await,
        Some(Command::Bench(BenchCommand::PatientSearch(args))) => bench::patient_search(args).await,
        Some(Command::Bench(BenchCommand::Ingest(args))) => bench::ingest(args).await,
        Some(Command::Bench(BenchCommand::Export(args))) => bench::export(args).await,
        Some(Command::Bench(BenchCommand::Dispatch(args))) => bench::dispatch(args).await,
        Some(Command::Bench(BenchCommand::Reminders(args))) => bench::reminders(args).await,
        Some(Command::Bench(BenchCommand::SurveyPage(args))) => bench::survey_page(args).await,
        Some(Command::Outbox(cmd)) => outbox::run(&overrides, cmd).await,
        Some(Command::Import(ImportCommand::Schedule(args))) => import::schedule(&overrides, args).await,
        Some(Command::Reminders(RemindersCommand::Explain(args))) => {
            reminders::explain(&overrides, &args).await
        }
        Some(Command::Simulate(args)) => simulate::simulate(args).await,
        Some(Command::Serve) | None => serve::run(&overrides).await,
    }
}

/// The process environment, for configuration loading.
fn env_vars() -> Vec<(String, String)> {
    std::env::vars().collect()
}

/// Loads the configuration or explains why not (on stderr) with exit code 2.
fn load_config(
    overrides: &Overrides,
) -> Result<(crate::config::Config, crate::config::Sources), std::process::ExitCode> {
    crate::config::load(overrides, &env_vars()).map_err(|e| {
        let mut err = std::io::stderr().lock();
        let _ = std::io::Write::write_fmt(&mut err, format_args!("hearth: configuration refused:\n"));
        for line in &e.0 {
            let _ = std::io::Write::write_fmt(&mut err, format_args!("  - {line}\n"));
        }
        std::process::ExitCode::from(2)
    })
}
