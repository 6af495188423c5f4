//! Rendering pages, the error page, the navigation bar, and form extraction that answers bad forms
//! with a page rather than JSON.

use askama::Template;
use axum::extract::{Form, FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use hearth_core::{ErrorCode, Permission};
use serde::de::DeserializeOwned;

use crate::auth::{Actor, ActorKind};
use crate::error::AppError;

/// A rendered template.
pub struct Page<T>(pub T);

impl<T: Template> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        match self.0.render() {
            Ok(html) => Html(html).into_response(),
            Err(e) => error_page(&AppError::Internal(e.into())),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    code: &'a str,
    request_id: String,
    sign_in: bool,
}

/// The HTML counterpart of a JSON error: same status, same code.
pub fn error_page(err: &AppError) -> Response {
    let code = err.error_code();
    let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let AppError::Internal(cause) = err {
        tracing::error!(error = format!("{cause:#}"), "internal error");
    }
    let message = match err {
        AppError::Code { message, .. } => message.to_string(),
        AppError::Fields(f) => {
            f.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
        }
        AppError::Internal(_) => code.message().to_owned(),
    };
    let title = match code {
        ErrorCode::NotFound => "Not found",
        ErrorCode::Forbidden => "Not allowed",
        ErrorCode::CsrfInvalid => "This form has expired",
        ErrorCode::Unauthenticated => "Please sign in",
        _ if status.is_server_error() => "Something went wrong",
        _ => "That did not work",
    };
    let page = ErrorPage {
        title,
        message: &message,
        code: code.as_str(),
        request_id: crate::telemetry::current_request_id(),
        sign_in: matches!(code, ErrorCode::Unauthenticated | ErrorCode::CsrfInvalid),
    };
    let html = page.render().unwrap_or_else(|_| "<!doctype html><title>Error</title><p>Error</p>".to_owned());
    (status, Html(html)).into_response()
}

/// A urlencoded form; an unreadable one is answered with the error page, naming the field.
pub struct PageForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for PageForm<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        match Form::<T>::from_request(req, state).await {
            Ok(Form(v)) => Ok(Self(v)),
            Err(e) => {
                let text = e.body_text().replace("Failed to deserialize form body: ", "");
                Err(error_page(&AppError::with_message(
                    ErrorCode::InvalidRequest,
                    format!("the form is incomplete: {text}"),
                )))
            }
        }
    }
}

/// The navigation bar of signed-in pages.
pub struct Nav {
    pub user: String,
    pub role: String,
    pub csrf: String,
    pub links: Vec<(&'static str, &'static str, bool)>,
}

impl Nav {
    pub fn new(actor: &Actor, csrf: &str, current: &str) -> Self {
        let (user, role) = match &actor.kind {
            ActorKind::User { email, role, .. } => (email.clone(), role.label().to_owned()),
            _ => (String::new(), String::new()),
        };
        let mut links = Vec::new();
        let mut add = |href: &'static str, label: &'static str, p: Option<Permission>| {
            if p.is_none_or(|p| actor.grants(p)) {
                links.push((href, label, href == current));
            }
        };
        add("/patients", "Patients", Some(Permission::PatientRead));
        add("/appointments", "Appointments", Some(Permission::AppointmentRead));
        add("/templates", "Templates", Some(Permission::TemplateRead));
        add("/outbox", "Outbox", Some(Permission::MessageRead));
        add("/inbox", "Inbox", Some(Permission::InboxRead));
        add("/surveys", "Surveys", Some(Permission::SurveyRead));
        add("/admin/users", "Users", Some(Permission::UserRead));
        add("/admin/api-keys", "API keys", Some(Permission::ApiKeyManage));
        add("/admin/audit", "Audit log", Some(Permission::AuditRead));
        add("/account", "Account", None);
        Self { user, role, csrf: csrf.to_owned(), links }
    }
}
