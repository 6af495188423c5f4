//! E-mail through SendGrid's v3 API: `POST {base_url}/mail/send` with a bearer key. `base_url` is
//! everything before `/mail/send` (`https://api.sendgrid.com/v3`; a mock built from the OpenAPI
//! document serves it without `/v3`). `202 Accepted` is success, with SendGrid's id in `X-Message-Id`;
//! Hearth's message id travels in the personalization's `custom_args.hearth_message_id`, so event webhooks can name it.

use futures_util::future::BoxFuture;
use hearth_core::messaging::{Channel, MessageStatus};
use hearth_core::{Secret, UtcTime};
use lettre::message::Mailbox;
use serde::Deserialize;
use serde_json::json;

use super::{bad_address, http};
use crate::config::SendgridConfig;
use crate::notifications::{Outgoing, Provider, Reconciled, SendOutcome};

pub struct Sendgrid {
    http: reqwest::Client,
    url: String,
    api_key: Secret,
    from: Mailbox,
    default_subject: String,
    body_hook: Option<fn(&mut serde_json::Value)>,
}

impl Sendgrid {
    pub fn new(http: reqwest::Client, c: &SendgridConfig, default_subject: &str) -> anyhow::Result<Self> {
        let api_key = c.api_key.clone().ok_or_else(|| anyhow::anyhow!("api_key is not set"))?;
        let from = c
            .from
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("from is not set"))?
            .parse()
            .map_err(|_| anyhow::anyhow!("from is not an e-mail address"))?;
        Ok(Self {
            http,
            url: format!("{}/mail/send", c.base_url.trim_end_matches('/')),
            api_key,
            from,
            default_subject: default_subject.to_owned(),
            body_hook: None,
        })
    }

    /// Edits every body before it is sent. For tests only (the mock must refuse an invalid body).
    #[doc(hidden)]
    #[must_use]
    pub fn with_body_hook(mut self, hook: fn(&mut serde_json::Value)) -> Self {
        self.body_hook = Some(hook);
        self
    }

    /// The `mail/send` body for `msg`, or why it cannot be sent.
    pub fn body(&self, msg: &Outgoing) -> Result<serde_json::Value, SendOutcome> {
        if msg.channel != Channel::Email {
            return Err(super::wrong_channel("sendgrid", msg.channel));
        }
        let to: Mailbox = msg.to.parse().map_err(|_| bad_address("to", "an e-mail address"))?;
        let from: Mailbox = match &msg.from {
            Some(f) => f.parse().map_err(|_| bad_address("from", "an e-mail address"))?,
            None => self.from.clone(),
        };
        let subject = msg
            .subject
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| self.default_subject.clone());
        let id = msg.message_id.to_string();
        Ok(json!({
            // In the personalization: SendGrid's document types the top-level custom_args as a string.
            "personalizations": [{"to": [mailbox(&to)], "custom_args": {"hearth_message_id": id}}],
            "from": mailbox(&from),
            "subject": subject,
            "content": [{"type": "text/plain", "value": msg.body}],
        }))
    }

    async fn send_now(&self, msg: &Outgoing) -> SendOutcome {
        let mut body = match self.body(msg) {
            Ok(b) => b,
            Err(outcome) => return outcome,
        };
        if let Some(hook) = self.body_hook {
            hook(&mut body);
        }
        let res = match self.http.post(&self.url).bearer_auth(self.api_key.expose()).json(&body).send().await
        {
            Ok(r) => r,
            Err(e) => return http::network_error(&e),
        };
        let status = res.status();
        let headers = res.headers().clone();
        if status.is_success() {
            let provider_id = headers
                .get("x-message-id")
                .and_then(|v| v.to_str().ok())
                .map_or_else(|| format!("hearth-{}", msg.message_id), str::to_owned);
            return SendOutcome::Accepted { provider_id, status: MessageStatus::Sent };
        }
        let errors: Errors = res.json().await.unwrap_or_default();
        let first = errors.errors.into_iter().next();
        let reason = first.map(|e| match e.field {
            Some(field) if !field.is_empty() => format!("{field}: {}", e.message.unwrap_or_default()),
            _ => e.message.unwrap_or_default(),
        });
        http::failed(status, &headers, None, reason.or(errors.title))
    }
}

fn mailbox(m: &Mailbox) -> serde_json::Value {
    match &m.name {
        Some(name) => json!({"email": m.email.to_string(), "name": name}),
        None => json!({"email": m.email.to_string()}),
    }
}

impl Provider for Sendgrid {
    fn name(&self) -> &'static str {
        "sendgrid"
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, SendOutcome> {
        Box::pin(self.send_now(msg))
    }

    fn reconcile<'a>(&'a self, _msg: &'a Outgoing, _since: UtcTime) -> BoxFuture<'a, Reconciled> {
        // Searching sent mail needs SendGrid's paid Email Activity add-on: a person decides.
        Box::pin(async { Reconciled::CannotTell })
    }
}

/// SendGrid's `{"errors": [{"message", "field", "help"}]}`; Prism's problem+json has a `title`.
#[derive(Debug, Default, Deserialize)]
struct Errors {
    #[serde(default)]
    errors: Vec<ErrorItem>,
    title: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorItem {
    message: Option<String>,
    field: Option<String>,
}

#[cfg(test)]
mod tests {
    use hearth_core::MessageId;

    use super::*;

    #[test]
    fn the_body_names_sender_recipient_and_our_id() {
        let c = SendgridConfig {
            api_key: Some(Secret::new("SG.x")),
            from: Some("Clinic <clinic@example.org>".into()),
            ..SendgridConfig::default()
        };
        let s = Sendgrid::new(reqwest::Client::new(), &c, "Default").unwrap();
        assert_eq!(s.url, "https://api.sendgrid.com/v3/mail/send");
        let m = Outgoing {
            message_id: MessageId::new(),
            channel: Channel::Email,
            to: "jane@example.org".into(),
            from: None,
            subject: None,
            body: "Hi".into(),
            language: "en".into(),
            validity: None,
        };
        let b = s.body(&m).unwrap();
        assert_eq!(b["personalizations"][0]["to"][0]["email"], "jane@example.org");
        assert_eq!(b["from"], json!({"email": "clinic@example.org", "name": "Clinic"}));
        assert_eq!(b["subject"], "Default");
        assert_eq!(b["personalizations"][0]["custom_args"]["hearth_message_id"], m.message_id.to_string());
        let bad = Outgoing { to: "nope".into(), ..m };
        assert!(
            matches!(s.body(&bad), Err(SendOutcome::Rejected { reason, .. }) if reason.starts_with("to:"))
        );
    }
}
