//! Merging a duplicate into a survivor, and undoing it. Everything registered in
//! `hearth_store::merges::PATIENT_REFERENCES` moves in one transaction; the duplicate keeps its own
//! record with status `merged` and `merged_into` pointing at the survivor (exported to FHIR as a
//! `link` of type `replaced-by`), and lookups by its identifiers follow that pointer.

use hearth_core::{ErrorCode, MergeId, PatientId};
use hearth_store::merges::MergeRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{PatientView, view};
use crate::audit::{self, snapshot};
use crate::auth::Actor;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The record to merge into this one.
    #[schema(value_type = String, format = Uuid)]
    pub duplicate_id: PatientId,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MergeView {
    #[schema(value_type = String, format = Uuid)]
    pub id: MergeId,
    pub survivor: PatientView,
    pub merged: PatientView,
    /// Rows moved to the survivor, by table.
    #[schema(value_type = Object)]
    pub moved: serde_json::Value,
    pub unmerged: bool,
}

async fn merge_view(app: &AppState, actor: &Actor, m: &MergeRow) -> Result<MergeView, AppError> {
    Ok(MergeView {
        id: m.id,
        survivor: view(&app.store.patient(actor.org, m.survivor_id).await?)?,
        merged: view(&app.store.patient(actor.org, m.merged_id).await?)?,
        moved: serde_json::from_str(&m.moved).unwrap_or_default(),
        unmerged: m.unmerged_at.is_some(),
    })
}

/// A merge as the patient's profile lists it.
#[derive(Debug, Clone, Serialize)]
pub struct MergeSummary {
    pub id: MergeId,
    pub survivor_id: PatientId,
    pub merged_id: PatientId,
    pub merged_by: String,
    pub merged_at: hearth_core::UtcTime,
    pub unmerged_at: Option<hearth_core::UtcTime>,
}

/// The merges `id` took part in, newest first (the profile reads the patient itself, audited).
pub async fn merges_of(app: &AppState, actor: &Actor, id: PatientId) -> Result<Vec<MergeSummary>, AppError> {
    Ok(app
        .store
        .merges_of(actor.org, id)
        .await?
        .into_iter()
        .map(|m| MergeSummary {
            id: m.id,
            survivor_id: m.survivor_id,
            merged_id: m.merged_id,
            merged_by: m.merged_by,
            merged_at: m.merged_at,
            unmerged_at: m.unmerged_at,
        })
        .collect())
}

fn label(actor: &Actor) -> String {
    actor.audit_identity().2.unwrap_or_default()
}

pub async fn merge(
    app: &AppState,
    actor: &Actor,
    survivor: PatientId,
    duplicate: PatientId,
) -> Result<MergeView, AppError> {
    if survivor == duplicate {
        return Err(AppError::field("duplicate_id", "a record cannot be merged into itself"));
    }
    let s = view(&app.store.patient(actor.org, survivor).await?)?;
    let d = match app.store.patient(actor.org, duplicate).await {
        Ok(row) => view(&row)?,
        Err(hearth_store::StoreError::NotFound) => {
            return Err(AppError::field("duplicate_id", "no such patient in this organization"));
        }
        Err(e) => return Err(e.into()),
    };
    for p in [&s, &d] {
        if p.status == "merged" || p.status == "deleted" {
            return Err(AppError::with_message(
                ErrorCode::Conflict,
                format!("patient {} is {}; only active records can be merged", p.mrn, p.status),
            ));
        }
    }
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    let moved = tx.move_patient_rows(actor.org, duplicate, survivor).await?;
    let moved_json: serde_json::Map<String, serde_json::Value> =
        moved.into_iter().map(|(t, ids)| (t.to_owned(), serde_json::json!(ids))).collect();
    tx.set_merged_into(actor.org, duplicate, Some(survivor), now).await?;
    let row = MergeRow {
        id: MergeId::new(),
        survivor_id: survivor,
        merged_id: duplicate,
        moved: serde_json::Value::Object(moved_json).to_string(),
        merged_by: label(actor),
        merged_at: now,
        unmerged_at: None,
    };
    tx.insert_merge(actor.org, &row).await?;
    tx.settle_duplicate_pair(actor.org, survivor, duplicate, "merged", &label(actor), now).await?;
    let payload =
        serde_json::json!({"merge_id": row.id, "survivor_id": survivor, "merged_id": duplicate}).to_string();
    tx.append_patient_event(actor.org, survivor, "patient.merged", &payload, now).await?;
    tx.append_patient_event(actor.org, duplicate, "patient.merged", &payload, now).await?;
    let after = snapshot(
        &serde_json::json!({"merge_id": row.id, "merged_id": duplicate, "moved": serde_json::from_str::<serde_json::Value>(&row.moved).unwrap_or_default()}),
    );
    audit::record(
        &mut tx,
        now,
        actor,
        "patient.merge",
        Some(("patient", survivor.to_string())),
        snapshot(&d),
        after,
    )
    .await?;
    tx.commit().await?;
    merge_view(app, actor, &row).await
}

pub async fn unmerge(app: &AppState, actor: &Actor, id: MergeId) -> Result<MergeView, AppError> {
    let m = app.store.merge(actor.org, id).await?;
    if m.unmerged_at.is_some() {
        return Err(AppError::with_message(ErrorCode::Conflict, "this merge was already undone"));
    }
    let moved: std::collections::BTreeMap<String, Vec<String>> =
        serde_json::from_str(&m.moved).map_err(anyhow::Error::from)?;
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    for (table, ids) in &moved {
        tx.restore_patient_rows(actor.org, table, ids, m.merged_id).await?;
    }
    tx.set_merged_into(actor.org, m.merged_id, None, now).await.map_err(AppError::from)?;
    tx.mark_unmerged(actor.org, id, now)
        .await
        .map_err(|_| AppError::with_message(ErrorCode::Conflict, "this merge was already undone"))?;
    tx.settle_duplicate_pair(actor.org, m.survivor_id, m.merged_id, "pending", &label(actor), now).await?;
    let payload = serde_json::json!({"merge_id": id, "survivor_id": m.survivor_id, "merged_id": m.merged_id})
        .to_string();
    tx.append_patient_event(actor.org, m.survivor_id, "patient.unmerged", &payload, now).await?;
    tx.append_patient_event(actor.org, m.merged_id, "patient.unmerged", &payload, now).await?;
    audit::record(
        &mut tx,
        now,
        actor,
        "patient.unmerge",
        Some(("patient", m.survivor_id.to_string())),
        None,
        snapshot(&payload),
    )
    .await?;
    tx.commit().await?;
    let m = app.store.merge(actor.org, id).await?;
    merge_view(app, actor, &m).await
}
