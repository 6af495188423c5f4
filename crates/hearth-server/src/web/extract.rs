//! Extractors that turn bad input into catalogued errors naming the field: malformed JSON → 400
//! `malformed_json` with the line and column; an unknown field, a wrong type or a missing field → 422
//! `invalid_field` with its path; a wrong content type → 415; an oversized body → 413.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header;
use axum::http::request::Parts;
use bytes::Bytes;
use hearth_core::ErrorCode;
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};

/// A JSON body. Use it instead of `axum::Json` in every handler.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .is_some_and(|m| {
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            });
        if !is_json {
            return Err(AppError::code(ErrorCode::UnsupportedMediaType));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::code(ErrorCode::PayloadTooLarge)
            } else {
                AppError::with_message(ErrorCode::InvalidRequest, "the request body could not be read")
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// The version in `If-Match` (`"3"`, `W/"3"` or `3`): None when absent, an error when malformed.
pub fn if_match_version(headers: &axum::http::HeaderMap) -> Result<Option<i64>, AppError> {
    let Some(v) = headers.get(header::IF_MATCH) else { return Ok(None) };
    let s = v.to_str().unwrap_or_default().trim().trim_start_matches("W/").trim_matches('"');
    s.parse().map(Some).map_err(|_| {
        AppError::with_message(ErrorCode::InvalidRequest, "If-Match: expected the ETag you read, e.g. \"3\"")
    })
}

/// Parses JSON, naming the field at fault.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        json_error(&path, e.inner())
    })?;
    de.end().map_err(|e| json_error(".", &e))?;
    Ok(value)
}

fn json_error(path: &str, e: &serde_json::Error) -> AppError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => AppError::with_message(
            ErrorCode::MalformedJson,
            format!(
                "the body is not well-formed JSON: {} at line {} column {}",
                strip_position(e),
                e.line(),
                e.column()
            ),
        ),
        Category::Data => {
            let message = strip_position(e);
            // serde reports a missing field at its parent; name the field itself.
            let field = match message.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
                Some(missing) => join_path(path, missing),
                None => {
                    if path == "." {
                        "(body)".to_owned()
                    } else {
                        path.to_owned()
                    }
                }
            };
            AppError::Fields(vec![FieldError::new(field, message)])
        }
    }
}

fn join_path(parent: &str, field: &str) -> String {
    if parent == "." || parent.is_empty() { field.to_owned() } else { format!("{parent}.{field}") }
}

/// serde_json appends " at line L column C" to messages; the position is reported separately.
fn strip_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// Query-string parameters; a bad one is a 400 `invalid_query` naming it.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        Query::<T>::from_request_parts(parts, state).await.map(|Query(v)| ApiQuery(v)).map_err(
            |e: QueryRejection| {
                AppError::with_message(
                    ErrorCode::InvalidQuery,
                    e.body_text().replace("Failed to deserialize query string: ", ""),
                )
            },
        )
    }
}

/// Path parameters; a malformed one (say, an id that is not a UUID) is a 400 `invalid_path`.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|e: PathRejection| AppError::with_message(ErrorCode::InvalidPath, e.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Input {
        name: String,
        count: u32,
        inner: Option<Inner>,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        zone: String,
    }

    fn fields(r: Result<Input, AppError>) -> Vec<FieldError> {
        match r {
            Err(AppError::Fields(f)) => f,
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    #[test]
    fn malformed_json_is_400_with_position() {
        match parse_json::<Input>(br#"{"name": "a",,}"#) {
            Err(AppError::Code { code: ErrorCode::MalformedJson, message }) => {
                assert!(message.contains("line 1 column 14"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_json::<Input>(b""),
            Err(AppError::Code { code: ErrorCode::MalformedJson, .. })
        ));
        assert!(matches!(
            parse_json::<Input>(br#"{"name":"a","count":1} trailing"#),
            Err(AppError::Code { code: ErrorCode::MalformedJson, .. })
        ));
    }

    #[test]
    fn wrong_types_unknown_and_missing_fields_name_the_field() {
        let f = fields(parse_json(br#"{"name": "a", "count": "three"}"#));
        assert_eq!(f[0].field, "count");
        assert!(f[0].message.contains("expected u32"), "{}", f[0].message);

        let f = fields(parse_json(br#"{"name": "a", "count": 1, "colour": "red"}"#));
        assert_eq!(f[0].field, "colour");
        assert!(f[0].message.contains("unknown field `colour`"), "{}", f[0].message);

        let f = fields(parse_json(br#"{"name": "a"}"#));
        assert_eq!(f[0].field, "count");

        let f = fields(parse_json(br#"{"name": "a", "count": 1, "inner": {"zone": 5}}"#));
        assert_eq!(f[0].field, "inner.zone");

        let f = fields(parse_json(br#"{"name": "a", "count": 1, "inner": {}}"#));
        assert_eq!(f[0].field, "inner.zone");

        let f = fields(parse_json(br#""just a string""#));
        assert_eq!(f[0].field, "(body)");
    }
}
