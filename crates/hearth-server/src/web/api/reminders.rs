//! `/api/v1/reminder-rules`: when reminders go out, per organization, location and appointment type.
//! A change re-plans every patient with an upcoming appointment the rule may govern.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, perms};
use crate::error::{AppError, ErrorBody};
use crate::reminders::rules::{self, RuleText, RuleView};
use crate::state::AppState;
use crate::web::{ApiJson, ApiPath, ApiQuery};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_rules, put_rule)).routes(routes!(delete_rule))
}

/// A rule to set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutRuleInput {
    /// `organization`, `location` or `appointment_type`.
    pub scope: String,
    /// The location id or the appointment type; empty or absent for the organization.
    #[serde(default)]
    pub key: String,
    /// Fields left out take the spec's default.
    pub rule: RuleText,
}

/// The rule set, and how many patients will be re-planned.
#[derive(Debug, Serialize, ToSchema)]
pub struct PutRuleView {
    #[serde(flatten)]
    pub rule: RuleView,
    pub replanning_patients: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RuleKeyQuery {
    /// The location id or appointment type (none for the organization).
    #[serde(default)]
    pub key: String,
}

/// The organization's rule (the spec's default until one is set) and every override.
#[utoipa::path(get, path = "/api/v1/reminder-rules", tag = "reminders",
    security(("session" = ["organization:read"]), ("api_key" = ["organization:read"])),
    responses((status = 200, body = Vec<RuleView>)))]
async fn list_rules(
    auth: Authorized<perms::OrganizationRead>,
    State(app): State<AppState>,
) -> Result<Json<Vec<RuleView>>, AppError> {
    Ok(Json(rules::list(&app, &auth.actor).await?))
}

/// Sets the organization's rule or an override; every wrong field is named (`rule.offsets[1]`,
/// `rule.window`, …) and nothing is written.
#[utoipa::path(put, path = "/api/v1/reminder-rules", tag = "reminders", request_body = PutRuleInput,
    security(("session" = ["reminder_rule:write"]), ("api_key" = ["reminder_rule:write"])),
    responses((status = 200, body = PutRuleView), (status = 422, body = ErrorBody)))]
async fn put_rule(
    auth: Authorized<perms::ReminderRuleWrite>,
    State(app): State<AppState>,
    ApiJson(input): ApiJson<PutRuleInput>,
) -> Result<Json<PutRuleView>, AppError> {
    let (rule, replanning_patients) =
        rules::put(&app, &auth.actor, &input.scope, &input.key, input.rule).await.map_err(|e| match e {
            AppError::Fields(errors) => AppError::Fields(
                errors
                    .into_iter()
                    .map(|mut f| {
                        if f.field != "scope" && f.field != "key" {
                            f.field = format!("rule.{}", f.field);
                        }
                        f
                    })
                    .collect(),
            ),
            e => e,
        })?;
    Ok(Json(PutRuleView { rule, replanning_patients }))
}

/// Removes an override, or the organization's rule (the spec's default applies again).
#[utoipa::path(delete, path = "/api/v1/reminder-rules/{scope}", tag = "reminders",
    params(("scope" = String, Path, description = "organization | location | appointment_type"), RuleKeyQuery),
    security(("session" = ["reminder_rule:write"]), ("api_key" = ["reminder_rule:write"])),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn delete_rule(
    auth: Authorized<perms::ReminderRuleWrite>,
    State(app): State<AppState>,
    ApiPath(scope): ApiPath<String>,
    ApiQuery(q): ApiQuery<RuleKeyQuery>,
) -> Result<axum::http::StatusCode, AppError> {
    rules::delete(&app, &auth.actor, &scope, &q.key).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
