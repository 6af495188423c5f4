//! Twilio: SMS and WhatsApp through `Messages.json`, voice through `Calls.json` with inline TwiML.
//! HTTP basic auth with the account SID and auth token, or an API key SID and secret. Twilio's error
//! JSON (`{code, message, more_info, status}`) becomes the outcome's code and reason.

use std::time::Duration;

use futures_util::future::BoxFuture;
use hearth_core::messaging::{Channel, MessageStatus};
use hearth_core::{Secret, UtcTime};
use serde::Deserialize;

use super::{bad_address, http, is_e164};
use crate::config::TwilioConfig;
use crate::notifications::{Outgoing, Provider, Reconciled, SendOutcome};

/// Twilio's longest `ValidityPeriod`, in seconds.
const MAX_VALIDITY_SECS: u64 = 36_000;

/// The endpoint and form fields of one request.
pub type FormRequest = (String, Vec<(&'static str, String)>);

/// A hook that edits the form just before it is sent (tests prove the mock refuses a form without a
/// required field).
pub type FormHook = fn(&mut Vec<(&'static str, String)>);

pub struct Twilio {
    http: reqwest::Client,
    /// `{base}/2010-04-01/Accounts/{sid}`.
    account_url: String,
    user: String,
    password: Secret,
    sms_from: Option<String>,
    messaging_service_sid: Option<String>,
    whatsapp_from: Option<String>,
    voice_from: Option<String>,
    /// `{public}/hooks/twilio/status`.
    status_callback: String,
    form_hook: Option<FormHook>,
}

impl Twilio {
    pub fn new(http: reqwest::Client, c: &TwilioConfig, public_url: &str) -> anyhow::Result<Self> {
        let sid = c.account_sid.clone().ok_or_else(|| anyhow::anyhow!("account_sid is not set"))?;
        let (user, password) = match (&c.api_key_sid, &c.api_key_secret, &c.auth_token) {
            (Some(key), Some(secret), _) => (key.clone(), secret.clone()),
            (_, _, Some(token)) => (sid.clone(), token.clone()),
            _ => anyhow::bail!("set auth_token, or api_key_sid and api_key_secret"),
        };
        Ok(Self {
            http,
            account_url: format!("{}/2010-04-01/Accounts/{sid}", c.base_url.trim_end_matches('/')),
            user,
            password,
            sms_from: c.sms_from.clone(),
            messaging_service_sid: c.messaging_service_sid.clone(),
            whatsapp_from: c.whatsapp_from.clone(),
            voice_from: c.voice_from.clone(),
            status_callback: format!("{}/hooks/twilio/status", public_url.trim_end_matches('/')),
            form_hook: None,
        })
    }

    /// Edits every form before it is sent. For tests only.
    #[doc(hidden)]
    #[must_use]
    pub fn with_form_hook(mut self, hook: FormHook) -> Self {
        self.form_hook = Some(hook);
        self
    }

    /// The endpoint and form of one send, or the reason it cannot be sent.
    pub fn request(&self, msg: &Outgoing) -> Result<FormRequest, SendOutcome> {
        let callback = format!("{}?message_id={}", self.status_callback, msg.message_id);
        let mut form = Vec::new();
        let endpoint = match msg.channel {
            Channel::Sms | Channel::Whatsapp => {
                let whatsapp = msg.channel == Channel::Whatsapp;
                let to = address(&msg.to, whatsapp).ok_or_else(|| {
                    bad_address("to", if whatsapp { "E.164 or whatsapp:+E.164" } else { "an E.164 number" })
                })?;
                form.push(("To", to));
                let configured = if whatsapp { &self.whatsapp_from } else { &self.sms_from };
                // The message's own sender, else the Messaging Service, else the configured number.
                match (&msg.from, &self.messaging_service_sid, configured) {
                    (None, Some(service), _) => form.push(("MessagingServiceSid", service.clone())),
                    (Some(from), _, _) | (None, None, Some(from)) => {
                        let from = address(from, whatsapp)
                            .ok_or_else(|| bad_address("from", "an E.164 number or whatsapp:+E.164"))?;
                        form.push(("From", from));
                    }
                    (None, None, None) => return Err(no_sender(msg.channel)),
                }
                if msg.body.is_empty() {
                    return Err(SendOutcome::Rejected {
                        code: Some("empty_body".into()),
                        reason: "body: empty".into(),
                    });
                }
                form.push(("Body", msg.body.clone()));
                form.push(("StatusCallback", callback));
                if let Some(validity) = msg.validity {
                    form.push(("ValidityPeriod", validity_secs(validity)?.to_string()));
                }
                "Messages.json"
            }
            Channel::Voice => {
                if !is_e164(&msg.to) {
                    return Err(bad_address("to", "an E.164 number"));
                }
                let from =
                    msg.from.as_ref().or(self.voice_from.as_ref()).ok_or_else(|| no_sender(msg.channel))?;
                if !is_e164(from) {
                    return Err(bad_address("from", "an E.164 number"));
                }
                form.push(("To", msg.to.clone()));
                form.push(("From", from.clone()));
                form.push(("Twiml", twiml_say(&msg.body, &msg.language)));
                form.push(("StatusCallback", callback));
                "Calls.json"
            }
            Channel::Email => return Err(super::wrong_channel("twilio", msg.channel)),
        };
        if let Some(hook) = self.form_hook {
            hook(&mut form);
        }
        Ok((format!("{}/{endpoint}", self.account_url), form))
    }

    async fn send_now(&self, msg: &Outgoing) -> SendOutcome {
        let (url, form) = match self.request(msg) {
            Ok(r) => r,
            Err(outcome) => return outcome,
        };
        let res =
            self.http.post(url).basic_auth(&self.user, Some(self.password.expose())).form(&form).send().await;
        let res = match res {
            Ok(r) => r,
            Err(e) => return http::network_error(&e),
        };
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        if status.is_success() {
            let created: Created = serde_json::from_str(&text).unwrap_or_default();
            if created.sid.is_empty() {
                tracing::warn!(provider = "twilio", "accepted without a sid in the answer");
            }
            // A creation answer only says Twilio has the message (`queued`, `accepted`,
            // `scheduled`): the status callbacks tell the rest.
            return SendOutcome::Accepted { provider_id: created.sid, status: MessageStatus::Sent };
        }
        let err: TwilioError = serde_json::from_str(&text).unwrap_or_default();
        http::failed(
            status,
            &headers,
            err.code.map(|c| c.to_string()),
            err.message.or(err.title).or(err.detail),
        )
    }

    async fn reconcile_now(&self, msg: &Outgoing, since: UtcTime) -> Reconciled {
        if msg.channel == Channel::Voice {
            // Calls carry TwiML, not the text: a call to the same number proves nothing.
            return Reconciled::CannotTell;
        }
        let Ok((_, form)) = self.request(msg) else {
            return Reconciled::NotFound;
        };
        let field = |name: &str| form.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
        let mut query = vec![("To", field("To").unwrap_or_default()), ("PageSize", "100".into())];
        if let Some(from) = field("From") {
            query.push(("From", from));
        }
        // DateSent filters by day; `since` minus a day covers time zones and clock skew.
        let day = since.get().checked_sub(jiff::SignedDuration::from_hours(24)).unwrap_or(since.get());
        query.push(("DateSent>", day.strftime("%Y-%m-%d").to_string()));
        let res = self
            .http
            .get(format!(
                "{}/Messages.json?{}",
                self.account_url,
                serde_urlencoded::to_string(&query).unwrap_or_default()
            ))
            .basic_auth(&self.user, Some(self.password.expose()))
            .send()
            .await;
        let res = match res {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => return Reconciled::Unavailable { reason: format!("HTTP {}", r.status().as_u16()) },
            Err(e) => return Reconciled::Unavailable { reason: http::without_url(&e) },
        };
        let list: MessageList = match res.json().await {
            Ok(l) => l,
            Err(_) => return Reconciled::Unavailable { reason: "unreadable message list".into() },
        };
        list.messages
            .into_iter()
            .find(|m| m.body.as_deref() == Some(msg.body.as_str()) && !m.sid.is_empty())
            .map_or(Reconciled::NotFound, |m| Reconciled::Found {
                status: at_least_sent(m.status.as_deref().and_then(status_of).unwrap_or(MessageStatus::Sent)),
                provider_id: m.sid,
            })
    }
}

impl Provider for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, SendOutcome> {
        Box::pin(self.send_now(msg))
    }

    fn reconcile<'a>(&'a self, msg: &'a Outgoing, since: UtcTime) -> BoxFuture<'a, Reconciled> {
        Box::pin(self.reconcile_now(msg, since))
    }
}

/// What Twilio's statuses of messages and calls mean for Hearth. Everything Twilio holds but has not
/// finished (`queued`, `accepted`, `scheduled`, `sending`, a ringing call) is Hearth's `sent`: the
/// message left Hearth. `read` and a completed call are `delivered`. `None` for a word Twilio may
/// add later (the receipt is kept; the message is not moved).
pub fn status_of(twilio: &str) -> Option<MessageStatus> {
    Some(match twilio {
        "queued" | "accepted" | "scheduled" | "sending" | "sent" | "initiated" | "ringing" => {
            MessageStatus::Sent
        }
        "delivered" | "read" | "in-progress" | "answered" | "completed" => MessageStatus::Delivered,
        "undelivered" | "busy" | "no-answer" => MessageStatus::Undelivered,
        "failed" => MessageStatus::Failed,
        "canceled" => MessageStatus::Canceled,
        _ => return None,
    })
}

/// An accepted send is at least `sent`, whatever early word the answer used.
fn at_least_sent(s: MessageStatus) -> MessageStatus {
    if matches!(s, MessageStatus::Queued | MessageStatus::Sending) { MessageStatus::Sent } else { s }
}

/// The address as Twilio takes it for the channel (`whatsapp:+E164` for WhatsApp).
fn address(raw: &str, whatsapp: bool) -> Option<String> {
    let number = raw.strip_prefix("whatsapp:").unwrap_or(raw);
    if !is_e164(number) || (!whatsapp && raw.starts_with("whatsapp:")) {
        return None;
    }
    Some(if whatsapp { format!("whatsapp:{number}") } else { number.to_owned() })
}

fn no_sender(channel: Channel) -> SendOutcome {
    let key = match channel {
        Channel::Whatsapp => "providers.twilio.whatsapp_from (or messaging_service_sid)",
        Channel::Voice => "providers.twilio.voice_from",
        _ => "providers.twilio.sms_from (or messaging_service_sid)",
    };
    SendOutcome::Rejected {
        code: Some("no_sender".into()),
        reason: format!("from: no sender configured; set {key}"),
    }
}

fn validity_secs(validity: Duration) -> Result<u64, SendOutcome> {
    match validity.as_secs() {
        0 => Err(SendOutcome::Rejected {
            code: Some("expired".into()),
            reason: "validity: the message expired before it was sent".into(),
        }),
        s => Ok(s.min(MAX_VALIDITY_SECS)),
    }
}

/// Twilio's `<Say language>` for a Hearth language (BCP-47): English (US), Spanish (Mexico), Arabic
/// (the Google voices' `ar-XA`); a tag with a region passes through; anything else reads as English.
pub fn voice_language(language: &str) -> String {
    let primary = language.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
    match primary.as_str() {
        _ if language.contains('-') && language.len() <= 10 => language.to_owned(),
        "es" => "es-MX".into(),
        "ar" => "ar-XA".into(),
        "fr" => "fr-FR".into(),
        _ => "en-US".into(),
    }
}

/// `<Response><Say language="…">text</Say></Response>` with the text XML-escaped.
pub fn twiml_say(text: &str, language: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say language=\"{}\">{}</Say></Response>",
        xml_escape(&voice_language(language)),
        xml_escape(text)
    )
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 forbids are dropped rather than sent as invalid TwiML.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

#[derive(Debug, Default, Deserialize)]
struct Created {
    #[serde(default)]
    sid: String,
}

/// Twilio's error body; Prism's problem+json (`title`, `detail`) when the mock refuses a request.
#[derive(Debug, Default, Deserialize)]
struct TwilioError {
    code: Option<i64>,
    message: Option<String>,
    title: Option<String>,
    detail: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct MessageList {
    #[serde(default)]
    messages: Vec<Listed>,
}

#[derive(Debug, Default, Deserialize)]
struct Listed {
    #[serde(default)]
    sid: String,
    body: Option<String>,
    status: Option<String>,
}

#[cfg(test)]
#[path = "twilio_tests.rs"]
mod tests;
