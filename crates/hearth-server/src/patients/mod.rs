//! Patients: create, read (every staff read is audited), update with optimistic concurrency, soft
//! delete and reactivate, list with filters, and the consent ledger. Every change writes the record,
//! its audit event and a lifecycle event (`patient.created`, `.updated`, `.deleted`, `.reactivated`)
//! in one transaction.

mod consent;
mod create_many;
mod duplicates;
mod merge;
mod model;
pub mod mrn;
pub mod name_keys;
mod sensitive;

use hearth_core::contact::{Email, Phone};
use hearth_core::{ErrorCode, PatientId};
use hearth_store::StoreError;
use hearth_store::patients::{PatientFilter, PatientRow};

pub use consent::{ConsentInput, ConsentView, ConsentsView, consents, record_consent};
pub use create_many::{NewPatient, insert_new, prepare_new};
pub use duplicates::{
    DuplicateCandidate, QueueEntry, duplicates, mark_not_duplicate, queue, queue_entry, refresh_queue,
    refresh_queue_many,
};
pub use merge::{MergeInput, MergeSummary, MergeView, merge, merges_of, unmerge};
pub use model::{
    Address, ContactPoint, EmergencyContact, HumanName, Identifier, PatientRecord, PatientView, Strictness,
    normalize,
};
pub use sensitive::{SensitiveView, context as sensitive_context, reveal as reveal_sensitive};

use crate::audit::{self, snapshot};
use crate::auth::Actor;
use crate::error::{AppError, FieldError};
use crate::state::AppState;

fn view(row: &PatientRow) -> Result<PatientView, AppError> {
    PatientView::try_from(row).map_err(AppError::Internal)
}

fn today(app: &AppState) -> jiff::civil::Date {
    app.clock.now().get().to_zoned(jiff::tz::TimeZone::UTC).date()
}

fn key_taken(e: StoreError) -> AppError {
    match e {
        StoreError::Unique(name) if name == "patients_org_id_mrn_key" => {
            AppError::field("mrn", "another patient already has this MRN")
        }
        StoreError::Unique(name) if name.starts_with("patient_identifiers") => {
            AppError::field("identifiers", "another patient already has one of these identifiers")
        }
        e => e.into(),
    }
}

async fn event(
    tx: &mut hearth_store::Tx,
    app: &AppState,
    actor: &Actor,
    row: &PatientRow,
    kind: &str,
) -> Result<(), AppError> {
    let payload =
        serde_json::json!({"patient_id": row.id, "version": row.version, "mrn": row.mrn}).to_string();
    tx.append_patient_event(actor.org, row.id, kind, &payload, app.clock.now()).await?;
    Ok(())
}

/// Checks a record, seals its sensitive identifiers, and derives what the store indexes.
fn prepare(
    app: &AppState,
    org: hearth_core::OrgId,
    id: PatientId,
    record: &PatientRecord,
    strictness: Strictness,
    stored: Option<&PatientRecord>,
) -> Result<(PatientRecord, hearth_store::patients::PatientFields), AppError> {
    let cfg = &app.config.patients;
    let (mut out, mut fields) =
        model::normalize(record, today(app), &cfg.phone_region, strictness).map_err(AppError::Fields)?;
    sensitive::seal(app, org, id, &mut out, stored);
    // Sensitive values are neither unique nor searchable: the store sees only the rest.
    fields.identifiers.retain(|(system, _)| !cfg.sensitive_identifier_systems.contains(system));
    let mut document = out.clone();
    document.mrn = None;
    fields.document = serde_json::to_string(&document).map_err(anyhow::Error::from)?;
    Ok((out, fields))
}

/// The record as stored, with sealed values (never shown as such).
fn stored_record(row: &PatientRow) -> Result<PatientRecord, AppError> {
    serde_json::from_str(&row.document).map_err(|e| AppError::Internal(e.into()))
}

/// Creates a patient. Staff and API clients write `Strict` records; EHR feeds write `Lenient` ones.
pub async fn create(
    app: &AppState,
    actor: &Actor,
    record: PatientRecord,
    strictness: Strictness,
) -> Result<PatientView, AppError> {
    let mut tx = app.store.begin().await?;
    let v = create_in(&mut tx, app, actor, record, strictness).await?;
    tx.commit().await?;
    feed_queue(app, actor, v.id).await;
    Ok(v)
}

/// Creates a patient inside the caller's transaction (with its audit and lifecycle events). The
/// duplicate check runs after commit, by the caller (`refresh_queue`) or by `find-duplicates`.
pub async fn create_in(
    tx: &mut hearth_store::Tx,
    app: &AppState,
    actor: &Actor,
    record: PatientRecord,
    strictness: Strictness,
) -> Result<PatientView, AppError> {
    let new = prepare_new(app, actor, record, strictness)?;
    let mut views = insert_new(tx, app, actor, vec![new]).await?;
    views.pop().ok_or_else(|| AppError::Internal(anyhow::anyhow!("the new patient was not written")))
}

/// Display names of several patients (for lists such as a day's appointments); one audited read
/// naming the ids shown.
pub async fn names(
    app: &AppState,
    actor: &Actor,
    ids: &[PatientId],
) -> Result<std::collections::HashMap<PatientId, String>, AppError> {
    let mut out = std::collections::HashMap::new();
    for id in ids {
        if out.contains_key(id) {
            continue;
        }
        let v = view(&app.store.patient(actor.org, *id).await?)?;
        let name = v.record.name.display();
        out.insert(*id, if name.is_empty() { v.mrn } else { name });
    }
    let shown: Vec<String> = out.keys().map(ToString::to_string).collect();
    audit::record_read(
        app,
        actor,
        "patient.list",
        None,
        snapshot(&serde_json::json!({"patient_ids": shown})),
    )
    .await?;
    Ok(out)
}

/// Reads one patient; the read is audited.
pub async fn get(app: &AppState, actor: &Actor, id: PatientId) -> Result<PatientView, AppError> {
    let row = app.store.patient(actor.org, id).await?;
    audit::record_read(app, actor, "patient.read", Some(("patient", id.to_string())), None).await?;
    view(&row)
}

/// Filters for listing patients; phone and e-mail may be written in any notation.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PatientQuery {
    /// active | inactive | deleted | merged (default: active and inactive)
    pub status: Option<String>,
    pub mrn: Option<String>,
    /// YYYY-MM-DD
    pub birth_date: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// `system|value`
    pub identifier: Option<String>,
    /// Start of the family name.
    pub family: Option<String>,
    /// Any part of the name, typo-tolerant and phonetic ("Jon Smyth" finds John Smith); results are
    /// ranked by similarity.
    pub name: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

pub async fn list(app: &AppState, actor: &Actor, q: PatientQuery) -> Result<Vec<PatientView>, AppError> {
    let views = search(&app.store, actor.org, &app.config.patients.phone_region, q).await?;
    // Which records were shown, not what was searched for (search terms can be PHI).
    let ids: Vec<String> = views.iter().map(|v| v.id.to_string()).collect();
    audit::record_read(app, actor, "patient.list", None, snapshot(&serde_json::json!({"patient_ids": ids})))
        .await?;
    Ok(views)
}

/// The search behind [`list`] without its audit row: checks the query, runs the store query and ranks
/// name matches. `list` is what callers use; `hearth bench patient-search` times this.
pub async fn search(
    store: &hearth_store::Store,
    org: hearth_core::OrgId,
    phone_region: &str,
    q: PatientQuery,
) -> Result<Vec<PatientView>, AppError> {
    let mut errors = Vec::new();
    let blank = |s: Option<String>| s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let phone = blank(q.phone).and_then(|p| {
        Phone::parse(&p, phone_region)
            .map(|p| p.as_str().to_owned())
            .map_err(|e| errors.push(FieldError::new("phone", e.to_string())))
            .ok()
    });
    let email = blank(q.email).and_then(|m| {
        Email::parse(&m)
            .map(|m| m.as_str().to_owned())
            .map_err(|e| errors.push(FieldError::new("email", e.to_string())))
            .ok()
    });
    let identifier = blank(q.identifier).and_then(|i| match i.split_once('|') {
        Some((s, v)) if !s.is_empty() && !v.is_empty() => Some((s.to_owned(), v.to_owned())),
        _ => {
            errors.push(FieldError::new("identifier", "expected system|value, e.g. epic|E123"));
            None
        }
    });
    let status = blank(q.status);
    if status.as_deref().is_some_and(|s| !["active", "inactive", "deleted", "merged"].contains(&s)) {
        errors.push(FieldError::new("status", "expected one of active, inactive, deleted, merged"));
    }
    let birth_date = blank(q.birth_date);
    if birth_date.as_deref().is_some_and(|d| d.parse::<jiff::civil::Date>().is_err()) {
        errors.push(FieldError::new("birth_date", "expected a date as YYYY-MM-DD"));
    }
    let name = blank(q.name);
    let name_keys = name.as_deref().map(hearth_core::names::query_keys).unwrap_or_default();
    if name.is_some() && name_keys.is_empty() {
        errors.push(FieldError::new("name", "expected letters of a name"));
    }
    if !errors.is_empty() {
        return Err(AppError::Fields(errors));
    }
    let (limit, offset) = (q.limit.unwrap_or(50).clamp(1, 500), q.offset.unwrap_or(0).max(0));
    let filter = PatientFilter {
        status,
        mrn: blank(q.mrn),
        birth_date,
        phone,
        email,
        identifier,
        family_prefix: blank(q.family),
        // A name search ranks the heaviest candidates, twice as many as it shows (at least 100, at
        // most 500), then pages.
        limit: if name.is_some() { (2 * (offset + limit)).clamp(100, 500) } else { limit },
        offset: if name.is_some() { 0 } else { offset },
        name_keys,
    };
    let mut rows = store.list_patients(org, &filter).await?;
    if let Some(name) = &name {
        rows = rank_by_name(rows, name, 0, filter.limit);
        // Several words select records resembling two of them at once; when none does, any word.
        let words = hearth_core::names::word_keys(name);
        if rows.is_empty() && words != filter.name_keys {
            let wider = PatientFilter { name_keys: words, ..filter };
            rows = rank_by_name(store.list_patients(org, &wider).await?, name, 0, wider.limit);
        }
        let page = |n: i64| usize::try_from(n).unwrap_or(0);
        rows = rows.into_iter().skip(page(offset)).take(page(limit)).collect();
    }
    rows.iter().map(view).collect()
}

/// Keeps the rows whose names match `query`, best first, then pages.
fn rank_by_name(rows: Vec<PatientRow>, query: &str, offset: i64, limit: i64) -> Vec<PatientRow> {
    let query = hearth_core::names::NameQuery::new(query);
    let mut scored: Vec<(f64, PatientRow)> = rows
        .into_iter()
        .filter_map(|r| {
            let names = r
                .given_names
                .split(' ')
                .chain([r.family_name.as_str()])
                .map(str::to_owned)
                .collect::<Vec<_>>();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            query.score(&refs).map(|s| (s, r))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.family_name.cmp(&b.1.family_name)));
    scored
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(0))
        .take(usize::try_from(limit).unwrap_or(50))
        .map(|(_, r)| r)
        .collect()
}

fn require_version(if_match: Option<i64>) -> Result<i64, AppError> {
    if_match.ok_or_else(|| {
        AppError::with_message(
            ErrorCode::PreconditionRequired,
            "send the record's version in If-Match (its ETag)",
        )
    })
}

fn stale(e: StoreError) -> AppError {
    match e {
        StoreError::Stale => AppError::with_message(
            ErrorCode::PreconditionFailed,
            "the patient changed since you read it; read it again",
        ),
        e => key_taken(e),
    }
}

/// Applies a JSON merge patch (RFC 7386) to the record at version `if_match`.
pub async fn update(
    app: &AppState,
    actor: &Actor,
    id: PatientId,
    if_match: Option<i64>,
    patch: serde_json::Value,
) -> Result<PatientView, AppError> {
    let row = app.store.patient(actor.org, id).await?;
    let (before, stored) = (view(&row)?, stored_record(&row)?);
    let expected = require_version(if_match)?;
    if !patch.is_object() {
        return Err(AppError::field("(body)", "expected a JSON object with the fields to change"));
    }
    if patch.get("mrn").is_some_and(|m| m.as_str() != Some(before.mrn.as_str())) {
        return Err(AppError::field("mrn", "the MRN cannot change"));
    }
    let mut patch = patch;
    // Only Hearth sets `problem` flags and `sealed` values.
    for (list, key) in [("phones", "problem"), ("emails", "problem"), ("identifiers", "sealed")] {
        if let Some(items) = patch.get_mut(list).and_then(|v| v.as_array_mut()) {
            items.iter_mut().filter_map(|c| c.as_object_mut()).for_each(|c| drop(c.remove(key)));
        }
    }
    let mut merged = serde_json::to_value(&before.record).map_err(anyhow::Error::from)?;
    merge_patch(&mut merged, &patch);
    if let Some(obj) = merged.as_object_mut() {
        obj.remove("mrn");
    }
    let record: PatientRecord = crate::web::parse_json(merged.to_string().as_bytes())?;
    write_update(app, actor, (before, &stored), expected, &record, Strictness::Strict).await
}

/// Replaces the record as a whole (FHIR update). Without `if_match` the current version is replaced.
/// Fields FHIR does not carry (insurance, preferred channel, time zone) are kept from the record.
pub async fn replace(
    app: &AppState,
    actor: &Actor,
    id: PatientId,
    if_match: Option<i64>,
    mut record: PatientRecord,
    strictness: Strictness,
) -> Result<PatientView, AppError> {
    let row = app.store.patient(actor.org, id).await?;
    let (before, stored) = (view(&row)?, stored_record(&row)?);
    if record.mrn.as_ref().is_some_and(|m| *m != before.mrn) {
        return Err(AppError::field("mrn", "the MRN cannot change"));
    }
    record.mrn = None;
    record.clear_problems();
    let kept = &before.record;
    if record.insurance.is_empty() {
        record.insurance.clone_from(&kept.insurance);
    }
    record.preferred_channel = record.preferred_channel.or_else(|| kept.preferred_channel.clone());
    record.time_zone = record.time_zone.or_else(|| kept.time_zone.clone());
    let expected = if_match.unwrap_or(before.version);
    write_update(app, actor, (before, &stored), expected, &record, strictness).await
}

async fn write_update(
    app: &AppState,
    actor: &Actor,
    (before, stored): (PatientView, &PatientRecord),
    expected: i64,
    record: &PatientRecord,
    strictness: Strictness,
) -> Result<PatientView, AppError> {
    let id = before.id;
    if before.status == "merged" {
        return Err(AppError::with_message(
            ErrorCode::Conflict,
            "this record was merged into another; change the survivor",
        ));
    }
    let (_, fields) = prepare(app, actor.org, id, record, strictness, Some(stored))?;
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    let row = tx.update_patient(actor.org, id, expected, &fields, now).await.map_err(stale)?;
    let after = view(&row)?;
    audit::record(
        &mut tx,
        now,
        actor,
        "patient.update",
        Some(("patient", id.to_string())),
        snapshot(&before),
        snapshot(&after),
    )
    .await?;
    event(&mut tx, app, actor, &row, "patient.updated").await?;
    tx.commit().await?;
    feed_queue(app, actor, id).await;
    Ok(after)
}

/// After a create or update: look for duplicates of the record. A failure here must not fail the
/// write that already committed; `hearth patients find-duplicates` rebuilds the queue.
async fn feed_queue(app: &AppState, actor: &Actor, id: PatientId) {
    if let Err(e) = refresh_queue(app, actor, id).await {
        tracing::warn!(patient_id = %id, error = %e, "duplicate check failed");
    }
}

fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

async fn set_status(
    app: &AppState,
    actor: &Actor,
    id: PatientId,
    if_match: Option<i64>,
    status: &str,
    action: &str,
    kind: &str,
) -> Result<PatientView, AppError> {
    let before = view(&app.store.patient(actor.org, id).await?)?;
    if before.status == "merged" {
        return Err(AppError::with_message(
            ErrorCode::Conflict,
            "this record was merged into another; change the survivor",
        ));
    }
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    let row = tx.set_patient_status(actor.org, id, if_match, status, now).await.map_err(stale)?;
    let after = view(&row)?;
    audit::record(
        &mut tx,
        now,
        actor,
        action,
        Some(("patient", id.to_string())),
        snapshot(&before),
        snapshot(&after),
    )
    .await?;
    event(&mut tx, app, actor, &row, kind).await?;
    tx.commit().await?;
    Ok(after)
}

/// Soft delete: the record stays (and can be reactivated) but leaves lists and messaging.
pub async fn delete(
    app: &AppState,
    actor: &Actor,
    id: PatientId,
    if_match: Option<i64>,
) -> Result<PatientView, AppError> {
    set_status(app, actor, id, if_match, "deleted", "patient.delete", "patient.deleted").await
}

/// Inactive: kept in lists (with its status) but never messaged.
pub async fn deactivate(app: &AppState, actor: &Actor, id: PatientId) -> Result<PatientView, AppError> {
    set_status(app, actor, id, None, "inactive", "patient.deactivate", "patient.deactivated").await
}

pub async fn reactivate(app: &AppState, actor: &Actor, id: PatientId) -> Result<PatientView, AppError> {
    set_status(app, actor, id, None, "active", "patient.reactivate", "patient.reactivated").await
}

#[cfg(test)]
mod tests {
    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut doc = serde_json::json!({"a": "b", "c": {"d": "e", "f": "g"}});
        super::merge_patch(&mut doc, &serde_json::json!({"a": "z", "c": {"f": null}}));
        assert_eq!(doc, serde_json::json!({"a": "z", "c": {"d": "e"}}));
        super::merge_patch(&mut doc, &serde_json::json!({"c": [1]}));
        assert_eq!(doc, serde_json::json!({"a": "z", "c": [1]}));
    }
}
