//! The real providers behind [`Provider`]: Twilio (SMS, WhatsApp, voice), SMTP, SendGrid and a signed
//! generic webhook, and [`Providers::from_config`], which decides which one carries each channel.
//!
//! Providers never log message bodies or addresses (C12): failures are logged by the outbox with the
//! message id and the provider's code only.

pub(crate) mod http;
pub mod sendgrid;
pub mod smtp;
pub mod twilio;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use hearth_core::messaging::Channel;

use super::provider::{LocalProvider, Provider, Providers, SendOutcome};
use crate::config::{Config, ProviderChoice};

pub use sendgrid::Sendgrid;
pub use smtp::Smtp;
pub use twilio::Twilio;
pub use webhook::SignedWebhook;

impl Providers {
    /// The providers the configuration asks for. Per channel: an explicit `providers.<channel>` wins;
    /// `auto` (the default) picks Twilio for sms/whatsapp/voice when it has an account, a credential
    /// and a sender for that channel, SMTP then SendGrid for e-mail when configured, and the local
    /// outbox otherwise. With nothing configured every channel is local, so Hearth starts anywhere.
    /// `outbox.loopback_url` overrides all of this: every channel goes to that endpoint.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        if let Some(url) = &config.outbox.loopback_url {
            // Every channel to one loopback endpoint (tests, benchmarks; docs/outbox.md).
            let timeout = Duration::from_secs(config.outbox.send_timeout_secs);
            return Ok(Self::uniform(Arc::new(super::loopback::LoopbackProvider::new(url, timeout)?)));
        }
        let p = &config.providers;
        let http =
            http::client(Duration::from_secs(p.connect_timeout_secs), Duration::from_secs(p.timeout_secs))?;
        let twilio_ready = p.twilio.is_configured();
        let t = &p.twilio;
        let auto = |channel: Channel| match channel {
            Channel::Sms if twilio_ready && (t.sms_from.is_some() || t.messaging_service_sid.is_some()) => {
                ProviderChoice::Twilio
            }
            Channel::Whatsapp
                if twilio_ready && (t.whatsapp_from.is_some() || t.messaging_service_sid.is_some()) =>
            {
                ProviderChoice::Twilio
            }
            Channel::Voice if twilio_ready && t.voice_from.is_some() => ProviderChoice::Twilio,
            Channel::Email if p.smtp.host.is_some() && p.smtp.from.is_some() => ProviderChoice::Smtp,
            Channel::Email if p.sendgrid.api_key.is_some() && p.sendgrid.from.is_some() => {
                ProviderChoice::Sendgrid
            }
            _ => ProviderChoice::Local,
        };
        let mut twilio: Option<Arc<dyn Provider>> = None;
        let mut providers = Providers::local();
        for channel in Channel::ALL {
            let choice = match p.choice(channel) {
                ProviderChoice::Auto => auto(channel),
                other => other,
            };
            let provider: Arc<dyn Provider> = match choice {
                ProviderChoice::Auto | ProviderChoice::Local => Arc::new(LocalProvider),
                ProviderChoice::Twilio => {
                    if let Some(t) = &twilio {
                        t.clone()
                    } else {
                        let t: Arc<dyn Provider> = Arc::new(
                            Twilio::new(http.clone(), &p.twilio, &config.twilio_public_url())
                                .context("providers.twilio")?,
                        );
                        twilio = Some(t.clone());
                        t
                    }
                }
                ProviderChoice::Smtp => Arc::new(
                    Smtp::new(&p.smtp, &p.email_subject, Duration::from_secs(p.timeout_secs))
                        .context("providers.smtp")?,
                ),
                ProviderChoice::Sendgrid => Arc::new(
                    Sendgrid::new(http.clone(), &p.sendgrid, &p.email_subject)
                        .context("providers.sendgrid")?,
                ),
                ProviderChoice::Webhook => {
                    Arc::new(SignedWebhook::new(http.clone(), &p.webhook).context("providers.webhook")?)
                }
            };
            providers = providers.with(channel, provider);
        }
        Ok(providers)
    }

    /// Which provider carries each channel, for the startup log and `hearth config check`.
    pub fn summary(&self) -> String {
        Channel::ALL
            .into_iter()
            .map(|c| format!("{c}={}", self.for_channel(c).name()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl crate::config::ProvidersConfig {
    fn choice(&self, channel: Channel) -> ProviderChoice {
        match channel {
            Channel::Sms => self.sms,
            Channel::Whatsapp => self.whatsapp,
            Channel::Voice => self.voice,
            Channel::Email => self.email,
        }
    }
}

/// A `Rejected` outcome for an address the channel cannot take; names the field, never echoes the
/// address (it is PHI and reasons end up in logs and pages).
fn bad_address(field: &str, expected: &str) -> SendOutcome {
    SendOutcome::Rejected {
        code: Some("invalid_address".into()),
        reason: format!("{field}: expected {expected}"),
    }
}

/// `+` and 7 to 15 digits (E.164), nothing else.
fn is_e164(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|d| (7..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// The `Rejected` outcome of a channel this provider does not carry.
fn wrong_channel(provider: &str, channel: Channel) -> SendOutcome {
    SendOutcome::Rejected {
        code: Some("unsupported_channel".into()),
        reason: format!("channel: {provider} does not carry {channel} messages"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(config: &Config) -> String {
        Providers::from_config(config).unwrap().summary()
    }

    #[test]
    fn nothing_configured_means_every_channel_is_local() {
        assert_eq!(names(&Config::default()), "sms=local, whatsapp=local, voice=local, email=local");
    }

    #[test]
    fn auto_picks_what_is_configured_per_channel() {
        let mut c = Config::default();
        c.providers.twilio.account_sid = Some("AC123".into());
        c.providers.twilio.auth_token = Some(hearth_core::Secret::new("t"));
        c.providers.twilio.sms_from = Some("+15005550006".into());
        c.providers.sendgrid.api_key = Some(hearth_core::Secret::new("SG.x"));
        c.providers.sendgrid.from = Some("clinic@example.org".into());
        assert_eq!(names(&c), "sms=twilio, whatsapp=local, voice=local, email=sendgrid");
        c.providers.smtp.host = Some("127.0.0.1".into());
        c.providers.smtp.from = Some("clinic@example.org".into());
        c.providers.twilio.voice_from = Some("+15005550006".into());
        assert_eq!(names(&c), "sms=twilio, whatsapp=local, voice=twilio, email=smtp");
        c.providers.email = ProviderChoice::Local;
        c.providers.webhook.url = Some("https://receiver.example/hearth".into());
        c.providers.webhook.secret = Some(hearth_core::Secret::new("k"));
        c.providers.whatsapp = ProviderChoice::Webhook;
        assert_eq!(names(&c), "sms=twilio, whatsapp=webhook, voice=twilio, email=local");
    }

    #[test]
    fn an_explicit_choice_without_its_settings_is_refused_by_key() {
        let mut c = Config::default();
        c.providers.sms = ProviderChoice::Twilio;
        c.providers.email = ProviderChoice::Twilio;
        c.providers.voice = ProviderChoice::Smtp;
        let errors = c.providers.validate().join("\n");
        assert!(errors.contains("providers.sms = \"twilio\" needs providers.twilio.account_sid"), "{errors}");
        assert!(errors.contains("providers.email: twilio does not carry e-mail"), "{errors}");
        assert!(errors.contains("providers.voice: `smtp` carries e-mail only"), "{errors}");
    }

    #[test]
    fn e164_is_strict() {
        assert!(is_e164("+15551230000"));
        for bad in ["15551230000", "+1 555 123", "+1555abc0000", "+", "", "whatsapp:+15551230000"] {
            assert!(!is_e164(bad), "{bad}");
        }
    }
}
