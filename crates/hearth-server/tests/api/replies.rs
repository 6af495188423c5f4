//! Patient replies end to end: replies arrive through `/hooks/twilio/inbound` signed as Twilio signs
//! them; STOP, START and HELP change consent and are answered; CONFIRM and CANCEL APPT are matched
//! to the most recent outstanding prompt and written back to a local EHR receiver that checks the
//! HMAC signature with Python's standard library (no Hearth code); what needs a person goes to the
//! inbox (see inbox.rs).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_core::messaging::Channel;
use hearth_core::{AppointmentId, OrgId, PatientId};
use hearth_server::config::WritebackMethod;
use hearth_server::notifications::twilio_signature;
use hearth_store::inbound::InboundRow;
use hearth_store::outbox::MessageFilter;
use serde_json::{Value, json};

use crate::helpers::{TestApp, seed_org};

pub const TOKEN: &str = "0123456789abcdef0123456789abcdef";
pub const PUBLIC: &str = "https://hearth.example.org";
pub const SECRET: &str = "ehr-shared-secret";
/// Our Twilio number, the `To` of every reply.
pub const OUR_NUMBER: &str = "+13125550100";

/// Like `both!`, with Twilio and a write-back receiver configured.
macro_rules! both_replies {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(hearth_store::testing::TestDb::sqlite()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = hearth_store::testing::TestDb::postgres().await else {
                    eprintln!("skipped: {} is not set", hearth_store::testing::POSTGRES_URL_VAR);
                    return;
                };
                super::$name(db).await;
            }
        }
    )+};
}
pub(crate) use both_replies;

both_replies!(
    stop_opts_out_the_number_cancels_queued_outreach_and_confirms_once,
    start_help_and_yes_from_an_opted_out_number,
    confirm_is_matched_acknowledged_and_written_back_signed,
    cancel_appt_is_never_delivered_as_a_confirmation,
    a_shared_number_resolves_by_the_prompt_and_a_combined_reminder_names_all,
    fhir_write_back_posts_an_appointment_response,
    write_back_retries_transient_failures_and_fails_on_refusal,
    the_words_the_reminders_name_are_understood,
    the_schedulers_reminder_is_answered_end_to_end,
);

/// One request the EHR receiver got.
#[derive(Debug, Clone)]
pub struct Hit {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Hit {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A local EHR endpoint answering each POST with the next scripted status (the last one repeats).
pub struct Receiver {
    pub url: String,
    pub hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    pub async fn start(statuses: &[u16]) -> Self {
        use axum::http::{HeaderMap, StatusCode, Uri};
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let script: Arc<Mutex<VecDeque<u16>>> = Arc::new(Mutex::new(statuses.iter().copied().collect()));
        let (h, s) = (hits.clone(), script.clone());
        let app = axum::Router::new().fallback(axum::routing::post(
            move |uri: Uri, headers: HeaderMap, body: axum::body::Bytes| {
                let (h, s) = (h.clone(), s.clone());
                async move {
                    let headers = headers
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                        .collect();
                    h.lock().unwrap().push(Hit { path: uri.path().to_owned(), headers, body: body.to_vec() });
                    let mut s = s.lock().unwrap();
                    let status =
                        if s.len() > 1 { s.pop_front().unwrap() } else { *s.front().unwrap_or(&200) };
                    (StatusCode::from_u16(status).unwrap(), [("retry-after", "1")], "{}")
                }
            },
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/ehr", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, hits }
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

/// The receiver's check, as docs/replies.md shows it, in Python's standard library.
pub fn python_verifies(secret: &str, timestamp: &str, signature: &str, body: &[u8]) -> bool {
    let script = "import hashlib,hmac,sys; key,ts,sig=sys.argv[1:4]; body=sys.stdin.buffer.read(); \
                  exp='sha256='+hmac.new(key.encode(), ts.encode()+b'.'+body, hashlib.sha256).hexdigest(); \
                  sys.exit(0 if hmac.compare_digest(exp, sig) else 1)";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script, secret, timestamp, signature])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), body).unwrap();
    child.wait().unwrap().success()
}

/// The app with Twilio's webhook secret, the write-back to `receiver` (if any) and a support number.
pub async fn spawn(
    db: hearth_store::testing::TestDb,
    receiver: Option<&str>,
    method: WritebackMethod,
) -> TestApp {
    TestApp::spawn_with(db, |c| {
        c.providers.twilio.auth_token = Some(hearth_core::Secret::new(TOKEN));
        c.providers.twilio.public_url = Some(format!("{PUBLIC}/"));
        c.replies.support_phone = Some("+1 312 555 0199".into());
        c.writeback.method = method;
        c.writeback.url = receiver.map(str::to_owned);
        c.writeback.secret = Some(hearth_core::Secret::new(SECRET));
    })
    .await
}

pub fn system(org: OrgId) -> hearth_server::auth::Actor {
    hearth_server::auth::Actor::system(org, "test seed")
}

/// Books an appointment through the EHR feed (creating the patient the first time), with SMS
/// consent for the phone; returns the patient and the appointment.
pub async fn book(
    app: &TestApp,
    org: OrgId,
    who: &str,
    phone: &str,
    appt: &str,
    local: &str,
) -> (PatientId, AppointmentId) {
    let event = json!({"event_type": "BOOKED", "source_system": "epic", "patient_id": who,
        "patient_first_name": format!("Ana-{who}"), "patient_last_name": "Diaz", "patient_phone": phone,
        "patient_language": "es", "appointment_id": appt, "appointment_datetime": local,
        "appointment_timezone": "America/Chicago", "provider_id": "PR-7", "provider_first_name": "Grace",
        "provider_last_name": "Okafor", "appointment_location": "Main Street"});
    let report =
        hearth_server::appointments::ingest(&app.state, &system(org), vec![event], false).await.unwrap();
    let r = &report.results[0];
    let appointment = r.appointment_id.unwrap_or_else(|| panic!("booked: {r:?}"));
    let patient = app.state.store.appointment(org, appointment).await.unwrap().patient_id;
    let input: hearth_server::patients::ConsentInput = serde_json::from_value(
        json!({"channel": "sms", "opted_in": true, "source": "patient", "address": phone}),
    )
    .unwrap();
    hearth_server::patients::record_consent(&app.state, &system(org), patient, input).await.unwrap();
    (patient, appointment)
}

/// Sends a prompt (a reminder naming `appointments`) to `phone` and delivers it.
pub async fn prompt(
    app: &TestApp,
    org: OrgId,
    patient: PatientId,
    phone: &str,
    appointments: &[AppointmentId],
    purpose: &str,
) -> hearth_core::MessageId {
    let ids: Vec<String> = appointments.iter().map(ToString::to_string).collect();
    let cause =
        if ids.len() == 1 { ("appointment", ids[0].clone()) } else { ("appointments", ids.join(",")) };
    let mut tx = app.state.store.begin().await.unwrap();
    let msg = hearth_server::notifications::NewMessage {
        org,
        patient: Some(patient),
        channel: Channel::Sms,
        to: phone.into(),
        from: None,
        subject: None,
        body: "Reminder: reply C to confirm or CANCEL APPT to cancel.".into(),
        language: "es".into(),
        purpose: purpose.into(),
        dedup_key: format!("test-prompt:{}", uuid::Uuid::now_v7()),
        cause: Some((cause.0.into(), cause.1)),
        valid_until: None,
        not_before: None,
    };
    let done = hearth_server::notifications::enqueue(&mut tx, &app.state, msg).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(done.message.status, "queued", "{:?}", done.message.status_reason);
    hearth_server::notifications::worker::run_until_idle(&app.state).await.unwrap();
    done.message.id
}

/// Posts a reply signed as Twilio signs it; returns the HTTP status.
pub async fn post_reply(app: &TestApp, sid: &str, from: &str, body: &str) -> u16 {
    let params: Vec<(String, String)> = [
        ("AccountSid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        ("MessageSid", sid),
        ("SmsStatus", "received"),
        ("Body", body),
        ("From", from),
        ("To", OUR_NUMBER),
        ("NumMedia", "0"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let path = "/hooks/twilio/inbound";
    let signature = twilio_signature::compute(TOKEN, &format!("{PUBLIC}{path}"), &params);
    let res = app
        .client
        .post(app.url(path))
        .header("x-twilio-signature", signature)
        .form(&params)
        .send()
        .await
        .unwrap();
    res.status().as_u16()
}

/// Sends a reply and waits until it is processed; returns its receipt.
pub async fn text(app: &TestApp, sid: &str, from: &str, body: &str) -> InboundRow {
    assert_eq!(post_reply(app, sid, from, body).await, 200);
    processed(app, sid).await
}

pub async fn processed(app: &TestApp, sid: &str) -> InboundRow {
    for _ in 0..200 {
        let rows = app.state.store.inbound_for_provider_id("twilio", sid).await.unwrap();
        if let Some(r) = rows.into_iter().find(|r| r.processed_at.is_some()) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("reply {sid} was never processed")
}

/// Messages to `phone`, oldest first.
pub async fn messages_to(app: &TestApp, org: OrgId, phone: &str) -> Vec<hearth_store::outbox::MessageRow> {
    let f = MessageFilter { limit: 500, ..MessageFilter::default() };
    let mut all: Vec<_> = app
        .state
        .store
        .list_messages(org, &f)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.to_address == phone)
        .collect();
    all.sort_by_key(|m| (m.created_at, m.id));
    all
}

async fn consents(app: &TestApp, org: OrgId, p: PatientId) -> Vec<hearth_store::patients::ConsentRow> {
    app.state.store.consents(org, p).await.unwrap()
}

/// The patient's timeline (audit events about them, by the replies actor): the actions.
pub async fn reply_events(app: &TestApp, org: OrgId, p: PatientId) -> Vec<String> {
    let f = hearth_store::audit::AuditFilter {
        subject_type: Some("patient".into()),
        subject_id: Some(p.to_string()),
        limit: 100,
        ..Default::default()
    };
    let mut out: Vec<String> = app
        .state
        .store
        .list_audit(org, &f)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action.starts_with("reply."))
        .map(|e| e.action)
        .collect();
    out.reverse();
    out
}

const FAMILY: &str = "+13125550143";

async fn stop_opts_out_the_number_cancels_queued_outreach_and_confirms_once(
    db: hearth_store::testing::TestDb,
) {
    let app = spawn(db, None, WritebackMethod::None).await;
    let org = seed_org(&app, "Riverside").await;
    let (mom, a1) = book(&app, org, "EHR-1", FAMILY, "A-1", "2026-01-08T10:00:00").await;
    let (kid, _) = book(&app, org, "EHR-2", FAMILY, "A-2", "2026-01-09T10:00:00").await;
    // A reminder waiting for tomorrow's window.
    let mut tx = app.state.store.begin().await.unwrap();
    let later = hearth_server::notifications::NewMessage {
        org,
        patient: Some(kid),
        channel: Channel::Sms,
        to: FAMILY.into(),
        from: None,
        subject: None,
        body: "Queued reminder".into(),
        language: "es".into(),
        purpose: "appointment_reminder".into(),
        dedup_key: "queued-reminder".into(),
        cause: Some(("appointment".into(), a1.to_string())),
        valid_until: None,
        not_before: Some(app.clock_now().plus(jiff::SignedDuration::from_hours(20))),
    };
    let queued = hearth_server::notifications::enqueue(&mut tx, &app.state, later).await.unwrap().message;
    tx.commit().await.unwrap();

    let row = text(&app, "SMstop1", FAMILY, "  Stop. ").await;
    assert_eq!(row.outcome.as_deref(), Some("opted_out"));
    for p in [mom, kid] {
        let last = consents(&app, org, p).await.pop().unwrap();
        assert_eq!(
            (last.opted_in, last.source.as_str(), last.words.as_deref()),
            (false, "keyword", Some("Stop."))
        );
        assert_eq!((last.channel.as_str(), last.address.as_str()), ("sms", FAMILY));
        assert_eq!(reply_events(&app, org, p).await, ["reply.opted_out"]);
    }
    let msgs = messages_to(&app, org, FAMILY).await;
    let canceled = msgs.iter().find(|m| m.id == queued.id).unwrap();
    assert_eq!(
        (canceled.status.as_str(), canceled.status_reason.as_deref()),
        ("canceled", Some("opted_out"))
    );
    let answers: Vec<_> = msgs.iter().filter(|m| m.purpose == "opt_out").collect();
    assert_eq!(answers.len(), 1, "one confirmation");
    assert_eq!(answers[0].status, "queued");
    assert_eq!(answers[0].language, "es", "the patients read Spanish");
    assert!(answers[0].body.contains("Riverside"), "{}", answers[0].body);
    assert!(answers[0].body.contains("START"), "says how to restart: {}", answers[0].body);

    // A second STOP: recorded, no second confirmation.
    let again = text(&app, "SMstop2", FAMILY, "STOP").await;
    assert_eq!(again.outcome.as_deref(), Some("opted_out"));
    assert_eq!(messages_to(&app, org, FAMILY).await.iter().filter(|m| m.purpose == "opt_out").count(), 1);
    // Nothing more goes out: the confirmation is sent, a new reminder is refused for consent.
    hearth_server::notifications::worker::run_until_idle(&app.state).await.unwrap();
    prompt_refused(&app, org, mom, a1).await;
    let sent: Vec<_> = messages_to(&app, org, FAMILY)
        .await
        .into_iter()
        .filter(|m| matches!(m.status.as_str(), "sent" | "delivered"))
        .map(|m| m.purpose)
        .collect();
    assert_eq!(sent, ["opt_out"], "after STOP only the confirmation went out");
}

async fn prompt_refused(app: &TestApp, org: OrgId, p: PatientId, a: AppointmentId) {
    let mut tx = app.state.store.begin().await.unwrap();
    let msg = hearth_server::notifications::NewMessage {
        org,
        patient: Some(p),
        channel: Channel::Sms,
        to: FAMILY.into(),
        from: None,
        subject: None,
        body: "Another reminder".into(),
        language: "es".into(),
        purpose: "appointment_reminder".into(),
        dedup_key: format!("after-stop-{}", uuid::Uuid::now_v7()),
        cause: Some(("appointment".into(), a.to_string())),
        valid_until: None,
        not_before: None,
    };
    let m = hearth_server::notifications::enqueue(&mut tx, &app.state, msg).await.unwrap().message;
    tx.commit().await.unwrap();
    assert_eq!((m.status.as_str(), m.status_reason.as_deref()), ("canceled", Some("no_consent")));
}

async fn start_help_and_yes_from_an_opted_out_number(db: hearth_store::testing::TestDb) {
    let app = spawn(db, None, WritebackMethod::None).await;
    let org = seed_org(&app, "Riverside").await;
    let (p, a) = book(&app, org, "EHR-1", FAMILY, "A-1", "2026-01-08T10:00:00").await;
    prompt(&app, org, p, FAMILY, &[a], "appointment_reminder").await;
    // HELP: the help text with the support number and how to opt out, in the keyword's language.
    assert_eq!(text(&app, "SMh1", FAMILY, "HELP").await.outcome.as_deref(), Some("help_sent"));
    assert_eq!(text(&app, "SMh2", FAMILY, "ayuda").await.outcome.as_deref(), Some("help_sent"));
    let help: Vec<_> =
        messages_to(&app, org, FAMILY).await.into_iter().filter(|m| m.purpose == "help").collect();
    assert_eq!(help.len(), 2);
    for h in &help {
        assert!(h.body.contains("+1 312 555 0199") && h.body.contains("STOP"), "{}", h.body);
    }
    assert_eq!(help[1].language, "es");
    // STOP, then YES: back on (YES from an opted-out number is an opt-in, not a confirmation).
    text(&app, "SMs", FAMILY, "STOP").await;
    let yes = text(&app, "SMy", FAMILY, "Yes").await;
    assert_eq!(yes.outcome.as_deref(), Some("opted_in"));
    assert!(consents(&app, org, p).await.last().unwrap().opted_in);
    let reply = app.state.store.reply(org, yes.id).await.unwrap();
    assert_eq!(reply.kind, "opt_in");
    assert!(app.state.store.ehr_requests_of_reply(org, yes.id).await.unwrap().is_empty());
    // START after another STOP.
    text(&app, "SMs2", FAMILY, "STOP").await;
    assert_eq!(text(&app, "SMst", FAMILY, "start").await.outcome.as_deref(), Some("opted_in"));
    let last = consents(&app, org, p).await.pop().unwrap();
    assert_eq!((last.opted_in, last.words.as_deref()), (true, Some("start")));
    let purposes: Vec<_> = messages_to(&app, org, FAMILY).await.into_iter().map(|m| m.purpose).collect();
    assert_eq!(purposes.iter().filter(|p| *p == "opt_in").count(), 2, "{purposes:?}");
    assert_eq!(
        reply_events(&app, org, p).await,
        [
            "reply.help",
            "reply.help",
            "reply.opted_out",
            "reply.opted_in",
            "reply.opted_out",
            "reply.opted_in"
        ]
    );
    // Back on: reminders go out again.
    prompt(&app, org, p, FAMILY, &[a], "appointment_reminder").await;
    // STOP then START in quick succession (their processing tasks race): applied in arrival order.
    for round in 0..5 {
        let (stop, start) = (format!("SMq{round}a"), format!("SMq{round}b"));
        assert_eq!(post_reply(&app, &stop, FAMILY, "STOP").await, 200);
        assert_eq!(post_reply(&app, &start, FAMILY, "START").await, 200);
        processed(&app, &stop).await;
        processed(&app, &start).await;
        let ledger = consents(&app, org, p).await;
        let last: Vec<bool> = ledger[ledger.len() - 2..].iter().map(|c| c.opted_in).collect();
        assert_eq!(last, [false, true], "round {round}");
    }
}

async fn confirm_is_matched_acknowledged_and_written_back_signed(db: hearth_store::testing::TestDb) {
    let ehr = Receiver::start(&[202]).await;
    let app = spawn(db, Some(&ehr.url), WritebackMethod::Webhook).await;
    let org = seed_org(&app, "Riverside").await;
    let (p, a) = book(&app, org, "EHR-1", FAMILY, "A-1", "2026-01-08T10:00:00").await;
    let prompt_id = prompt(&app, org, p, FAMILY, &[a], "appointment_reminder").await;
    let before = app.state.store.appointment(org, a).await.unwrap();

    let row = text(&app, "SMc1", FAMILY, "c").await;
    assert_eq!(row.outcome.as_deref(), Some("confirm_requested"));
    let reply = app.state.store.reply(org, row.id).await.unwrap();
    assert_eq!((reply.kind.as_str(), reply.patient_id, reply.appointment_id), ("confirm", Some(p), Some(a)));
    assert_eq!(reply.prompt_message_id, Some(prompt_id));
    assert_eq!(reply.inbox_status, None, "handled: not in the inbox");
    // Acknowledged, in the prompt's language.
    let ack: Vec<_> = messages_to(&app, org, FAMILY)
        .await
        .into_iter()
        .filter(|m| m.purpose == "confirm_received")
        .collect();
    assert_eq!(ack.len(), 1);
    assert_eq!((ack[0].status.as_str(), ack[0].language.as_str()), ("queued", "es"));
    assert!(ack[0].body.contains("Ana-EHR-1"), "{}", ack[0].body);

    // Written back: one signed request at the receiver.
    let report = hearth_server::replies::writeback::run_until_idle(&app.state).await.unwrap();
    assert_eq!((report.claimed, report.delivered), (1, 1));
    let hits = ehr.hits();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    let (ts, sig) = (&hit.headers["x-hearth-timestamp"], &hit.headers["x-hearth-signature"]);
    assert!(python_verifies(SECRET, ts, sig, &hit.body), "the receiver verifies the signature");
    assert!(!python_verifies("another-secret", ts, sig, &hit.body));
    assert!(!python_verifies(SECRET, ts, sig, &[&hit.body[..], b" "].concat()), "a changed body fails");
    let body = hit.json();
    assert_eq!(body["event_type"], "Confirm");
    assert_eq!(body["appointment_id"], "A-1");
    assert_eq!(body["appointment_source"], "epic");
    assert_eq!(body["hearth_appointment_id"], a.to_string());
    assert_eq!(body["patient_id"], "EHR-1");
    assert_eq!(body["hearth_patient_id"], p.to_string());
    assert_eq!(body["provider_id"], "PR-7");
    assert_eq!(body["channel"], "sms");
    assert_eq!(body["received_at"], row.received_at.to_string());
    assert_eq!(hit.headers["x-hearth-request-id"], body["request_id"].as_str().unwrap());
    assert!(!String::from_utf8_lossy(&hit.body).contains("5550143"), "no phone number in the request");

    // Hearth changed nothing on the appointment.
    assert_eq!(app.state.store.appointment(org, a).await.unwrap(), before);
    // The appointment's timeline: the reply and the delivered request.
    let t = hearth_server::replies::timeline::of_appointment(&app.state, &system(org), a).await.unwrap();
    assert_eq!(t.replies.len(), 1);
    assert_eq!((t.replies[0].kind.as_str(), t.replies[0].outcome.as_str()), ("confirm", "confirm_requested"));
    assert_eq!(t.requests.len(), 1);
    assert_eq!((t.requests[0].status.as_str(), t.requests[0].attempts), ("delivered", 1));
    assert_eq!(t.requests[0].response_code.as_deref(), Some("202"));
    // And the patient's.
    assert_eq!(reply_events(&app, org, p).await, ["reply.confirm_requested"]);
    // Nothing left to send.
    assert_eq!(hearth_server::replies::writeback::run_until_idle(&app.state).await.unwrap().claimed, 0);
    // The loop closes through the EHR: its CONFIRMED event is what marks the appointment confirmed.
    let confirmed = json!({"event_type": "CONFIRMED", "source_system": "epic", "patient_id": "EHR-1",
        "appointment_id": "A-1", "appointment_datetime": "2026-01-08T10:00:00",
        "appointment_timezone": "America/Chicago"});
    let r =
        hearth_server::appointments::ingest(&app.state, &system(org), vec![confirmed], false).await.unwrap();
    assert_eq!(r.results[0].result, "updated", "{:?}", r.results[0]);
    assert_eq!(r.results[0].notices, ["confirmation_notice"], "the EHR's event calls for the notice");
    assert!(app.state.store.appointment(org, a).await.unwrap().participant_accepted);
}

async fn cancel_appt_is_never_delivered_as_a_confirmation(db: hearth_store::testing::TestDb) {
    let ehr = Receiver::start(&[200]).await;
    let app = spawn(db, Some(&ehr.url), WritebackMethod::Webhook).await;
    let org = seed_org(&app, "Riverside").await;
    let (p, a) = book(&app, org, "EHR-1", FAMILY, "A-1", "2026-01-08T10:00:00").await;
    prompt(&app, org, p, FAMILY, &[a], "appointment_booked").await;
    for (sid, words) in
        [("SMx1", "CANCEL APPT"), ("SMx2", "Cancelar cita"), ("SMx3", "إلغاء الموعد"), ("SMx4", "2")]
    {
        assert_eq!(
            text(&app, sid, FAMILY, words).await.outcome.as_deref(),
            Some("cancel_requested"),
            "{words}"
        );
        hearth_server::replies::writeback::run_until_idle(&app.state).await.unwrap();
    }
    let hits = ehr.hits();
    assert_eq!(hits.len(), 4);
    for h in &hits {
        assert_eq!(h.json()["event_type"], "Cancel", "never a confirmation");
    }
    let acks =
        messages_to(&app, org, FAMILY).await.into_iter().filter(|m| m.purpose == "cancel_received").count();
    assert_eq!(acks, 4);
    assert_eq!(app.state.store.appointment(org, a).await.unwrap().status, "booked", "the EHR decides");
    // A bare CANCEL is the carrier opt-out word: consent off, nothing to the EHR.
    let row = text(&app, "SMx5", FAMILY, "CANCEL").await;
    assert_eq!(row.outcome.as_deref(), Some("opted_out"));
    assert!(!consents(&app, org, p).await.last().unwrap().opted_in);
    hearth_server::replies::writeback::run_until_idle(&app.state).await.unwrap();
    assert_eq!(ehr.hits().len(), 4);
}

async fn a_shared_number_resolves_by_the_prompt_and_a_combined_reminder_names_all(
    db: hearth_store::testing::TestDb,
) {
    let ehr = Receiver::start(&[200]).await;
    let app = spawn(db, Some(&ehr.url), WritebackMethod::Webhook).await;
    let org = seed_org(&app, "Riverside").await;
    let (mom, a_mom) = book(&app, org, "EHR-1", FAMILY, "A-1", "2026-01-08T10:00:00").await;
    let (kid, a_kid) = book(&app, org, "EHR-2", FAMILY, "A-2", "2026-01-08T11:00:00").await;
    // The latest prompt to the number is the kid's: C confirms the kid's appointment.
    prompt(&app, org, mom, FAMILY, &[a_mom], "appointment_reminder").await;
    app.clock.advance(jiff::SignedDuration::from_mins(5));
    prompt(&app, org, kid, FAMILY, &[a_kid], "appointment_reminder").await;
    let row = text(&app, "SMf1", FAMILY, "C").await;
    let reply = app.state.store.reply(org, row.id).await.unwrap();
    assert_eq!(
        (reply.patient_id, reply.appointment_id, reply.patients_on_number),
        (Some(kid), Some(a_kid), 2)
    );
    hearth_server::replies::writeback::run_until_idle(&app.state).await.unwrap();
    assert_eq!(ehr.hits()[0].json()["appointment_id"], "A-2");
    assert_eq!(reply_events(&app, org, kid).await, ["reply.confirm_requested"]);
    assert!(reply_events(&app, org, mom).await.is_empty());

    // One reminder naming both: a confirmation applies to both.
    app.clock.advance(jiff::SignedDuration::from_mins(5));
    prompt(&app, org, mom, FAMILY, &[a_mom, a_kid], "appointment_reminder").await;
    let row = text(&app, "SMf2", FAMILY, "Sí").await;
    assert_eq!(row.outcome.as_deref(), Some("confirm_requested"));
    assert_eq!(app.state.store.reply_appointment_ids(org, row.id).await.unwrap().len(), 2);
    hearth_server::replies::writeback::run_until_idle(&app.state).await.unwrap();
    let mut named: Vec<String> =
        ehr.hits()[1..].iter().map(|h| h.json()["appointment_id"].as_str().unwrap().to_owned()).collect();
    named.sort();
    assert_eq!(named, ["A-1", "A-2"]);

    // Once the first appointment has started, C applies to the one still to come.
    app.clock.set(hearth_core::UtcTime::new("2026-01-08T16:30:00Z".parse().unwrap()));
    let row = text(&app, "SMf3", FAMILY, "confirm").await;
    assert_eq!(app.state.store.reply_appointment_ids(org, row.id).await.unwrap(), [a_kid]);
}

async fn fhir_write_back_posts_an_appointment_response(db: hearth_store::testing::TestDb) {
    let ehr = Receiver::start(&[201]).await;
    let base = ehr.url.replace("/ehr", "/fhir/r4");
    let app = TestApp::spawn_with(db, |c| {
        c.providers.twilio.auth_token = Some(hearth_core::Secret::new(TOKEN));
        c.providers.twilio.public_url = Some(format!("{PUBLIC}/"));
        c.writeback.method = WritebackMethod::Fhir;
        c.writeback.url = Some(base.clone());
        c.writeback.bearer_token = Some(hearth_core::Secret::new("fhir-token"));
    })
    .await;
    let org = seed_org(&app, "Riverside").await;
    let (p, a) = book(&app, org, "EHR-1", FAMILY, "A-1", "2026-01-08T10:00:00").await;
    prompt(&app, org, p, FAMILY, &[a], "appointment_reminder").await;
    text(&app, "SMr1", FAMILY, "CANCEL APPT").await;
    hearth_server::replies::writeback::run_until_idle(&app.state).await.unwrap();
    text(&app, "SMr2", FAMILY, "C").await;
    hearth_server::replies::writeback::run_until_idle(&app.state).await.unwrap();
    let hits = ehr.hits();
    assert_eq!(hits.len(), 2);
    let statuses: Vec<Value> = hits.iter().map(|h| h.json()["participantStatus"].clone()).collect();
    assert_eq!(statuses, [json!("declined"), json!("accepted")]);
    for h in &hits {
        assert_eq!(h.path, "/fhir/r4/AppointmentResponse");
        assert_eq!(h.headers["content-type"], "application/fhir+json");
        assert_eq!(h.headers["authorization"], "Bearer fhir-token");
        let r = h.json();
        assert_eq!(r["resourceType"], "AppointmentResponse");
        assert_eq!(r["appointment"]["reference"], "Appointment/A-1");
        assert_eq!(r["actor"]["reference"], "Patient/EHR-1");
        let id = r["identifier"][0]["value"].as_str().unwrap();
        assert_eq!(h.headers["if-none-exist"], format!("identifier=urn:hearth:ehr-request|{id}"));
    }
    crate::fhir::validate(&hits.iter().map(Hit::json).collect::<Vec<_>>());
}

async fn write_back_retries_transient_failures_and_fails_on_refusal(db: hearth_store::testing::TestDb) {
    let ehr = Receiver::start(&[503, 429, 200]).await;
    let app = spawn(db, Some(&ehr.url), WritebackMethod::Webhook).await;
    let org = seed_org(&app, "Riverside").await;
    let (p, a) = book(&app, org, "EHR-1", FAMILY, "A-1", "2026-01-08T10:00:00").await;
    prompt(&app, org, p, FAMILY, &[a], "appointment_reminder").await;
    text(&app, "SMw1", FAMILY, "C").await;
    let first = hearth_server::replies::writeback::run_until_idle(&app.state).await.unwrap();
    assert_eq!((first.claimed, first.retried), (1, 1), "a 503 is retried later, not at once");
    let req = app.state.store.ehr_requests_about(org, a).await.unwrap().pop().unwrap();
    assert_eq!((req.status.as_str(), req.response_code.as_deref()), ("queued", Some("503")));
    assert!(req.next_attempt_at.unwrap() > app.clock_now());
    app.clock.advance(jiff::SignedDuration::from_mins(20));
    assert_eq!(hearth_server::replies::writeback::run_until_idle(&app.state).await.unwrap().retried, 1);
    app.clock.advance(jiff::SignedDuration::from_mins(20));
    assert_eq!(hearth_server::replies::writeback::run_until_idle(&app.state).await.unwrap().delivered, 1);
    let req = app.state.store.ehr_requests_about(org, a).await.unwrap().pop().unwrap();
    assert_eq!((req.status.as_str(), req.attempts), ("delivered", 3));
    let ids: Vec<Value> = ehr.hits().iter().map(|h| h.json()["request_id"].clone()).collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "every attempt carries the same request_id");

    // A refusal (400) fails the request at once; the timeline page shows it.
    let refusing = Receiver::start(&[400]).await;
    let app2 =
        spawn(hearth_store::testing::TestDb::sqlite(), Some(&refusing.url), WritebackMethod::Webhook).await;
    let org2 = seed_org(&app2, "Riverside").await;
    let (p2, a2) = book(&app2, org2, "EHR-1", FAMILY, "A-1", "2026-01-08T10:00:00").await;
    prompt(&app2, org2, p2, FAMILY, &[a2], "appointment_reminder").await;
    text(&app2, "SMw2", FAMILY, "C").await;
    let r = hearth_server::replies::writeback::run_until_idle(&app2.state).await.unwrap();
    assert_eq!((r.claimed, r.failed), (1, 1));
    let req = app2.state.store.ehr_requests_about(org2, a2).await.unwrap().pop().unwrap();
    assert_eq!((req.status.as_str(), req.response_code.as_deref()), ("failed", Some("400")));
    app2.clock.advance(jiff::SignedDuration::from_hours(1));
    assert_eq!(hearth_server::replies::writeback::run_until_idle(&app2.state).await.unwrap().claimed, 0);
}

async fn the_words_the_reminders_name_are_understood(db: hearth_store::testing::TestDb) {
    let app = TestApp::spawn_with(db, |c| {
        c.providers.twilio.auth_token = Some(hearth_core::Secret::new(TOKEN));
        c.providers.twilio.public_url = Some(format!("{PUBLIC}/"));
        c.reminders.confirm_word = "OK".into();
        c.reminders.cancel_words.es = "ANULAR".into();
    })
    .await;
    let org = seed_org(&app, "Riverside").await;
    let (p, a) = book(&app, org, "EHR-1", FAMILY, "A-1", "2026-01-08T10:00:00").await;
    prompt(&app, org, p, FAMILY, &[a], "appointment_reminder").await;
    assert_eq!(text(&app, "SMk1", FAMILY, "Ok!").await.outcome.as_deref(), Some("confirm_requested"));
    assert_eq!(text(&app, "SMk2", FAMILY, "anular").await.outcome.as_deref(), Some("cancel_requested"));
    // The built-in words still work, and a carrier keyword is still one.
    assert_eq!(text(&app, "SMk3", FAMILY, "C").await.outcome.as_deref(), Some("confirm_requested"));
    assert_eq!(text(&app, "SMk4", FAMILY, "STOP").await.outcome.as_deref(), Some("opted_out"));
}

/// One scheduler pass, then the outbox until idle.
async fn tick(app: &TestApp) {
    hearth_server::reminders::run_once(&app.state).await.unwrap();
    hearth_server::notifications::worker::run_until_idle(&app.state).await.unwrap();
}

fn sent_purposes(msgs: &[hearth_store::outbox::MessageRow]) -> Vec<String> {
    msgs.iter()
        .filter(|m| matches!(m.status.as_str(), "sent" | "delivered"))
        .map(|m| m.purpose.clone())
        .collect()
}

/// Book → the booking notice and the reminder at their local times → C → a signed Confirm at the
/// EHR → the EHR's CONFIRMED → the confirmation notice; then STOP → nothing more goes out.
async fn the_schedulers_reminder_is_answered_end_to_end(db: hearth_store::testing::TestDb) {
    let ehr = Receiver::start(&[200]).await;
    let app = spawn(db, Some(&ehr.url), WritebackMethod::Webhook).await;
    let org = seed_org(&app, "Riverside").await;
    let at = |utc: &str| hearth_core::UtcTime::new(utc.parse().unwrap());
    // Thursday 10:00 in Chicago; booked on Tuesday at 03:00 there.
    let (_, a) = book(&app, org, "EHR-1", FAMILY, "A-1", "2026-01-08T10:00:00").await;
    app.clock.set(at("2026-01-06T14:30:00Z")); // 08:30 in Chicago: the window is open
    tick(&app).await;
    assert_eq!(sent_purposes(&messages_to(&app, org, FAMILY).await), ["appointment_booked"]);
    app.clock.set(at("2026-01-07T16:30:00Z")); // Wednesday 10:30: the day-before reminder is due
    tick(&app).await;
    let msgs = messages_to(&app, org, FAMILY).await;
    assert!(sent_purposes(&msgs).contains(&"appointment_reminder".to_owned()), "{:?}", sent_purposes(&msgs));
    let reminder = msgs.iter().rev().find(|m| m.purpose == "appointment_reminder").unwrap();

    let row = text(&app, "SMe2e1", FAMILY, "C").await;
    assert_eq!(row.outcome.as_deref(), Some("confirm_requested"));
    let reply = app.state.store.reply(org, row.id).await.unwrap();
    assert_eq!((reply.prompt_message_id, reply.appointment_id), (Some(reminder.id), Some(a)));
    hearth_server::replies::writeback::run_until_idle(&app.state).await.unwrap();
    let hit = ehr.hits().pop().expect("the request reached the EHR");
    let (ts, sig) = (&hit.headers["x-hearth-timestamp"], &hit.headers["x-hearth-signature"]);
    assert!(python_verifies(SECRET, ts, sig, &hit.body));
    assert_eq!(
        (hit.json()["event_type"].as_str(), hit.json()["appointment_id"].as_str()),
        (Some("Confirm"), Some("A-1"))
    );
    tick(&app).await;
    assert!(sent_purposes(&messages_to(&app, org, FAMILY).await).contains(&"confirm_received".to_owned()));

    // The EHR confirms: the confirmation notice goes out.
    let confirmed = json!({"event_type": "CONFIRMED", "source_system": "epic", "patient_id": "EHR-1",
        "appointment_id": "A-1", "appointment_datetime": "2026-01-08T10:00:00",
        "appointment_timezone": "America/Chicago"});
    hearth_server::appointments::ingest(&app.state, &system(org), vec![confirmed], false).await.unwrap();
    tick(&app).await;
    assert!(
        sent_purposes(&messages_to(&app, org, FAMILY).await).contains(&"appointment_confirmed".to_owned())
    );

    // STOP: the confirmation of the opt-out, then nothing more, whatever the scheduler does.
    text(&app, "SMe2e2", FAMILY, "STOP").await;
    tick(&app).await;
    let before = sent_purposes(&messages_to(&app, org, FAMILY).await);
    assert_eq!(before.last().map(String::as_str), Some("opt_out"));
    app.clock.set(at("2026-01-08T14:30:00Z"));
    tick(&app).await;
    assert_eq!(sent_purposes(&messages_to(&app, org, FAMILY).await), before, "nothing after STOP");
}
