//! EHR appointment events through `POST /api/v1/ingest/appointment-events`: created on first sight,
//! the state machine applied, replays answered the same, invalid events rejected beside valid ones,
//! stale events kept out of the state, local times placed in the right zone, opt-outs reaching every
//! open appointment, and the history of every event.

use hearth_core::{ApiScope, OrgId};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, both, json, seed_api_key, seed_org};

both!(
    a_booking_creates_patient_and_appointment_and_a_replay_changes_nothing,
    a_batch_applies_valid_events_and_names_the_fields_of_invalid_ones,
    stale_and_terminal_rules_hold_and_the_history_keeps_every_event,
    local_times_are_placed_in_the_zone_of_the_appointment,
    an_ehr_opt_out_suppresses_open_appointments,
    malformed_requests_are_refused_whole,
    exports_stream_csv_and_ndjson_with_the_list_filters,
    integration_events_move_arrivals_and_discharges_and_keep_the_rest,
    one_batch_sees_its_own_earlier_events,
    patients_created_by_ingest_are_checked_for_duplicates,
);

const INGEST: &str = "/api/v1/ingest/appointment-events";

async fn setup(app: &TestApp) -> (OrgId, String, String) {
    let org = seed_org(app, "Clinic").await;
    let (_, ingest) = seed_api_key(app, org, &[ApiScope::Ingest]).await;
    let (_, reader) = seed_api_key(app, org, &[ApiScope::Read]).await;
    (org, ingest, reader)
}

async fn send(app: &TestApp, key: &str, body: &Value) -> Value {
    json(app.as_key(key, Method::POST, INGEST).json(body).send().await.unwrap(), 202).await
}

fn booked(id: &str, at: &str) -> Value {
    json!({"event_type": "BOOKED", "patient_id": "MRN-77", "patient_first_name": "Ana", "patient_last_name": "Núñez",
        "patient_phone": "(415) 555-0100", "appointment_id": id, "appointment_datetime": at,
        "appointment_timezone": "America/Los_Angeles", "appointment_location": "Mission St, Suite 2",
        "provider_id": "P-1", "provider_last_name": "Okafor", "event_datetime_utc": "2026-02-01T10:00:00Z"})
}

async fn a_booking_creates_patient_and_appointment_and_a_replay_changes_nothing(app: TestApp) {
    let (_, ingest, reader) = setup(&app).await;
    let first = send(&app, &ingest, &booked("A-1", "2026-03-10T09:30:00")).await;
    let r = &first["results"][0];
    assert_eq!((r["result"].as_str(), r["status"].as_str()), (Some("created"), Some("booked")), "{first}");
    assert_eq!(r["reminders"], "pending:0");
    assert_eq!(r["notices"], json!(["booking_confirmation"]));
    assert_eq!(r["replayed"], false);
    let again = send(&app, &ingest, &booked("A-1", "2026-03-10T09:30:00")).await;
    assert_eq!(again["results"][0]["replayed"], true);
    assert_eq!(again["results"][0]["appointment_id"], r["appointment_id"]);
    assert_eq!(again["results"][0]["notices"], r["notices"], "the same answer, nothing sent twice");

    let id = r["appointment_id"].as_str().unwrap();
    let list =
        json(app.as_key(&reader, Method::GET, "/api/v1/appointments").send().await.unwrap(), 200).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["local_start"], "2026-03-10T09:30:00");
    assert_eq!(list[0]["start"], "2026-03-10T16:30:00Z", "PDT is UTC-7 on March 10");
    let patients = json(
        app.as_key(&reader, Method::GET, "/api/v1/patients?identifier=ehr%7CMRN-77").send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(patients[0]["phones"][0]["value"], "+14155550100");
    assert_eq!(patients[0]["name"]["family"], "Núñez");
    assert_eq!(list[0]["patient_id"], patients[0]["id"]);
    let history = json(
        app.as_key(&reader, Method::GET, &format!("/api/v1/appointments/{id}/history")).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(history["events"].as_array().unwrap().len(), 1, "a replay is not a new event");
    assert_eq!(history["events"][0]["outcome"], "applied");
    assert_eq!(history["events"][0]["payload"]["appointment_id"], "A-1");
}

async fn a_batch_applies_valid_events_and_names_the_fields_of_invalid_ones(app: TestApp) {
    let (_, ingest, reader) = setup(&app).await;
    let mut bad_phone = booked("A-2", "2026-03-11T09:00:00");
    bad_phone["patient_phone"] = json!("555-CALL-NOW");
    let mut bad_kind = booked("A-3", "2026-03-11T10:00:00");
    bad_kind["event_type"] = json!("BOOKT");
    let batch =
        json!([booked("A-1", "2026-03-11T08:00:00"), bad_phone, bad_kind, {"event_type": "CANCELED"}]);
    let res = send(&app, &ingest, &batch).await;
    let results = res["results"].as_array().unwrap();
    let summary: Vec<(&str, Vec<&str>)> = results
        .iter()
        .map(|r| {
            let fields =
                r["errors"].as_array().into_iter().flatten().map(|f| f["field"].as_str().unwrap()).collect();
            (r["result"].as_str().unwrap(), fields)
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("created", vec![]),
            ("rejected", vec!["patient_phone"]),
            ("rejected", vec!["event_type"]),
            ("rejected", vec!["patient_id", "appointment_id", "appointment_datetime"]),
        ]
    );
    assert!(
        results[2]["errors"][0]["message"].as_str().unwrap().contains("BOOKED"),
        "the allowed values are listed"
    );
    let list =
        json(app.as_key(&reader, Method::GET, "/api/v1/appointments").send().await.unwrap(), 200).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "only the valid event changed anything");
}

async fn stale_and_terminal_rules_hold_and_the_history_keeps_every_event(app: TestApp) {
    let (_, ingest, reader) = setup(&app).await;
    let id = send(&app, &ingest, &booked("A-1", "2026-03-12T09:00:00")).await["results"][0]["appointment_id"]
        .clone();
    let event = |kind: &str, at: &str, msg: &str| {
        json!({"event_type": kind, "patient_id": "MRN-77", "appointment_id": "A-1", "appointment_datetime": "2026-03-12T09:00:00",
            "appointment_timezone": "America/Los_Angeles", "event_datetime_utc": at, "source_message_id": msg})
    };
    let cancel = send(&app, &ingest, &event("CANCELED", "2026-02-02T10:00:00Z", "m-cancel")).await;
    assert_eq!(cancel["results"][0]["status"], "cancelled");
    assert_eq!(cancel["results"][0]["reminders"], "suppressed:cancelled");
    assert_eq!(cancel["results"][0]["notices"], json!(["cancellation_notice"]));
    // An older CONFIRMED arrives late: recorded, but the state does not move back.
    let late = send(&app, &ingest, &event("CONFIRMED", "2026-02-01T12:00:00Z", "m-late")).await;
    assert_eq!(
        (late["results"][0]["result"].as_str(), late["results"][0]["status"].as_str()),
        (Some("stale"), Some("cancelled"))
    );
    // A newer MODIFIED does not resurrect reminders after the cancel.
    let modified = send(&app, &ingest, &event("MODIFIED", "2026-02-03T10:00:00Z", "m-mod")).await;
    assert_eq!(modified["results"][0]["reminders"], "suppressed:cancelled");
    // The patient's CANCEL request goes to the EHR as a cancel, never a confirm.
    let reply = send(&app, &ingest, &event("CONFIRM", "2026-02-03T11:00:00Z", "m-reply")).await;
    assert_eq!(reply["results"][0]["status"], "cancelled", "a patient request does not change the status");
    let rebooked = send(&app, &ingest, &event("RESCHEDULED", "2026-02-04T10:00:00Z", "m-resched")).await;
    assert_eq!(rebooked["results"][0]["reminders"], "pending:0", "only BOOKED/RESCHEDULED revive reminders");
    let history = json(
        app.as_key(&reader, Method::GET, &format!("/api/v1/appointments/{}/history", id.as_str().unwrap()))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let outcomes: Vec<&str> =
        history["events"].as_array().unwrap().iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes.len(), 6, "{history}");
    assert_eq!(outcomes[2], "stale");
    assert!(history["events"][2]["reason"].as_str().unwrap().len() > 10, "each entry says why");
    assert_eq!(history["appointment"]["status"], "booked");
}

async fn local_times_are_placed_in_the_zone_of_the_appointment(app: TestApp) {
    let (_, ingest, reader) = setup(&app).await;
    let mut no_zone = booked("A-1", "2026-07-01T09:00:00");
    no_zone.as_object_mut().unwrap().remove("appointment_timezone");
    let mut gap = booked("A-2", "2026-03-08T02:30:00");
    gap["appointment_timezone"] = json!("America/Los_Angeles");
    let mut fixed = booked("A-3", "2026-07-01T09:00:00");
    fixed["appointment_timezone"] = json!("+0530");
    let mut offset = booked("A-4", "2026-07-01T09:00:00-04:00");
    offset.as_object_mut().unwrap().remove("appointment_timezone");
    send(&app, &ingest, &json!([no_zone, gap, fixed, offset])).await;
    let list =
        json(app.as_key(&reader, Method::GET, "/api/v1/appointments").send().await.unwrap(), 200).await;
    let starts: Vec<(String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["start"].as_str().unwrap().to_owned(), a["time_zone"].as_str().unwrap().to_owned()))
        .collect();
    let find = |zone: &str| starts.iter().find(|(_, z)| z == zone).map(|(s, _)| s.clone()).unwrap();
    // The organization (seed) is in America/Chicago: a new location takes its zone.
    assert_eq!(find("America/Chicago"), "2026-07-01T14:00:00Z");
    assert_eq!(
        find("America/Los_Angeles"),
        "2026-03-08T10:30:00Z",
        "02:30 does not exist that night: 03:30 PDT"
    );
    assert_eq!(find("+05:30"), "2026-07-01T03:30:00Z");
    assert_eq!(find("-04:00"), "2026-07-01T13:00:00Z");
    let from = json(
        app.as_key(&reader, Method::GET, "/api/v1/appointments?from=2026-06-01T00:00:00Z&status=booked")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(from.as_array().unwrap().len(), 3);
}

async fn an_ehr_opt_out_suppresses_open_appointments(app: TestApp) {
    let (_, ingest, reader) = setup(&app).await;
    send(&app, &ingest, &json!([booked("A-1", "2026-04-01T09:00:00"), booked("A-2", "2026-04-02T09:00:00")]))
        .await;
    let out = send(
        &app,
        &ingest,
        &json!({"event_type": "opted-out", "patient_id": "MRN-77", "patient_phone": "+14155550100"}),
    )
    .await;
    assert_eq!(out["results"][0]["notices"], json!(["opt_out_confirmation"]), "{out}");
    let list =
        json(app.as_key(&reader, Method::GET, "/api/v1/appointments").send().await.unwrap(), 200).await;
    assert!(list.as_array().unwrap().iter().all(|a| a["reminders"] == "suppressed:opted_out"), "{list}");
    // A booking for an opted-out patient never leaves reminders pending.
    let third = send(&app, &ingest, &booked("A-3", "2026-04-03T09:00:00")).await;
    assert_ne!(third["results"][0]["reminders"], "pending:0");
    let patients = json(
        app.as_key(&reader, Method::GET, "/api/v1/patients?identifier=ehr%7CMRN-77").send().await.unwrap(),
        200,
    )
    .await;
    let consents = json(
        app.as_key(
            &reader,
            Method::GET,
            &format!("/api/v1/patients/{}/consents", patients[0]["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert!(consents.to_string().contains("\"source\":\"ehr\""), "{consents}");
}

async fn malformed_requests_are_refused_whole(app: TestApp) {
    let (_, ingest, reader) = setup(&app).await;
    let many: Vec<Value> = (0..1001).map(|i| booked(&format!("A-{i}"), "2026-03-10T09:30:00")).collect();
    for (body, field) in [(json!([]), "(body)"), (json!("BOOKED"), "(body)"), (Value::Array(many), "(body)")]
    {
        let res =
            json(app.as_key(&ingest, Method::POST, INGEST).json(&body).send().await.unwrap(), 422).await;
        assert_eq!(res["fields"][0]["field"], field);
    }
    let res = app
        .as_key(&ingest, Method::POST, INGEST)
        .header("content-type", "application/json")
        .body("[{\"event_type\": ")
        .send()
        .await
        .unwrap();
    json(res, 400).await;
    // The reader key may not send events; the ingest key may not read appointments.
    json(
        app.as_key(&reader, Method::POST, INGEST)
            .json(&booked("A", "2026-03-10T09:30:00"))
            .send()
            .await
            .unwrap(),
        403,
    )
    .await;
    json(app.as_key(&ingest, Method::GET, "/api/v1/appointments").send().await.unwrap(), 403).await;
    let list =
        json(app.as_key(&reader, Method::GET, "/api/v1/appointments").send().await.unwrap(), 200).await;
    assert_eq!(list.as_array().unwrap().len(), 0);
    json(app.as_key(&reader, Method::GET, "/api/v1/appointments?from=yesterday").send().await.unwrap(), 422)
        .await;
}

async fn exports_stream_csv_and_ndjson_with_the_list_filters(app: TestApp) {
    let (_, ingest, reader) = setup(&app).await;
    let mut batch: Vec<Value> =
        (0..30).map(|i| booked(&format!("A-{i:02}"), &format!("2026-05-{:02}T09:00:00", i + 1))).collect();
    batch.push(json!({"event_type": "CANCELED", "patient_id": "MRN-77", "appointment_id": "A-00",
        "appointment_datetime": "2026-05-01T09:00:00", "appointment_timezone": "America/Los_Angeles",
        "event_datetime_utc": "2026-02-02T00:00:00Z"}));
    send(&app, &ingest, &Value::Array(batch)).await;
    let get = |path: &str| app.as_key(&reader, Method::GET, path).send();

    let res = get("/api/v1/exports/appointments.csv").await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("appointments.csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("id,source,external_id,patient_id"), "{}", lines[0]);
    assert_eq!(lines.len(), 31, "a header and 30 appointments");
    assert!(lines.iter().any(|l| l.contains(",cancelled,suppressed:cancelled,")));

    let nd = get("/api/v1/exports/appointments.ndjson?status=cancelled").await.unwrap().text().await.unwrap();
    let rows: Vec<Value> = nd.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["external_id"], "A-00");

    let events = get("/api/v1/exports/appointment-events.ndjson").await.unwrap().text().await.unwrap();
    assert_eq!(events.lines().count(), 31, "30 bookings and a cancellation");
    let ev_csv = get("/api/v1/exports/appointment-events.csv?from=2026-05-20T00:00:00Z")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(ev_csv.lines().count(), 1 + 11, "the filters of the list apply: May 20 to 30");
    let empty = get("/api/v1/exports/appointments.csv?status=noshow").await.unwrap().text().await.unwrap();
    assert_eq!(empty.lines().count(), 1, "no rows: still the header");

    json(get("/api/v1/exports/appointments.xlsx").await.unwrap(), 404).await;
    json(get("/api/v1/exports/appointments.csv?from=soon").await.unwrap(), 422).await;
}

async fn integration_events_move_arrivals_and_discharges_and_keep_the_rest(app: TestApp) {
    let (_, ingest, reader) = setup(&app).await;
    let mut b = booked("ENC-1", "2026-03-10T09:30:00");
    b["source_system"] = json!("px360");
    // Received now (an event_datetime_utc later than the arrival would make the arrival stale).
    b.as_object_mut().unwrap().remove("event_datetime_utc");
    send(&app, &ingest, &b).await;
    let post = |body: Value| app.as_key(&ingest, Method::POST, "/api/integrations/events").json(&body).send();
    let ev = |code: &str, enc: &str| {
        json!({"source_system": "px360", "event_code": code, "encounter_id": enc, "patient_identifier": "MRN-77",
            "payload": {"unit": "4B"}})
    };
    let arrived = json(post(ev("arrival", "ENC-1")).await.unwrap(), 202).await;
    assert_eq!(
        (arrived["outcome"].as_str(), arrived["mapped_to"].as_str()),
        (Some("applied"), Some("ARRIVED"))
    );
    assert_eq!(arrived["status"], "arrived");
    let again = json(post(ev("arrival", "ENC-1")).await.unwrap(), 202).await;
    assert_eq!((again["replayed"].as_bool(), again["id"].as_str()), (Some(true), arrived["id"].as_str()));
    let done = json(post(ev("VISIT_END", "ENC-1")).await.unwrap(), 202).await;
    assert_eq!(done["status"], "fulfilled");
    let other = json(post(ev("SURVEY_SENT", "ENC-1")).await.unwrap(), 202).await;
    assert_eq!((other["outcome"].as_str(), other["mapped_to"].as_str()), (Some("kept"), None));
    let unknown = json(post(ev("ARRIVAL", "ENC-404")).await.unwrap(), 202).await;
    assert_eq!(unknown["outcome"], "kept");
    assert!(unknown["reason"].as_str().unwrap().contains("ENC-404"));
    let id = arrived["appointment_id"].as_str().unwrap();
    let history = json(
        app.as_key(&reader, Method::GET, &format!("/api/v1/appointments/{id}/history")).send().await.unwrap(),
        200,
    )
    .await;
    let kinds: Vec<&str> =
        history["events"].as_array().unwrap().iter().map(|e| e["event_type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["BOOKED", "ARRIVED", "FULFILLED"], "the timeline shows them");
    let bad = json(post(json!({"source_system": "", "event_code": "X", "encounter_id": "E", "patient_identifier": "P", "payload": [1]})).await.unwrap(), 422).await;
    let fields: Vec<&str> =
        bad["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["source_system", "payload"]);
    json(post(json!({"source_system": "px360"})).await.unwrap(), 422).await;
}

/// A batch is read up front in a few queries; what its earlier events create or change must still
/// be what its later events see: the patient created once, the booking then confirmed, a repeated
/// message answered as a replay, an opt-out reaching the appointment booked just before it.
async fn one_batch_sees_its_own_earlier_events(app: TestApp) {
    let (_, ingest, reader) = setup(&app).await;
    let mut confirm = booked("A-1", "2026-04-01T09:00:00");
    confirm["event_type"] = json!("CONFIRMED");
    confirm["event_datetime_utc"] = json!("2026-02-01T10:05:00Z");
    let mut second = booked("A-2", "2026-04-02T09:00:00");
    second["event_datetime_utc"] = json!("2026-02-01T10:06:00Z");
    let opt_out = json!({"event_type": "OPTED-OUT", "patient_id": "MRN-77", "patient_phone": "+14155550100",
        "event_datetime_utc": "2026-02-01T10:07:00Z"});
    let out = send(
        &app,
        &ingest,
        &json!([
            booked("A-1", "2026-04-01T09:00:00"),
            confirm,
            booked("A-1", "2026-04-01T09:00:00"),
            second,
            opt_out
        ]),
    )
    .await;
    let r = out["results"].as_array().unwrap();
    assert_eq!(
        (r[0]["result"].as_str(), r[0]["status"].as_str()),
        (Some("created"), Some("booked")),
        "{out}"
    );
    assert_eq!(
        (r[1]["result"].as_str(), r[1]["status"].as_str()),
        (Some("updated"), Some("booked")),
        "{out}"
    );
    assert_eq!(r[1]["appointment_id"], r[0]["appointment_id"], "the confirmation finds the booking");
    assert_eq!(r[2]["replayed"], true, "the same event twice in a batch: {out}");
    assert_eq!(r[2]["appointment_id"], r[0]["appointment_id"]);
    assert_eq!(r[3]["result"], "created", "{out}");
    assert!(r[4]["reason"].as_str().unwrap().contains("2 open appointment"), "{out}");
    let list =
        json(app.as_key(&reader, Method::GET, "/api/v1/appointments").send().await.unwrap(), 200).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(list.iter().all(|a| a["reminders"] == "suppressed:opted_out"), "{list:?}");
    assert!(list.iter().all(|a| a["patient_id"] == list[0]["patient_id"]), "one patient, created once");
    assert!(list.iter().any(|a| a["participant_accepted"] == true), "A-1 was confirmed: {list:?}");
    // The next batch starts from what this one stored.
    let again = send(&app, &ingest, &json!([booked("A-1", "2026-04-01T09:00:00")])).await;
    assert_eq!(again["results"][0]["replayed"], true);
}

/// The check runs after the answer, once ingest has been quiet for a moment: the pair shows up in the
/// review queue shortly after the 202, not in it.
async fn patients_created_by_ingest_are_checked_for_duplicates(app: TestApp) {
    let (org, ingest, _) = setup(&app).await;
    let (_, admin) = seed_api_key(&app, org, &[ApiScope::Admin]).await;
    let staff_made =
        json!({"name": {"family": "Nunez", "given": ["Anna"]}, "phones": [{"value": "415-555-0100"}]});
    let res = app.as_key(&admin, Method::POST, "/api/v1/patients").json(&staff_made).send().await.unwrap();
    let staff_made = json(res, 201).await;
    let answer = send(&app, &ingest, &booked("A-1", "2026-03-10T09:30:00")).await;
    assert_eq!(answer["results"][0]["result"], "created", "{answer}");

    let mut queue = Value::Null;
    for _ in 0..100 {
        let res = app.as_key(&admin, Method::GET, "/api/v1/duplicate-candidates").send().await.unwrap();
        queue = json(res, 200).await;
        if !queue.as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let queue = queue.as_array().unwrap();
    assert_eq!(queue.len(), 1, "Ana Núñez from the EHR and the staff's Anna Nunez, same phone: {queue:?}");
    let ids = [queue[0]["patient_a"]["id"].clone(), queue[0]["patient_b"]["id"].clone()];
    assert!(ids.contains(&staff_made["id"]), "{queue:?}");
}
