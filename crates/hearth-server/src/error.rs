//! The one error type of the web layer. Every JSON error has the catalogue's stable `code`, a
//! message, the request id and, for invalid input, the fields at fault. Internal errors are logged
//! once, with their cause, and answered without it.

use std::borrow::Cow;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hearth_core::ErrorCode;
use hearth_store::StoreError;
use serde::Serialize;

use crate::telemetry;

/// One field that failed validation: its path (`appointment.start`, `items[2].phone`) and what was
/// expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A catalogued error with a specific message.
    #[error("{code}: {message}")]
    Code { code: ErrorCode, message: Cow<'static, str> },
    /// Invalid input; answered as `invalid_field` (422) naming each field.
    #[error("invalid fields: {0:?}")]
    Fields(Vec<FieldError>),
    /// Anything unexpected. Logged with its cause; the response says only `internal`.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn code(code: ErrorCode) -> Self {
        Self::Code { code, message: Cow::Borrowed(code.message()) }
    }
    pub fn with_message(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Code { code, message: message.into() }
    }
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Fields(vec![FieldError::new(field, message)])
    }
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::Code { code, .. } => *code,
            Self::Fields(_) => ErrorCode::InvalidField,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::code(ErrorCode::NotFound),
            StoreError::Unique(_) => Self::code(ErrorCode::AlreadyExists),
            StoreError::Stale => Self::with_message(
                ErrorCode::Conflict,
                "the resource changed since you read it; read it again and retry",
            ),
            StoreError::Busy | StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "store unavailable");
                Self::code(ErrorCode::ServiceUnavailable)
            }
            other => Self::Internal(anyhow::Error::new(other)),
        }
    }
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable, snake_case; see docs/errors.md.
    pub code: &'static str,
    pub message: String,
    /// Also in the `x-request-id` response header; quote it when reporting a problem.
    pub request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldError>>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let code = self.error_code();
        let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (message, fields) = match self {
            Self::Code { message, .. } => (message.into_owned(), None),
            Self::Fields(fields) => (code.message().to_owned(), Some(fields)),
            Self::Internal(cause) => {
                // Logged once, inside the request span; the cause never reaches the client.
                tracing::error!(error = format!("{cause:#}"), "internal error");
                (code.message().to_owned(), None)
            }
        };
        let body =
            ErrorBody { code: code.as_str(), message, request_id: telemetry::current_request_id(), fields };
        (status, Json(body)).into_response()
    }
}
