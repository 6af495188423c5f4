//! A signed generic webhook: each message is POSTed as JSON
//! `{message_id, channel, to, subject, body, language}` with
//! `X-Hearth-Timestamp: <unix seconds>` and
//! `X-Hearth-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>`.
//! Any 2xx is acceptance (an `id` in a JSON answer becomes the provider id); 429 and 5xx are retried.

use std::fmt::Write as _;

use futures_util::future::BoxFuture;
use hearth_core::messaging::MessageStatus;
use hearth_core::{Secret, UtcTime};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::http;
use crate::config::WebhookConfig;
use crate::notifications::{Outgoing, Provider, Reconciled, SendOutcome};

pub struct SignedWebhook {
    http: reqwest::Client,
    url: String,
    secret: Secret,
}

impl SignedWebhook {
    pub fn new(http: reqwest::Client, c: &WebhookConfig) -> anyhow::Result<Self> {
        let url = c.url.clone().ok_or_else(|| anyhow::anyhow!("url is not set"))?;
        let secret = c.secret.clone().ok_or_else(|| anyhow::anyhow!("secret is not set"))?;
        Ok(Self { http, url, secret })
    }

    async fn send_now(&self, msg: &Outgoing) -> SendOutcome {
        let body = serde_json::json!({
            "message_id": msg.message_id,
            "channel": msg.channel,
            "to": msg.to,
            "subject": msg.subject,
            "body": msg.body,
            "language": msg.language,
        })
        .to_string();
        let timestamp = jiff::Timestamp::now().as_second().to_string();
        let res = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-hearth-timestamp", &timestamp)
            .header("x-hearth-signature", signature(self.secret.expose(), &timestamp, body.as_bytes()))
            .body(body)
            .send()
            .await;
        let res = match res {
            Ok(r) => r,
            Err(e) => return http::network_error(&e),
        };
        let status = res.status();
        let headers = res.headers().clone();
        let answer: serde_json::Value = res.json().await.unwrap_or_default();
        if status.is_success() {
            let provider_id = answer["id"].as_str().map_or_else(|| msg.message_id.to_string(), str::to_owned);
            return SendOutcome::Accepted { provider_id, status: MessageStatus::Sent };
        }
        let text = |k: &str| answer[k].as_str().map(str::to_owned);
        http::failed(status, &headers, text("code"), text("message").or_else(|| text("error")))
    }
}

/// `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    bytes.iter().fold(String::from("sha256="), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl Provider for SignedWebhook {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, SendOutcome> {
        Box::pin(self.send_now(msg))
    }

    fn reconcile<'a>(&'a self, _msg: &'a Outgoing, _since: UtcTime) -> BoxFuture<'a, Reconciled> {
        Box::pin(async { Reconciled::CannotTell })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_matches_an_independent_computation() {
        // printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'whsec'
        assert_eq!(
            signature("whsec", "1700000000", br#"{"a":1}"#),
            "sha256=8ad37ba156048ae0e0a5533c75cdf26fee88b07f93cb57ee4c80adb053012032"
        );
    }
}
