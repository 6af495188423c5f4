//! One delivery attempt: the stored payload POSTed to the configured endpoint.
//!
//! - `webhook`: `POST {writeback.url}` with `Content-Type: application/json`,
//!   `X-Hearth-Timestamp: <unix seconds>` and
//!   `X-Hearth-Signature: sha256=<hex HMAC-SHA256(writeback.secret, timestamp + "." + body)>` (the
//!   scheme of the signed webhook provider), and `X-Hearth-Request-Id`.
//! - `fhir`: `POST {writeback.url}/AppointmentResponse` with `Content-Type: application/fhir+json`,
//!   `If-None-Exist: identifier=urn:hearth:ehr-request|<request id>` (a repeat creates nothing) and
//!   `Authorization: Bearer …` when `writeback.bearer_token` is set.
//!
//! Any 2xx is delivery; 429, 5xx, timeouts and connection errors are retried; any other answer fails
//! the request (shown on the appointment's timeline with the EHR's status).

use std::sync::OnceLock;
use std::time::Duration;

use hearth_core::messaging::MessageStatus;
use hearth_store::ehr_requests::EhrRequestRow;

use crate::notifications::SendOutcome;
use crate::notifications::providers::http;
use crate::state::AppState;

fn client(app: &AppState) -> Option<&'static reqwest::Client> {
    static CLIENT: OnceLock<Option<reqwest::Client>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let p = &app.config.providers;
            http::client(
                Duration::from_secs(p.connect_timeout_secs),
                Duration::from_secs(app.config.outbox.send_timeout_secs),
            )
            .ok()
        })
        .as_ref()
}

/// `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`, as the signed webhook provider signs.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    crate::notifications::providers::webhook::signature(secret, timestamp, body)
}

pub async fn deliver(app: &AppState, r: &EhrRequestRow) -> SendOutcome {
    let w = &app.config.writeback;
    let Some(url) = w.url.as_deref() else {
        return SendOutcome::Rejected {
            code: Some("not_configured".into()),
            reason: "writeback.url is not set".into(),
        };
    };
    let Some(http) = client(app) else {
        return SendOutcome::Transient { code: None, reason: "no HTTP client".into(), retry_after: None };
    };
    let req = if r.method == "fhir" {
        let mut req = http
            .post(format!("{}/AppointmentResponse", url.trim_end_matches('/')))
            .header("content-type", "application/fhir+json")
            .header("accept", "application/fhir+json")
            .header("if-none-exist", format!("identifier=urn:hearth:ehr-request|{}", r.id));
        if let Some(token) = &w.bearer_token {
            req = req.bearer_auth(token.expose());
        }
        req
    } else {
        let timestamp = jiff::Timestamp::now().as_second().to_string();
        let secret = w.secret.as_ref().map_or("", |s| s.expose());
        http.post(url)
            .header("content-type", "application/json")
            .header("x-hearth-timestamp", &timestamp)
            .header("x-hearth-signature", signature(secret, &timestamp, r.payload.as_bytes()))
            .header("x-hearth-request-id", r.id.to_string())
    };
    let res = match req.body(r.payload.clone()).send().await {
        Ok(res) => res,
        Err(e) => return http::network_error(&e),
    };
    let status = res.status();
    if status.is_success() {
        return SendOutcome::Accepted {
            provider_id: status.as_u16().to_string(),
            status: MessageStatus::Delivered,
        };
    }
    let headers = res.headers().clone();
    // The EHR's own words are not kept: an error body may echo patient data.
    http::failed(status, &headers, None, None)
}
