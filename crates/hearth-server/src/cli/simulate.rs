//! `hearth simulate --url URL --api-key KEY [--patients N] [--seed S] [--script book,confirm,…]
//! [--json]`: plays EHR appointment events against a running Hearth over HTTP, as an EHR would. The
//! world and the script are planned in [`crate::appointments::simulation`], which the simulator page
//! shares.
//!
//! Each simulated patient (names, an E.164 phone in the fictional 555-01xx range, an EHR patient id,
//! an appointment, a provider and a location) is derived from the seed alone, and so is every event
//! and its `source_message_id`: a second run with the same seed is answered as a replay and changes
//! nothing. Events go one per request, in the order an EHR would send them, with increasing
//! `event_datetime_utc`; appointment times are in the future, as local wall-clock time in
//! `America/Chicago`.
//!
//! Exit codes: 0 every event answered and none rejected; 1 some events were rejected or failed;
//! 2 nothing could be sent (no key, a bad URL, Hearth unreachable, the key refused).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use hearth_core::Secret;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::appointments::EventResult;

/// The webhook's path under the base URL.
pub const INGEST_PATH: &str = "/api/v1/ingest/appointment-events";

#[allow(unused_imports, reason = "for the other commands that play simulated events (`hearth bench`)")]
pub use crate::appointments::simulation::TIME_ZONE;
pub use crate::appointments::simulation::{MAX_PATIENTS, PlannedEvent, Step, Summary, plan};

/// The arguments of `hearth simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Base URL of the running Hearth.
    #[arg(long, default_value = "http://127.0.0.1:8080", value_name = "URL")]
    pub url: String,
    /// An API key with the `ingest` scope (never printed).
    #[arg(long, env = "HEARTH_SIMULATE_API_KEY", hide_env_values = true, value_name = "KEY",
        value_parser = parse_secret)]
    pub api_key: Option<Secret>,
    /// How many patients, each with one appointment.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PATIENTS)))]
    pub patients: u32,
    /// The same seed plays the same patients and events (a replay changes nothing).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// What happens to each appointment, in order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "book,confirm,reschedule,modify,arrive,visit-end"
    )]
    pub script: Vec<Step>,
    /// Print one JSON object: the counts, then every event and Hearth's answer.
    #[arg(long)]
    pub json: bool,
}

#[expect(clippy::unnecessary_wraps, reason = "the signature clap's value_parser expects")]
fn parse_secret(s: &str) -> Result<Secret, String> {
    Ok(Secret::new(s.trim()))
}

// ---------------------------------------------------------------------------------------------
// Sending.

/// One event and what Hearth answered, for the report.
#[derive(Debug, Clone, Serialize)]
struct EventLine {
    patient: u32,
    patient_id: String,
    /// The EHR's appointment id.
    ehr_appointment_id: String,
    event_type: &'static str,
    source_message_id: String,
    http_status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<String>,
    /// Hearth's appointment id.
    #[serde(skip_serializing_if = "Option::is_none")]
    appointment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reminders: Option<String>,
    notices: Vec<String>,
    replayed: bool,
    reason: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<Value>,
}

impl EventLine {
    fn new(ev: &PlannedEvent, http_status: u16) -> Self {
        Self {
            patient: ev.patient,
            patient_id: ev.patient_id.clone(),
            ehr_appointment_id: ev.appointment_id.clone(),
            event_type: ev.step.event_type(),
            source_message_id: ev.source_message_id.clone(),
            http_status,
            result: None,
            appointment_id: None,
            status: None,
            reminders: None,
            notices: vec![],
            replayed: false,
            reason: String::new(),
            errors: vec![],
        }
    }

    fn answered(mut self, a: EventResult) -> Self {
        self.result = Some(a.result);
        self.appointment_id = a.appointment_id.map(|id| id.to_string());
        self.status = a.status;
        self.reminders = a.reminders;
        self.notices = a.notices;
        self.replayed = a.replayed;
        self.reason = a.reason;
        self.errors = a.errors.iter().filter_map(|e| serde_json::to_value(e).ok()).collect();
        self
    }

    /// One line for people.
    fn text(&self, position: usize, total: usize) -> String {
        let head = format!(
            "[{position:>w$}/{total}] patient {} {:<11} {} ->",
            self.patient_id,
            self.event_type,
            self.ehr_appointment_id,
            w = total.to_string().len()
        );
        let Some(result) = &self.result else {
            return format!("{head} HTTP {}: {}", self.http_status, self.reason);
        };
        if result == "rejected" {
            let why: Vec<String> = self
                .errors
                .iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e["field"].as_str().unwrap_or("?"),
                        e["message"].as_str().unwrap_or_default()
                    )
                })
                .collect();
            return format!(
                "{head} rejected: {}",
                if why.is_empty() { self.reason.clone() } else { why.join("; ") }
            );
        }
        let mut line = format!(
            "{head} {result}: {}, reminders {}",
            self.status.as_deref().unwrap_or("-"),
            self.reminders.as_deref().unwrap_or("-")
        );
        if !self.notices.is_empty() {
            line.push_str(", notices ");
            line.push_str(&self.notices.join(" "));
        }
        if matches!(result.as_str(), "stale" | "ignored") {
            line.push_str(" (");
            line.push_str(&self.reason);
            line.push(')');
        }
        if self.replayed {
            line.push_str(" (replayed)");
        }
        line
    }
}

/// Why a run stopped before the end; printed on stderr, exit code 2.
fn stop(message: &str) -> anyhow::Result<ExitCode> {
    writeln!(std::io::stderr().lock(), "hearth simulate: {message}")?;
    Ok(ExitCode::from(2))
}

/// Plans the run from the seed and sends every event; prints the report and returns the exit code
/// (see the module docs).
pub async fn simulate(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let Some(key) = args.api_key.filter(|k| !k.is_empty()) else {
        return stop(
            "expected an API key with the `ingest` scope: --api-key KEY or the environment variable \
             HEARTH_SIMULATE_API_KEY",
        );
    };
    let base = args.url.trim().trim_end_matches('/').to_owned();
    let endpoint = match reqwest::Url::parse(&format!("{base}{INGEST_PATH}")) {
        Ok(u) if u.scheme() == "http" => u,
        Ok(u) => {
            return stop(&format!(
                "--url {base}: `{}` is not supported; expected plain http://HOST:PORT (Hearth's own \
                 listener, e.g. http://127.0.0.1:8080)",
                u.scheme()
            ));
        }
        Err(e) => return stop(&format!("--url {base}: {e}; expected e.g. http://127.0.0.1:8080")),
    };
    // The EHR's clock starts at the beginning of today (UTC), so a run repeated the same day sends
    // byte-identical events; a later day differs only in times, and the message ids still match.
    let anchor = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).start_of_day()?.timestamp();
    let events = plan(args.seed, args.patients, &args.script, anchor)?;
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_mins(1))
        .redirect(reqwest::redirect::Policy::none())
        .build()?;

    let mut summary = Summary::default();
    let mut lines = Vec::with_capacity(events.len());
    let total = events.len();
    for (i, ev) in events.iter().enumerate() {
        let line = match send(&client, &endpoint, &key, &base, ev).await {
            Ok(line) => line,
            Err(why) => return stop(&why),
        };
        summary.sent += 1;
        match &line.result {
            Some(_) => summary.count(line.replayed, line.result.as_deref().unwrap_or_default()),
            None => summary.failed += 1,
        }
        if !args.json {
            writeln!(std::io::stdout().lock(), "{}", line.text(i + 1, total))?;
        }
        lines.push(line);
    }

    let mut out = std::io::stdout().lock();
    if args.json {
        #[derive(Serialize)]
        struct Report<'a> {
            #[serde(flatten)]
            summary: &'a Summary,
            events: &'a [EventLine],
        }
        let report = serde_json::to_string(&Report { summary: &summary, events: &lines })?;
        writeln!(out, "{report}")?;
    } else {
        let s = &summary;
        writeln!(
            out,
            "sent {} events for {} patients (seed {}): {} created, {} updated, {} unchanged ({} replayed), \
             {} stale, {} ignored, {} rejected, {} failed",
            s.sent,
            args.patients,
            args.seed,
            s.created,
            s.updated,
            s.unchanged,
            s.replayed,
            s.stale,
            s.ignored,
            s.rejected,
            s.failed
        )?;
    }
    Ok(if summary.rejected == 0 && summary.failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Sends one event; its line in the report, or why the whole run must stop (Hearth unreachable, the
/// key refused, no webhook at that URL).
async fn send(
    client: &reqwest::Client,
    endpoint: &reqwest::Url,
    key: &Secret,
    base: &str,
    ev: &PlannedEvent,
) -> Result<EventLine, String> {
    let res = client.post(endpoint.clone()).bearer_auth(key.expose()).json(&ev.body).send().await;
    let res = match res {
        Ok(r) => r,
        Err(e) if e.is_connect() => {
            return Err(format!(
                "cannot connect to {base} ({}); is Hearth running there (`hearth serve`), and are the \
                 host and port those of its listener (`listen`, default 127.0.0.1:8080)?",
                error_chain(&e)
            ));
        }
        Err(e) if e.is_timeout() => {
            return Err(format!(
                "{base} did not answer in time ({}); is it Hearth, and is it overloaded?",
                error_chain(&e)
            ));
        }
        Err(e) => return Err(format!("request to {base} failed: {}", error_chain(&e))),
    };
    let status = res.status().as_u16();
    match status {
        401 => {
            return Err(format!(
                "{base} refused the API key (401): it is unknown, revoked or mistyped; expected a key \
                 with the `ingest` scope"
            ));
        }
        403 => {
            return Err(format!(
                "{base} refused the API key (403): it lacks the `ingest` scope; create a key with the \
                 `ingest` scope"
            ));
        }
        404 | 405 => {
            return Err(format!(
                "{base} has no appointment-event webhook at {INGEST_PATH} (HTTP {status}); is --url \
                 Hearth's base URL?"
            ));
        }
        _ => {}
    }
    let body = res.text().await.unwrap_or_default();
    let mut line = EventLine::new(ev, status);
    if status == 202 {
        let answer = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("results")?.get(0).cloned())
            .and_then(|r| serde_json::from_value::<EventResult>(r).ok());
        match answer {
            Some(a) => line = line.answered(a),
            None => line.reason = format!("202 without a per-event answer: {}", truncate(&body, 200)),
        }
    } else {
        line.reason = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| truncate(&body, 200));
    }
    Ok(line)
}

/// An error and its causes, on one line (reqwest's own message alone hides the reason).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn truncate(s: &str, max: usize) -> String {
    let s = s.trim();
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_is_read_by_name_with_the_wire_names_as_aliases() {
        use clap::Parser;
        #[derive(Debug, Parser)]
        struct T {
            #[command(flatten)]
            args: SimulateArgs,
        }
        let t = T::try_parse_from(["t", "--api-key", "k", "--script", "booked,cancelled,visit-end,NOSHOW"]);
        // Value names are case-sensitive in clap; the upper-case one is refused, naming the choices.
        let err = t.unwrap_err().to_string();
        assert!(err.contains("NOSHOW") && err.contains("noshow"), "{err}");
        let t =
            T::try_parse_from(["t", "--api-key", "k", "--script", "booked,cancelled,visit-end,fulfilled"])
                .unwrap();
        assert_eq!(t.args.script, [Step::Book, Step::Cancel, Step::VisitEnd, Step::VisitEnd]);
        assert!(!format!("{t:?}").contains("\"k\""), "the key is never printed: {t:?}");
        let t = T::try_parse_from(["t"]).unwrap();
        assert_eq!(t.args.script.len(), 6);
        assert_eq!(t.args.patients, 3);
        assert!(T::try_parse_from(["t", "--patients", "0"]).is_err());
    }
}
