//! Layers every request passes through: request id, span, metrics; security headers; timeout; panic
//! to a JSON 500.

use std::any::Any;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hearth_core::ErrorCode;
use tracing::Instrument;

use crate::error::AppError;
use crate::state::AppState;
use crate::telemetry;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Gives the request an id (the caller's, if it is a short token, else a new UUIDv7), runs it inside a
/// span named by the route template, records its metrics and logs its completion. The raw URI is
/// never logged: query strings and paths can carry patient data.
pub async fn observe(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let request_id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_safe_request_id(v))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        req.headers_mut().insert(X_REQUEST_ID, v);
    }
    let method = req.method().as_str().to_owned();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let span = tracing::info_span!("request", method = %method, route = %route, request_id = %request_id);
    let started = Instant::now();
    let mut res =
        telemetry::with_request_id(request_id.clone(), next.run(req)).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    app.metrics.observe_request(&method, &route, status, elapsed);
    span.in_scope(|| {
        let latency_ms = elapsed.as_secs_f64() * 1000.0;
        if status >= 500 {
            tracing::warn!(status, latency_ms, "request failed");
        } else {
            tracing::info!(status, latency_ms, "request finished");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(X_REQUEST_ID, v);
    }
    res
}

fn is_safe_request_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Headers that make browsers strict: no sniffing, no framing, no referrer, same-origin resources
/// only, and no caching of responses that may hold patient data (a handler may set its own
/// `cache-control`, e.g. for static assets).
pub async fn security_headers(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
    );
    set(h, HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=()");
    set(h, HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
    set(h, header::CACHE_CONTROL, "no-store");
    if app.config.public_url().starts_with("https://") {
        set(h, header::STRICT_TRANSPORT_SECURITY, "max-age=31536000; includeSubDomains");
    }
    res
}

/// Abandons a request that runs longer than `http.request_timeout_secs`.
pub async fn timeout(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let limit = Duration::from_secs(app.config.http.request_timeout_secs);
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => AppError::code(ErrorCode::RequestTimeout).into_response(),
    }
}

/// A panicking handler answers like any internal error; the panic message goes to the log only.
#[allow(clippy::needless_pass_by_value)] // the signature CatchPanicLayer::custom requires
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("non-string panic payload");
    AppError::Internal(anyhow::anyhow!("handler panicked: {detail}")).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_short_plain_request_ids_are_kept() {
        assert!(super::is_safe_request_id("abc-123_x.y"));
        assert!(!super::is_safe_request_id(""));
        assert!(!super::is_safe_request_id("a b"));
        assert!(!super::is_safe_request_id("<script>"));
        assert!(!super::is_safe_request_id(&"x".repeat(65)));
    }
}
