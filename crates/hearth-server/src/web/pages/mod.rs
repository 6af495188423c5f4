//! Server-rendered pages for staff: sign-in, second factor, account, users, API keys, audit log,
//! patients, appointments, the schedule upload, the EHR simulator, message templates, the replies
//! inbox and survey results.
//! They call the same services as the JSON API; every form carries the session's CSRF token, which
//! the authentication middleware checks before any handler runs.

mod account;
mod admin;
mod appointments;
mod charts;
mod duplicates;
mod inbox;
mod login;
mod outbox;
mod page;
mod patients;
mod schedule_import;
mod simulator;
mod simulator_live;
mod survey;
mod survey_results;
mod templates;

pub use page::{Nav, Page, PageForm, error_page};

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::show_login).post(login::submit_login))
        .route("/login/mfa", get(login::show_mfa).post(login::submit_mfa))
        .route("/logout", post(login::logout))
        .route("/account", get(account::show_account))
        .route("/account/password", post(account::change_password))
        .route("/account/mfa", get(account::start_mfa).post(account::confirm_mfa))
        .route("/account/mfa/disable", post(account::disable_mfa))
        .route("/admin/users", get(admin::list_users).post(admin::create_user))
        .route("/admin/users/{user_id}", post(admin::update_user))
        .route("/admin/users/{user_id}/reset-password", post(admin::reset_password))
        .route("/admin/api-keys", get(admin::list_api_keys).post(admin::create_api_key))
        .route("/admin/api-keys/{api_key_id}/revoke", post(admin::revoke_api_key))
        .route("/admin/audit", get(admin::audit_log))
        .route("/admin/simulate", get(simulator::show_simulate).post(simulator::run_simulation))
        .route("/admin/simulate/live", get(simulator_live::show))
        .route("/admin/simulate/reply", post(simulator_live::answer))
        .route("/admin/simulate/clock", post(simulator_live::move_clock))
        .route("/appointments", get(appointments::day))
        .route(
            "/appointments/import",
            get(schedule_import::show_import).post(schedule_import::import_schedule),
        )
        .route("/appointments/{appointment_id}", get(appointments::timeline))
        .route("/patients", get(patients::search).post(patients::create))
        .route("/patients/new", get(patients::new_form))
        .route("/patients/duplicates", get(duplicates::queue))
        .route("/patients/duplicates/{duplicate_id}", get(duplicates::compare))
        .route("/patients/duplicates/{duplicate_id}/merge", post(duplicates::merge))
        .route("/patients/duplicates/{duplicate_id}/not-duplicate", post(duplicates::not_duplicate))
        .route("/patients/{patient_id}", get(patients::profile))
        .route("/patients/merges/{merge_id}/unmerge", post(patients::unmerge))
        .route("/patients/{patient_id}/consents", post(patients::record_consent))
        .route("/templates", get(templates::list))
        .route("/templates/edit", get(templates::edit).post(templates::submit))
        .route("/outbox", get(outbox::list))
        .route("/outbox/{message_id}", get(outbox::show))
        .route("/outbox/{message_id}/retry", post(outbox::retry))
        .route("/outbox/{message_id}/cancel", post(outbox::cancel))
        .route("/inbox", get(inbox::list))
        .route("/inbox/{inbox_item_id}", get(inbox::show))
        .route("/inbox/{inbox_item_id}/assign", post(inbox::assign))
        .route("/inbox/{inbox_item_id}/reply", post(inbox::reply))
        .route("/inbox/{inbox_item_id}/done", post(inbox::done))
        .route("/surveys", get(survey_results::list))
        .route("/surveys/{questionnaire_id}", get(survey_results::show))
        .route("/s/{token}", get(survey::show_survey).post(survey::submit_survey))
        .route("/favicon.svg", get(favicon))
        .route("/favicon.ico", get(favicon))
}

/// A small hearth-fire icon, cacheable for a day.
async fn favicon() -> impl axum::response::IntoResponse {
    const SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#9a3412"/><path d="M16 5c1 5 7 7 7 14a7 7 0 0 1-14 0c0-4 2-6 4-8 0 3 1 5 3 5-1-4 0-8 0-11z" fill="#fed7aa"/></svg>"##;
    (
        [
            (axum::http::header::CONTENT_TYPE, "image/svg+xml"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        SVG,
    )
}
