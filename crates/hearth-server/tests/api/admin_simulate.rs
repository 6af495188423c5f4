//! The simulator page (`/admin/simulate`): seeded EHR events played in process through the ingest
//! engine, each answer shown with a link to its appointment, which the appointment pages then show;
//! the same seed again is all replays; refused to anyone but administrators, and without the CSRF
//! token.

use hearth_core::{OrgId, Role};
use hearth_store::appointments::AppointmentFilter;
use reqwest::Method;

use crate::helpers::{PASSWORD, Staff, TestApp, both, seed_org, seed_user};
use crate::schedule_upload::{as_browser, count};

both!(simulator_plays_events_that_the_appointment_pages_show, simulator_is_for_admins_with_the_csrf_token);

mod live_simulator_answers_as_the_patient_and_moves_the_clock {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let db = hearth_store::testing::TestDb::sqlite();
        super::live_simulator_answers_as_the_patient_and_moves_the_clock(super::simulating(db).await).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Some(db) = hearth_store::testing::TestDb::postgres().await else {
            eprintln!("skipped: {} is not set", hearth_store::testing::POSTGRES_URL_VAR);
            return;
        };
        super::live_simulator_answers_as_the_patient_and_moves_the_clock(super::simulating(db).await).await;
    }
}

/// A test instance whose simulator may move the clock (sign-in keeps the test's frozen clock).
async fn simulating(db: hearth_store::testing::TestDb) -> TestApp {
    TestApp::spawn_with(db, |c| c.simulator.clock = true).await
}

async fn sign_in(app: &TestApp, org: OrgId, role: Role) -> Staff {
    let (_, email) = seed_user(app, org, role, None).await;
    app.login(&email, PASSWORD).await
}

/// Posts the simulator form (urlencoded, as the page sends it); returns the status and the page.
async fn play(app: &TestApp, staff: &Staff, fields: &[(&str, &str)]) -> (u16, String) {
    let res = as_browser(app, staff, Method::POST, "/admin/simulate").form(fields).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn appointments(app: &TestApp, org: OrgId) -> Vec<hearth_store::appointments::AppointmentRow> {
    let filter = AppointmentFilter { limit: 1000, ..AppointmentFilter::default() };
    app.state.store.list_appointments(org, &filter).await.unwrap()
}

async fn simulator_plays_events_that_the_appointment_pages_show(app: TestApp) {
    let org = seed_org(&app, "North Clinic").await;
    let admin = sign_in(&app, org, Role::PxAdmin).await;

    let page = as_browser(&app, &admin, Method::GET, "/admin/simulate").send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("hearth-simulate"), "the page says how events are tagged");
    for step in ["book", "confirm", "reschedule", "modify", "cancel", "noshow", "arrive", "visit-end"] {
        assert!(page.contains(&format!("name=\"step\" value=\"{step}\"")), "{step} in {page}");
    }
    assert!(page.contains("name=\"step\" value=\"book\" checked"), "the CLI's default script is ticked");
    assert!(!page.contains("name=\"step\" value=\"cancel\" checked"));
    let day =
        as_browser(&app, &admin, Method::GET, "/appointments").send().await.unwrap().text().await.unwrap();
    assert!(day.contains("href=\"/admin/simulate\""), "the day page links to the simulator");

    let csrf = admin.csrf.clone();
    let form = [
        ("csrf", csrf.as_str()),
        ("patients", "2"),
        ("seed", "7"),
        ("step", "book"),
        ("step", "confirm"),
        ("step", "reschedule"),
    ];
    let (status, html) = play(&app, &admin, &form).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("6 events played"), "{html}");
    assert_eq!(
        (count(&html, "created"), count(&html, "rejected"), count(&html, "replayed")),
        (2, 0, 0),
        "{html}"
    );
    assert_eq!(count(&html, "updated") + count(&html, "unchanged"), 4, "{html}");
    let rows = appointments(&app, org).await;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.source == "hearth-simulate"), "{rows:?}");
    let mut ids: Vec<&str> = rows.iter().map(|r| r.external_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["SIM7-A00001", "SIM7-A00002"]);
    for event in ["BOOKED", "CONFIRMED", "RESCHEDULED"] {
        assert!(html.contains(&format!("<td data-label=\"Event\">{event}</td>")), "{event}: {html}");
    }
    assert!(html.contains("<strong class=\"result\">created</strong>"), "{html}");
    assert!(html.contains(" · reminders pending:"), "reminders shown: {html}");

    // Each event links to its appointment's timeline, which has every event played.
    for r in &rows {
        assert!(html.contains(&format!("<a href=\"/appointments/{}\">", r.id)), "{html}");
        let timeline = as_browser(&app, &admin, Method::GET, &format!("/appointments/{}", r.id))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for event in ["BOOKED", "CONFIRMED", "RESCHEDULED"] {
            assert!(timeline.contains(event), "{event} on the timeline: {timeline}");
        }
        assert!(timeline.contains("hearth-simulate"), "{timeline}");
        // And the day page of the appointment lists it.
        let local = hearth_server::appointments::local_time(r.start_at, &r.time_zone);
        let date = &local[..10];
        let day = as_browser(&app, &admin, Method::GET, &format!("/appointments?date={date}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(day.contains(&format!("href=\"/appointments/{}\"", r.id)), "{date}: {day}");
    }

    // The same seed again: every event a replay, nothing new.
    let (status, html) = play(&app, &admin, &form).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(
        (count(&html, "created"), count(&html, "replayed"), count(&html, "unchanged")),
        (0, 6, 6),
        "{html}"
    );
    assert!(html.contains("(replayed)"), "{html}");
    assert_eq!(appointments(&app, org).await.len(), 2);

    // Bad input is named and nothing is played.
    for (fields, expected) in [
        (
            vec![("patients", "0"), ("seed", "1"), ("step", "book")],
            "patients</a>: expected a whole number from 1 to 50",
        ),
        (
            vec![("patients", "51"), ("seed", "1"), ("step", "book")],
            "patients</a>: expected a whole number from 1 to 50",
        ),
        (vec![("patients", "2"), ("seed", "-1"), ("step", "book")], "seed</a>: expected a whole number"),
        (vec![("patients", "2"), ("seed", "1")], "script</a>: tick at least one step"),
        (vec![("patients", "2"), ("seed", "1"), ("step", "explode")], "is not a step of the script"),
    ] {
        let mut fields = fields;
        fields.push(("csrf", csrf.as_str()));
        let (status, html) = play(&app, &admin, &fields).await;
        assert_eq!(status, 422, "{fields:?}: {html}");
        assert!(html.contains(expected), "{expected}: {html}");
    }
    assert_eq!(appointments(&app, org).await.len(), 2);
}

async fn simulator_is_for_admins_with_the_csrf_token(app: TestApp) {
    let org = seed_org(&app, "North Clinic").await;
    // A department manager may see the users page, but not send EHR events.
    for role in [Role::DepartmentManager, Role::Nurse] {
        let staff = sign_in(&app, org, role).await;
        let page = as_browser(&app, &staff, Method::GET, "/admin/simulate").send().await.unwrap();
        assert_eq!(page.status(), 403, "{role}");
        let form = [("csrf", staff.csrf.as_str()), ("patients", "1"), ("seed", "1"), ("step", "book")];
        let (status, _) = play(&app, &staff, &form).await;
        assert_eq!(status, 403, "{role}");
        let day = as_browser(&app, &staff, Method::GET, "/appointments")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!day.contains("/admin/simulate"), "no link for {role}");
    }
    let admin = sign_in(&app, org, Role::HospitalAdmin).await;
    let (status, html) = play(&app, &admin, &[("patients", "1"), ("seed", "1"), ("step", "book")]).await;
    assert_eq!(status, 403, "{html}");
    assert!(html.contains("csrf_invalid"), "{html}");
    let (status, _) =
        play(&app, &admin, &[("csrf", "not-the-token"), ("patients", "1"), ("seed", "1"), ("step", "book")])
            .await;
    assert_eq!(status, 403);
    assert!(appointments(&app, org).await.is_empty(), "nothing played without the token");
    let (status, html) = play(
        &app,
        &admin,
        &[("csrf", admin.csrf.as_str()), ("patients", "1"), ("seed", "1"), ("step", "book")],
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(appointments(&app, org).await.len(), 1);
}

async fn live(app: &TestApp, staff: &Staff, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let mut form = vec![("csrf", staff.csrf.as_str())];
    form.extend_from_slice(fields);
    let res = as_browser(app, staff, Method::POST, path).form(&form).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn live_simulator_answers_as_the_patient_and_moves_the_clock(app: TestApp) {
    let org = seed_org(&app, "North Clinic").await;
    let admin = sign_in(&app, org, Role::PxAdmin).await;
    let csrf = admin.csrf.clone();
    let form = [("csrf", csrf.as_str()), ("patients", "1"), ("seed", "3"), ("step", "book")];
    assert_eq!(play(&app, &admin, &form).await.0, 200);
    let appointment = appointments(&app, org).await.pop().unwrap();
    let patient = app.state.store.patient(org, appointment.patient_id).await.unwrap();
    let view = hearth_server::patients::PatientView::try_from(&patient).unwrap();
    let phone = view.record.phones[0].value.clone();
    let consent = serde_json::from_value(
        serde_json::json!({"channel": "sms", "opted_in": true, "source": "staff", "address": phone}),
    );
    let actor = hearth_server::auth::Actor::system(org, "test");
    hearth_server::patients::record_consent(&app.state, &actor, patient.id, consent.unwrap()).await.unwrap();

    // What the scheduler of a running instance does at once (tests run no workers).
    hearth_server::reminders::run_once(&app.state).await.unwrap();
    let page = as_browser(&app, &admin, Method::GET, "/admin/simulate/live").send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Move the clock"));
    // A day later (the window has opened whatever the hour now): the scheduler and the outbox
    // have run; the booking notice went out.
    let before = app.state.clock.now();
    let (status, html) = live(&app, &admin, "/admin/simulate/clock", &[("hours", "24")]).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("moved 24 hour(s) forward"), "{html}");
    let moved = app.state.clock.now().get().duration_since(before.get());
    assert!(moved >= jiff::SignedDuration::from_hours(24), "{moved:?}");
    assert!(html.contains("appointment booked"), "{html}");
    // The patient answers C: matched to the booking notice, acknowledged.
    let (status, html) =
        live(&app, &admin, "/admin/simulate/reply", &[("phone", &phone), ("text", "C")]).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("The reply was processed: confirm requested"), "{html}");
    assert!(html.contains("confirm received"), "the acknowledgement is listed: {html}");
    // Bad input is named and changes nothing.
    for bad in ["0", "x", "100000"] {
        let (status, html) = live(&app, &admin, "/admin/simulate/clock", &[("hours", bad)]).await;
        assert_eq!(status, 422, "{bad}: {html}");
        assert!(html.contains("href=\"#f-hours\""), "{html}");
    }
    let (status, html) =
        live(&app, &admin, "/admin/simulate/reply", &[("phone", "nope"), ("text", "")]).await;
    assert_eq!(status, 422);
    assert!(html.contains("href=\"#f-phone\"") && html.contains("href=\"#f-text\""), "{html}");
    // Administrators only.
    let staff = sign_in(&app, org, Role::Staff).await;
    let res = as_browser(&app, &staff, Method::GET, "/admin/simulate/live").send().await.unwrap();
    assert_eq!(res.status(), 403);
}
