//! Twilio's webhooks: signatures checked against the configured public URL (403 otherwise, nothing
//! stored), receipts persisted as received, status reports built from them, replies answered with
//! empty TwiML.

use std::time::Duration;

use hearth_server::notifications::twilio_signature;
use hearth_store::inbound::InboundRow;

use crate::helpers::{TestApp, seed_org};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const PUBLIC: &str = "https://hearth.example.org";

/// Like `both!`, with Twilio's auth token and public URL configured.
macro_rules! both_twilio {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::spawn(hearth_store::testing::TestDb::sqlite()).await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = hearth_store::testing::TestDb::postgres().await else {
                    eprintln!("skipped: {} is not set", hearth_store::testing::POSTGRES_URL_VAR);
                    return;
                };
                super::$name(super::spawn(db).await).await;
            }
        }
    )+};
}

both_twilio!(
    a_signed_status_callback_is_stored_then_reported,
    a_retried_callback_is_stored_once,
    unsigned_or_tampered_callbacks_are_403_and_leave_nothing,
    a_reply_is_stored_and_answered_with_empty_twiml,
    a_json_callback_is_verified_by_its_body_hash,
    the_org_comes_from_the_signed_url_or_the_only_organization,
);

async fn spawn(db: hearth_store::testing::TestDb) -> TestApp {
    TestApp::spawn_with(db, |c| {
        c.providers.twilio.auth_token = Some(hearth_core::Secret::new(TOKEN));
        c.providers.twilio.public_url = Some(format!("{PUBLIC}/"));
    })
    .await
}

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// POSTs `params` to `path_and_query`, signed for the public URL with `token`.
async fn post_signed(
    app: &TestApp,
    path_and_query: &str,
    params: &[(String, String)],
    token: &str,
) -> reqwest::Response {
    let signature = twilio_signature::compute(token, &format!("{PUBLIC}{path_and_query}"), params);
    app.client
        .post(app.url(path_and_query))
        .header("x-twilio-signature", signature)
        .form(params)
        .send()
        .await
        .unwrap()
}

/// The receipts about `sid`, waiting (up to 5 s) until `done` holds for them.
async fn receipts(app: &TestApp, sid: &str, done: impl Fn(&[InboundRow]) -> bool) -> Vec<InboundRow> {
    for _ in 0..100 {
        let rows = app.state.store.inbound_for_provider_id("twilio", sid).await.unwrap();
        if done(&rows) {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("receipts of {sid} never reached the expected state")
}

fn status_params(sid: &str, status: &str, error: &str) -> Vec<(String, String)> {
    form(&[
        ("AccountSid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        ("MessageSid", sid),
        ("MessageStatus", status),
        ("ErrorCode", error),
        ("To", "+15551230000"),
        ("From", "+15005550006"),
        ("ApiVersion", "2010-04-01"),
    ])
}

async fn a_signed_status_callback_is_stored_then_reported(app: TestApp) {
    let org = seed_org(&app, "Solo clinic").await;
    let message = hearth_core::MessageId::new();
    let path = format!("/hooks/twilio/status?message_id={message}");
    let res = post_signed(&app, &path, &status_params("SM01", "undelivered", "30003"), TOKEN).await;
    assert_eq!(res.status(), 204);
    let rows = receipts(&app, "SM01", |r| r.len() == 1 && r[0].processed_at.is_some()).await;
    let row = &rows[0];
    assert_eq!((row.kind.as_str(), row.status.as_deref()), ("status", Some("undelivered")));
    assert_eq!(row.error_code.as_deref(), Some("30003"));
    assert_eq!(row.message_id, Some(message));
    assert_eq!(row.org_id, Some(org), "a single-tenant installation resolves to its organization");
    assert_eq!(row.channel.as_deref(), Some("sms"));
    assert_eq!(row.account_id.as_deref(), Some("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    let payload: serde_json::Value = serde_json::from_str(&row.payload).unwrap();
    assert_eq!(payload["ApiVersion"], "2010-04-01", "every field is kept as received");
    // No outbound message has this SID: the report was applied and found nothing (yet).
    assert_eq!(row.outcome.as_deref(), Some("unknown_message"));

    // The report handed to the outbox.
    let hook = hearth_server::notifications::callbacks::TwilioHook {
        params: status_params("SM01", "undelivered", "30003"),
        query: vec![],
    };
    let report = hearth_server::notifications::callbacks::status_report(row, &hook).unwrap();
    assert_eq!(report.provider, "twilio");
    assert_eq!(report.provider_id, "SM01");
    assert_eq!(report.status, hearth_core::messaging::MessageStatus::Undelivered);
    assert_eq!(report.error_code.as_deref(), Some("30003"));

    // A status word Hearth does not know is kept, and not applied.
    let res =
        post_signed(&app, "/hooks/twilio/status", &status_params("SM02", "partially_delivered", ""), TOKEN)
            .await;
    assert_eq!(res.status(), 204);
    let rows = receipts(&app, "SM02", |r| r.len() == 1 && r[0].processed_at.is_some()).await;
    assert_eq!(rows[0].outcome.as_deref(), Some("unmapped"));
    assert_eq!(rows[0].error_code, None, "an empty ErrorCode is no error");
}

async fn a_retried_callback_is_stored_once(app: TestApp) {
    let params = status_params("SM03", "delivered", "");
    for _ in 0..3 {
        assert_eq!(post_signed(&app, "/hooks/twilio/status", &params, TOKEN).await.status(), 204);
    }
    let sent = status_params("SM03", "sent", "");
    assert_eq!(post_signed(&app, "/hooks/twilio/status", &sent, TOKEN).await.status(), 204);
    let rows = receipts(&app, "SM03", |r| r.len() == 2 && r.iter().all(|x| x.processed_at.is_some())).await;
    let statuses: Vec<_> = rows.iter().map(|r| r.status.clone().unwrap()).collect();
    assert_eq!(statuses, ["delivered", "sent"], "one row per (sid, status), in arrival order");
}

async fn unsigned_or_tampered_callbacks_are_403_and_leave_nothing(app: TestApp) {
    let params = status_params("SM04", "delivered", "");
    let url = app.url("/hooks/twilio/status");
    // No signature.
    let res = app.client.post(&url).form(&params).send().await.unwrap();
    assert_eq!(res.status(), 403);
    // Signed with another token.
    assert_eq!(post_signed(&app, "/hooks/twilio/status", &params, "not-the-token").await.status(), 403);
    // Signed, then a field changed on the way.
    let sig = twilio_signature::compute(TOKEN, &format!("{PUBLIC}/hooks/twilio/status"), &params);
    let tampered = status_params("SM04", "failed", "");
    let res = app.client.post(&url).header("x-twilio-signature", &sig).form(&tampered).send().await.unwrap();
    assert_eq!(res.status(), 403);
    // Signed for the address Hearth listens on rather than its public URL (what a proxy would break).
    let local = twilio_signature::compute(TOKEN, &url, &params);
    let res = app.client.post(&url).header("x-twilio-signature", local).form(&params).send().await.unwrap();
    assert_eq!(res.status(), 403);
    // Signed for another path.
    let other = twilio_signature::compute(TOKEN, &format!("{PUBLIC}/hooks/twilio/inbound"), &params);
    let res = app.client.post(&url).header("x-twilio-signature", other).form(&params).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let body = res.text().await.unwrap();
    assert!(!body.contains("5551230000"), "{body}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(app.state.store.inbound_for_provider_id("twilio", "SM04").await.unwrap().is_empty());
    // The signed original still goes through: the refusals were about the signatures.
    let res = app.client.post(&url).header("x-twilio-signature", &sig).form(&params).send().await.unwrap();
    assert_eq!(res.status(), 204);
}

async fn a_reply_is_stored_and_answered_with_empty_twiml(app: TestApp) {
    let params = form(&[
        ("AccountSid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        ("MessageSid", "SM05"),
        ("SmsStatus", "received"),
        ("Body", "¿Cancelar la cita? 👍 & más"),
        ("From", "whatsapp:+34600111222"),
        ("To", "whatsapp:+14155238886"),
        ("NumMedia", "0"),
    ]);
    let res = post_signed(&app, "/hooks/twilio/inbound", &params, TOKEN).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/xml"));
    assert_eq!(res.text().await.unwrap(), "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>");
    let rows = receipts(&app, "SM05", |r| r.len() == 1).await;
    let row = &rows[0];
    assert_eq!(row.kind, "reply");
    assert_eq!(row.body.as_deref(), Some("¿Cancelar la cita? 👍 & más"));
    assert_eq!(row.channel.as_deref(), Some("whatsapp"));
    assert_eq!(row.from_address.as_deref(), Some("whatsapp:+34600111222"));
    // Processed after the answer; with no organization to tie it to (none exists here) it is kept and
    // marked, not acted on (tests/api/replies.rs covers the rest).
    let rows = receipts(&app, "SM05", |r| r.len() == 1 && r[0].processed_at.is_some()).await;
    assert_eq!(rows[0].outcome.as_deref(), Some("no_organization"));
    assert!(app.state.store.unprocessed_inbound("reply", 10).await.unwrap().is_empty());
    // Without MessageSid there is nothing to keep: 400, even when signed.
    let res = post_signed(&app, "/hooks/twilio/inbound", &form(&[("Body", "hi")]), TOKEN).await;
    assert_eq!(res.status(), 400);
}

async fn a_json_callback_is_verified_by_its_body_hash(app: TestApp) {
    use sha2::Digest as _;
    use std::fmt::Write as _;
    let body = r#"{"MessageSid":"SM06","MessageStatus":"read","To":"whatsapp:+15551230000"}"#;
    let hash = sha2::Sha256::digest(body.as_bytes()).iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    let path = format!("/hooks/twilio/status?bodySHA256={hash}");
    let sig = twilio_signature::compute(TOKEN, &format!("{PUBLIC}{path}"), &[]);
    let send = |body: &'static str| {
        app.client
            .post(app.url(&path))
            .header("x-twilio-signature", &sig)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let tampered = r#"{"MessageSid":"SM06","MessageStatus":"failed","To":"whatsapp:+15551230000"}"#;
    assert_eq!(send(tampered).await.unwrap().status(), 403);
    assert_eq!(send(body).await.unwrap().status(), 204);
    let rows = receipts(&app, "SM06", |r| r.len() == 1 && r[0].processed_at.is_some()).await;
    assert_eq!((rows[0].status.as_deref(), rows[0].channel.as_deref()), (Some("read"), Some("whatsapp")));
}

async fn the_org_comes_from_the_signed_url_or_the_only_organization(app: TestApp) {
    let a = seed_org(&app, "Clinic A").await;
    let _b = seed_org(&app, "Clinic B").await;
    let path = format!("/hooks/twilio/status?org={a}");
    assert_eq!(post_signed(&app, &path, &status_params("SM07", "sent", ""), TOKEN).await.status(), 204);
    let rows = receipts(&app, "SM07", |r| r.len() == 1).await;
    assert_eq!(rows[0].org_id, Some(a));
    // Two organizations and no `org`: not guessed.
    assert_eq!(
        post_signed(&app, "/hooks/twilio/status", &status_params("SM08", "sent", ""), TOKEN).await.status(),
        204
    );
    let rows = receipts(&app, "SM08", |r| r.len() == 1).await;
    assert_eq!(rows[0].org_id, None);
    // An unknown organization: kept, unassigned.
    let path = format!("/hooks/twilio/status?org={}", hearth_core::OrgId::new());
    assert_eq!(post_signed(&app, &path, &status_params("SM09", "sent", ""), TOKEN).await.status(), 204);
    let rows = receipts(&app, "SM09", |r| r.len() == 1).await;
    assert_eq!(rows[0].org_id, None);
}

#[tokio::test]
async fn without_an_auth_token_every_webhook_is_refused() {
    let app = TestApp::spawn(hearth_store::testing::TestDb::sqlite()).await;
    let params = status_params("SM10", "delivered", "");
    let sig = twilio_signature::compute("", &app.url("/hooks/twilio/status"), &params);
    for path in ["/hooks/twilio/status", "/hooks/twilio/inbound"] {
        let res = app
            .client
            .post(app.url(path))
            .header("x-twilio-signature", &sig)
            .form(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path}");
    }
}
