//! `[providers]`: which provider carries each channel, and each provider's settings. Nothing here is
//! required: with no provider configured every channel goes to the local outbox.

use hearth_core::Secret;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProvidersConfig {
    /// Provider of SMS: `auto` (Twilio when configured, else local), `local`, `twilio`, `webhook`.
    pub sms: ProviderChoice,
    /// Provider of WhatsApp messages (same choices as `sms`).
    pub whatsapp: ProviderChoice,
    /// Provider of voice calls (same choices as `sms`).
    pub voice: ProviderChoice,
    /// Provider of e-mail: `auto` (SMTP, else SendGrid, else local), `local`, `smtp`, `sendgrid`,
    /// `webhook`.
    pub email: ProviderChoice,
    /// Subject of e-mails whose template has none.
    pub email_subject: String,
    /// Seconds to wait for a provider's TCP/TLS connection.
    pub connect_timeout_secs: u64,
    /// Seconds a whole provider request (connect, send, answer) may take.
    pub timeout_secs: u64,
    pub twilio: TwilioConfig,
    pub smtp: SmtpConfig,
    pub sendgrid: SendgridConfig,
    pub webhook: WebhookConfig,
}

/// Which provider carries a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderChoice {
    /// The configured provider for the channel, or the local outbox when none is configured.
    #[default]
    Auto,
    Local,
    Twilio,
    Smtp,
    Sendgrid,
    Webhook,
}

impl ProviderChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Local => "local",
            Self::Twilio => "twilio",
            Self::Smtp => "smtp",
            Self::Sendgrid => "sendgrid",
            Self::Webhook => "webhook",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TwilioConfig {
    /// REST API base (tests point it at a local mock of Twilio's OpenAPI document).
    pub base_url: String,
    /// The account (`AC…`); Twilio is configured when this is set.
    pub account_sid: Option<String>,
    /// The account's auth token: verifies webhook signatures, and authenticates REST calls unless an
    /// API key is set.
    pub auth_token: Option<Secret>,
    /// An API key (`SK…`) for REST calls instead of the account SID and auth token.
    pub api_key_sid: Option<String>,
    pub api_key_secret: Option<Secret>,
    /// SMS sender (E.164), unless `messaging_service_sid` is set.
    pub sms_from: Option<String>,
    /// A Messaging Service (`MG…`) that picks the sender; wins over `sms_from` for SMS.
    pub messaging_service_sid: Option<String>,
    /// WhatsApp sender (E.164, with or without `whatsapp:`).
    pub whatsapp_from: Option<String>,
    /// Caller id for voice calls (E.164).
    pub voice_from: Option<String>,
    /// The public base URL Twilio calls back (`…/hooks/twilio/status`) and signs. Default: the
    /// server-wide `public_url`.
    pub public_url: Option<String>,
}

impl Default for TwilioConfig {
    fn default() -> Self {
        Self {
            base_url: "https://api.twilio.com".into(),
            account_sid: None,
            auth_token: None,
            api_key_sid: None,
            api_key_secret: None,
            sms_from: None,
            messaging_service_sid: None,
            whatsapp_from: None,
            voice_from: None,
            public_url: None,
        }
    }
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required); usually port 587.
    #[default]
    Starttls,
    /// TLS from the first byte; usually port 465.
    Implicit,
    /// No TLS at all: only for a relay on the same machine or tests.
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// The SMTP server; SMTP is configured when this is set.
    pub host: Option<String>,
    pub port: u16,
    pub tls: SmtpTls,
    /// AUTH user name; no AUTH when unset.
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// Sender address, e.g. `Clinic <reminders@clinic.example>`.
    pub from: Option<String>,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self { host: None, port: 587, tls: SmtpTls::Starttls, username: None, password: None, from: None }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SendgridConfig {
    /// Everything before `/mail/send`: `https://api.sendgrid.com/v3` (a mock may serve it without
    /// `/v3`).
    pub base_url: String,
    /// The API key; SendGrid is configured when this is set.
    pub api_key: Option<Secret>,
    /// Sender address (a verified sender of the SendGrid account).
    pub from: Option<String>,
}

impl Default for SendgridConfig {
    fn default() -> Self {
        Self { base_url: "https://api.sendgrid.com/v3".into(), api_key: None, from: None }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// Where messages are POSTed as signed JSON.
    pub url: Option<String>,
    /// The HMAC-SHA256 key of `X-Hearth-Signature`.
    pub secret: Option<Secret>,
}

impl Default for ProvidersConfig {
    fn default() -> Self {
        Self {
            sms: ProviderChoice::Auto,
            whatsapp: ProviderChoice::Auto,
            voice: ProviderChoice::Auto,
            email: ProviderChoice::Auto,
            email_subject: "A message from your care team".into(),
            connect_timeout_secs: 5,
            timeout_secs: 15,
            twilio: TwilioConfig::default(),
            smtp: SmtpConfig::default(),
            sendgrid: SendgridConfig::default(),
            webhook: WebhookConfig::default(),
        }
    }
}

impl TwilioConfig {
    /// Whether REST sends can be made (an account and a credential).
    pub fn is_configured(&self) -> bool {
        self.account_sid.is_some()
            && (self.auth_token.is_some() || (self.api_key_sid.is_some() && self.api_key_secret.is_some()))
    }
}

fn is_http_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

impl ProvidersConfig {
    /// Checks that cannot be expressed in types; each problem names its key.
    pub(crate) fn validate(&self) -> Vec<String> {
        let mut errors = Vec::new();
        let t = &self.twilio;
        let phone_choices = [("sms", self.sms), ("whatsapp", self.whatsapp), ("voice", self.voice)];
        for (key, choice) in phone_choices {
            if matches!(choice, ProviderChoice::Smtp | ProviderChoice::Sendgrid) {
                errors.push(format!(
                    "providers.{key}: `{}` carries e-mail only; expected auto, local, twilio or webhook",
                    choice.as_str()
                ));
            }
            if choice == ProviderChoice::Twilio && !t.is_configured() {
                errors.push(format!(
                    "providers.{key} = \"twilio\" needs providers.twilio.account_sid and either \
                     providers.twilio.auth_token or providers.twilio.api_key_sid + api_key_secret"
                ));
            }
        }
        if self.email == ProviderChoice::Twilio {
            errors.push("providers.email: twilio does not carry e-mail; expected auto, local, smtp, sendgrid or webhook".into());
        }
        if self.email == ProviderChoice::Smtp && (self.smtp.host.is_none() || self.smtp.from.is_none()) {
            errors
                .push("providers.email = \"smtp\" needs providers.smtp.host and providers.smtp.from".into());
        }
        if self.email == ProviderChoice::Sendgrid
            && (self.sendgrid.api_key.is_none() || self.sendgrid.from.is_none())
        {
            errors.push(
                "providers.email = \"sendgrid\" needs providers.sendgrid.api_key and providers.sendgrid.from"
                    .into(),
            );
        }
        let all = [self.sms, self.whatsapp, self.voice, self.email];
        if all.contains(&ProviderChoice::Webhook)
            && (self.webhook.url.is_none() || self.webhook.secret.is_none())
        {
            errors.push(
                "a channel uses the webhook provider: set providers.webhook.url and providers.webhook.secret"
                    .into(),
            );
        }
        if t.api_key_sid.is_some() != t.api_key_secret.is_some() {
            errors
                .push("providers.twilio.api_key_sid and providers.twilio.api_key_secret go together".into());
        }
        if self.smtp.username.is_some() != self.smtp.password.is_some() {
            errors.push("providers.smtp.username and providers.smtp.password go together".into());
        }
        if let Some(from) = &self.smtp.from
            && from.parse::<lettre::message::Mailbox>().is_err()
        {
            errors.push(
                "providers.smtp.from: not an e-mail address (e.g. `Clinic <reminders@clinic.example>`)"
                    .into(),
            );
        }
        let urls = [
            ("providers.twilio.base_url", Some(&t.base_url)),
            ("providers.twilio.public_url", t.public_url.as_ref()),
            ("providers.sendgrid.base_url", Some(&self.sendgrid.base_url)),
            ("providers.webhook.url", self.webhook.url.as_ref()),
        ];
        for (key, url) in urls {
            if let Some(url) = url
                && !is_http_url(url)
            {
                errors.push(format!("{key}: expected an http:// or https:// URL, got `{url}`"));
            }
        }
        if self.connect_timeout_secs == 0 || self.timeout_secs == 0 {
            errors.push(
                "providers.connect_timeout_secs and providers.timeout_secs: expected at least 1".into(),
            );
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_secrets_never_show_in_the_report() {
        let mut c = crate::config::Config::default();
        let p = &mut c.providers;
        p.twilio.auth_token = Some(Secret::new("tw-token-s3cret"));
        p.twilio.api_key_secret = Some(Secret::new("tw-key-s3cret"));
        p.smtp.password = Some(Secret::new("smtp-s3cret"));
        p.sendgrid.api_key = Some(Secret::new("SG.s3cret"));
        p.webhook.secret = Some(Secret::new("wh-s3cret"));
        let shown = format!("{c:?} {}", serde_json::to_string(&c).unwrap());
        assert!(!shown.contains("s3cret"), "{shown}");
        assert_eq!(serde_json::to_value(&c).unwrap()["providers"]["smtp"]["password"], "***");
    }

    #[test]
    fn providers_come_from_the_environment() {
        let env: Vec<(String, String)> = [
            ("HEARTH_PROVIDERS__SMS", "twilio"),
            ("HEARTH_PROVIDERS__TWILIO__ACCOUNT_SID", "AC1"),
            ("HEARTH_PROVIDERS__TWILIO__AUTH_TOKEN", "t"),
            ("HEARTH_PROVIDERS__SMTP__TLS", "implicit"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let (c, _) = crate::config::load(&crate::config::Overrides::default(), &env).unwrap();
        assert_eq!(c.providers.sms, ProviderChoice::Twilio);
        assert_eq!(c.providers.twilio.auth_token.as_ref().map(Secret::expose), Some("t"));
        assert_eq!(c.providers.smtp.tls, SmtpTls::Implicit);
        let bad = [("HEARTH_PROVIDERS__EMAIL".to_owned(), "carrier-pigeon".to_owned())];
        let msg = crate::config::load(&crate::config::Overrides::default(), &bad).err().unwrap().to_string();
        assert!(msg.contains("providers.email"), "{msg}");
    }
}
