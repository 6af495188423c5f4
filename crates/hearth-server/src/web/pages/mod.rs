//! Server-rendered pages for staff: sign-in, second factor, account, users, API keys, audit log.
//! They call the same services as the JSON API; every form carries the session's CSRF token, which
//! the authentication middleware checks before any handler runs.

mod account;
mod admin;
mod login;
mod page;

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
}
