//! The JSON API under `/api/v1`. Every handler names its permission in its signature
//! (`Authorized<perms::X>`) and in its OpenAPI `security` scopes; the role-matrix test reads the
//! latter and checks the former against the permission table.

mod api_keys;
mod appointments;
mod audit;

pub use audit::{AuditEventView, AuditQuery};
mod directory;
mod inbox;
mod messages;
mod patients;
mod reminders;
mod templates;
mod users;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(directory::routes())
        .merge(users::routes())
        .merge(api_keys::routes())
        .merge(audit::routes())
        .merge(patients::routes())
        .merge(appointments::routes())
        .merge(templates::routes())
        .merge(messages::routes())
        .merge(reminders::routes())
        .merge(inbox::routes())
}
