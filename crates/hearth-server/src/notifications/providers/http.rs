//! What the HTTP providers share: one client with timeouts, and the mapping of failed answers to
//! [`SendOutcome::Transient`] (429, 5xx, timeouts, connection errors, honoring `Retry-After`) or
//! [`SendOutcome::Rejected`] (any other 4xx).

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::notifications::SendOutcome;

/// The client every HTTP provider uses (connection pooling; no redirects: a provider that redirects a
/// POST is misconfigured).
pub fn client(connect: Duration, total: Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .connect_timeout(connect)
        .timeout(total)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("hearth/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// A request that got no answer: always worth retrying (the provider may or may not have the
/// message; reconciliation settles that before any resend of a crashed attempt).
pub fn network_error(e: &reqwest::Error) -> SendOutcome {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    SendOutcome::Transient { code: None, reason: format!("{kind}: {}", without_url(e)), retry_after: None }
}

/// reqwest's error text without the URL (it can carry an account id or, for list queries, a number).
pub fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "<url>");
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A non-2xx answer: transient for 429 and 5xx, rejected otherwise; `code` and `reason` are the
/// provider's own when it sent them.
pub fn failed(
    status: StatusCode,
    headers: &HeaderMap,
    code: Option<String>,
    reason: Option<String>,
) -> SendOutcome {
    let reason =
        reason.filter(|r| !r.trim().is_empty()).unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
    let code = code.or_else(|| Some(status.as_u16().to_string()));
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        SendOutcome::Transient { code, reason, retry_after: retry_after(headers) }
    } else {
        SendOutcome::Rejected { code, reason }
    }
}

/// `Retry-After` as seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let wait = at.duration_since(jiff::Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    #[test]
    fn statuses_map_to_transient_or_rejected() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(
            failed(StatusCode::TOO_MANY_REQUESTS, &h, Some("20429".into()), Some("Too Many Requests".into())),
            SendOutcome::Transient {
                code: Some("20429".into()),
                reason: "Too Many Requests".into(),
                retry_after: Some(Duration::from_secs(7))
            }
        );
        assert!(matches!(
            failed(StatusCode::BAD_GATEWAY, &HeaderMap::new(), None, None),
            SendOutcome::Transient { code: Some(c), reason, retry_after: None } if c == "502" && reason == "HTTP 502"
        ));
        assert!(matches!(
            failed(StatusCode::BAD_REQUEST, &h, Some("21211".into()), Some("Invalid 'To'".into())),
            SendOutcome::Rejected { code: Some(c), .. } if c == "21211"
        ));
        assert!(matches!(failed(StatusCode::UNAUTHORIZED, &h, None, None), SendOutcome::Rejected { .. }));
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&h), Some(Duration::ZERO), "a date in the past means now");
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }
}
