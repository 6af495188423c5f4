//! Authentication, once per request: resolve the bearer API key or the session cookie into an
//! [`Authn`] in the request's extensions, and refuse any state-changing request made with a cookie
//! that does not carry the matching CSRF token (header `x-csrf-token`, or form field `csrf` of a
//! urlencoded or multipart form), and any sign-in form post without its double-submit token. API keys
//! are not ambient credentials, so bearer requests need no CSRF token; requests with no credential at
//! all are answered 401 by the handler.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hearth_core::{ErrorCode, Role};
use hearth_store::sessions::SessionRow;
use hearth_store::users::UserRow;

use super::{Actor, ActorKind, RequestMeta, session};
use crate::error::AppError;
use crate::state::AppState;

/// Who the request is from, as resolved by [`authenticate`].
#[derive(Clone)]
pub enum Authn {
    /// Fully signed in (or an API key).
    Ready { actor: Actor, session: Option<SessionRow>, must_change_password: bool },
    /// Password accepted, second factor still due.
    MfaPending { session: SessionRow, user: Box<UserRow> },
}

impl Authn {
    fn csrf(&self) -> Option<&str> {
        match self {
            Authn::Ready { session: Some(s), .. } | Authn::MfaPending { session: s, .. } => {
                Some(&s.csrf_token)
            }
            Authn::Ready { session: None, .. } => None,
        }
    }
}

pub const SESSION_COOKIE: &str = "hearth_session";
/// Double-submit token for forms shown before there is a session (the sign-in form).
pub const PRE_SESSION_CSRF_COOKIE: &str = "hearth_csrf";

/// Forms that create a session; they need a CSRF token even without one.
const SIGN_IN_PATHS: &[&str] = &["/login", "/login/mfa"];

/// Paths whose callers prove themselves another way (webhook signatures) and take no cookie.
/// `/s/`: the public survey page checks its own double-submit token (a patient has no session).
const CSRF_EXEMPT_PREFIXES: &[&str] = &["/hooks/", "/s/"];

pub async fn authenticate(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let meta = request_meta(&req);
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(meta.clone());
    let mut bearer_used = false;
    if let Some(token) = bearer(&parts.headers) {
        bearer_used = true;
        match session::resolve_api_key(&app, token, meta).await {
            Ok(Some(actor)) => {
                parts.extensions.insert(Authn::Ready { actor, session: None, must_change_password: false });
            }
            Ok(None) => {
                return AppError::with_message(
                    ErrorCode::Unauthenticated,
                    "the API key is unknown or revoked",
                )
                .into_response();
            }
            Err(e) => return e.into_response(),
        }
    } else if let Some(token) = cookie(&parts.headers, SESSION_COOKIE) {
        match session::resolve_session(&app, token, meta).await {
            Ok(Some(authn)) => {
                parts.extensions.insert(authn);
            }
            Ok(None) => {}
            Err(e) => return e.into_response(),
        }
    }

    let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    let exempt = CSRF_EXEMPT_PREFIXES.iter().any(|p| parts.uri.path().starts_with(p));
    // Forgery needs an ambient credential: a session cookie, or the sign-in form (login CSRF).
    let has_session = parts.extensions.get::<Authn>().is_some_and(|a| a.csrf().is_some());
    let signs_in = SIGN_IN_PATHS.contains(&parts.uri.path());
    if !unsafe_method || exempt || bearer_used || !(has_session || signs_in) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let expected = parts
        .extensions
        .get::<Authn>()
        .and_then(Authn::csrf)
        .map(str::to_owned)
        .or_else(|| cookie(&parts.headers, PRE_SESSION_CSRF_COOKIE).map(str::to_owned));
    let header_token = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    // A form with a file (`enctype="multipart/form-data"`) carries its token as a part.
    let boundary = multer::parse_boundary(content_type).ok();
    let (provided, body) = if header_token.is_some() || !(is_form || boundary.is_some()) {
        (header_token, body)
    } else {
        let limit = app.config.http.max_body_bytes;
        let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
            return AppError::code(ErrorCode::PayloadTooLarge).into_response();
        };
        let token = if let Some(boundary) = boundary {
            multipart_field(bytes.clone(), boundary, "csrf").await
        } else {
            let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
            fields.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v)
        };
        (token, Body::from(bytes))
    };
    let valid = matches!((&expected, &provided), (Some(e), Some(p)) if !e.is_empty() && e == p);
    if !valid {
        tracing::warn!(path_kind = if is_form { "form" } else { "api" }, "csrf check failed");
        let err = AppError::code(ErrorCode::CsrfInvalid);
        let page = !parts.uri.path().starts_with("/api/");
        return if page { crate::web::pages::error_page(&err) } else { err.into_response() };
    }
    next.run(Request::from_parts(parts, body)).await
}

/// The text of the first part called `name` in a multipart/form-data body (none if the body is not
/// well-formed up to that part).
async fn multipart_field(bytes: bytes::Bytes, boundary: String, name: &str) -> Option<String> {
    let stream = tokio_stream::once(Ok::<_, std::io::Error>(bytes));
    let mut form = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some(name) {
            return field.text().await.ok();
        }
    }
    None
}

fn request_meta(req: &Request) -> RequestMeta {
    let ip = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(256).collect());
    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    RequestMeta { ip, user_agent, request_id }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// The actor for a signed-in user.
pub fn user_actor(user: &UserRow, meta: RequestMeta) -> Actor {
    Actor {
        org: user.org_id,
        kind: ActorKind::User {
            id: user.id,
            role: Role::parse(&user.role).unwrap_or(Role::Viewer),
            department: user.department_id,
            email: user.email.clone(),
        },
        meta,
    }
}
