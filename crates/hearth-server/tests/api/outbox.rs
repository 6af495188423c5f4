//! The outbox: enqueue in the caller's transaction with dedup and consent, claim/send/record through
//! the loopback provider, retries with backoff and Retry-After, dead, rejected (21610 → opt-out),
//! validity, lost leases reconciled before any resend, pacing, provider status reports out of order,
//! and the API (send, list, read, retry, cancel).

use hearth_core::messaging::{Channel, MessageStatus};
use hearth_core::{ApiScope, OrgId, PatientId, UtcTime};
use hearth_server::auth::Actor;
use hearth_server::notifications::outbox::{self, NewMessage};
use hearth_server::notifications::worker::{run_once, run_until_idle};
use hearth_server::notifications::{Applied, StatusReport, apply_provider_status};
use hearth_server::patients::{ConsentInput, Strictness};
use hearth_store::outbox::Claim;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, json, seed_api_key, seed_org};
use crate::loopback::{self, Counter};

/// Like `both!`, with the loopback endpoint as every channel's provider.
macro_rules! both_loopback {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (app, c) = super::spawn(hearth_store::testing::TestDb::sqlite()).await;
                super::$name(app, c).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = hearth_store::testing::TestDb::postgres().await else {
                    eprintln!("skipped: {} is not set", hearth_store::testing::POSTGRES_URL_VAR);
                    return;
                };
                let (app, c) = super::spawn(db).await;
                super::$name(app, c).await;
            }
        }
    )+};
}

both_loopback!(
    sends_and_records_attempts_and_history,
    bad_input_names_the_field_and_writes_nothing,
    consent_is_checked_at_enqueue,
    a_dedup_key_makes_enqueue_idempotent,
    transient_failures_back_off_then_die,
    retry_after_is_honored,
    rejected_21610_fails_at_once_and_opts_out,
    expired_messages_are_canceled_never_sent,
    lost_leases_are_reconciled_before_any_resend,
    provider_reports_never_move_backwards,
    staff_retry_and_cancel,
    pacing_is_shared_through_the_store,
    pages_list_show_and_act,
    sends_by_template_in_the_patients_language,
);

async fn sends_by_template_in_the_patients_language(app: TestApp, lb: Counter) {
    let w = world(&app, Some(true)).await;
    let body = json!({"channel": "sms", "patient_id": w.patient.to_string(), "language": "es",
        "template": {"purpose": "help", "variables": {"support_phone": "+1 312 555 0100"}}});
    let res = app.as_key(&w.key, Method::POST, "/api/v1/messages").json(&body).send().await.unwrap();
    let m = json(res, 201).await;
    assert_eq!(m["purpose"], "help");
    assert_eq!(m["language"], "es");
    let text = m["body"].as_str().unwrap();
    assert!(text.contains("Outbox Clinic") && text.contains("+1 312 555 0100"), "rendered: {text}");
    assert!(text.contains("STOP") || text.contains("BAJA"), "the opt-out word is filled in: {text}");
    assert!(!text.contains("{{"), "nothing left unrendered: {text}");
    assert!(text.contains("Para ayuda"), "the Spanish default: {text}");
    run_until_idle(&app.state).await.unwrap();
    assert_eq!(lb.total(), 1, "one message through the provider");
}

async fn spawn(db: hearth_store::testing::TestDb) -> (TestApp, Counter) {
    let (url, counter) = loopback::start().await;
    let app = TestApp::spawn_with(db, |c| {
        c.outbox.loopback_url = Some(url);
        c.outbox.send_timeout_secs = 5;
    })
    .await;
    (app, counter)
}

struct World {
    org: OrgId,
    key: String,
    patient: PatientId,
    phone: &'static str,
}

const PHONE: &str = "+13125550143";

async fn world(app: &TestApp, consent: Option<bool>) -> World {
    let org = seed_org(app, "Outbox Clinic").await;
    let (_, key) = seed_api_key(app, org, &[ApiScope::Admin]).await;
    let actor = Actor::system(org, "test seed");
    let record = serde_json::from_value(json!({
        "name": {"family": "Okafor", "given": ["Ada"]}, "birth_date": "1980-02-01",
        "phones": [{"value": PHONE}], "emails": [{"value": "ada@example.org"}]
    }))
    .unwrap();
    let p = hearth_server::patients::create(&app.state, &actor, record, Strictness::Strict).await.unwrap();
    if let Some(opted_in) = consent {
        let input = ConsentInput {
            channel: "sms".into(),
            address: Some(PHONE.into()),
            opted_in,
            source: "staff".into(),
            words: None,
        };
        hearth_server::patients::record_consent(&app.state, &actor, p.id, input).await.unwrap();
    }
    World { org, key, patient: p.id, phone: PHONE }
}

fn new_message(w: &World, body: &str, key: &str) -> NewMessage {
    NewMessage {
        org: w.org,
        patient: Some(w.patient),
        channel: Channel::Sms,
        to: w.phone.into(),
        from: None,
        subject: None,
        body: body.into(),
        language: "en".into(),
        purpose: "reminder".into(),
        dedup_key: key.into(),
        cause: Some(("appointment".into(), "A-1".into())),
        valid_until: None,
        not_before: None,
    }
}

async fn enqueue(app: &TestApp, msg: NewMessage) -> outbox::Enqueued {
    let mut tx = app.state.store.begin().await.unwrap();
    let done = outbox::enqueue(&mut tx, &app.state, msg).await.unwrap();
    tx.commit().await.unwrap();
    done
}

async fn status_of(app: &TestApp, w: &World, id: hearth_core::MessageId) -> hearth_store::outbox::MessageRow {
    app.state.store.message(w.org, id).await.unwrap()
}

fn secs(n: i64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_secs(n)
}

async fn sends_and_records_attempts_and_history(app: TestApp, lb: Counter) {
    let w = world(&app, Some(true)).await;
    let res = app
        .as_key(&w.key, Method::POST, "/api/v1/messages")
        .json(&json!({"channel": "sms", "patient_id": w.patient, "body": "Your visit is tomorrow at 9:30."}))
        .send()
        .await
        .unwrap();
    let m = json(res, 201).await;
    assert_eq!(m["status"], "queued");
    assert_eq!(m["to"], PHONE, "the patient's address with consent");
    let id = m["id"].as_str().unwrap().to_owned();
    let report = run_until_idle(&app.state).await.unwrap();
    assert_eq!((report.claimed, report.sent), (1, 1));
    assert_eq!(lb.count(&id), 1);
    let d =
        json(app.as_key(&w.key, Method::GET, &format!("/api/v1/messages/{id}")).send().await.unwrap(), 200)
            .await;
    assert_eq!(d["message"]["status"], "sent");
    assert_eq!(d["message"]["provider"], "loopback");
    assert_eq!(d["message"]["provider_id"], format!("lb-{id}"));
    assert_eq!(d["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(d["attempts"][0]["outcome"], "accepted");
    let path: Vec<&str> =
        d["history"].as_array().unwrap().iter().map(|h| h["to_status"].as_str().unwrap()).collect();
    assert_eq!(path, ["queued", "sending", "sent"]);
    // Listed, and the dead list is empty.
    let list =
        json(app.as_key(&w.key, Method::GET, "/api/v1/messages?status=sent").send().await.unwrap(), 200)
            .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let dead =
        json(app.as_key(&w.key, Method::GET, "/api/v1/messages?status=dead").send().await.unwrap(), 200)
            .await;
    assert!(dead.as_array().unwrap().is_empty());
    let bad = app.as_key(&w.key, Method::GET, "/api/v1/messages?status=lost").send().await.unwrap();
    assert_eq!(json(bad, 422).await["fields"][0]["field"], "status");
}

async fn bad_input_names_the_field_and_writes_nothing(app: TestApp, _lb: Counter) {
    let w = world(&app, Some(true)).await;
    let send =
        |body: serde_json::Value| app.as_key(&w.key, Method::POST, "/api/v1/messages").json(&body).send();
    let field = |v: serde_json::Value| v["fields"][0]["field"].as_str().unwrap().to_owned();
    let r = json(send(json!({"channel": "sms", "to": "12", "body": "hi"})).await.unwrap(), 422).await;
    assert_eq!(field(r), "to");
    let r =
        json(send(json!({"channel": "email", "to": "+13125550143", "body": "hi"})).await.unwrap(), 422).await;
    assert_eq!(field(r), "to");
    let long = "a".repeat(1601);
    let r = json(send(json!({"channel": "sms", "to": PHONE, "body": long})).await.unwrap(), 422).await;
    assert_eq!(field(r), "body");
    let r = json(send(json!({"channel": "fax", "to": PHONE, "body": "x"})).await.unwrap(), 422).await;
    assert_eq!(field(r), "channel");
    let r = json(
        send(json!({"channel": "sms", "to": PHONE, "template": {"purpose": "reminder"}})).await.unwrap(),
        422,
    )
    .await;
    assert_eq!(field(r), "template.purpose");
    let r = json(
        send(json!({"channel": "sms", "to": PHONE, "body": "x", "template": {"purpose": "help"}}))
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(field(r), "template");
    // A template variable the purpose needs and the request lacks is named.
    let r = json(
        send(json!({"channel": "sms", "to": PHONE, "template": {"purpose": "help"}})).await.unwrap(),
        422,
    )
    .await;
    assert!(field(r).ends_with("support_phone"), "the missing variable is named");
    let list = json(app.as_key(&w.key, Method::GET, "/api/v1/messages").send().await.unwrap(), 200).await;
    assert!(list.as_array().unwrap().is_empty(), "nothing half-written: {list}");
    // In a transaction: the error, and the caller's transaction can still roll back cleanly.
    let mut tx = app.state.store.begin().await.unwrap();
    let err =
        outbox::enqueue(&mut tx, &app.state, new_message(&w, &"x".repeat(1601), "k")).await.unwrap_err();
    assert!(format!("{err:?}").contains("body"), "{err:?}");
    tx.rollback().await.unwrap();
}

async fn consent_is_checked_at_enqueue(app: TestApp, lb: Counter) {
    let w = world(&app, None).await;
    let res = app
        .as_key(&w.key, Method::POST, "/api/v1/messages")
        .json(&json!({"channel": "sms", "patient_id": w.patient, "body": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 409).await["code"], "consent_missing");
    // From a domain change: recorded as refused, never silently dropped or sent.
    let done = enqueue(&app, new_message(&w, "Reminder", "reminder:A-1:1")).await;
    assert_eq!(done.message.status, "canceled");
    assert_eq!(done.message.status_reason.as_deref(), Some("no_consent"));
    run_until_idle(&app.state).await.unwrap();
    assert_eq!(lb.total(), 0);
    // An opt-out of that address also blocks sends to the bare address.
    let actor = Actor::system(w.org, "test");
    let input = ConsentInput {
        channel: "sms".into(),
        address: Some(PHONE.into()),
        opted_in: false,
        source: "keyword".into(),
        words: Some("STOP".into()),
    };
    hearth_server::patients::record_consent(&app.state, &actor, w.patient, input).await.unwrap();
    let res = app
        .as_key(&w.key, Method::POST, "/api/v1/messages")
        .json(&json!({"channel": "sms", "to": PHONE, "body": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 409).await["code"], "consent_missing");
}

async fn a_dedup_key_makes_enqueue_idempotent(app: TestApp, _lb: Counter) {
    let w = world(&app, Some(true)).await;
    let a = enqueue(&app, new_message(&w, "Reminder one", "reminder:A-1:1:v1")).await;
    let b = enqueue(&app, new_message(&w, "Reminder two", "reminder:A-1:1:v1")).await;
    assert!(a.created && !b.created);
    assert_eq!(a.message.id, b.message.id);
    assert_eq!(b.message.body, "Reminder one");
    let body = json!({"channel": "sms", "to": PHONE, "body": "hi", "dedup_key": "api-1"});
    let first =
        json(app.as_key(&w.key, Method::POST, "/api/v1/messages").json(&body).send().await.unwrap(), 201)
            .await;
    let again =
        json(app.as_key(&w.key, Method::POST, "/api/v1/messages").json(&body).send().await.unwrap(), 200)
            .await;
    assert_eq!(first["id"], again["id"]);
}

async fn transient_failures_back_off_then_die(app: TestApp, _lb: Counter) {
    let w = world(&app, Some(true)).await;
    let id = enqueue(&app, new_message(&w, "transient please", "t-1")).await.message.id;
    for attempt in 1..=8 {
        let r = run_once(&app.state).await.unwrap();
        assert_eq!(r.claimed, 1, "attempt {attempt}");
        let m = status_of(&app, &w, id).await;
        assert_eq!(m.attempts, attempt);
        if attempt < 8 {
            assert_eq!(m.status, "queued");
            let wait = m.next_attempt_at.unwrap().as_micros() - app.clock_now().as_micros();
            let ceiling = 2_000_000_i64 << (attempt - 1);
            assert!((0..=ceiling.min(900_000_000)).contains(&wait), "attempt {attempt}: waits {wait} µs");
            // Nothing is due before then.
            if wait > 0 {
                assert_eq!(run_once(&app.state).await.unwrap().claimed, 0);
            }
            app.clock.advance(secs(901));
        } else {
            assert_eq!(m.status, "dead");
            assert_eq!(m.status_reason.as_deref(), Some("max_attempts"));
            assert_eq!(m.error_code.as_deref(), Some("503"));
        }
    }
    let attempts = app.state.store.message_attempts(w.org, id).await.unwrap();
    assert_eq!(attempts.len(), 8);
    assert!(attempts.iter().all(|a| a.outcome == "transient"));
    let dead =
        json(app.as_key(&w.key, Method::GET, "/api/v1/messages?status=dead").send().await.unwrap(), 200)
            .await;
    assert_eq!(dead.as_array().unwrap().len(), 1);
}

async fn retry_after_is_honored(app: TestApp, _lb: Counter) {
    let w = world(&app, Some(true)).await;
    let id = enqueue(&app, new_message(&w, "throttle me", "r-1")).await.message.id;
    run_once(&app.state).await.unwrap();
    let m = status_of(&app, &w, id).await;
    assert_eq!(m.status, "queued");
    let wait = m.next_attempt_at.unwrap().as_micros() - app.clock_now().as_micros();
    assert!(wait >= 120_000_000, "Retry-After 120 s is a floor: {wait} µs");
    app.clock.advance(secs(60));
    assert_eq!(run_once(&app.state).await.unwrap().claimed, 0);
}

async fn rejected_21610_fails_at_once_and_opts_out(app: TestApp, _lb: Counter) {
    let w = world(&app, Some(true)).await;
    let id = enqueue(&app, new_message(&w, "reject me", "x-1")).await.message.id;
    let r = run_once(&app.state).await.unwrap();
    assert_eq!(r.failed, 1);
    let m = status_of(&app, &w, id).await;
    assert_eq!((m.status.as_str(), m.error_code.as_deref()), ("failed", Some("21610")));
    assert_eq!(m.error_text.as_deref(), Some("unsubscribed recipient"));
    let ledger = app.state.store.consents(w.org, w.patient).await.unwrap();
    let last = ledger.last().unwrap();
    assert_eq!((last.opted_in, last.source.as_str(), last.address.as_str()), (false, "provider", PHONE));
    // The next message to that number is refused at enqueue.
    let again = enqueue(&app, new_message(&w, "hello", "x-2")).await;
    assert_eq!(again.message.status_reason.as_deref(), Some("no_consent"));
}

async fn expired_messages_are_canceled_never_sent(app: TestApp, lb: Counter) {
    let w = world(&app, Some(true)).await;
    let mut msg = new_message(&w, "Reminder", "e-1");
    msg.valid_until = Some(app.clock_now().plus(secs(3600)));
    msg.not_before = Some(app.clock_now().plus(secs(600)));
    let id = enqueue(&app, msg).await.message.id;
    assert_eq!(run_once(&app.state).await.unwrap().claimed, 0, "not before its time");
    app.clock.advance(secs(7200));
    let r = run_once(&app.state).await.unwrap();
    assert_eq!((r.expired, r.claimed), (1, 0));
    let m = status_of(&app, &w, id).await;
    assert_eq!((m.status.as_str(), m.status_reason.as_deref()), ("canceled", Some("expired")));
    assert_eq!(lb.total(), 0);
    // Already past its validity at enqueue: recorded canceled.
    let mut late = new_message(&w, "Reminder", "e-2");
    late.valid_until = Some(app.clock_now().plus(secs(-1)));
    assert_eq!(enqueue(&app, late).await.message.status_reason.as_deref(), Some("expired"));
}

async fn lost_leases_are_reconciled_before_any_resend(app: TestApp, lb: Counter) {
    let w = world(&app, Some(true)).await;
    let a = enqueue(&app, new_message(&w, "one", "l-1")).await.message.id;
    let b = enqueue(&app, new_message(&w, "two", "l-2")).await.message.id;
    // A worker claims both and dies: it had sent `a` (the provider has it) but not `b`.
    let now = app.clock_now();
    let claim = Claim {
        owner: "elsewhere/1/dead",
        now,
        lease_until: now.plus(secs(60)),
        limit: 10,
        sender: None,
        exclude_senders: &[],
    };
    let claimed = app.state.store.claim_messages(&claim).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let provider = app.state.providers.for_channel(Channel::Sms);
    let row = claimed.iter().find(|m| m.id == a).unwrap();
    let out = hearth_server::notifications::Outgoing {
        message_id: a,
        channel: Channel::Sms,
        to: row.to_address.clone(),
        from: None,
        subject: None,
        body: row.body.clone(),
        language: "en".into(),
        validity: None,
    };
    provider.send(&out).await;
    assert_eq!(run_once(&app.state).await.unwrap().claimed, 0, "leased: nobody touches them");
    app.clock.advance(secs(61));
    let r = run_once(&app.state).await.unwrap();
    assert_eq!((r.lost_leases, r.reconciled), (2, 2));
    run_until_idle(&app.state).await.unwrap();
    let (ma, mb) = (status_of(&app, &w, a).await, status_of(&app, &w, b).await);
    assert_eq!(ma.status, "delivered", "found at the provider: recorded, not resent");
    assert_eq!(ma.provider_id.as_deref(), Some(format!("lb-{a}").as_str()));
    assert_eq!(mb.status, "sent", "not at the provider: requeued and sent");
    assert_eq!((lb.count(&a.to_string()), lb.count(&b.to_string())), (1, 1), "each delivered once");
    let history = app.state.store.message_history(w.org, a).await.unwrap();
    let path: Vec<(&str, &str)> = history.iter().map(|h| (h.to_status.as_str(), h.source.as_str())).collect();
    assert_eq!(
        path,
        [("queued", "enqueue"), ("sending", "worker"), ("unknown", "worker"), ("delivered", "reconcile")]
    );
}

async fn provider_reports_never_move_backwards(app: TestApp, _lb: Counter) {
    let w = world(&app, Some(true)).await;
    let id = enqueue(&app, new_message(&w, "hello", "p-1")).await.message.id;
    run_until_idle(&app.state).await.unwrap();
    let report = |status: MessageStatus, code: Option<&str>| StatusReport {
        provider: "loopback".into(),
        provider_id: format!("lb-{id}"),
        status,
        error_code: code.map(str::to_owned),
        error_text: code.map(|_| "carrier said no".to_owned()),
        received_at: app.clock_now(),
    };
    assert_eq!(
        apply_provider_status(&app.state, &report(MessageStatus::Delivered, None)).await.unwrap(),
        Applied::Moved
    );
    assert_eq!(
        apply_provider_status(&app.state, &report(MessageStatus::Sent, None)).await.unwrap(),
        Applied::Stale
    );
    assert_eq!(
        apply_provider_status(&app.state, &report(MessageStatus::Undelivered, Some("30003"))).await.unwrap(),
        Applied::Stale
    );
    let m = status_of(&app, &w, id).await;
    assert_eq!(m.status, "delivered");
    assert_eq!(m.error_code.as_deref(), Some("30003"), "the code is kept even when stale");
    let h = app.state.store.message_history(w.org, id).await.unwrap();
    let provider: Vec<(String, bool)> =
        h.iter().filter(|x| x.source == "provider").map(|x| (x.to_status.clone(), x.applied)).collect();
    assert_eq!(provider, [("delivered".into(), true), ("sent".into(), false), ("undelivered".into(), false)]);
    let mut other = report(MessageStatus::Delivered, None);
    other.provider_id = "SM-nobody".into();
    assert_eq!(apply_provider_status(&app.state, &other).await.unwrap(), Applied::UnknownMessage);
    // Out of order from the start: `undelivered` with 21610 before `sent` on another message.
    let id2 = enqueue(&app, new_message(&w, "hello again", "p-2")).await.message.id;
    run_until_idle(&app.state).await.unwrap();
    let mut r = report(MessageStatus::Undelivered, Some("21610"));
    r.provider_id = format!("lb-{id2}");
    assert_eq!(apply_provider_status(&app.state, &r).await.unwrap(), Applied::Moved);
    r.status = MessageStatus::Sent;
    assert_eq!(apply_provider_status(&app.state, &r).await.unwrap(), Applied::Stale);
    assert_eq!(status_of(&app, &w, id2).await.status, "undelivered");
    let ledger = app.state.store.consents(w.org, w.patient).await.unwrap();
    assert_eq!(ledger.iter().filter(|c| !c.opted_in && c.source == "provider").count(), 1, "one opt-out");
}

async fn staff_retry_and_cancel(app: TestApp, lb: Counter) {
    let w = world(&app, Some(true)).await;
    let mut msg = new_message(&w, "later", "s-1");
    msg.not_before = Some(app.clock_now().plus(secs(3600)));
    let id = enqueue(&app, msg).await.message.id;
    let post = |p: String| app.as_key(&w.key, Method::POST, &p).send();
    let c = json(post(format!("/api/v1/messages/{id}/cancel")).await.unwrap(), 200).await;
    assert_eq!(c["status"], "canceled");
    let again = json(post(format!("/api/v1/messages/{id}/cancel")).await.unwrap(), 409).await;
    assert_eq!(again["code"], "conflict");
    let r = json(post(format!("/api/v1/messages/{id}/retry")).await.unwrap(), 200).await;
    assert_eq!(r["status"], "queued");
    run_until_idle(&app.state).await.unwrap();
    assert_eq!(lb.count(&id.to_string()), 1, "retry sends now");
    let no = json(post(format!("/api/v1/messages/{id}/retry")).await.unwrap(), 409).await;
    assert_eq!(no["code"], "conflict");
    let missing = post(format!("/api/v1/messages/{}/retry", hearth_core::MessageId::new())).await.unwrap();
    assert_eq!(missing.status(), 404);
    let h = app.state.store.message_history(w.org, id).await.unwrap();
    assert!(h.iter().any(|x| x.source == "staff" && x.to_status == "canceled"));
    let audit: Vec<String> = app
        .state
        .store
        .list_audit(w.org, &hearth_store::audit::AuditFilter { limit: 100, ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        audit.iter().any(|a| a == "message.cancel") && audit.iter().any(|a| a == "message.retry"),
        "{audit:?}"
    );
}

async fn pacing_is_shared_through_the_store(app: TestApp, _lb: Counter) {
    // A second app on the same database with pacing: 2 per second for the loopback default sender.
    let w = world(&app, Some(true)).await;
    for i in 0..5 {
        enqueue(&app, new_message(&w, "paced", &format!("pace-{i}"))).await;
    }
    let mut config = app.state.config.clone();
    config.outbox.pacing = vec![hearth_server::config::PacingRule {
        sender: "loopback:default".into(),
        per_second: 2.0,
        unit: "messages".into(),
        burst: Some(2.0),
    }];
    let store = app.state.store.clone();
    let paced = hearth_server::state::AppState::new(config, store, app.clock.clone()).unwrap();
    assert_eq!(run_once(&paced).await.unwrap().claimed, 2, "the burst");
    assert_eq!(run_once(&paced).await.unwrap().claimed, 0, "no time passed: no tokens");
    app.clock.advance(jiff::SignedDuration::from_millis(500));
    assert_eq!(run_once(&paced).await.unwrap().claimed, 1);
    app.clock.advance(secs(1));
    assert_eq!(run_once(&paced).await.unwrap().claimed, 2);
    let _: UtcTime = app.clock_now();
}

async fn pages_list_show_and_act(app: TestApp, _lb: Counter) {
    let w = world(&app, Some(true)).await;
    let mut msg = new_message(&w, "See you Tuesday <b>9:30</b>", "page-1");
    msg.not_before = Some(app.clock_now().plus(secs(3600)));
    let id = enqueue(&app, msg).await.message.id;
    let (_, email) = crate::helpers::seed_user(&app, w.org, hearth_core::Role::Staff, None).await;
    let staff = app.login(&email, crate::helpers::PASSWORD).await;
    let list = app.as_staff(&staff, Method::GET, "/outbox?status=queued").send().await.unwrap();
    assert_eq!(list.status(), 200);
    let html = list.text().await.unwrap();
    let at = html.find("See you").expect("the body is listed");
    assert!(!html[at..at + 40].contains("<b>"), "escaped: {}", &html[at..at + 40]);
    assert!(html.contains(&format!("/outbox/{id}")));
    let bad = app
        .as_staff(&staff, Method::GET, "/outbox?from=yesterday")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(bad.contains("expected a date"), "{bad}");
    let page = app
        .as_staff(&staff, Method::GET, &format!("/outbox/{id}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("History") && page.contains("Cancel"), "{page}");
    let res = app
        .as_staff(&staff, Method::POST, &format!("/outbox/{id}/cancel"))
        .form(&[("csrf", staff.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(status_of(&app, &w, id).await.status, "canceled");
    let no_csrf = app
        .client
        .post(app.url(&format!("/outbox/{id}/retry")))
        .header("cookie", format!("hearth_session={}", staff.cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), 403);
    let dead =
        app.as_staff(&staff, Method::GET, "/outbox?status=dead").send().await.unwrap().text().await.unwrap();
    assert!(dead.contains("Dead messages") && dead.contains("0 messages"), "{dead}");
}
