//! The EHR simulator page (`/admin/simulate`): seeded patients and a script of EHR events, planned as
//! `hearth simulate` plans them and applied in process through the ingest engine the webhook uses,
//! with every event's answer and a link to each appointment's timeline.
//!
//! Hearth has no "test instance" setting, so the page is for administrators only: it needs
//! `ingest:write`, which only the PX admin and hospital admin roles hold.

use askama::Template;
use axum::extract::{RawForm, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clap::ValueEnum;

use super::{Nav, Page, error_page};
use crate::appointments::simulation::{self, Played, SOURCE_SYSTEM, Step, Summary};
use crate::auth::{Authorized, perms};
use crate::error::FieldError;
use crate::state::AppState;

/// At most this many patients per run from the page (the CLI allows more).
pub const MAX_PATIENTS: u32 = 50;
/// The script ticked when the page opens: `hearth simulate`'s default.
const DEFAULT_SCRIPT: &[Step] =
    &[Step::Book, Step::Confirm, Step::Reschedule, Step::Modify, Step::Arrive, Step::VisitEnd];

/// The form as sent (text, so a wrong value is shown again as typed).
pub struct SimulateForm {
    pub patients: String,
    pub seed: String,
    pub script: Vec<Step>,
}

impl Default for SimulateForm {
    fn default() -> Self {
        Self { patients: "3".into(), seed: "1".into(), script: DEFAULT_SCRIPT.to_vec() }
    }
}

/// One script step as a checkbox: its name in `--script`, what it sends, and whether it is ticked.
pub struct StepChoice {
    pub value: String,
    pub help: String,
    pub checked: bool,
}

/// One event and its answer, for the page.
pub struct EventRow {
    pub patient_id: String,
    pub ehr_appointment_id: String,
    pub event_type: &'static str,
    pub result: String,
    pub replayed: bool,
    pub status: String,
    pub reminders: String,
    pub reason: String,
    pub link: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/simulate.html")]
pub struct SimulatePage {
    pub nav: Nav,
    pub f: SimulateForm,
    pub steps: Vec<StepChoice>,
    pub errors: Vec<FieldError>,
    /// The run, if one was made: the counts and every event.
    pub summary: Option<Summary>,
    pub events: Vec<EventRow>,
    pub source_system: &'static str,
    pub max_patients: u32,
}

impl SimulatePage {
    fn new(auth: &Authorized<perms::IngestWrite>, f: SimulateForm) -> Self {
        let steps = Step::value_variants()
            .iter()
            .filter_map(|s| {
                let v = s.to_possible_value()?;
                Some(StepChoice {
                    value: v.get_name().to_owned(),
                    help: v.get_help().map(ToString::to_string).unwrap_or_default(),
                    checked: f.script.contains(s),
                })
            })
            .collect();
        Self {
            nav: Nav::new(&auth.actor, &auth.csrf, "/admin/simulate"),
            f,
            steps,
            errors: Vec::new(),
            summary: None,
            events: Vec::new(),
            source_system: SOURCE_SYSTEM,
            max_patients: MAX_PATIENTS,
        }
    }
}

pub async fn show_simulate(auth: Authorized<perms::IngestWrite>) -> Response {
    Page(SimulatePage::new(&auth, SimulateForm::default())).into_response()
}

pub async fn run_simulation(
    State(app): State<AppState>,
    auth: Authorized<perms::IngestWrite>,
    RawForm(body): RawForm,
) -> Response {
    // Checkboxes repeat the `step` key, which a struct cannot hold; read the pairs.
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let value =
        |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    let mut errors = Vec::new();
    let mut script = Vec::new();
    for (_, v) in pairs.iter().filter(|(k, _)| k == "step") {
        // Parsed as the CLI parses `--script`, aliases included.
        match Step::from_str(v, false) {
            Ok(step) => script.push(step),
            Err(_) => errors.push(FieldError::new("script", format!("`{v}` is not a step of the script"))),
        }
    }
    if script.is_empty() && errors.is_empty() {
        errors.push(FieldError::new("script", "tick at least one step"));
    }
    let f = SimulateForm { patients: value("patients"), seed: value("seed"), script };
    let patients = f.patients.parse::<u32>().ok().filter(|n| (1..=MAX_PATIENTS).contains(n));
    if patients.is_none() {
        errors.push(FieldError::new("patients", format!("expected a whole number from 1 to {MAX_PATIENTS}")));
    }
    let seed = f.seed.parse::<u64>().ok();
    if seed.is_none() {
        errors.push(FieldError::new("seed", "expected a whole number, 0 or more"));
    }
    let mut page = SimulatePage::new(&auth, f);
    let (Some(patients), Some(seed), true) = (patients, seed, errors.is_empty()) else {
        page.errors = errors;
        return (StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response();
    };
    let now = app.clock.now().get();
    match simulation::play(&app, &auth.actor, seed, patients, &page.f.script, now).await {
        Ok((summary, played)) => {
            page.events = played.into_iter().map(event_row).collect();
            page.summary = Some(summary);
            Page(page).into_response()
        }
        Err(e) => error_page(&e),
    }
}

fn event_row(p: Played) -> EventRow {
    let a = p.answer;
    let mut reason = a.reason;
    if a.result == "rejected" && !a.errors.is_empty() {
        reason =
            a.errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
    }
    EventRow {
        patient_id: p.event.patient_id,
        ehr_appointment_id: p.event.appointment_id,
        event_type: p.event.step.event_type(),
        result: a.result,
        replayed: a.replayed,
        status: a.status.unwrap_or_default(),
        reminders: a.reminders.unwrap_or_default(),
        reason,
        link: a.appointment_id.map(|id| format!("/appointments/{id}")),
    }
}
