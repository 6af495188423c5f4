//! Results of a questionnaire version: the funnel, score distributions and trends by practitioner,
//! location and week, and exports (FHIR QuestionnaireResponses and Observations, CSV).

use std::collections::BTreeMap;

use hearth_core::survey::{QuestionnaireId, Score};
use hearth_store::survey_results::ResultsFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::audit;
use crate::auth::Actor;
use crate::error::{AppError, FieldError};
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

/// The filters of the results, their page and their exports (empty values are ignored, as a page's
/// form sends them).
#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    /// Only visits with this practitioner (id).
    #[serde(default)]
    pub practitioner: Option<String>,
    /// Only visits at this location (id).
    #[serde(default)]
    pub location: Option<String>,
    /// From this ISO week of the visit, e.g. `2026-W02` (inclusive).
    #[serde(default)]
    pub from: Option<String>,
    /// To this ISO week (inclusive).
    #[serde(default)]
    pub to: Option<String>,
}

impl ResultsQuery {
    /// The store's filter; every bad value is named.
    pub fn filter(&self) -> Result<ResultsFilter, AppError> {
        let mut errors = Vec::new();
        let given =
            |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let mut id = |name: &str, v: &Option<String>| -> Option<uuid::Uuid> {
            let v = given(v)?;
            v.parse().map_err(|_| errors.push(FieldError::new(name, "expected an id"))).ok()
        };
        let practitioner = id("practitioner", &self.practitioner).map(Into::into);
        let location = id("location", &self.location).map(Into::into);
        let mut week = |name: &str, v: &Option<String>| -> Option<String> {
            let v = given(v)?;
            let ok = v.len() == 8
                && v[..4].bytes().all(|b| b.is_ascii_digit())
                && &v[4..6] == "-W"
                && v[6..].parse::<u8>().is_ok_and(|w| (1..=53).contains(&w));
            if ok {
                Some(v)
            } else {
                errors.push(FieldError::new(name, "expected an ISO week such as 2026-W02"));
                None
            }
        };
        let from_week = week("from", &self.from);
        let to_week = week("to", &self.to);
        if errors.is_empty() {
            Ok(ResultsFilter { practitioner, location, from_week, to_week })
        } else {
            Err(AppError::Fields(errors))
        }
    }
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

/// The results of the visits matching `query`; an audited read (aggregates of patients' answers).
pub async fn results(
    app: &AppState,
    actor: &Actor,
    id: QuestionnaireId,
    query: &ResultsQuery,
) -> Result<SurveyResults, AppError> {
    let filter = query.filter()?;
    let q = app.store.questionnaire(actor.org, id).await?;
    let ins = super::instrument(&q)?;
    let funnel: BTreeMap<String, i64> =
        app.store.survey_funnel_filtered(actor.org, id, &filter).await?.into_iter().collect();
    audit::record_read(
        app,
        actor,
        "survey_results.read",
        Some(("questionnaire", id.to_string())),
        audit::snapshot(query),
    )
    .await?;
    let rows: Vec<Keyed> = app
        .store
        .responses_filtered(actor.org, id, &filter)
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
