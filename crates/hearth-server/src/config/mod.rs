//! Hearth's configuration: one typed struct, layered defaults < `hearth.toml` < `HEARTH_*` environment
//! (secrets also from `HEARTH_*_FILE`) < command-line flags. Unknown keys are errors that name the key
//! and the closest valid one. See `docs/configuration.md`.

mod load;
mod providers;
mod replies;
mod report;

use std::net::SocketAddr;
use std::path::PathBuf;

use hearth_core::Secret;
use serde::{Deserialize, Serialize};

pub use load::{ConfigError, Overrides, Sources, load};
pub use providers::{
    ProviderChoice, ProvidersConfig, SendgridConfig, SmtpConfig, SmtpTls, TwilioConfig, WebhookConfig,
};
pub use replies::{RepliesConfig, WritebackConfig, WritebackMethod};
pub use report::{EXAMPLE_TOML, ReportRow};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the web server listens on.
    pub listen: SocketAddr,
    /// Directory for Hearth's own files (the SQLite database by default).
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`. Default: `sqlite://<data_dir>/hearth.db`.
    pub database_url: Option<Secret>,
    /// Largest number of open database connections.
    pub database_max_connections: u32,
    /// The URL people and webhooks use to reach Hearth. Default: `http://<listen>`.
    pub public_url: Option<String>,
    pub log: LogConfig,
    pub http: HttpConfig,
    pub workers: WorkersConfig,
    pub auth: AuthConfig,
    pub patients: PatientsConfig,
    pub encryption: EncryptionConfig,
    pub integrations: IntegrationsConfig,
    /// Who carries each message channel (Twilio, SMTP, SendGrid, a signed webhook, or the local
    /// outbox).
    pub providers: ProvidersConfig,
    pub outbox: OutboxConfig,
    pub reminders: RemindersConfig,
    /// How patient replies are understood and answered (docs/replies.md).
    pub replies: RepliesConfig,
    /// How a patient's confirm or cancel request reaches the EHR (docs/replies.md).
    pub writeback: WritebackConfig,
}

/// The durable outbox and its workers (docs/outbox.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    /// Outbox worker loops in this process (0: none; another process sends).
    pub workers: u32,
    /// Messages one worker claims at a time.
    pub batch_size: u32,
    /// Provider calls in flight per worker.
    pub concurrency: u32,
    /// How long a claim holds a message; a message still `sending` after that is reconciled with the
    /// provider before any resend.
    pub lease_secs: u64,
    /// Send attempts before a message is `dead` (only 429, 5xx, timeouts and connection errors are
    /// retried).
    pub max_attempts: u32,
    /// Longest sleep of an idle worker; a new message wakes the workers of this process at once.
    pub idle_poll_secs: u64,
    /// Longest wait for one provider call.
    pub send_timeout_secs: u64,
    /// Send every message as JSON to this HTTP endpoint instead of the channel providers (tests,
    /// benchmarks, local integrations; see docs/outbox.md "Loopback provider"). Unset: the providers.
    pub loopback_url: Option<String>,
    /// Per-sender pacing, shared by every worker through the store.
    pub pacing: Vec<PacingRule>,
}

/// A token bucket for one sender (`provider:from`, e.g. `twilio:+15550001111` or `twilio:default`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacingRule {
    pub sender: String,
    /// Messages (or segments) per second.
    pub per_second: f64,
    /// `messages` (default) or `segments` (an SMS of three segments costs three).
    #[serde(default = "default_pace_unit")]
    pub unit: String,
    /// Tokens that may gather while the sender is idle [default: one second's worth, at least 1].
    #[serde(default)]
    pub burst: Option<f64>,
}

fn default_pace_unit() -> String {
    "messages".into()
}

/// Reminder scheduling and event notices (docs/reminders.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemindersConfig {
    /// Scheduler loops in this process (0: none; another process plans).
    pub workers: u32,
    /// Send event notices (booked, rescheduled, changed, canceled, missed, confirmed).
    pub notices: bool,
    /// What patients reply to confirm (the templates' `reply_confirm_word`).
    pub confirm_word: String,
    /// What patients reply to cancel, per language (others use English).
    pub cancel_words: CancelWords,
}

/// The cancel word messages name, per built-in language.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CancelWords {
    pub en: String,
    pub es: String,
    pub ar: String,
}

impl Default for CancelWords {
    fn default() -> Self {
        Self { en: "CANCEL APPT".into(), es: "CANCELAR CITA".into(), ar: "إلغاء الموعد".into() }
    }
}

impl CancelWords {
    /// The word for a BCP 47 language tag (its primary language), else English.
    pub fn for_language(&self, tag: &str) -> &str {
        match tag.split('-').next().unwrap_or("en") {
            "es" => &self.es,
            "ar" => &self.ar,
            _ => &self.en,
        }
    }
}

impl Default for RemindersConfig {
    fn default() -> Self {
        Self { workers: 1, notices: true, confirm_word: "C".into(), cancel_words: CancelWords::default() }
    }
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            batch_size: 100,
            concurrency: 32,
            lease_secs: 60,
            max_attempts: 8,
            idle_poll_secs: 5,
            send_timeout_secs: 30,
            loopback_url: None,
            pacing: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntegrationsConfig {
    /// Integration event codes that mean the patient arrived (case-insensitive).
    pub arrival_codes: Vec<String>,
    /// Integration event codes that mean the visit ended (case-insensitive).
    pub discharge_codes: Vec<String>,
}

impl Default for IntegrationsConfig {
    fn default() -> Self {
        let list = |codes: &[&str]| codes.iter().map(|c| (*c).to_owned()).collect();
        Self {
            arrival_codes: list(&["ARRIVAL", "ARRIVED", "CHECK_IN", "CHECKED_IN", "A04"]),
            discharge_codes: list(&["DISCHARGE", "DISCHARGED", "VISIT_END", "A03"]),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EncryptionConfig {
    /// Encryption keys as `id:base64key` separated by commas; the last one encrypts, all decrypt.
    /// When unset, Hearth keeps its keys in `keyring_file`.
    pub keys: Option<Secret>,
    /// The keyring file used when `keys` is unset; created with one random key on first start.
    /// Default: `<data_dir>/keyring`.
    pub keyring_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PatientsConfig {
    /// How generated MRNs look: `{year}`, `{seq}` or `{seq:N}` (zero-padded to N digits).
    pub mrn_pattern: String,
    /// Country (ISO 3166 alpha-2) for phone numbers written without a country code.
    pub phone_region: String,
    /// Identifier systems whose values are sensitive: encrypted at rest, masked in output.
    pub sensitive_identifier_systems: Vec<String>,
}

impl Default for PatientsConfig {
    fn default() -> Self {
        Self {
            mrn_pattern: "MRN-{year}{seq:6}".into(),
            phone_region: "US".into(),
            sensitive_identifier_systems: vec!["http://hl7.org/fhir/sid/us-ssn".into()],
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// A session unused for this long ends.
    pub session_idle_minutes: u64,
    /// A session ends this long after sign-in, however active.
    pub session_absolute_hours: u64,
    /// Failed sign-ins in a row that lock an account.
    pub lockout_threshold: u32,
    /// How long a locked account stays locked.
    pub lockout_minutes: u64,
    /// Sign-in attempts allowed per client IP address per minute.
    pub login_attempts_per_minute_per_ip: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            lockout_threshold: 5,
            lockout_minutes: 15,
            login_attempts_per_minute_per_ip: 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter: `info`, `debug`, `hearth_server=debug,info`. `RUST_LOG` overrides it.
    pub level: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line (for log collectors).
    Json,
    /// Human-readable lines (for a terminal).
    Pretty,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// A request still running after this many seconds is abandoned with `request_timeout`.
    pub request_timeout_secs: u64,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// On SIGTERM/SIGINT, how long in-flight requests may take to finish.
    pub shutdown_grace_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkersConfig {
    /// How often each background worker reports that it is alive; `/health` fails a worker that has
    /// been silent for three intervals.
    pub heartbeat_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./hearth-data"),
            database_url: None,
            database_max_connections: 16,
            public_url: None,
            log: LogConfig::default(),
            http: HttpConfig::default(),
            workers: WorkersConfig::default(),
            auth: AuthConfig::default(),
            patients: PatientsConfig::default(),
            encryption: EncryptionConfig::default(),
            integrations: IntegrationsConfig::default(),
            providers: ProvidersConfig::default(),
            outbox: OutboxConfig::default(),
            reminders: RemindersConfig::default(),
            replies: RepliesConfig::default(),
            writeback: WritebackConfig::default(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { level: "info".into(), format: LogFormat::Json }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self { request_timeout_secs: 30, max_body_bytes: 2 * 1024 * 1024, shutdown_grace_secs: 30 }
    }
}

impl Default for WorkersConfig {
    fn default() -> Self {
        Self { heartbeat_secs: 5 }
    }
}

impl Config {
    /// The keyring file in effect (used when `encryption.keys` is unset).
    pub fn keyring_file(&self) -> PathBuf {
        self.encryption.keyring_file.clone().unwrap_or_else(|| self.data_dir.join("keyring"))
    }

    /// The database URL in effect: the configured one, or SQLite inside `data_dir`.
    pub fn database_url(&self) -> Secret {
        self.database_url.clone().unwrap_or_else(|| {
            let path = self.data_dir.join("hearth.db");
            Secret::new(format!("sqlite://{}", path.display()))
        })
    }

    /// The database URL with any password replaced by `***`, for display.
    pub fn database_url_redacted(&self) -> String {
        redact_url_password(self.database_url().expose())
    }

    /// The base URL Twilio calls back and signs: `providers.twilio.public_url`, else `public_url`.
    pub fn twilio_public_url(&self) -> String {
        match &self.providers.twilio.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => self.public_url(),
        }
    }

    /// The public base URL without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    /// A configuration for tests: an ephemeral port and the given database.
    pub fn for_tests(database_url: &str) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: Some(Secret::new(database_url)),
            database_max_connections: 4,
            // Tests drive the outbox by hand (`notifications::worker::run_once`).
            outbox: OutboxConfig { workers: 0, ..OutboxConfig::default() },
            // And the scheduler (`reminders::run_once`).
            reminders: RemindersConfig { workers: 0, ..RemindersConfig::default() },
            encryption: EncryptionConfig {
                keys: Some(Secret::new(
                    hearth_core::crypto::Keyring::new_key_line("k1").replacen(' ', ":", 1),
                )),
                keyring_file: None,
            },
            ..Self::default()
        }
    }

    /// Checks that cannot be expressed in types. Each error names the key.
    fn validate(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            errors.push(format!("public_url: expected an http:// or https:// URL, got `{url}`"));
        }
        let db = self.database_url();
        let db = db.expose();
        if !(db.starts_with("sqlite:") || db.starts_with("postgres:") || db.starts_with("postgresql:")) {
            errors.push("database_url: expected a URL starting with sqlite: or postgres:".into());
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            errors.push(format!(
                "log.level: `{}` is not a valid filter; expected e.g. `info` or `hearth_server=debug,info`",
                self.log.level
            ));
        }
        if self.database_max_connections == 0 {
            errors.push("database_max_connections: expected at least 1".into());
        }
        if self.http.request_timeout_secs == 0 {
            errors.push("http.request_timeout_secs: expected at least 1".into());
        }
        if self.auth.session_idle_minutes == 0 || self.auth.session_absolute_hours == 0 {
            errors.push(
                "auth.session_idle_minutes and auth.session_absolute_hours: expected at least 1".into(),
            );
        }
        if self.auth.lockout_threshold == 0 || self.auth.login_attempts_per_minute_per_ip == 0 {
            errors.push(
                "auth.lockout_threshold and auth.login_attempts_per_minute_per_ip: expected at least 1"
                    .into(),
            );
        }
        if let Err(e) = crate::patients::mrn::check_pattern(&self.patients.mrn_pattern) {
            errors.push(format!("patients.mrn_pattern: {e}"));
        }
        if self.patients.phone_region.parse::<phonenumber::country::Id>().is_err() {
            errors.push(format!(
                "patients.phone_region: `{}` is not a country code; expected two letters such as US, GB, MX",
                self.patients.phone_region
            ));
        }
        errors.extend(self.outbox.problems());
        if self.workers.heartbeat_secs == 0 {
            errors.push("workers.heartbeat_secs: expected at least 1".into());
        }
        errors.extend(self.providers.validate());
        errors.extend(self.replies.problems());
        errors.extend(self.writeback.problems());
        errors
    }
}

impl OutboxConfig {
    fn problems(&self) -> Vec<String> {
        let mut errors = Vec::new();
        for (key, v) in [
            ("batch_size", u64::from(self.batch_size)),
            ("concurrency", u64::from(self.concurrency)),
            ("lease_secs", self.lease_secs),
            ("max_attempts", u64::from(self.max_attempts)),
            ("idle_poll_secs", self.idle_poll_secs),
            ("send_timeout_secs", self.send_timeout_secs),
        ] {
            if v == 0 {
                errors.push(format!("outbox.{key}: expected at least 1"));
            }
        }
        if self.batch_size > 1000 {
            errors.push("outbox.batch_size: expected at most 1000".into());
        }
        if let Some(url) = &self.loopback_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            errors.push(format!("outbox.loopback_url: expected an http:// URL, got `{url}`"));
        }
        for (i, p) in self.pacing.iter().enumerate() {
            if !(p.per_second.is_finite() && p.per_second > 0.0) {
                errors.push(format!("outbox.pacing[{i}].per_second: expected a positive number"));
            }
            if !matches!(p.unit.as_str(), "messages" | "segments") {
                errors.push(format!("outbox.pacing[{i}].unit: expected `messages` or `segments`"));
            }
            if p.burst.is_some_and(|b| !(b.is_finite() && b >= 1.0)) {
                errors.push(format!("outbox.pacing[{i}].burst: expected at least 1"));
            }
            if p.sender.split_once(':').is_none_or(|(a, b)| a.is_empty() || b.is_empty()) {
                errors.push(format!(
                    "outbox.pacing[{i}].sender: expected provider:from, e.g. twilio:+15550001111 or twilio:default"
                ));
            }
        }
        errors
    }
}

fn redact_url_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &rest[..at];
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end], &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_database_urls() {
        assert_eq!(
            redact_url_password("postgres://hearth:s3cr3t@db:5432/hearth"),
            "postgres://hearth:***@db:5432/hearth"
        );
        assert_eq!(redact_url_password("postgres://hearth@db/hearth"), "postgres://hearth@db/hearth");
        assert_eq!(
            redact_url_password("sqlite://./hearth-data/hearth.db"),
            "sqlite://./hearth-data/hearth.db"
        );
    }

    #[test]
    fn default_database_follows_data_dir() {
        let mut c = Config::default();
        assert_eq!(c.database_url().expose(), "sqlite://./hearth-data/hearth.db");
        c.data_dir = "/var/lib/hearth".into();
        assert_eq!(c.database_url().expose(), "sqlite:///var/lib/hearth/hearth.db");
    }
}
