//! Possible duplicates of a patient: candidates that share a name sound, birth date, phone or
//! e-mail, scored by `hearth_core::linkage` with a per-field explanation.

use hearth_core::PatientId;
use hearth_core::linkage::{self, LinkRecord, POSSIBLE, clean};
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
        family: clean(&r.name.family),
        birth_date: r.birth_date.as_deref().and_then(|d| d.parse().ok()),
        gender: r.gender.clone().filter(|g| g != "unknown"),
        phone: r.phones.first().map(|p| p.value.clone()),
        email: r.emails.first().map(|e| e.value.clone()),
        street_number: number,
        street,
        address_extra: address.and_then(|a| a.line.get(1)).and_then(|l| clean(l)),
        city: address.and_then(|a| a.city.as_deref()).and_then(clean),
        postcode: address.and_then(|a| a.postal_code.as_deref()).and_then(clean),
        state: address.and_then(|a| a.state.as_deref()).and_then(clean),
        identifiers: r.identifiers.iter().map(|i| (i.system.clone(), i.value.clone())).collect(),
    }
}

pub async fn duplicates(
    app: &AppState,
    actor: &Actor,
    id: PatientId,
) -> Result<Vec<DuplicateCandidate>, AppError> {
    let me = view(&app.store.patient(actor.org, id).await?)?;
    let names = std::iter::once(me.record.name.family.as_str())
        .chain(me.record.name.given.iter().map(String::as_str));
    let keys = hearth_core::names::record_keys(names).into_iter().filter(|k| !k.starts_with("f:")).collect();
    let base = PatientFilter { limit: 500, ..PatientFilter::default() };
    let mut filters = vec![PatientFilter { name_keys: keys, ..base.clone() }];
    if let Some(d) = &me.record.birth_date {
        filters.push(PatientFilter { birth_date: Some(d.clone()), ..base.clone() });
    }
    for p in &me.record.phones {
        filters.push(PatientFilter { phone: Some(p.value.clone()), ..base.clone() });
    }
    for e in &me.record.emails {
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
    let mine = link_record(&me);
    let theirs: Vec<LinkRecord> = others.iter().map(link_record).collect();
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
    let ids: Vec<String> = out.iter().map(|c| c.patient.id.to_string()).collect();
    let mut tx = app.store.begin().await?;
    let after = audit::snapshot(&serde_json::json!({ "candidate_ids": ids }));
    audit::record(
        &mut tx,
        app.clock.now(),
        actor,
        "patient.duplicates_read",
        Some(("patient", id.to_string())),
        None,
        after,
    )
    .await?;
    tx.commit().await?;
    Ok(out)
}
