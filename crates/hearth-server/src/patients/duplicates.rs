//! Possible duplicates of a patient: candidates that share a name sound, birth date, phone or
//! e-mail, scored by `hearth_core::linkage` with a per-field explanation.

use hearth_core::PatientId;
use hearth_core::linkage::{self, LinkRecord, POSSIBLE, clean};
use hearth_store::duplicates::Proposal;
use hearth_store::patients::PatientFilter;
use serde::Serialize;
use utoipa::ToSchema;

use super::{PatientView, view};
use crate::audit;
use crate::auth::Actor;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldExplanation {
    pub field: &'static str,
    /// exact | close | disagree | missing
    pub level: &'static str,
    /// log2 likelihood ratio contributed by this field.
    pub weight: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateCandidate {
    pub patient: PatientView,
    /// Sum of the field weights; ≥ 10 likely the same person, ≥ 5 worth a look.
    pub score: f64,
    pub likely: bool,
    pub fields: Vec<FieldExplanation>,
}

/// The comparable form of a record.
pub fn link_record(p: &PatientView) -> LinkRecord {
    let r = &p.record;
    let address = r.addresses.first();
    let (number, street) = address.and_then(|a| a.line.first()).map_or((None, None), |line| {
        // "12 Elm St" → number 12, street "elm st"
        let mut parts = line.trim().splitn(2, ' ');
        match (parts.next(), parts.next()) {
            (Some(n), Some(s)) if n.chars().next().is_some_and(|c| c.is_ascii_digit()) => {
                (clean(n), clean(s))
            }
            _ => (None, clean(line)),
        }
    });
    LinkRecord {
        given: clean(&r.name.given.join(" ")),
        family: clean(&r.name.family).or_else(|| r.name.text.as_deref().and_then(clean)),
        birth_date: r.birth_date.as_deref().and_then(|d| d.parse().ok()),
        gender: r.gender.clone().filter(|g| g != "unknown"),
        phone: r.phones.iter().find(|p| p.problem.is_none()).map(|p| p.value.clone()),
        email: r.emails.iter().find(|e| e.problem.is_none()).map(|e| e.value.clone()),
        street_number: number,
        street,
        address_extra: address.and_then(|a| a.line.get(1)).and_then(|l| clean(l)),
        city: address.and_then(|a| a.city.as_deref()).and_then(clean),
        postcode: address.and_then(|a| a.postal_code.as_deref()).and_then(clean),
        state: address.and_then(|a| a.state.as_deref()).and_then(clean),
        identifiers: r.identifiers.iter().map(|i| (i.system.clone(), i.value.clone())).collect(),
    }
}

/// A patient's possible duplicates, shown to staff: an audited read.
pub async fn duplicates(
    app: &AppState,
    actor: &Actor,
    id: PatientId,
) -> Result<Vec<DuplicateCandidate>, AppError> {
    let out = find_candidates(app, actor, id).await?;
    let ids: Vec<String> = out.iter().map(|c| c.patient.id.to_string()).collect();
    let after = audit::snapshot(&serde_json::json!({ "candidate_ids": ids }));
    let subject = Some(("patient", id.to_string()));
    audit::record_read(app, actor, "patient.duplicates_read", subject, after).await?;
    Ok(out)
}

/// The search itself, disclosing nothing (also used to fill the queue after a write).
async fn find_candidates(
    app: &AppState,
    actor: &Actor,
    id: PatientId,
) -> Result<Vec<DuplicateCandidate>, AppError> {
    let me = view(&app.store.patient(actor.org, id).await?)?;
    // Records resembling the name as a name search for it finds them: for a name of several words,
    // those resembling two of its words at once.
    let name = me.record.name.words().collect::<Vec<_>>().join(" ");
    let keys = hearth_core::names::query_keys(&name);
    let base = PatientFilter { limit: 500, ..PatientFilter::default() };
    let mut filters = vec![PatientFilter { name_keys: keys, ..base.clone() }];
    if let Some(d) = &me.record.birth_date {
        filters.push(PatientFilter { birth_date: Some(d.clone()), ..base.clone() });
    }
    for p in me.record.phones.iter().filter(|p| p.problem.is_none()) {
        filters.push(PatientFilter { phone: Some(p.value.clone()), ..base.clone() });
    }
    for e in me.record.emails.iter().filter(|e| e.problem.is_none()) {
        filters.push(PatientFilter { email: Some(e.value.clone()), ..base.clone() });
    }
    let mut seen = std::collections::BTreeSet::from([id]);
    let mut others = Vec::new();
    for f in &filters {
        for row in app.store.list_patients(actor.org, f).await? {
            if seen.insert(row.id) {
                others.push(view(&row)?);
            }
        }
    }
    // Sensitive identifiers are masked here; "*****2222" agreeing says nothing, so they are left out.
    let sensitive = &app.config.patients.sensitive_identifier_systems;
    let linkable = |p: &PatientView| {
        let mut r = link_record(p);
        r.identifiers.retain(|(system, _)| !sensitive.contains(system));
        r
    };
    let mine = linkable(&me);
    let theirs: Vec<LinkRecord> = others.iter().map(linkable).collect();
    let mut out = Vec::new();
    for (i, score) in linkage::candidates_for(&mine, &theirs, POSSIBLE) {
        let fields = score
            .fields
            .iter()
            .map(|f| FieldExplanation {
                field: f.field,
                level: f.level.as_str(),
                weight: (f.weight * 100.0).round() / 100.0,
            })
            .collect();
        out.push(DuplicateCandidate {
            patient: others[i].clone(),
            score: (score.total * 100.0).round() / 100.0,
            likely: score.total >= linkage::LIKELY,
            fields,
        });
    }
    Ok(out)
}

/// Puts a patient's possible duplicates in the review queue. Decided pairs stay decided.
pub async fn refresh_queue(app: &AppState, actor: &Actor, id: PatientId) -> Result<usize, AppError> {
    refresh_queue_many(app, actor, &[id]).await
}

/// [`refresh_queue`] for several patients, in one transaction (none when nothing was found).
pub async fn refresh_queue_many(app: &AppState, actor: &Actor, ids: &[PatientId]) -> Result<usize, AppError> {
    let mut found = Vec::new();
    for &id in ids {
        found.extend(find_candidates(app, actor, id).await?.into_iter().map(|c| (id, c)));
    }
    if found.is_empty() {
        return Ok(0);
    }
    let explanations: Vec<String> = found
        .iter()
        .map(|(_, c)| serde_json::to_string(&c.fields))
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::from)?;
    let pairs: Vec<Proposal<'_>> = found
        .iter()
        .zip(&explanations)
        .map(|((id, c), explanation)| Proposal { a: *id, b: c.patient.id, score: c.score, explanation })
        .collect();
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    tx.propose_duplicates(actor.org, &pairs, now).await?;
    tx.commit().await?;
    Ok(found.len())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueEntry {
    #[schema(value_type = String, format = Uuid)]
    pub id: hearth_core::DuplicateId,
    pub patient_a: PatientView,
    pub patient_b: PatientView,
    pub score: f64,
    /// pending | not_duplicate | merged
    pub status: String,
    #[schema(value_type = Object)]
    pub explanation: serde_json::Value,
    pub decided_by: Option<String>,
}

async fn entry(
    app: &AppState,
    actor: &Actor,
    row: hearth_store::duplicates::DuplicateRow,
) -> Result<QueueEntry, AppError> {
    Ok(QueueEntry {
        id: row.id,
        patient_a: view(&app.store.patient(actor.org, row.patient_a).await?)?,
        patient_b: view(&app.store.patient(actor.org, row.patient_b).await?)?,
        score: row.score,
        status: row.status,
        explanation: serde_json::from_str(&row.explanation).unwrap_or_default(),
        decided_by: row.decided_by,
    })
}

/// The review queue (an audited read of the patients in it).
pub async fn queue(app: &AppState, actor: &Actor, status: &str) -> Result<Vec<QueueEntry>, AppError> {
    if !["pending", "not_duplicate", "merged"].contains(&status) {
        return Err(AppError::field("status", "expected pending, not_duplicate or merged"));
    }
    let mut out = Vec::new();
    for row in app.store.list_duplicates(actor.org, status, 200).await? {
        out.push(entry(app, actor, row).await?);
    }
    let ids: Vec<String> =
        out.iter().flat_map(|e| [e.patient_a.id.to_string(), e.patient_b.id.to_string()]).collect();
    let after = audit::snapshot(&serde_json::json!({ "patient_ids": ids }));
    audit::record_read(app, actor, "patient.duplicate_queue_read", None, after).await?;
    Ok(out)
}

/// Records a reviewer's decision that the pair are different people.
pub async fn mark_not_duplicate(
    app: &AppState,
    actor: &Actor,
    id: hearth_core::DuplicateId,
) -> Result<QueueEntry, AppError> {
    let before = app.store.duplicate(actor.org, id).await?;
    if before.status == "merged" {
        return Err(AppError::with_message(hearth_core::ErrorCode::Conflict, "this pair was already merged"));
    }
    let (_, _, label) = actor.audit_identity();
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    let row = tx.decide_duplicate(actor.org, id, "not_duplicate", &label.unwrap_or_default(), now).await?;
    let after = audit::snapshot(
        &serde_json::json!({"status": "not_duplicate", "patient_a": row.patient_a, "patient_b": row.patient_b}),
    );
    audit::record(
        &mut tx,
        now,
        actor,
        "patient.not_duplicate",
        Some(("duplicate", id.to_string())),
        None,
        after,
    )
    .await?;
    tx.commit().await?;
    entry(app, actor, row).await
}

/// One pair of the queue, for the side-by-side comparison (an audited read of both records).
pub async fn queue_entry(
    app: &AppState,
    actor: &Actor,
    id: hearth_core::DuplicateId,
) -> Result<QueueEntry, AppError> {
    let row = app.store.duplicate(actor.org, id).await?;
    let e = entry(app, actor, row).await?;
    let detail = audit::snapshot(&serde_json::json!({"patient_ids": [e.patient_a.id, e.patient_b.id]}));
    audit::record_read(
        app,
        actor,
        "patient.duplicate_pair_read",
        Some(("duplicate", id.to_string())),
        detail,
    )
    .await?;
    Ok(e)
}
