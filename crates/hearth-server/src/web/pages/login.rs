//! Sign-in, the second-factor prompt, and sign-out.

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Page, PageForm, error_page};
use crate::auth::login::{self, LoginResult};
use crate::auth::middleware::Authn;
use crate::auth::{RequestMeta, session};
use crate::error::AppError;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "auth/login.html")]
pub struct LoginPage {
    pub csrf: String,
    pub email: String,
    pub error: Option<String>,
}

fn login_page(
    app: &AppState,
    email: String,
    error: Option<String>,
    status: axum::http::StatusCode,
) -> Response {
    let (set_cookie, csrf) = session::pre_session_csrf(app);
    (status, [(header::SET_COOKIE, set_cookie)], Page(LoginPage { csrf, email, error })).into_response()
}

pub async fn show_login(State(app): State<AppState>, authn: Option<Extension<Authn>>) -> Response {
    match authn.map(|a| a.0) {
        Some(Authn::Ready { session: Some(_), .. }) => Redirect::to("/").into_response(),
        _ => login_page(&app, String::new(), None, axum::http::StatusCode::OK),
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
}

const REFUSED: &str = "The e-mail address or password is not right, or the account is locked. After 5 failed \
                       attempts an account is locked for 15 minutes; an administrator can reset it.";

pub async fn submit_login(
    State(app): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    PageForm(form): PageForm<LoginForm>,
) -> Response {
    if let Some(ip) = meta.ip.as_deref().and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
        && app.login_limiter.check_key(&ip).is_err()
    {
        let err = AppError::with_message(
            hearth_core::ErrorCode::RateLimited,
            "too many sign-in attempts from your network; wait a minute and try again",
        );
        return error_page(&err);
    }
    match login::login(&app, &form.email, &form.password, &meta).await {
        Ok(LoginResult::SignedIn { token, mfa_pending }) => {
            let to = if mfa_pending { "/login/mfa" } else { "/" };
            ([(header::SET_COOKIE, session::session_cookie(&app, &token))], Redirect::to(to)).into_response()
        }
        Ok(LoginResult::Refused) => {
            login_page(&app, form.email, Some(REFUSED.into()), axum::http::StatusCode::UNAUTHORIZED)
        }
        Err(e) => error_page(&e),
    }
}

#[derive(Template)]
#[template(path = "auth/mfa.html")]
pub struct MfaPage {
    pub csrf: String,
    pub error: Option<String>,
}

pub async fn show_mfa(authn: Option<Extension<Authn>>) -> Response {
    match authn.map(|a| a.0) {
        Some(Authn::MfaPending { session, .. }) => {
            Page(MfaPage { csrf: session.csrf_token, error: None }).into_response()
        }
        Some(Authn::Ready { .. }) => Redirect::to("/").into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

#[derive(Deserialize)]
pub struct MfaForm {
    code: String,
}

pub async fn submit_mfa(
    State(app): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    authn: Option<Extension<Authn>>,
    PageForm(form): PageForm<MfaForm>,
) -> Response {
    let Some(Authn::MfaPending { session, user }) = authn.map(|a| a.0) else {
        return Redirect::to("/login").into_response();
    };
    match login::second_factor(&app, &session, &user, &form.code, &meta).await {
        Ok(true) => Redirect::to("/").into_response(),
        Ok(false) => {
            let error = Some("That code did not work. Enter the 6-digit code your app shows now, or one of your recovery codes.".into());
            (axum::http::StatusCode::UNAUTHORIZED, Page(MfaPage { csrf: session.csrf_token, error }))
                .into_response()
        }
        Err(e) => error_page(&e),
    }
}

pub async fn logout(State(app): State<AppState>, authn: Option<Extension<Authn>>) -> Response {
    let clear = [(header::SET_COOKIE, session::clear_session_cookie(&app))];
    let ended = match authn.map(|a| a.0) {
        Some(Authn::Ready { actor, session: Some(s), .. }) => session::end(&app, &actor, &s.token_hash).await,
        // A half-signed-in session (second factor pending) ends too.
        Some(Authn::MfaPending { session: s, .. }) => match app.store.begin().await {
            Ok(mut tx) => match tx.delete_session(&s.token_hash).await {
                Ok(_) => tx.commit().await.map_err(AppError::from),
                Err(e) => Err(e.into()),
            },
            Err(e) => Err(e.into()),
        },
        _ => Ok(()),
    };
    match ended {
        Ok(()) => (clear, Redirect::to("/login")).into_response(),
        Err(e) => error_page(&e),
    }
}
