//! Results of a questionnaire version: the funnel, score distributions and trends by practitioner,
//! location and week, and exports (FHIR QuestionnaireResponses and Observations, CSV).

use std::collections::BTreeMap;

use hearth_core::survey::{QuestionnaireId, Score};
use serde::Serialize;
use utoipa::ToSchema;

use crate::audit;
use crate::auth::Actor;
use crate::error::AppError;
use crate::state::AppState;

/// One group's mean score and count.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScoreGroup {
    /// The practitioner id, location id or ISO week (`none` when the visit had none).
    pub key: String,
    pub responses: usize,
    pub mean: Option<f64>,
}

/// One score's distribution and breakdowns.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScoreSummary {
    pub name: String,
    pub responses: usize,
    pub mean: Option<f64>,
    /// Responses per band (e.g. NPS detractor / passive / promoter).
    pub bands: BTreeMap<String, usize>,
    /// Responses per value.
    pub values: BTreeMap<String, usize>,
    pub by_practitioner: Vec<ScoreGroup>,
    pub by_location: Vec<ScoreGroup>,
    pub by_week: Vec<ScoreGroup>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SurveyResults {
    #[schema(value_type = String, format = Uuid)]
    pub questionnaire_id: QuestionnaireId,
    /// sent, opened, started, completed, expired: invitations that reached each step.
    pub funnel: BTreeMap<String, i64>,
    pub responses: usize,
    pub scores: Vec<ScoreSummary>,
}

type Keyed = (Option<String>, Option<String>, String, Vec<Score>);

fn groups(rows: &[Keyed], name: &str, key: impl Fn(&Keyed) -> String) -> Vec<ScoreGroup> {
    let mut by: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in rows {
        if let Some(v) = r.3.iter().find(|s| s.name == name).and_then(|s| s.value) {
            by.entry(key(r)).or_default().push(v);
        }
    }
    by.into_iter().map(|(key, v)| ScoreGroup { key, responses: v.len(), mean: mean(&v) }).collect()
}

#[allow(clippy::cast_precision_loss)] // counts are small
fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| (v.iter().sum::<f64>() / v.len() as f64 * 100.0).round() / 100.0)
}

pub async fn results(app: &AppState, actor: &Actor, id: QuestionnaireId) -> Result<SurveyResults, AppError> {
    let q = app.store.questionnaire(actor.org, id).await?;
    let ins = super::instrument(&q)?;
    let funnel: BTreeMap<String, i64> = app.store.survey_funnel(actor.org, id).await?.into_iter().collect();
    let rows: Vec<Keyed> = app
        .store
        .responses_of(actor.org, id)
        .await?
        .into_iter()
        .map(|r| {
            let scores: Vec<Score> = serde_json::from_str(&r.scores).unwrap_or_default();
            (
                r.practitioner_id.map(|p| p.to_string()),
                r.location_id.map(|l| l.to_string()),
                r.visit_week,
                scores,
            )
        })
        .collect();
    let scores = ins
        .scores
        .iter()
        .map(|rule| {
            let values: Vec<&Score> = rows
                .iter()
                .filter_map(|r| r.3.iter().find(|s| s.name == rule.name && s.value.is_some()))
                .collect();
            let mut bands = BTreeMap::new();
            let mut dist = BTreeMap::new();
            for s in &values {
                if let Some(b) = &s.band {
                    *bands.entry(b.clone()).or_default() += 1;
                }
                *dist.entry(s.value.unwrap_or_default().to_string()).or_default() += 1;
            }
            let none = || "none".to_owned();
            ScoreSummary {
                name: rule.name.clone(),
                responses: values.len(),
                mean: mean(&values.iter().filter_map(|s| s.value).collect::<Vec<_>>()),
                bands,
                values: dist,
                by_practitioner: groups(&rows, &rule.name, |r| r.0.clone().unwrap_or_else(none)),
                by_location: groups(&rows, &rule.name, |r| r.1.clone().unwrap_or_else(none)),
                by_week: groups(&rows, &rule.name, |r| r.2.clone()),
            }
        })
        .collect();
    Ok(SurveyResults { questionnaire_id: id, funnel, responses: rows.len(), scores })
}

/// The responses as a FHIR Bundle (collection) of QuestionnaireResponses, or of score Observations;
/// patient data, so the read is audited.
pub async fn export_fhir(
    app: &AppState,
    actor: &Actor,
    id: QuestionnaireId,
    observations: bool,
) -> Result<serde_json::Value, AppError> {
    let q = app.store.questionnaire(actor.org, id).await?;
    let ins = super::instrument(&q)?;
    let rows = app.store.responses_of(actor.org, id).await?;
    let mut entries = Vec::new();
    for r in &rows {
        if observations {
            let scores: Vec<Score> = serde_json::from_str(&r.scores).unwrap_or_default();
            let ctx =
                hearth_core::survey::fhir::Context { subject: r.patient_id.map(|p| format!("Patient/{p}")) };
            let obs = hearth_core::survey::fhir::score_observations(
                &ins,
                &r.id.to_string(),
                &scores,
                &r.authored_at.to_string(),
                &ctx,
            );
            entries.extend(obs.into_iter().map(|o| serde_json::json!({"resource": o})));
        } else {
            let resource: serde_json::Value =
                serde_json::from_str(&r.resource).map_err(anyhow::Error::from)?;
            entries.push(serde_json::json!({"resource": resource}));
        }
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.to_string()).collect();
    audit::record_read(
        app,
        actor,
        "survey_response.export",
        Some(("questionnaire", id.to_string())),
        audit::snapshot(&serde_json::json!({"response_ids": ids})),
    )
    .await?;
    Ok(
        serde_json::json!({"resourceType": "Bundle", "type": "collection", "total": entries.len(), "entry": entries}),
    )
}
