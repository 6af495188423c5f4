//! `/api/v1/audit-events`: the audit trail, newest first, with filters.

use axum::Json;
use axum::extract::State;
use hearth_core::UtcTime;
use hearth_store::audit::AuditFilter;

pub use crate::audit::AuditEventView;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Authorized, perms};
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::web::ApiQuery;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit_events))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The acting user's or API key's id.
    pub actor_id: Option<String>,
    /// e.g. `user.create`, `auth.login_failed`.
    pub action: Option<String>,
    /// e.g. `user`, `location`, `patient`.
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
    /// RFC 3339; events at or after.
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<UtcTime>,
    /// RFC 3339; events before.
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<UtcTime>,
    /// Page backwards: events with a smaller sequence number than this.
    pub before_seq: Option<i64>,
    /// 1–1000, default 100.
    pub limit: Option<i64>,
}

impl AuditQuery {
    pub fn filter(self) -> AuditFilter {
        let blank = |s: Option<String>| s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        AuditFilter {
            actor_id: blank(self.actor_id),
            action: blank(self.action),
            subject_type: blank(self.subject_type),
            subject_id: blank(self.subject_id),
            from: self.from,
            to: self.to,
            before_seq: self.before_seq,
            limit: self.limit.unwrap_or(100),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/audit-events", tag = "staff", params(AuditQuery),
    security(("session" = ["audit:read"]), ("api_key" = ["audit:read"])),
    responses((status = 200, body = Vec<AuditEventView>), (status = 400, body = ErrorBody)))]
async fn list_audit_events(
    auth: Authorized<perms::AuditRead>,
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEventView>>, AppError> {
    Ok(Json(crate::audit::list(&app, &auth.actor, &q.filter()).await?))
}
