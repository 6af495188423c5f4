//! Importing a schedule that has been read: the rows go through the ingest engine as one batch, and
//! the reader's findings and the engine's answers are put together line by line. Shared by
//! `hearth import schedule` and the upload page (`/appointments/import`), so both answer alike.

use hearth_core::{AppointmentId, OrgId};
use serde::Serialize;
use serde_json::Value;

use super::{LineError, Mapping, Schedule, chained_message_id};
use crate::appointments::{EventResult, IngestReport};
use crate::auth::Actor;
use crate::error::AppError;
use crate::state::AppState;

/// What happened to one line, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct LineReport {
    pub line: usize,
    /// created | updated | unchanged | ignored | skipped | error
    pub result: &'static str,
    /// The EHR's appointment id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appointment_id: Option<String>,
    /// Hearth's id for the appointment, when the engine answered with one (a dry run's new
    /// appointments have one too, though nothing was written).
    #[serde(skip)]
    pub hearth_id: Option<AppointmentId>,
    /// FHIR status after the row (created, updated, unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The column (or field) in error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why: the error, the reason for skipping or ignoring, or what the event did.
    pub message: String,
}

/// The counts. `errors` counts lines, not problems (a line may have several).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub rows: usize,
    pub creates: usize,
    pub updates: usize,
    pub unchanged: usize,
    pub ignored: usize,
    pub skipped: usize,
    pub errors: usize,
}

/// The result of an import (or of a dry run): the counts and every line, in file order.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    #[serde(flatten)]
    pub summary: ImportSummary,
    pub lines: Vec<LineReport>,
}

/// Imports `schedule` (read with `mapping`) into the actor's organization through the ingest engine,
/// in one transaction; with `dry_run`, answers as if imported and writes nothing. An `Err` means
/// nothing was written.
pub async fn import(
    app: &AppState,
    actor: &Actor,
    mapping: &Mapping,
    mut schedule: Schedule,
    dry_run: bool,
) -> Result<ImportReport, AppError> {
    chain_ids(app, actor.org, &mapping.source, &mut schedule).await?;
    let events: Vec<Value> = schedule.events.iter().map(|e| e.event.clone()).collect();
    let report = if events.is_empty() {
        IngestReport { results: vec![] }
    } else {
        crate::appointments::ingest(app, actor, events, dry_run).await?
    };
    let (summary, lines) = combine(&schedule, &report, mapping);
    Ok(ImportReport { summary, lines })
}

/// Links each row's content hash to the last event applied to its appointment from this source, so a
/// return to an earlier state is applied while a repeated row is a replay (see
/// [`chained_message_id`]).
async fn chain_ids(
    app: &AppState,
    org: OrgId,
    source: &str,
    schedule: &mut Schedule,
) -> Result<(), AppError> {
    let mut known = Vec::new();
    let mut tx = app.store.begin().await?;
    for (i, row) in schedule.events.iter().enumerate() {
        if let Some(a) = tx.appointment_by_external_id(org, source, &row.appointment_id).await? {
            known.push((i, a.id));
        }
    }
    tx.rollback().await?;
    for (i, appointment) in known {
        let history = app.store.appointment_events(org, appointment).await?;
        let last = history
            .iter()
            .rev()
            .find(|e| e.outcome == "applied" && e.source == source)
            .map(|e| e.source_message_id.as_str());
        if let Some(Value::String(id)) = schedule.events[i].event.get_mut("source_message_id") {
            *id = chained_message_id(id, last);
        }
    }
    Ok(())
}

/// Puts the reader's findings and the engine's answers together, line by line.
fn combine(
    schedule: &Schedule,
    report: &IngestReport,
    mapping: &Mapping,
) -> (ImportSummary, Vec<LineReport>) {
    let mut summary =
        ImportSummary { rows: schedule.rows, skipped: schedule.skipped.len(), ..ImportSummary::default() };
    let mut lines: Vec<LineReport> = Vec::new();
    let mut error_lines: Vec<usize> = schedule.errors.iter().map(|e| e.line).collect();
    lines.extend(schedule.errors.iter().map(|e: &LineError| LineReport {
        line: e.line,
        result: "error",
        appointment_id: None,
        hearth_id: None,
        status: None,
        field: Some(e.field.clone()),
        message: e.message.clone(),
    }));
    lines.extend(schedule.skipped.iter().map(|s| LineReport {
        line: s.line,
        result: "skipped",
        appointment_id: None,
        hearth_id: None,
        status: None,
        field: None,
        message: s.reason.clone(),
    }));
    for (i, row) in schedule.events.iter().enumerate() {
        let Some(r) = report.results.iter().find(|r| r.index == i) else { continue };
        let base = LineReport {
            line: row.line,
            result: "error",
            appointment_id: Some(row.appointment_id.clone()),
            hearth_id: r.appointment_id,
            status: r.status.clone(),
            field: None,
            message: r.reason.clone(),
        };
        match classify(r) {
            "error" => {
                error_lines.push(row.line);
                if r.errors.is_empty() {
                    lines.push(base.clone());
                }
                for e in &r.errors {
                    lines.push(LineReport {
                        field: Some(mapping.column_for(&e.field).unwrap_or_else(|| e.field.clone())),
                        message: e.message.clone(),
                        ..base.clone()
                    });
                }
            }
            result => {
                match result {
                    "created" => summary.creates += 1,
                    "updated" => summary.updates += 1,
                    "unchanged" => summary.unchanged += 1,
                    _ => summary.ignored += 1,
                }
                let message = if r.replayed { "already imported".to_owned() } else { base.message.clone() };
                lines.push(LineReport { result, message, ..base });
            }
        }
    }
    error_lines.sort_unstable();
    error_lines.dedup();
    summary.errors = error_lines.len();
    lines.sort_by_key(|l| l.line);
    (summary, lines)
}

/// The engine's answer as the report counts it. An event seen before (same source and content) is
/// answered with its first answer, marked replayed: for an import that means unchanged.
fn classify(r: &EventResult) -> &'static str {
    match r.result.as_str() {
        "rejected" => "error",
        _ if r.replayed => "unchanged",
        "created" => "created",
        "updated" => "updated",
        "unchanged" => "unchanged",
        _ => "ignored",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replayed_event_counts_as_unchanged_and_a_rejection_as_an_error() {
        let r = |result: &str, replayed: bool| EventResult {
            index: 0,
            result: result.into(),
            appointment_id: None,
            status: None,
            reminders: None,
            notices: vec![],
            reason: String::new(),
            errors: vec![],
            replayed,
            patient_id: None,
            previous_start: None,
        };
        assert_eq!(classify(&r("created", true)), "unchanged");
        assert_eq!(classify(&r("created", false)), "created");
        assert_eq!(classify(&r("rejected", true)), "error");
        assert_eq!(classify(&r("stale", false)), "ignored");
        assert_eq!(classify(&r("ignored", false)), "ignored");
    }
}
