//! The signed-in user's own account: password change and two-step sign-in.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Nav, Page, PageForm, error_page};
use crate::auth::SignedIn;
use crate::error::{AppError, FieldError};
use crate::staff;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "auth/account.html")]
pub struct AccountPage {
    pub nav: Nav,
    pub email: String,
    pub role: String,
    pub must_change: bool,
    pub mfa_enabled: bool,
    pub recovery_left: i64,
    pub errors: Vec<FieldError>,
    pub notice: Option<String>,
}

async fn account_page(
    app: &AppState,
    s: &SignedIn,
    errors: Vec<FieldError>,
    notice: Option<String>,
) -> Result<AccountPage, AppError> {
    let id = s.actor.user_id().ok_or_else(|| anyhow::anyhow!("account page without a user"))?;
    let user = app.store.user(s.actor.org, id).await?;
    let recovery_left = app.store.unused_recovery_codes(id).await?;
    Ok(AccountPage {
        nav: Nav::new(&s.actor, &s.csrf, "/account"),
        email: user.email,
        role: hearth_core::Role::parse(&user.role).map_or(user.role.clone(), |r| r.label().to_owned()),
        must_change: user.must_change_password,
        mfa_enabled: user.totp_enabled,
        recovery_left,
        errors,
        notice,
    })
}

pub async fn show_account(State(app): State<AppState>, s: SignedIn) -> Response {
    match account_page(&app, &s, Vec::new(), None).await {
        Ok(p) => Page(p).into_response(),
        Err(e) => error_page(&e),
    }
}

#[derive(Deserialize)]
#[allow(clippy::struct_field_names)] // the form's field names
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

pub async fn change_password(
    State(app): State<AppState>,
    s: SignedIn,
    PageForm(f): PageForm<PasswordForm>,
) -> Response {
    let result = if f.new_password == f.confirm_password {
        staff::change_own_password(&app, &s.actor, &s.session_hash, &f.current_password, &f.new_password)
            .await
    } else {
        Err(AppError::field("confirm_password", "the two new passwords are not the same"))
    };
    let (errors, notice, status) = match result {
        Ok(()) => (
            Vec::new(),
            Some("Your password has been changed. Other sessions were signed out.".to_owned()),
            StatusCode::OK,
        ),
        Err(AppError::Fields(f)) => (f, None, StatusCode::UNPROCESSABLE_ENTITY),
        Err(e) => return error_page(&e),
    };
    match account_page(&app, &s, errors, notice).await {
        Ok(p) => (status, Page(p)).into_response(),
        Err(e) => error_page(&e),
    }
}

#[derive(Template)]
#[template(path = "auth/mfa_enrol.html")]
pub struct MfaEnrolPage {
    pub nav: Nav,
    pub qr_svg: String,
    pub secret: String,
    pub error: Option<String>,
}

pub async fn start_mfa(State(app): State<AppState>, s: SignedIn) -> Response {
    match staff::start_enrolment(&app, &s.actor).await {
        Ok(e) => Page(MfaEnrolPage {
            nav: Nav::new(&s.actor, &s.csrf, "/account"),
            qr_svg: e.qr_svg,
            secret: e.secret,
            error: None,
        })
        .into_response(),
        Err(e) => error_page(&e),
    }
}

#[derive(Template)]
#[template(path = "auth/recovery_codes.html")]
pub struct RecoveryCodesPage {
    pub nav: Nav,
    pub codes: Vec<String>,
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

pub async fn confirm_mfa(
    State(app): State<AppState>,
    s: SignedIn,
    PageForm(f): PageForm<CodeForm>,
) -> Response {
    match staff::confirm_enrolment(&app, &s.actor, &f.code).await {
        Ok(codes) => {
            Page(RecoveryCodesPage { nav: Nav::new(&s.actor, &s.csrf, "/account"), codes }).into_response()
        }
        Err(AppError::Fields(errs)) => {
            // Show the same secret again so the person can retry with the next code.
            let id = s.actor.user_id();
            let secret = match id {
                Some(id) => app
                    .store
                    .user(s.actor.org, id)
                    .await
                    .ok()
                    .and_then(|u| crate::auth::totp::stored_secret(&app, &u)),
                None => None,
            };
            let Some(secret) = secret else {
                return Redirect::to("/account/mfa").into_response();
            };
            let email = match &s.actor.kind {
                crate::auth::ActorKind::User { email, .. } => email.clone(),
                _ => String::new(),
            };
            let qr_svg = crate::auth::totp::otpauth_url(&secret, &email)
                .and_then(|u| crate::auth::totp::qr_svg(&u))
                .unwrap_or_default();
            let error = errs.first().map(|e| e.message.clone());
            let page = MfaEnrolPage { nav: Nav::new(&s.actor, &s.csrf, "/account"), qr_svg, secret, error };
            (StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response()
        }
        Err(e) => error_page(&e),
    }
}

pub async fn disable_mfa(State(app): State<AppState>, s: SignedIn) -> Response {
    match staff::disable_mfa(&app, &s.actor).await {
        Ok(()) => Redirect::to("/account").into_response(),
        Err(e) => error_page(&e),
    }
}
