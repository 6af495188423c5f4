//! Importing, listing and reading Questionnaires. A Questionnaire is identified by `url` + `version`:
//! importing the same version again with the same content changes nothing, with other content is a
//! conflict (import it as a new version); responses point at the version they answered, so a new
//! version never changes a stored response.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use hearth_core::survey::{self, Instrument, QuestionnaireId, builtin::BUILTINS};
use hearth_core::{ErrorCode, OrgId};
use hearth_store::surveys::QuestionnaireRow;
use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::{self, snapshot};
use crate::auth::Actor;
use crate::error::{AppError, FieldError};
use crate::state::AppState;

/// A Questionnaire version, as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionnaireView {
    #[schema(value_type = String, format = Uuid)]
    pub id: QuestionnaireId,
    pub url: String,
    pub version: String,
    pub title: String,
    /// Shipped with Hearth (loaded for every organization).
    pub builtin: bool,
    /// Languages with translations, the Questionnaire's own first.
    pub languages: Vec<String>,
    /// The names of its scores.
    pub scores: Vec<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: hearth_core::UtcTime,
}

/// A Questionnaire version with the resource as imported.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionnaireDetail {
    #[serde(flatten)]
    pub summary: QuestionnaireView,
    /// The FHIR Questionnaire.
    #[schema(value_type = Object)]
    pub resource: serde_json::Value,
}

fn cache() -> &'static Mutex<HashMap<QuestionnaireId, Arc<Instrument>>> {
    static CACHE: OnceLock<Mutex<HashMap<QuestionnaireId, Arc<Instrument>>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// The parsed instrument of a stored version (rows never change, so parses are kept).
pub fn instrument(row: &QuestionnaireRow) -> Result<Arc<Instrument>, AppError> {
    if let Some(i) = cache().lock().unwrap_or_else(PoisonError::into_inner).get(&row.id) {
        return Ok(i.clone());
    }
    let value: serde_json::Value = serde_json::from_str(&row.resource).map_err(anyhow::Error::from)?;
    let parsed = survey::import(&value)
        .map_err(|e| anyhow::anyhow!("stored questionnaire {} no longer imports: {}", row.id, e[0]))?;
    let parsed = Arc::new(parsed);
    let mut c = cache().lock().unwrap_or_else(PoisonError::into_inner);
    if c.len() > 1000 {
        c.clear();
    }
    c.insert(row.id, parsed.clone());
    Ok(parsed)
}

fn view(row: &QuestionnaireRow) -> Result<QuestionnaireView, AppError> {
    let ins = instrument(row)?;
    Ok(QuestionnaireView {
        id: row.id,
        url: row.url.clone(),
        version: row.version.clone(),
        title: row.title.clone(),
        builtin: row.builtin,
        languages: ins.languages.clone(),
        scores: ins.scores.iter().map(|s| s.name.clone()).collect(),
        created_at: row.created_at,
    })
}

fn import_errors(errors: Vec<survey::ImportError>) -> AppError {
    AppError::Fields(
        errors
            .into_iter()
            .map(|e| {
                let message = match &e.link_id {
                    Some(l) => format!("linkId {l:?}: {}", e.message),
                    None => e.message,
                };
                FieldError::new(e.path, message)
            })
            .collect(),
    )
}

/// Loads the built-in instruments into the organization (once; later calls change nothing).
pub async fn ensure_builtins(app: &AppState, org: OrgId) -> Result<(), AppError> {
    let existing = app.store.questionnaires(org).await?;
    if BUILTINS.iter().all(|(slug, _)| existing.iter().any(|q| q.builtin && q.url.ends_with(slug))) {
        return Ok(());
    }
    let mut tx = app.store.begin().await?;
    for (_, raw) in BUILTINS {
        let value: serde_json::Value = serde_json::from_str(raw).map_err(anyhow::Error::from)?;
        let ins = survey::import(&value).map_err(|e| anyhow::anyhow!("built-in questionnaire: {}", e[0]))?;
        tx.insert_questionnaire(&QuestionnaireRow {
            id: QuestionnaireId::new(),
            org_id: org,
            url: ins.url.clone(),
            version: ins.version.clone(),
            title: ins.title.default.clone(),
            builtin: true,
            resource: value.to_string(),
            created_at: app.clock.now(),
            created_by: "hearth".into(),
        })
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Imports a Questionnaire version; `true` when it was new.
pub async fn import(
    app: &AppState,
    actor: &Actor,
    resource: serde_json::Value,
) -> Result<(QuestionnaireDetail, bool), AppError> {
    let ins = survey::import(&resource).map_err(import_errors)?;
    let canonical = resource.to_string();
    if let Some(found) = app.store.questionnaire_version(actor.org, &ins.url, &ins.version).await? {
        let same =
            serde_json::from_str::<serde_json::Value>(&found.resource).ok().as_ref() == Some(&resource);
        if !same {
            return Err(AppError::with_message(
                ErrorCode::Conflict,
                format!(
                    "version {} of {} was imported before with other content; give this one a new `version`",
                    ins.version, ins.url
                ),
            ));
        }
        return Ok((QuestionnaireDetail { summary: view(&found)?, resource }, false));
    }
    let row = QuestionnaireRow {
        id: QuestionnaireId::new(),
        org_id: actor.org,
        url: ins.url.clone(),
        version: ins.version.clone(),
        title: if ins.title.is_empty() {
            ins.name.clone().unwrap_or_default()
        } else {
            ins.title.default.clone()
        },
        builtin: false,
        resource: canonical,
        created_at: app.clock.now(),
        created_by: actor.audit_identity().2.unwrap_or_default(),
    };
    let mut tx = app.store.begin().await?;
    if !tx.insert_questionnaire(&row).await? {
        // Imported concurrently: answer as the replay above would.
        tx.rollback().await?;
        return Box::pin(import(app, actor, resource)).await;
    }
    let after = serde_json::json!({"questionnaire_id": row.id, "url": row.url, "version": row.version});
    audit::record(
        &mut tx,
        app.clock.now(),
        actor,
        "questionnaire.import",
        Some(("questionnaire", row.id.to_string())),
        None,
        snapshot(&after),
    )
    .await?;
    tx.commit().await?;
    Ok((QuestionnaireDetail { summary: view(&row)?, resource }, true))
}

/// The organization's Questionnaire versions (the built-in ones loaded on first use).
pub async fn list(app: &AppState, actor: &Actor) -> Result<Vec<QuestionnaireView>, AppError> {
    ensure_builtins(app, actor.org).await?;
    app.store.questionnaires(actor.org).await?.iter().map(view).collect()
}

pub async fn get(
    app: &AppState,
    actor: &Actor,
    id: QuestionnaireId,
) -> Result<QuestionnaireDetail, AppError> {
    let row = app.store.questionnaire(actor.org, id).await?;
    let resource = serde_json::from_str(&row.resource).map_err(anyhow::Error::from)?;
    Ok(QuestionnaireDetail { summary: view(&row)?, resource })
}
