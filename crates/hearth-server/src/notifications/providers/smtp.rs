//! E-mail over SMTP (lettre): STARTTLS, implicit TLS or plain (a local relay, tests), with AUTH when a
//! user name is set. A 4xx reply is transient (greylisting, a full queue), a 5xx reply is permanent
//! (unknown mailbox, refused sender); connection and TLS failures are transient.

use std::sync::OnceLock;
use std::time::Duration;

use futures_util::future::BoxFuture;
use hearth_core::UtcTime;
use hearth_core::messaging::{Channel, MessageStatus};
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::bad_address;
use crate::config::{SmtpConfig, SmtpTls};
use crate::notifications::{Outgoing, Provider, Reconciled, SendOutcome};

pub struct Smtp {
    builder: AsyncSmtpTransportBuilder,
    /// Built on first use: the connection pool needs a running Tokio runtime.
    transport: OnceLock<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    default_subject: String,
}

impl Smtp {
    pub fn new(c: &SmtpConfig, default_subject: &str, timeout: Duration) -> anyhow::Result<Self> {
        let host = c.host.as_deref().ok_or_else(|| anyhow::anyhow!("host is not set"))?;
        let from: Mailbox = c
            .from
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("from is not set"))?
            .parse()
            .map_err(|_| anyhow::anyhow!("from is not an e-mail address"))?;
        let builder = match c.tls {
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
            SmtpTls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        };
        let mut builder = builder.port(c.port).timeout(Some(timeout));
        if let (Some(user), Some(password)) = (&c.username, &c.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        Ok(Self { builder, transport: OnceLock::new(), from, default_subject: default_subject.to_owned() })
    }

    /// The e-mail for `msg`, or why it cannot be built. Its Message-ID carries Hearth's message id.
    pub fn build(&self, msg: &Outgoing) -> Result<Message, SendOutcome> {
        if msg.channel != Channel::Email {
            return Err(super::wrong_channel("smtp", msg.channel));
        }
        let to: Mailbox = msg.to.parse().map_err(|_| bad_address("to", "an e-mail address"))?;
        let from = match &msg.from {
            Some(f) => f.parse().map_err(|_| bad_address("from", "an e-mail address"))?,
            None => self.from.clone(),
        };
        let subject = msg
            .subject
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| self.default_subject.clone());
        Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .message_id(Some(message_id_header(msg)))
            .header(ContentType::TEXT_PLAIN)
            .body(msg.body.clone())
            .map_err(|e| SendOutcome::Rejected {
                code: Some("invalid_message".into()),
                reason: e.to_string(),
            })
    }
}

/// `<{message id}@hearth>`: what the provider id of an SMTP send is.
pub fn message_id_header(msg: &Outgoing) -> String {
    format!("<{}@hearth>", msg.message_id)
}

impl Provider for Smtp {
    fn name(&self) -> &'static str {
        "smtp"
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, SendOutcome> {
        Box::pin(async move {
            let email = match self.build(msg) {
                Ok(e) => e,
                Err(outcome) => return outcome,
            };
            let transport = self.transport.get_or_init(|| self.builder.clone().build());
            match transport.send(email).await {
                Ok(_) => {
                    SendOutcome::Accepted { provider_id: message_id_header(msg), status: MessageStatus::Sent }
                }
                Err(e) => classify(&e),
            }
        })
    }

    fn reconcile<'a>(&'a self, _msg: &'a Outgoing, _since: UtcTime) -> BoxFuture<'a, Reconciled> {
        // SMTP cannot be asked what it accepted.
        Box::pin(async { Reconciled::CannotTell })
    }
}

fn classify(e: &lettre::transport::smtp::Error) -> SendOutcome {
    let code = e.status().map(|c| c.to_string());
    // lettre's text holds the server's reply, which may quote the recipient: keep only the code class.
    if e.is_permanent() {
        SendOutcome::Rejected { code, reason: "the SMTP server refused the message permanently (5xx)".into() }
    } else if e.is_transient() {
        SendOutcome::Transient {
            code,
            reason: "the SMTP server refused the message for now (4xx)".into(),
            retry_after: None,
        }
    } else if e.is_timeout() {
        SendOutcome::Transient { code: None, reason: "SMTP timeout".into(), retry_after: None }
    } else if e.is_tls() {
        SendOutcome::Transient { code: None, reason: format!("SMTP TLS failed: {e}"), retry_after: None }
    } else {
        SendOutcome::Transient {
            code: None,
            reason: format!("SMTP connection failed: {e}"),
            retry_after: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use hearth_core::MessageId;

    use super::*;

    fn smtp() -> Smtp {
        let c = SmtpConfig {
            host: Some("127.0.0.1".into()),
            port: 1,
            tls: SmtpTls::None,
            from: Some("Clinic <clinic@example.org>".into()),
            ..SmtpConfig::default()
        };
        Smtp::new(&c, "A message from your care team", Duration::from_secs(2)).unwrap()
    }

    fn email(to: &str) -> Outgoing {
        Outgoing {
            message_id: MessageId::new(),
            channel: Channel::Email,
            to: to.into(),
            from: None,
            subject: None,
            body: "Hello".into(),
            language: "en".into(),
            validity: None,
        }
    }

    #[test]
    fn the_message_carries_sender_subject_and_our_id() {
        let m = email("jane@example.org");
        let built = String::from_utf8(smtp().build(&m).unwrap().formatted()).unwrap();
        assert!(built.contains("From: Clinic <clinic@example.org>"), "{built}");
        assert!(built.contains("Subject: A message from your care team"), "{built}");
        assert!(built.contains(&format!("Message-ID: <{}@hearth>", m.message_id)), "{built}");
    }

    #[test]
    fn bad_addresses_and_channels_are_rejected_by_field() {
        for to in ["not an address", "", "+15551230000"] {
            let Err(SendOutcome::Rejected { reason, .. }) = smtp().build(&email(to)) else { panic!("{to}") };
            assert_eq!(reason, "to: expected an e-mail address");
        }
        let mut sms = email("jane@example.org");
        sms.channel = Channel::Sms;
        assert!(matches!(smtp().build(&sms), Err(SendOutcome::Rejected { .. })));
    }

    #[tokio::test]
    async fn a_server_that_is_not_there_is_transient() {
        let outcome = smtp().send(&email("jane@example.org")).await;
        assert!(matches!(outcome, SendOutcome::Transient { .. }), "{outcome:?}");
    }
}
