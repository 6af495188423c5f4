//! Creating patients in bulk (an EHR batch names hundreds of new patients): each record is checked
//! and sealed when it comes ([`prepare_new`]), and all of them are written together
//! ([`insert_new`]) with a few multi-row statements — MRNs from one reservation of the counter, the
//! records and their keys, their audit events and their `patient.created` lifecycle events. The same
//! rows as creating them one by one ([`super::create_in`] is this with one record).

use hearth_core::PatientId;
use hearth_store::Tx;
use hearth_store::audit::NewAuditEvent;
use hearth_store::patients::{NewPatientRow, PatientFields};

use super::{PatientRecord, PatientView, Strictness, key_taken, mrn, prepare, today, view};
use crate::audit::snapshot;
use crate::auth::Actor;
use crate::error::AppError;
use crate::state::AppState;

/// A checked record waiting to be written.
#[derive(Debug, Clone)]
pub struct NewPatient {
    pub id: PatientId,
    /// The record's own MRN; `None` takes the next of the organization's sequence.
    mrn: Option<String>,
    fields: PatientFields,
}

/// Checks a new record and seals its sensitive identifiers (nothing is written yet).
pub fn prepare_new(
    app: &AppState,
    actor: &Actor,
    mut record: PatientRecord,
    strictness: Strictness,
) -> Result<NewPatient, AppError> {
    record.clear_problems();
    let id = PatientId::new();
    let (record, fields) = prepare(app, actor.org, id, &record, strictness, None)?;
    Ok(NewPatient { id, mrn: record.mrn, fields })
}

/// Writes prepared records inside the caller's transaction, in order, with their audit and
/// lifecycle events. A taken MRN or identifier fails the whole call (the caller's transaction or
/// savepoint then undoes it).
pub async fn insert_new(
    tx: &mut Tx,
    app: &AppState,
    actor: &Actor,
    new: Vec<NewPatient>,
) -> Result<Vec<PatientView>, AppError> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let now = app.clock.now();
    let mrns = mrns(tx, app, actor, &new).await?;
    let rows: Vec<NewPatientRow<'_>> = new
        .iter()
        .zip(&mrns)
        .map(|(p, mrn)| NewPatientRow { id: p.id, mrn: mrn.as_str(), fields: &p.fields })
        .collect();
    let rows = tx.insert_patients(actor.org, &rows, now).await.map_err(key_taken)?;
    let views: Vec<PatientView> = rows.iter().map(view).collect::<Result<_, _>>()?;
    let (actor_type, actor_id, actor_label) = actor.audit_identity();
    let audit: Vec<NewAuditEvent> = views
        .iter()
        .map(|v| NewAuditEvent {
            org_id: Some(actor.org),
            at: None,
            actor_type: actor_type.into(),
            actor_id: actor_id.clone(),
            actor_label: actor_label.clone(),
            action: "patient.create".into(),
            subject_type: Some("patient".into()),
            subject_id: Some(v.id.to_string()),
            ip: actor.meta.ip.clone(),
            user_agent: actor.meta.user_agent.clone(),
            request_id: actor.meta.request_id.clone(),
            before_json: None,
            after_json: snapshot(v),
        })
        .collect();
    tx.append_audit_many(&audit, now).await?;
    let events: Vec<(PatientId, String)> = rows
        .iter()
        .map(|r| {
            let payload = serde_json::json!({"patient_id": r.id, "version": r.version, "mrn": r.mrn});
            (r.id, payload.to_string())
        })
        .collect();
    tx.append_patient_events(actor.org, "patient.created", &events, now).await?;
    Ok(views)
}

/// Each record's MRN: its own, or the next numbers of this year's sequence, reserved at once.
async fn mrns(
    tx: &mut Tx,
    app: &AppState,
    actor: &Actor,
    new: &[NewPatient],
) -> Result<Vec<String>, AppError> {
    let wanted = new.iter().filter(|p| p.mrn.is_none()).count();
    let year = today(app).year();
    let mut next = if wanted == 0 {
        0
    } else {
        let count = i64::try_from(wanted).map_err(anyhow::Error::from)?;
        tx.reserve_mrn_numbers(actor.org, i32::from(year), count).await? - count + 1
    };
    let pattern = &app.config.patients.mrn_pattern;
    new.iter()
        .map(|p| {
            if let Some(m) = &p.mrn {
                return Ok(m.clone());
            }
            let m =
                mrn::render(pattern, year, next).map_err(|e| anyhow::anyhow!("patients.mrn_pattern: {e}"))?;
            next += 1;
            Ok(m)
        })
        .collect()
}
