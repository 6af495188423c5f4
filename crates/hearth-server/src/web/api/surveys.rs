//! `/api/v1/questionnaires` and `/api/v1/survey-rules`: import and read Questionnaires (with the
//! built-in instruments), their results and responses (FHIR), and the distribution rules.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hearth_core::survey::QuestionnaireId;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, perms};
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::surveys::results::{self, ResultsQuery, SurveyResults};
use crate::surveys::results_csv;
use crate::surveys::{
    QuestionnaireDetail, QuestionnaireView, SurveyRuleInput, SurveyRuleView, questionnaires, rules,
};
use crate::web::{ApiJson, ApiPath, ApiQuery};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_questionnaires, import_questionnaire))
        .routes(routes!(get_questionnaire))
        .routes(routes!(questionnaire_results))
        .routes(routes!(questionnaire_results_csv))
        .routes(routes!(questionnaire_responses))
        .routes(routes!(list_survey_rules, create_survey_rule))
}

/// The organization's Questionnaire versions, the built-in instruments included.
#[utoipa::path(get, path = "/api/v1/questionnaires", tag = "surveys",
    security(("session" = ["survey:read"]), ("api_key" = ["survey:read"])),
    responses((status = 200, body = Vec<QuestionnaireView>)))]
async fn list_questionnaires(
    auth: Authorized<perms::SurveyRead>,
    State(app): State<AppState>,
) -> Result<Json<Vec<QuestionnaireView>>, AppError> {
    Ok(Json(questionnaires::list(&app, &auth.actor).await?))
}

/// Imports a FHIR R4 Questionnaire (JSON). 201 for a new url + version; 200 when the same version
/// was imported before with the same content; 409 when with other content; 422 lists every problem
/// with its JSON path and the item's linkId.
#[utoipa::path(post, path = "/api/v1/questionnaires", tag = "surveys", request_body = Object,
    security(("session" = ["survey:write"]), ("api_key" = ["survey:write"])),
    responses((status = 201, body = QuestionnaireDetail), (status = 200, body = QuestionnaireDetail),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn import_questionnaire(
    auth: Authorized<perms::SurveyWrite>,
    State(app): State<AppState>,
    ApiJson(resource): ApiJson<serde_json::Value>,
) -> Result<(StatusCode, Json<QuestionnaireDetail>), AppError> {
    let (detail, created) = questionnaires::import(&app, &auth.actor, resource).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(detail)))
}

/// A Questionnaire version with the resource as imported.
#[utoipa::path(get, path = "/api/v1/questionnaires/{questionnaire_id}", tag = "surveys",
    params(("questionnaire_id" = String, Path, format = Uuid)),
    security(("session" = ["survey:read"]), ("api_key" = ["survey:read"])),
    responses((status = 200, body = QuestionnaireDetail), (status = 404, body = ErrorBody)))]
async fn get_questionnaire(
    auth: Authorized<perms::SurveyRead>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<QuestionnaireId>,
) -> Result<Json<QuestionnaireDetail>, AppError> {
    Ok(Json(questionnaires::get(&app, &auth.actor, id).await?))
}

/// The funnel (sent, opened, started, completed, expired), score distributions and means by
/// practitioner, location and week, of the visits matching the filters (audited).
#[utoipa::path(get, path = "/api/v1/questionnaires/{questionnaire_id}/results", tag = "surveys",
    params(("questionnaire_id" = String, Path, format = Uuid), ResultsQuery),
    security(("session" = ["survey:read"]), ("api_key" = ["survey:read"])),
    responses((status = 200, body = SurveyResults), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn questionnaire_results(
    auth: Authorized<perms::SurveyRead>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<QuestionnaireId>,
    ApiQuery(q): ApiQuery<ResultsQuery>,
) -> Result<Json<SurveyResults>, AppError> {
    Ok(Json(results::results(&app, &auth.actor, id, &q).await?))
}

/// The responses as CSV with the filters of the results: one line per response (visit, each score
/// and band, each answer; columns in docs/surveys.md). Streamed; audited with its filters.
#[utoipa::path(get, path = "/api/v1/questionnaires/{questionnaire_id}/results.csv", tag = "surveys",
    params(("questionnaire_id" = String, Path, format = Uuid), ResultsQuery),
    security(("session" = ["survey:read"]), ("api_key" = ["survey:read"])),
    responses((status = 200, description = "CSV with a header line", content_type = "text/csv"),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn questionnaire_results_csv(
    auth: Authorized<perms::SurveyRead>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<QuestionnaireId>,
    ApiQuery(q): ApiQuery<ResultsQuery>,
) -> Result<Response, AppError> {
    let stream = results_csv::export_csv(&app, &auth.actor, id, &q).await?;
    let headers = [
        (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
        (
            axum::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"survey-results-{id}.csv\""),
        ),
    ];
    Ok((headers, axum::body::Body::from_stream(stream)).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResponsesQuery {
    /// `responses` (default): QuestionnaireResponses; `observations`: one Observation per score.
    #[serde(rename = "as")]
    pub as_: Option<String>,
}

/// The responses as a FHIR Bundle of QuestionnaireResponses, or of score Observations (audited).
#[utoipa::path(get, path = "/api/v1/questionnaires/{questionnaire_id}/responses", tag = "surveys",
    params(("questionnaire_id" = String, Path, format = Uuid), ResponsesQuery),
    security(("session" = ["survey:read"]), ("api_key" = ["survey:read"])),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
async fn questionnaire_responses(
    auth: Authorized<perms::SurveyRead>,
    State(app): State<AppState>,
    ApiPath(id): ApiPath<QuestionnaireId>,
    ApiQuery(q): ApiQuery<ResponsesQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    let observations = match q.as_.as_deref() {
        None | Some("responses") => false,
        Some("observations") => true,
        Some(_) => return Err(AppError::field("as", "expected responses or observations")),
    };
    Ok(Json(results::export_fhir(&app, &auth.actor, id, observations).await?))
}

#[utoipa::path(get, path = "/api/v1/survey-rules", tag = "surveys",
    security(("session" = ["survey:read"]), ("api_key" = ["survey:read"])),
    responses((status = 200, body = Vec<SurveyRuleView>)))]
async fn list_survey_rules(
    auth: Authorized<perms::SurveyRead>,
    State(app): State<AppState>,
) -> Result<Json<Vec<SurveyRuleView>>, AppError> {
    Ok(Json(rules::list(&app, &auth.actor).await?))
}

/// Creates a distribution rule (evaluated whenever an appointment changes status from now on).
#[utoipa::path(post, path = "/api/v1/survey-rules", tag = "surveys", request_body = SurveyRuleInput,
    security(("session" = ["survey:write"]), ("api_key" = ["survey:write"])),
    responses((status = 201, body = SurveyRuleView), (status = 422, body = ErrorBody)))]
async fn create_survey_rule(
    auth: Authorized<perms::SurveyWrite>,
    State(app): State<AppState>,
    ApiJson(input): ApiJson<SurveyRuleInput>,
) -> Result<(StatusCode, Json<SurveyRuleView>), AppError> {
    Ok((StatusCode::CREATED, Json(rules::create(&app, &auth.actor, input).await?)))
}
