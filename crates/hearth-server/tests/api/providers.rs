//! The providers against real counterparts, started by `tests/peers/peers.sh start`: Prism serving
//! Twilio's and SendGrid's official OpenAPI documents (it refuses requests the real API would refuse),
//! MailDev (SMTP with AUTH, and an HTTP API to read what arrived), and Twilio's own Python
//! `RequestValidator`. A test whose peer is not reachable is skipped with a message, or fails when
//! `HEARTH_TEST_REQUIRE_PEERS=1` (CI).

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use hearth_core::messaging::{Channel, MessageStatus};
use hearth_core::{MessageId, Secret};
use hearth_server::config::{Config, ProviderChoice, SendgridConfig, SmtpTls, TwilioConfig};
use hearth_server::notifications::providers::{Sendgrid, Twilio};
use hearth_server::notifications::{
    Outgoing, Provider, Providers, Reconciled, SendOutcome, twilio_signature,
};

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";

/// The peer's address from `var` (or `default`), when something listens there.
#[allow(clippy::print_stderr)] // a skipped test says why
fn peer(var: &str, default: &str, what: &str) -> Option<String> {
    let url = std::env::var(var).unwrap_or_else(|_| default.to_owned());
    let hostport = url.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let addr: Option<SocketAddr> = hostport.to_socket_addrs().ok().and_then(|mut a| a.next());
    let up = addr.is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok());
    if up {
        return Some(url);
    }
    let msg = format!("{what} is not reachable at {url}: start it with tests/peers/peers.sh start");
    assert!(std::env::var("HEARTH_TEST_REQUIRE_PEERS").as_deref() != Ok("1"), "{msg}");
    eprintln!("skipped: {msg}");
    None
}

fn twilio_mock() -> Option<String> {
    peer("HEARTH_TEST_TWILIO_MOCK", "http://127.0.0.1:4010", "the Prism mock of Twilio")
}

fn outgoing(channel: Channel, to: &str) -> Outgoing {
    Outgoing {
        message_id: MessageId::new(),
        channel,
        to: to.into(),
        from: None,
        subject: Some(format!("Visit reminder {}", MessageId::new())),
        body: "Your visit is on Monday at 9:00. Reply C to confirm & 2 to cancel.".into(),
        language: "es".into(),
        validity: Some(Duration::from_hours(2)),
    }
}

fn twilio_config(base: &str) -> TwilioConfig {
    TwilioConfig {
        base_url: base.to_owned(),
        account_sid: Some(ACCOUNT.into()),
        auth_token: Some(Secret::new("0123456789abcdef0123456789abcdef")),
        sms_from: Some("+15005550006".into()),
        whatsapp_from: Some("whatsapp:+14155238886".into()),
        voice_from: Some("+15005550006".into()),
        ..TwilioConfig::default()
    }
}

fn twilio(base: &str, tweak: impl FnOnce(&mut TwilioConfig)) -> Twilio {
    let mut c = twilio_config(base);
    tweak(&mut c);
    Twilio::new(reqwest::Client::new(), &c, "https://hearth.example.org").unwrap()
}

#[tokio::test]
async fn twilio_accepts_sms_whatsapp_and_voice_as_hearth_sends_them() {
    let Some(base) = twilio_mock() else { return };
    // Through the configuration, as the outbox gets them.
    let mut config = Config::default();
    config.providers.twilio = twilio_config(&base);
    config.public_url = Some("https://hearth.example.org".into());
    let providers = Providers::from_config(&config).unwrap();
    assert_eq!(providers.summary(), "sms=twilio, whatsapp=twilio, voice=twilio, email=local");
    for (channel, to, prefix) in [
        (Channel::Sms, "+15551230000", "SM"),
        (Channel::Whatsapp, "+34600111222", "SM"),
        (Channel::Voice, "+15551230000", "CA"),
    ] {
        let outcome = providers.for_channel(channel).send(&outgoing(channel, to)).await;
        match outcome {
            SendOutcome::Accepted { provider_id, status } => {
                assert!(provider_id.starts_with(prefix), "{channel}: {provider_id}");
                assert_eq!(status, MessageStatus::Sent, "{channel}");
            }
            other => panic!("{channel}: Prism (Twilio's OpenAPI document) refused the request: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_mock_refuses_what_twilio_would_refuse_and_hearth_maps_it() {
    let Some(base) = twilio_mock() else { return };
    let msg = outgoing(Channel::Sms, "+15551230000");
    // A form without its required `To`: proves the mock checks what Hearth sends.
    let no_to = twilio(&base, |_| {}).with_form_hook(|form| form.retain(|(k, _)| *k != "To"));
    match no_to.send(&msg).await {
        SendOutcome::Rejected { code, reason } => {
            assert_eq!(code.as_deref(), Some("422"), "{reason}");
            assert!(!reason.is_empty());
        }
        other => panic!("a form without To: {other:?}"),
    }
    // Credentials the API refuses (not a user:password pair): 401, never retried.
    let bad_auth = twilio(&base, |c| {
        c.api_key_sid = Some("SK:not-a-key".into());
        c.api_key_secret = Some(Secret::new("x"));
    });
    assert!(
        matches!(bad_auth.send(&msg).await, SendOutcome::Rejected { code: Some(ref c), .. } if c == "401"),
        "bad credentials are rejected"
    );
    // A malformed account SID: 422.
    let bad_account = twilio(&base, |c| c.account_sid = Some("ACnot-an-account".into()));
    assert!(
        matches!(bad_account.send(&msg).await, SendOutcome::Rejected { code: Some(ref c), .. } if c == "422")
    );
    // A voice call without its caller id is refused by the mock too.
    let no_from = twilio(&base, |_| {}).with_form_hook(|form| form.retain(|(k, _)| *k != "From"));
    assert!(matches!(
        no_from.send(&outgoing(Channel::Voice, "+15551230000")).await,
        SendOutcome::Rejected { code: Some(ref c), .. } if c == "422"
    ));
}

#[tokio::test]
async fn reconciliation_asks_twilio_a_question_it_accepts() {
    let Some(base) = twilio_mock() else { return };
    let since = hearth_core::UtcTime::new(jiff::Timestamp::now());
    let outcome = twilio(&base, |_| {}).reconcile(&outgoing(Channel::Sms, "+15551230000"), since).await;
    // The mock's example list holds other bodies: the query was valid (not `Unavailable`) and
    // nothing matched.
    assert_eq!(outcome, Reconciled::NotFound);
}

#[tokio::test]
async fn a_provider_that_is_not_there_is_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let t = twilio(&format!("http://127.0.0.1:{port}"), |_| {});
    let outcome = t.send(&outgoing(Channel::Sms, "+15551230000")).await;
    let SendOutcome::Transient { reason, .. } = outcome else { panic!("{outcome:?}") };
    assert!(!reason.contains("5551230000"), "{reason}");
}

fn sendgrid_config(base: &str) -> SendgridConfig {
    SendgridConfig {
        base_url: base.to_owned(),
        api_key: Some(Secret::new("SG.test-key")),
        from: Some("Example Clinic <reminders@example-clinic.org>".into()),
    }
}

#[tokio::test]
async fn sendgrid_accepts_hearths_mail_and_refuses_an_invalid_one() {
    let Some(base) = peer("HEARTH_TEST_SENDGRID_MOCK", "http://127.0.0.1:4011", "the Prism mock of SendGrid")
    else {
        return;
    };
    let mut config = Config::default();
    config.providers.sendgrid = sendgrid_config(&base);
    let providers = Providers::from_config(&config).unwrap();
    assert_eq!(providers.for_channel(Channel::Email).name(), "sendgrid");
    let msg = outgoing(Channel::Email, "jane.doe@example.org");
    let outcome = providers.for_channel(Channel::Email).send(&msg).await;
    assert!(
        matches!(outcome, SendOutcome::Accepted { status: MessageStatus::Sent, .. }),
        "SendGrid's OpenAPI document refused the request: {outcome:?}"
    );
    let without_from = Sendgrid::new(reqwest::Client::new(), &sendgrid_config(&base), "Subject")
        .unwrap()
        .with_body_hook(|body| {
            body.as_object_mut().unwrap().remove("from");
        });
    let outcome = without_from.send(&msg).await;
    assert!(
        matches!(outcome, SendOutcome::Rejected { code: Some(ref c), .. } if c.starts_with('4')),
        "a mail without `from`: {outcome:?}"
    );
}

fn smtp_config(config: &mut Config, hostport: &str, password: &str) {
    let (host, port) = hostport.rsplit_once(':').unwrap();
    config.providers.smtp.host = Some(host.into());
    config.providers.smtp.port = port.parse().unwrap();
    config.providers.smtp.tls = SmtpTls::None;
    config.providers.smtp.username = Some("u".into());
    config.providers.smtp.password = Some(Secret::new(password));
    config.providers.smtp.from = Some("Example Clinic <reminders@example-clinic.org>".into());
    config.providers.email = ProviderChoice::Smtp;
}

#[tokio::test]
async fn smtp_with_auth_delivers_the_message_as_written() {
    let Some(smtp) = peer("HEARTH_TEST_SMTP", "127.0.0.1:1025", "MailDev (SMTP)") else { return };
    let Some(api) = peer("HEARTH_TEST_MAILDEV_API", "http://127.0.0.1:1080", "MailDev (HTTP API)") else {
        return;
    };
    let mut config = Config::default();
    smtp_config(&mut config, &smtp, "p");
    let provider = Providers::from_config(&config).unwrap().for_channel(Channel::Email);
    let mut msg = outgoing(Channel::Email, "jane.doe@example.org");
    msg.body = "Hola Jane: su cita es el lunes a las 9:00. ¡Gracias!".into();
    let outcome = provider.send(&msg).await;
    let SendOutcome::Accepted { provider_id, .. } = outcome else { panic!("{outcome:?}") };
    assert_eq!(provider_id, format!("<{}@hearth>", msg.message_id));

    let subject = msg.subject.clone().unwrap();
    let emails: Vec<serde_json::Value> =
        reqwest::get(format!("{api}/email")).await.unwrap().json().await.unwrap();
    let got = emails.iter().find(|e| e["subject"] == subject.as_str()).expect("MailDev received the message");
    assert_eq!(got["to"][0]["address"], "jane.doe@example.org");
    assert_eq!(got["from"][0]["address"], "reminders@example-clinic.org");
    assert_eq!(got["text"].as_str().unwrap().trim_end(), msg.body);
    assert_eq!(
        got["messageId"].as_str().map(|m| m.trim_matches(['<', '>'])),
        Some(provider_id.trim_matches(['<', '>']))
    );

    // A wrong password is a permanent refusal (5xx), not retried.
    let mut config = Config::default();
    smtp_config(&mut config, &smtp, "wrong");
    let provider = Providers::from_config(&config).unwrap().for_channel(Channel::Email);
    let outcome = provider.send(&outgoing(Channel::Email, "jane.doe@example.org")).await;
    assert!(
        matches!(outcome, SendOutcome::Rejected { code: Some(ref c), .. } if c.starts_with('5')),
        "{outcome:?}"
    );
}

/// Twilio's Python `RequestValidator` on one request.
#[allow(clippy::print_stderr)] // a skipped test says why
fn python_validator(request: &serde_json::Value) -> Option<serde_json::Value> {
    let default = std::env::var("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| std::path::Path::new(&h).join(".cache")))
        .map(|c| c.join("hearth-peers/venv/bin/python"))
        .ok()?;
    let python = std::env::var("HEARTH_TEST_TWILIO_PYTHON").map_or(default, std::path::PathBuf::from);
    if !python.exists() {
        let msg = format!("{} (with twilio) is missing: run tests/peers/peers.sh install", python.display());
        assert!(std::env::var("HEARTH_TEST_REQUIRE_PEERS").as_deref() != Ok("1"), "{msg}");
        eprintln!("skipped: {msg}");
        return None;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/peers/twilio_validator.py");
    let mut child = std::process::Command::new(python)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), request.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the validator failed");
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

#[test]
fn our_signatures_agree_with_twilios_python_library() {
    let token = "f00dfeedf00dfeedf00dfeedf00dfeed";
    // A form body, with non-ASCII text, a repeated-looking name and a query on the URL.
    let url =
        format!("https://hearth.example.org:8443/hooks/twilio/status?message_id={}&org=7", MessageId::new());
    let params: Vec<(String, String)> = [
        ("MessageSid", "SM0123"),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30003"),
        ("Body", "¿Cancelar la cita? 👍 & más"),
        ("To", "whatsapp:+34600111222"),
        ("ToCountry", "ES"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let ours = twilio_signature::compute(token, &url, &params);
    let map: serde_json::Map<_, _> = params.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect();
    let Some(py) = python_validator(
        &serde_json::json!({"auth_token": token, "url": url, "params": map, "signature": ours}),
    ) else {
        return;
    };
    assert_eq!(py["signature"], ours.as_str());
    assert_eq!(py["valid"], true);
    // A signature Twilio's library says is wrong, ours refuses too.
    let py = python_validator(
        &serde_json::json!({"auth_token": token, "url": url, "params": map, "signature": "AAAA"}),
    )
    .unwrap();
    assert_eq!(py["valid"], false);
    assert!(!twilio_signature::verify_form(token, &url, &params, "AAAA"));

    // A JSON body: the hash rides on the URL, the signature covers the URL.
    let body = r#"{"MessageSid":"SM0124","MessageStatus":"read","Body":"Sí, confirmo"}"#;
    let probe = python_validator(
        &serde_json::json!({"auth_token": token, "url": "https://x/", "body": body, "signature": ""}),
    )
    .unwrap();
    let hash = probe["body_hash"].as_str().unwrap().to_owned();
    let json_url = format!("https://hearth.example.org/hooks/twilio/status?bodySHA256={hash}");
    let ours = twilio_signature::compute(token, &json_url, &[]);
    assert!(
        twilio_signature::verify_json(token, &json_url, body.as_bytes(), &ours),
        "our hash equals Twilio's"
    );
    let py = python_validator(
        &serde_json::json!({"auth_token": token, "url": json_url, "body": body, "signature": ours}),
    )
    .unwrap();
    assert_eq!(py["signature"], ours.as_str());
    assert_eq!(py["valid"], true);
    let tampered = body.replace("read", "failed");
    assert!(!twilio_signature::verify_json(token, &json_url, tampered.as_bytes(), &ours));
    let py = python_validator(
        &serde_json::json!({"auth_token": token, "url": json_url, "body": tampered, "signature": ours}),
    )
    .unwrap();
    assert_eq!(py["valid"], false);
}

/// What a tiny receiver got: timestamp, signature and raw body of each request.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, String, Vec<u8>)>>>;

/// A receiver on an ephemeral port answering every POST with `status` and `answer`.
async fn receiver(status: u16, answer: &'static str) -> (String, Received) {
    use axum::http::{HeaderMap, StatusCode};
    let got: Received = std::sync::Arc::default();
    let store = got.clone();
    let app = axum::Router::new().route(
        "/hearth",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let store = store.clone();
            async move {
                let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                store.lock().unwrap().push((h("x-hearth-timestamp"), h("x-hearth-signature"), body.to_vec()));
                let status = StatusCode::from_u16(status).unwrap();
                (status, [("content-type", "application/json"), ("retry-after", "30")], answer)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hearth", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

fn webhook_provider(url: &str) -> std::sync::Arc<dyn Provider> {
    let mut config = Config::default();
    config.providers.sms = ProviderChoice::Webhook;
    config.providers.webhook.url = Some(url.to_owned());
    config.providers.webhook.secret = Some(Secret::new("whsec-test"));
    Providers::from_config(&config).unwrap().for_channel(Channel::Sms)
}

#[tokio::test]
async fn the_signed_webhook_is_verifiable_by_an_independent_receiver() {
    let (url, got) = receiver(202, r#"{"id":"gw-1"}"#).await;
    let msg = outgoing(Channel::Sms, "+15551230000");
    let outcome = webhook_provider(&url).send(&msg).await;
    assert_eq!(outcome, SendOutcome::Accepted { provider_id: "gw-1".into(), status: MessageStatus::Sent });
    let (ts, sig, body) = got.lock().unwrap().pop().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["message_id"], msg.message_id.to_string());
    assert_eq!(
        (json["channel"].as_str(), json["to"].as_str(), json["language"].as_str()),
        (Some("sms"), Some("+15551230000"), Some("es"))
    );
    assert_eq!(json["body"], msg.body.as_str());
    assert!((jiff::Timestamp::now().as_second() - ts.parse::<i64>().unwrap()).abs() < 60);
    // The receiver's check from docs/integrations.md, in Python's standard library (no Hearth code).
    let script = "import hashlib,hmac,sys; ts,sig=sys.argv[1],sys.argv[2]; body=sys.stdin.buffer.read(); \
                  exp='sha256='+hmac.new(b'whsec-test', ts.encode()+b'.'+body, hashlib.sha256).hexdigest(); \
                  sys.exit(0 if hmac.compare_digest(exp, sig) else 1)";
    let check = |body: &[u8]| {
        let mut child = std::process::Command::new("python3")
            .args(["-c", script, &ts, &sig])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), body).unwrap();
        child.wait().unwrap().success()
    };
    assert!(check(&body), "the signature verifies");
    assert!(!check(&[&body[..], b" "].concat()), "a changed body does not");
}

#[tokio::test]
async fn the_signed_webhook_maps_refusals() {
    let (url, _) = receiver(503, r#"{"message":"maintenance"}"#).await;
    let outcome = webhook_provider(&url).send(&outgoing(Channel::Sms, "+15551230000")).await;
    assert_eq!(
        outcome,
        SendOutcome::Transient {
            code: Some("503".into()),
            reason: "maintenance".into(),
            retry_after: Some(Duration::from_secs(30))
        }
    );
    let (url, _) = receiver(422, r#"{"code":"bad_number","message":"unknown recipient"}"#).await;
    let outcome = webhook_provider(&url).send(&outgoing(Channel::Sms, "+15551230000")).await;
    assert_eq!(
        outcome,
        SendOutcome::Rejected { code: Some("bad_number".into()), reason: "unknown recipient".into() }
    );
}
