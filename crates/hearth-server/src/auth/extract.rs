//! `Authorized<P>`: the permission a handler needs, in its signature. It reads the identity that
//! [`super::middleware::authenticate`] resolved and answers 401 (no identity) or 403 (not
//! permitted). Pages get a redirect to the sign-in page instead of a JSON 401.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use hearth_core::{ErrorCode, Permission};

use super::Actor;
use super::middleware::Authn;
use crate::error::AppError;

/// A permission as a type, so it can appear in a handler's signature.
pub trait Perm: Send + Sync + 'static {
    const PERMISSION: Permission;
}

/// Marker types, one per row of the permission table.
pub mod perms {
    use super::{Perm, Permission};
    macro_rules! markers {
        ($($t:ident),+ $(,)?) => { $(
            pub struct $t;
            impl Perm for $t { const PERMISSION: Permission = Permission::$t; }
        )+ };
    }
    markers!(
        OrganizationRead,
        LocationRead,
        LocationWrite,
        PractitionerRead,
        PractitionerWrite,
        UserRead,
        UserManage,
        ApiKeyManage,
        AuditRead,
        PatientRead,
        PatientWrite,
        PatientSensitiveRead,
        AppointmentRead,
        IngestWrite,
        TemplateRead,
        TemplateWrite,
        MessageRead,
        MessageSend,
        ReminderRuleWrite,
        InboxRead,
        InboxWrite,
    );
}

pub struct Authorized<P> {
    pub actor: Actor,
    /// The session's CSRF token, for the forms of a page (none for API keys).
    pub csrf: String,
    _p: PhantomData<P>,
}

/// Why a request was refused, shaped for its audience (JSON for the API, a redirect for pages).
pub struct AuthRejection {
    error: AppError,
    page: bool,
    redirect: Option<&'static str>,
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match (self.page, self.redirect) {
            (true, Some(to)) => Redirect::to(to).into_response(),
            (true, None) => crate::web::pages::error_page(&self.error),
            _ => self.error.into_response(),
        }
    }
}

fn is_page(parts: &Parts) -> bool {
    !parts.uri.path().starts_with("/api/") && !parts.uri.path().starts_with("/fhir/")
}

impl<P: Perm, S: Send + Sync> FromRequestParts<S> for Authorized<P> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AuthRejection> {
        let page = is_page(parts);
        let (actor, csrf) = match parts.extensions.get::<Authn>() {
            Some(Authn::Ready { actor, must_change_password: false, session }) => {
                (actor.clone(), session.as_ref().map(|s| s.csrf_token.clone()).unwrap_or_default())
            }
            Some(Authn::Ready { must_change_password: true, .. }) => {
                return Err(AuthRejection {
                    error: AppError::with_message(
                        ErrorCode::Forbidden,
                        "change your password before continuing",
                    ),
                    page,
                    redirect: Some("/account"),
                });
            }
            Some(Authn::MfaPending { .. }) => {
                return Err(AuthRejection {
                    error: AppError::with_message(
                        ErrorCode::Unauthenticated,
                        "finish signing in with your second factor",
                    ),
                    page,
                    redirect: Some("/login/mfa"),
                });
            }
            None => {
                return Err(AuthRejection {
                    error: AppError::code(ErrorCode::Unauthenticated),
                    page,
                    redirect: Some("/login"),
                });
            }
        };
        if !actor.grants(P::PERMISSION) {
            let message = format!(
                "this needs the `{}` permission, which your role does not have",
                P::PERMISSION.as_str()
            );
            return Err(AuthRejection {
                error: AppError::with_message(ErrorCode::Forbidden, message),
                page,
                redirect: None,
            });
        }
        Ok(Self { actor, csrf, _p: PhantomData })
    }
}

/// Any signed-in staff user, including one who must change their password (the account pages).
pub struct SignedIn {
    pub actor: Actor,
    pub session_hash: String,
    pub csrf: String,
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AuthRejection> {
        match parts.extensions.get::<Authn>() {
            Some(Authn::Ready { actor, session: Some(s), .. }) => Ok(Self {
                actor: actor.clone(),
                session_hash: s.token_hash.clone(),
                csrf: s.csrf_token.clone(),
            }),
            Some(Authn::MfaPending { .. }) => Err(AuthRejection {
                error: AppError::code(ErrorCode::Unauthenticated),
                page: true,
                redirect: Some("/login/mfa"),
            }),
            _ => Err(AuthRejection {
                error: AppError::code(ErrorCode::Unauthenticated),
                page: is_page(parts),
                redirect: Some("/login"),
            }),
        }
    }
}
