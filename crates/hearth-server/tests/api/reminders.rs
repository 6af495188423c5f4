//! The reminder scheduler end to end through the real ingest endpoint, the scheduler pass and the
//! outbox workers with the loopback provider, on a fake clock: notices and reminders at the right
//! local times (spec vectors), re-planning on reschedule, suppression on cancel and EHR opt-out,
//! combined same-day messages, rules per organization with field errors, and two processes on one
//! database never sending a reminder twice.

use std::sync::Arc;

use hearth_core::{ApiScope, FakeClock, OrgId, PatientId, UtcTime};
use hearth_server::auth::Actor;
use hearth_server::config::Config;
use hearth_server::notifications::worker::run_until_idle;
use hearth_server::patients::ConsentInput;
use hearth_server::reminders;
use hearth_server::state::AppState;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json, seed_api_key, seed_org};
use crate::loopback::{self, Counter};

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
    notices_and_reminders_go_out_at_local_times,
    a_booking_a_day_ahead_skips_the_reminder_the_notice_just_covered,
    a_reschedule_replans_and_a_cancel_suppresses,
    an_ehr_opt_out_cancels_queued_reminders,
    same_day_appointments_share_one_message,
    rules_per_organization_replan_and_name_bad_fields,
    two_processes_never_send_a_reminder_twice,
    a_survey_invitation_waits_for_a_day_under_the_caps,
    a_staff_opt_out_cancels_what_is_queued_at_once,
);

const INGEST: &str = "/api/v1/ingest/appointment-events";
const PHONE: &str = "+14155550100";
const LA: &str = "America/Los_Angeles";

async fn spawn(db: hearth_store::testing::TestDb) -> (TestApp, Counter) {
    let (url, counter) = loopback::start().await;
    let app = TestApp::spawn_with(db, |c| tweak(c, &url)).await;
    (app, counter)
}

fn tweak(c: &mut Config, loopback_url: &str) {
    c.outbox.loopback_url = Some(loopback_url.to_owned());
    c.outbox.send_timeout_secs = 5;
    c.replies.support_phone = Some("+1 415 555 0199".into());
}

struct World {
    org: OrgId,
    ingest: String,
    admin: String,
}

async fn world(app: &TestApp) -> World {
    let org = seed_org(app, "Mission Clinic").await;
    let (_, ingest) = seed_api_key(app, org, &[ApiScope::Ingest]).await;
    let (_, admin) = seed_api_key(app, org, &[ApiScope::Admin]).await;
    World { org, ingest, admin }
}

/// Sets the fake clock to a local time in Los Angeles.
fn at_la(app: &TestApp, local: &str) {
    app.clock.set(la(local));
}

fn la(local: &str) -> UtcTime {
    let dt: jiff::civil::DateTime = local.parse().unwrap();
    UtcTime::from(dt.to_zoned(jiff::tz::TimeZone::get(LA).unwrap()).unwrap().timestamp())
}

fn event(kind: &str, patient: &str, appointment: &str, start: &str, sent: UtcTime) -> Value {
    json!({"event_type": kind, "patient_id": patient, "patient_first_name": "Ana", "patient_last_name": "Núñez",
        "patient_phone": PHONE, "appointment_id": appointment, "appointment_datetime": start,
        "appointment_timezone": LA, "appointment_location": "Mission St",
        "provider_id": "P-1", "provider_last_name": "Okafor", "event_datetime_utc": sent.get().to_string()})
}

/// Sends one EHR event now; returns its answer.
async fn ehr(app: &TestApp, w: &World, kind: &str, appointment: &str, start: &str) -> Value {
    let body = event(kind, "MRN-1", appointment, start, app.clock_now());
    let res = json(app.as_key(&w.ingest, Method::POST, INGEST).json(&body).send().await.unwrap(), 202).await;
    res["results"][0].clone()
}

/// The patient the EHR calls MRN-1, opted in to SMS on [`PHONE`] (as a front desk records it).
async fn opt_in(app: &TestApp, w: &World, appointment_id: &str) -> PatientId {
    let a = app.state.store.appointment(w.org, appointment_id.parse().unwrap()).await.unwrap();
    let input = ConsentInput {
        channel: "sms".into(),
        address: Some(PHONE.into()),
        opted_in: true,
        source: "staff".into(),
        words: None,
    };
    hearth_server::patients::record_consent(&app.state, &Actor::system(w.org, "test"), a.patient_id, input)
        .await
        .unwrap();
    a.patient_id
}

/// One scheduler pass and the outbox until idle; returns the messages sent by now.
async fn tick(app: &TestApp) -> reminders::PassReport {
    let r = reminders::run_once(&app.state).await.unwrap();
    run_until_idle(&app.state).await.unwrap();
    r
}

async fn history(app: &TestApp, w: &World, id: &str) -> Value {
    let path = format!("/api/v1/appointments/{id}/history");
    json(app.as_key(&w.admin, Method::GET, &path).send().await.unwrap(), 200).await
}

/// `(purpose, status, local time in LA)` of each message about the appointment.
fn messages(h: &Value) -> Vec<(String, String, String)> {
    h["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let at: jiff::Timestamp = m["at"].as_str().unwrap().parse().unwrap();
            let local = at.to_zoned(jiff::tz::TimeZone::get(LA).unwrap()).strftime("%a %H:%M").to_string();
            (m["purpose"].as_str().unwrap().into(), m["status"].as_str().unwrap().into(), local)
        })
        .collect()
}

fn owned(v: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    v.iter().map(|(a, b, c)| ((*a).into(), (*b).into(), (*c).into())).collect()
}

/// Spec vector 1 (Wed 10:00 booked Sun 09:00 → Mon 10:00, Tue 10:00) and, for another patient of
/// the same family phone, vector 4 (Wed 22:00 → Tue 08:00, Wed 08:00): sent by the outbox only when
/// the clock reaches them.
async fn notices_and_reminders_go_out_at_local_times(app: TestApp, lb: Counter) {
    let w = world(&app).await;
    at_la(&app, "2026-06-07T09:00"); // Sunday
    let id = ehr_for(&app, &w, "MRN-1", "A-1", "2026-06-10T10:00:00").await;
    let late_id = ehr_for(&app, &w, "MRN-2", "A-2", "2026-06-10T22:00:00").await;
    opt_in(&app, &w, &id).await;
    opt_in(&app, &w, &late_id).await;
    let pass = tick(&app).await;
    assert_eq!((pass.notices, pass.reminders), (2, 4), "{pass:?}");
    assert_eq!(lb.total(), 2, "the booking notices go out at once (09:00 is inside the window)");
    let h = history(&app, &w, &id).await;
    assert_eq!(
        messages(&h),
        owned(&[
            ("appointment_booked", "sent", "Sun 09:00"),
            ("appointment_reminder", "queued", "Mon 10:00"),
            ("appointment_reminder", "queued", "Tue 10:00"),
        ]),
        "{h}"
    );
    let hl = history(&app, &w, &late_id).await;
    assert_eq!(
        messages(&hl),
        owned(&[
            ("appointment_booked", "sent", "Sun 09:00"),
            ("appointment_reminder", "queued", "Tue 08:00"),
            ("appointment_reminder", "queued", "Wed 08:00"),
        ]),
        "deferred to the window's opening: {hl}"
    );
    let moved: Vec<&str> =
        hl["reminders"].as_array().unwrap().iter().map(|d| d["moved_by"].as_str().unwrap_or("")).collect();
    assert_eq!(moved, ["window", "window"]);
    // Nothing before its time, and each exactly at it.
    for (local, total) in [
        ("2026-06-08T09:59", 2),
        ("2026-06-08T10:00", 3),
        ("2026-06-09T08:00", 4),
        ("2026-06-09T10:00", 5),
        ("2026-06-10T07:59", 5),
        ("2026-06-10T08:00", 6),
        ("2026-06-10T23:00", 6),
    ] {
        at_la(&app, local);
        tick(&app).await;
        assert_eq!(lb.total(), total, "at {local}");
    }
    assert!(lb.counts().values().all(|&n| n == 1), "no message sent twice: {:?}", lb.counts());
    let h = history(&app, &w, &id).await;
    let decisions = h["reminders"].as_array().unwrap();
    assert_eq!(decisions.len(), 2, "{h}");
    assert!(decisions.iter().all(|d| d["decision"] == "send" && d["message_id"].is_string()), "{h}");
}

async fn ehr_for(app: &TestApp, w: &World, patient: &str, appointment: &str, start: &str) -> String {
    let body = event("BOOKED", patient, appointment, start, app.clock_now());
    let res = json(app.as_key(&w.ingest, Method::POST, INGEST).json(&body).send().await.unwrap(), 202).await;
    res["results"][0]["appointment_id"].as_str().unwrap().to_owned()
}

/// Spec vector 2: booked Mon 09:00 for Wed 10:00 → the booking notice at 09:00; Mon 10:00 skipped
/// (recently_contacted); Tue 10:00 sent. Vector 5 (booked Tue 15:00): no reminders at all.
async fn a_booking_a_day_ahead_skips_the_reminder_the_notice_just_covered(app: TestApp, lb: Counter) {
    let w = world(&app).await;
    at_la(&app, "2026-06-08T09:00"); // Monday
    let r = ehr(&app, &w, "BOOKED", "A-1", "2026-06-10T10:00:00").await;
    let id = r["appointment_id"].as_str().unwrap().to_owned();
    opt_in(&app, &w, &id).await;
    tick(&app).await;
    let h = history(&app, &w, &id).await;
    let decided: Vec<(String, Option<String>)> = h["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["decision"].as_str().unwrap().into(), d["reason"].as_str().map(Into::into)))
        .collect();
    assert_eq!(
        decided,
        vec![("skipped".into(), Some("recently_contacted".into())), ("send".into(), None)],
        "{h}"
    );
    assert_eq!(
        messages(&h),
        owned(&[
            ("appointment_booked", "sent", "Mon 09:00"),
            ("appointment_reminder", "queued", "Tue 10:00")
        ])
    );
    at_la(&app, "2026-06-09T15:00");
    let r = ehr(&app, &w, "BOOKED", "B-1", "2026-06-10T10:00:00").await;
    let b = r["appointment_id"].as_str().unwrap().to_owned();
    tick(&app).await;
    let h = history(&app, &w, &b).await;
    assert!(
        h["reminders"].as_array().unwrap().iter().all(|d| d["reason"] == "before_booking"),
        "vector 5: {h}"
    );
    assert_eq!(messages(&h), owned(&[("appointment_booked", "sent", "Tue 15:00")]));
    assert_eq!(lb.total(), 3, "two booking notices and the Tuesday reminder");
}

async fn a_reschedule_replans_and_a_cancel_suppresses(app: TestApp, lb: Counter) {
    let w = world(&app).await;
    at_la(&app, "2026-06-07T09:00");
    let r = ehr(&app, &w, "BOOKED", "A-1", "2026-06-10T10:00:00").await;
    let id = r["appointment_id"].as_str().unwrap().to_owned();
    opt_in(&app, &w, &id).await;
    tick(&app).await;
    at_la(&app, "2026-06-07T12:00");
    ehr(&app, &w, "RESCHEDULED", "A-1", "2026-06-12T15:00:00").await;
    let pass = tick(&app).await;
    assert_eq!((pass.notices, pass.reminders, pass.canceled), (1, 2, 2), "{pass:?}");
    let h = history(&app, &w, &id).await;
    let rescheduled =
        h["messages"].as_array().unwrap().iter().find(|m| m["purpose"] == "appointment_rescheduled");
    assert!(rescheduled.is_some_and(|m| m["status"] == "sent"), "{h}");
    let mut live: Vec<_> =
        messages(&h).into_iter().filter(|m| m.0 == "appointment_reminder" && m.1 == "queued").collect();
    live.sort();
    assert_eq!(
        live,
        owned(&[
            ("appointment_reminder", "queued", "Thu 15:00"),
            ("appointment_reminder", "queued", "Wed 15:00")
        ])
    );
    let canceled =
        h["messages"].as_array().unwrap().iter().filter(|m| m["status_reason"] == "replanned").count();
    assert_eq!(canceled, 2, "the old start's reminders are canceled, kept in history: {h}");
    // Sent Wednesday's, then the EHR cancels: Thursday's is suppressed; the cancellation notice goes.
    at_la(&app, "2026-06-10T15:00");
    tick(&app).await;
    let before = lb.total();
    at_la(&app, "2026-06-10T16:00");
    ehr(&app, &w, "CANCELED", "A-1", "2026-06-12T15:00:00").await;
    tick(&app).await;
    at_la(&app, "2026-06-11T15:00");
    tick(&app).await;
    let h = history(&app, &w, &id).await;
    let m = messages(&h);
    assert!(m.contains(&("appointment_canceled".into(), "sent".into(), "Wed 16:00".into())), "{m:?}");
    assert!(m.contains(&("appointment_reminder".into(), "sent".into(), "Wed 15:00".into())), "{m:?}");
    let suppressed =
        h["messages"].as_array().unwrap().iter().filter(|m| m["status_reason"] == "suppressed").count();
    assert_eq!(suppressed, 1, "Thursday's reminder is canceled as suppressed: {m:?}");
    assert_eq!(lb.total(), before + 1, "only the cancellation notice after the cancel");
    let suppressed = h["reminders"].as_array().unwrap().iter().any(|d| d["reason"] == "suppressed:cancelled");
    assert!(suppressed, "{h}");
}

async fn an_ehr_opt_out_cancels_queued_reminders(app: TestApp, lb: Counter) {
    let w = world(&app).await;
    at_la(&app, "2026-06-07T09:00");
    let r = ehr(&app, &w, "BOOKED", "A-1", "2026-06-10T10:00:00").await;
    let id = r["appointment_id"].as_str().unwrap().to_owned();
    opt_in(&app, &w, &id).await;
    tick(&app).await;
    at_la(&app, "2026-06-07T10:00");
    let out = json!({"event_type": "OPTED-OUT", "patient_id": "MRN-1", "patient_phone": PHONE,
        "event_datetime_utc": app.clock_now().get().to_string()});
    json(app.as_key(&w.ingest, Method::POST, INGEST).json(&out).send().await.unwrap(), 202).await;
    tick(&app).await;
    at_la(&app, "2026-06-10T09:00");
    tick(&app).await;
    assert_eq!(lb.total(), 1, "only the booking notice");
    let h = history(&app, &w, &id).await;
    let m = messages(&h);
    assert_eq!(m.iter().filter(|m| m.0 == "appointment_reminder" && m.1 == "canceled").count(), 2, "{h}");
}

/// Spec vector 8: Wed 09:00 and Wed 14:00, booked Sun 08:00 → one message Mon 09:00 and one Tue
/// 09:00, each naming both.
async fn same_day_appointments_share_one_message(app: TestApp, lb: Counter) {
    let w = world(&app).await;
    at_la(&app, "2026-06-07T08:00");
    let a = ehr(&app, &w, "BOOKED", "A-1", "2026-06-10T09:00:00").await;
    let a = a["appointment_id"].as_str().unwrap().to_owned();
    let b = ehr(&app, &w, "BOOKED", "A-2", "2026-06-10T14:00:00").await;
    let b = b["appointment_id"].as_str().unwrap().to_owned();
    opt_in(&app, &w, &a).await;
    tick(&app).await;
    at_la(&app, "2026-06-09T09:00");
    tick(&app).await;
    let sent = app
        .state
        .store
        .list_messages(w.org, &hearth_store::outbox::MessageFilter { limit: 100, ..Default::default() })
        .await
        .unwrap();
    let reminders: Vec<_> = sent.iter().filter(|m| m.purpose == "appointment_reminder").collect();
    assert_eq!(reminders.len(), 2, "{reminders:?}");
    for m in &reminders {
        assert_eq!(m.status, "sent");
        assert_eq!(m.cause_id.as_deref(), Some(format!("{a},{b}").as_str()));
        assert!(m.body.contains("9:00") && m.body.contains("2:00"), "names both: {}", m.body);
    }
    assert_eq!(lb.total(), 4, "two booking notices, two combined reminders");
}

async fn rules_per_organization_replan_and_name_bad_fields(app: TestApp, _lb: Counter) {
    let w = world(&app).await;
    at_la(&app, "2026-06-07T09:00");
    let r = ehr(&app, &w, "BOOKED", "A-1", "2026-06-10T10:00:00").await;
    let id = r["appointment_id"].as_str().unwrap().to_owned();
    opt_in(&app, &w, &id).await;
    tick(&app).await;
    let list =
        json(app.as_key(&w.admin, Method::GET, "/api/v1/reminder-rules").send().await.unwrap(), 200).await;
    assert_eq!(list[0]["rule"]["offsets"], json!(["48h", "24h"]), "the spec's default: {list}");
    let bad = json!({"scope": "organization", "rule": {"offsets": ["48h", "soon"], "window": "8-21", "per_day": 0}});
    let res = app.as_key(&w.admin, Method::PUT, "/api/v1/reminder-rules").json(&bad).send().await.unwrap();
    let err = json(res, 422).await;
    let fields: Vec<&str> =
        err["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    for f in ["rule.offsets[1]", "rule.window", "rule.per_day"] {
        assert!(fields.contains(&f), "{f} named: {err}");
    }
    let res = app
        .as_key(&w.admin, Method::PUT, "/api/v1/reminder-rules")
        .json(&json!({"scope": "location", "key": "not-a-uuid", "rule": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 422).await["fields"][0]["field"], "key");
    let good = json!({"scope": "organization", "rule": {"offsets": ["3h"], "window": "07:00-20:00"}});
    let res = app.as_key(&w.admin, Method::PUT, "/api/v1/reminder-rules").json(&good).send().await.unwrap();
    assert_eq!(json(res, 200).await["replanning_patients"], 1);
    let pass = tick(&app).await;
    assert_eq!((pass.moved, pass.canceled), (1, 1), "the first reminder moves, the second goes: {pass:?}");
    let h = history(&app, &w, &id).await;
    let live: Vec<_> = messages(&h).into_iter().filter(|m| m.1 == "queued").collect();
    assert_eq!(live, owned(&[("appointment_reminder", "queued", "Wed 07:00")]), "{h}");
}

/// Two processes (two states, one database), each with a scheduler pass and outbox workers running
/// at once over many patients: every reminder is planned once and sent once.
async fn two_processes_never_send_a_reminder_twice(app: TestApp, lb: Counter) {
    let w = world(&app).await;
    at_la(&app, "2026-06-07T09:00");
    let mut ids = Vec::new();
    for i in 0..12 {
        let body =
            event("BOOKED", &format!("MRN-{i}"), &format!("A-{i}"), "2026-06-10T10:00:00", app.clock_now());
        let res =
            json(app.as_key(&w.ingest, Method::POST, INGEST).json(&body).send().await.unwrap(), 202).await;
        ids.push(res["results"][0]["appointment_id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        opt_in(&app, &w, id).await;
    }
    let other = second_process(&app).await;
    let (mine, theirs) = tokio::join!(reminders::run_once(&app.state), reminders::run_once(&other));
    let (mine, theirs) = (mine.unwrap(), theirs.unwrap());
    assert_eq!(mine.notices + theirs.notices, 12, "{mine:?} {theirs:?}");
    assert_eq!(mine.reminders + theirs.reminders, 24, "{mine:?} {theirs:?}");
    for day in ["2026-06-07T09:00", "2026-06-08T10:00", "2026-06-09T10:00"] {
        at_la(&app, day);
        let (x, y) = tokio::join!(run_until_idle(&app.state), run_until_idle(&other));
        x.unwrap();
        y.unwrap();
    }
    assert_eq!(lb.total(), 36, "12 notices and 24 reminders: {:?}", lb.counts());
    assert!(lb.counts().values().all(|&n| n == 1), "each message once");
    // Re-planning everything again changes nothing.
    let again = reminders::run_once(&other).await.unwrap();
    assert_eq!(again.reminders, 0);
}

/// Another `AppState` on the same database and clock: a second Hearth process.
async fn second_process(app: &TestApp) -> AppState {
    let mut config = Config::for_tests(&app.database_url());
    config.outbox.loopback_url = app.state.config.outbox.loopback_url.clone();
    config.replies.support_phone = app.state.config.replies.support_phone.clone();
    let store = hearth_store::Store::connect(&app.database_url(), &hearth_store::StoreOptions::default())
        .await
        .unwrap();
    let clock: Arc<FakeClock> = app.clock.clone();
    AppState::new(config, store, clock).unwrap()
}

/// Rule 10: survey invitations count against the same caps; one due on a day that already has a
/// reminder waits for the next day with room (here: Monday and Tuesday have reminders).
async fn a_survey_invitation_waits_for_a_day_under_the_caps(app: TestApp, _lb: Counter) {
    let w = world(&app).await;
    at_la(&app, "2026-06-07T09:00");
    let id = ehr_for(&app, &w, "MRN-1", "A-1", "2026-06-10T10:00:00").await;
    let patient = opt_in(&app, &w, &id).await;
    tick(&app).await;
    let mut tx = app.state.store.begin().await.unwrap();
    let msg = hearth_server::notifications::NewMessage {
        org: w.org,
        patient: Some(patient),
        channel: hearth_core::messaging::Channel::Sms,
        to: PHONE.into(),
        from: None,
        subject: None,
        body: "How was your visit?".into(),
        language: "en".into(),
        purpose: "survey_invitation".into(),
        dedup_key: "survey-test".into(),
        cause: None,
        valid_until: None,
        not_before: Some(la("2026-06-08T14:00")),
    };
    let done = hearth_server::notifications::enqueue(&mut tx, &app.state, msg).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(done.message.status, "queued");
    assert_eq!(done.message.next_attempt_at, Some(la("2026-06-10T08:00")), "Wednesday's opening");
}

/// An opt-out recorded by staff cancels everything queued to that address in its own transaction,
/// and the re-plan then keeps nothing queued (dropped: no_consent).
async fn a_staff_opt_out_cancels_what_is_queued_at_once(app: TestApp, lb: Counter) {
    let w = world(&app).await;
    at_la(&app, "2026-06-07T09:00");
    let id = ehr_for(&app, &w, "MRN-1", "A-1", "2026-06-10T10:00:00").await;
    let patient = opt_in(&app, &w, &id).await;
    tick(&app).await;
    let input = ConsentInput {
        channel: "sms".into(),
        address: Some(PHONE.into()),
        opted_in: false,
        source: "staff".into(),
        words: Some("asked at the desk".into()),
    };
    hearth_server::patients::record_consent(&app.state, &Actor::system(w.org, "test"), patient, input)
        .await
        .unwrap();
    let h = history(&app, &w, &id).await;
    let canceled =
        h["messages"].as_array().unwrap().iter().filter(|m| m["status_reason"] == "opted_out").count();
    assert_eq!(canceled, 2, "both queued reminders: {h}");
    at_la(&app, "2026-06-10T09:00");
    tick(&app).await;
    assert_eq!(lb.total(), 1, "only the booking notice ever went");
    let h = history(&app, &w, &id).await;
    assert!(h["reminders"].as_array().unwrap().iter().all(|d| d["reason"] == "no_consent"), "{h}");
}
