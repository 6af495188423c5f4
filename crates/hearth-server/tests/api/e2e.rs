//! The whole loop on both stores, through the real endpoints on a fake clock: the EHR books → the
//! booking notice and the reminders go out at the right local times → the patient replies C
//! (signed as Twilio signs) → a signed confirm request reaches a local EHR receiver that checks the
//! signature (Python's hmac) → the EHR's CONFIRMED event → the confirmation notice. Then STOP →
//! nothing more goes out (a change notice is canceled, the queued reminder too); HELP → the help
//! text all the same; START → back on, and the stopped reminder goes out at its time.

use hearth_core::{ApiScope, UtcTime};
use hearth_server::config::WritebackMethod;
use hearth_server::notifications::worker::run_until_idle;
use hearth_server::reminders;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json, seed_api_key, seed_org};
use crate::replies::{Receiver, SECRET, both_replies, messages_to, python_verifies, spawn, text};

both_replies!(book_remind_confirm_write_back_stop_help_start);

const PHONE: &str = "+14155550123";
const LA: &str = "America/Los_Angeles";

fn la(local: &str) -> UtcTime {
    let dt: jiff::civil::DateTime = local.parse().unwrap();
    UtcTime::from(dt.to_zoned(jiff::tz::TimeZone::get(LA).unwrap()).unwrap().timestamp())
}

async fn ehr(app: &TestApp, key: &str, kind: &str) -> Value {
    let body = json!({"event_type": kind, "patient_id": "MRN-9", "patient_first_name": "Lena",
        "patient_last_name": "Ortiz", "patient_phone": PHONE, "appointment_id": "EHR-APPT-1",
        "appointment_datetime": "2026-06-10T10:00:00", "appointment_timezone": LA,
        "appointment_location": if kind == "MODIFIED" { "Suite 4" } else { "Suite 2" },
        "provider_id": "P-1", "provider_last_name": "Okafor",
        "event_datetime_utc": app.clock_now().get().to_string()});
    let res = app.as_key(key, Method::POST, "/api/v1/ingest/appointment-events").json(&body).send().await;
    json(res.unwrap(), 202).await["results"][0].clone()
}

/// At `local` (Los Angeles): one scheduler pass and the outbox until idle.
async fn at(app: &TestApp, local: &str) {
    app.clock.set(la(local));
    reminders::run_once(&app.state).await.unwrap();
    run_until_idle(&app.state).await.unwrap();
}

/// `purpose` of each message to the phone that went out, in order.
async fn sent(app: &TestApp, org: hearth_core::OrgId) -> Vec<String> {
    messages_to(app, org, PHONE)
        .await
        .into_iter()
        .filter(|m| m.status == "sent" || m.status == "delivered")
        .map(|m| m.purpose)
        .collect()
}

async fn book_remind_confirm_write_back_stop_help_start(db: hearth_store::testing::TestDb) {
    let receiver = Receiver::start(&[200]).await;
    let app = spawn(db, Some(&receiver.url), WritebackMethod::Webhook).await;
    let org = seed_org(&app, "Mission Clinic").await;
    let (_, key) = seed_api_key(&app, org, &[ApiScope::Ingest]).await;

    // Sunday 09:00: booked for Wednesday 10:00; the patient's consent is on file.
    app.clock.set(la("2026-06-07T09:00"));
    let booked = ehr(&app, &key, "BOOKED").await;
    let appointment: hearth_core::AppointmentId = booked["appointment_id"].as_str().unwrap().parse().unwrap();
    let patient = app.state.store.appointment(org, appointment).await.unwrap().patient_id;
    let consent = serde_json::from_value(
        json!({"channel": "sms", "opted_in": true, "source": "staff", "address": PHONE}),
    );
    hearth_server::patients::record_consent(
        &app.state,
        &crate::replies::system(org),
        patient,
        consent.unwrap(),
    )
    .await
    .unwrap();
    at(&app, "2026-06-07T09:00").await;
    assert_eq!(sent(&app, org).await, ["appointment_booked"]);

    // The first reminder at Monday 10:00 local, not a minute before.
    at(&app, "2026-06-08T09:59").await;
    assert_eq!(sent(&app, org).await.len(), 1);
    at(&app, "2026-06-08T10:00").await;
    assert_eq!(sent(&app, org).await, ["appointment_booked", "appointment_reminder"]);

    // The patient answers C: acknowledged, and a signed Confirm request reaches the EHR.
    app.clock.set(la("2026-06-08T10:05"));
    let row = text(&app, "SMe2e-c", PHONE, "C").await;
    assert_eq!(row.outcome.as_deref(), Some("confirm_requested"), "{row:?}");
    hearth_server::replies::writeback::run_until_idle(&app.state).await.unwrap();
    let hit = receiver.hits().first().cloned().expect("the EHR receiver got the request");
    let body = hit.json();
    assert_eq!(body["event_type"], "Confirm", "{body}");
    assert_eq!(body["appointment_id"], "EHR-APPT-1", "{body}");
    let (ts, sig) = (&hit.headers["x-hearth-timestamp"], &hit.headers["x-hearth-signature"]);
    assert!(python_verifies(SECRET, ts, sig, &hit.body), "the receiver checks the signature");
    run_until_idle(&app.state).await.unwrap();
    assert_eq!(sent(&app, org).await.last().map(String::as_str), Some("confirm_received"));

    // Hearth changed nothing itself; the EHR's CONFIRMED closes the loop with the confirmation notice.
    let status = app.state.store.appointment(org, appointment).await.unwrap();
    assert!(!status.participant_accepted, "a request is not a confirmation");
    app.clock.set(la("2026-06-08T10:10"));
    let confirmed = ehr(&app, &key, "CONFIRMED").await;
    assert_eq!(confirmed["notices"], json!(["confirmation_notice"]), "{confirmed}");
    at(&app, "2026-06-08T10:10").await;
    assert_eq!(sent(&app, org).await.last().map(String::as_str), Some("appointment_confirmed"));

    // STOP: the opt-out is confirmed once, Tuesday's reminder is canceled, and a change notice
    // from the EHR does not go out.
    app.clock.set(la("2026-06-08T11:00"));
    text(&app, "SMe2e-stop", PHONE, "STOP").await;
    at(&app, "2026-06-08T11:00").await;
    let after_stop = sent(&app, org).await;
    assert_eq!(after_stop.last().map(String::as_str), Some("opt_out"));
    app.clock.set(la("2026-06-08T11:30"));
    ehr(&app, &key, "MODIFIED").await;
    at(&app, "2026-06-08T11:30").await;
    assert_eq!(sent(&app, org).await, after_stop, "nothing more goes out after STOP");
    let all = messages_to(&app, org, PHONE).await;
    let modified = all.iter().find(|m| m.purpose == "appointment_modified").expect("the notice is recorded");
    assert_eq!(
        (modified.status.as_str(), modified.status_reason.as_deref()),
        ("canceled", Some("no_consent"))
    );
    assert!(
        all.iter().any(|m| m.purpose == "appointment_reminder" && m.status == "canceled"),
        "Tuesday's reminder is canceled"
    );

    // HELP is answered whatever the consent, with the help text.
    app.clock.set(la("2026-06-08T11:40"));
    text(&app, "SMe2e-help", PHONE, "HELP").await;
    run_until_idle(&app.state).await.unwrap();
    let help = messages_to(&app, org, PHONE).await.into_iter().rfind(|m| m.purpose == "help").unwrap();
    assert!(matches!(help.status.as_str(), "sent" | "delivered"), "{}", help.status);
    assert!(help.body.contains("Mission Clinic") && help.body.contains("STOP"), "{}", help.body);

    // START: back on; Tuesday's reminder comes back and goes out at its time.
    app.clock.set(la("2026-06-08T12:00"));
    text(&app, "SMe2e-start", PHONE, "START").await;
    at(&app, "2026-06-08T12:00").await;
    assert_eq!(sent(&app, org).await.last().map(String::as_str), Some("opt_in"));
    at(&app, "2026-06-09T09:59").await;
    let before = sent(&app, org).await.len();
    at(&app, "2026-06-09T10:00").await;
    let now = sent(&app, org).await;
    assert_eq!(now.len(), before + 1, "{now:?}");
    assert_eq!(now.last().map(String::as_str), Some("appointment_reminder"));
    assert_eq!(now.iter().filter(|p| *p == "appointment_reminder").count(), 2, "each reminder once: {now:?}");
    assert_eq!(receiver.hits().len(), 1, "one request, delivered once");
}
