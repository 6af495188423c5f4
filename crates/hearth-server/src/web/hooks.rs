//! `/hooks/twilio/status` and `/hooks/twilio/inbound`: Twilio's webhooks. They take no session or API
//! key (the auth middleware exempts `/hooks/` from CSRF); each request proves itself with
//! `X-Twilio-Signature`, checked against the *public* URL (`providers.twilio.public_url`, else
//! `public_url`) plus the path and query as received. A bad or missing signature is 403 and one log
//! line without patient data. They are not in the OpenAPI document: Twilio, not API clients, calls
//! them (docs/integrations.md describes them).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hearth_core::ErrorCode;

use crate::error::AppError;
use crate::notifications::callbacks::{self, HookKind, TwilioHook};
use crate::notifications::twilio_signature;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hooks/twilio/status", post(twilio_status))
        .route("/hooks/twilio/inbound", post(twilio_inbound))
}

/// An empty TwiML answer: "received, nothing to say".
const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

async fn twilio_status(
    State(app): State<AppState>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match receive(&app, HookKind::Status, &uri, &headers, &body).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn twilio_inbound(
    State(app): State<AppState>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match receive(&app, HookKind::Reply, &uri, &headers, &body).await {
        Ok(()) => ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], EMPTY_TWIML).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Verify, persist, answer; the work runs after the answer.
async fn receive(
    app: &AppState,
    kind: HookKind,
    uri: &OriginalUri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(), AppError> {
    let hook = verified(app, uri, headers, body)?;
    if let Some(row) = callbacks::record_twilio(app, kind, &hook).await? {
        let app = app.clone();
        tokio::spawn(async move { callbacks::process(&app, &row, &hook).await });
    }
    Ok(())
}

/// The webhook's fields, when its signature is Twilio's.
fn verified(
    app: &AppState,
    uri: &OriginalUri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<TwilioHook, AppError> {
    let route = uri.path().to_owned();
    let refuse = |why: &'static str| {
        tracing::warn!(route = %route, reason = why, "twilio webhook refused");
        AppError::with_message(ErrorCode::Forbidden, "the request is not signed by Twilio")
    };
    let Some(token) = app.config.providers.twilio.auth_token.as_ref() else {
        return Err(refuse("providers.twilio.auth_token is not configured"));
    };
    let Some(signature) = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok()) else {
        return Err(refuse("no X-Twilio-Signature"));
    };
    let path_and_query =
        uri.path_and_query().map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let url = format!("{}{path_and_query}", app.config.twilio_public_url());
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default();
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let params = if json {
        if !twilio_signature::verify_json(token.expose(), &url, body, signature) {
            return Err(refuse("signature or bodySHA256 does not match"));
        }
        json_params(body).ok_or_else(|| AppError::code(ErrorCode::MalformedJson))?
    } else {
        let params: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).map_err(|_| AppError::code(ErrorCode::InvalidRequest))?;
        if !twilio_signature::verify_form(token.expose(), &url, &params, signature) {
            return Err(refuse("signature does not match"));
        }
        params
    };
    Ok(TwilioHook { params, query })
}

/// A JSON object's members as name/value strings (nested values as their JSON text).
fn json_params(body: &[u8]) -> Option<Vec<(String, String)>> {
    let serde_json::Value::Object(map) = serde_json::from_slice(body).ok()? else {
        return None;
    };
    Some(
        map.into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect(),
    )
}
