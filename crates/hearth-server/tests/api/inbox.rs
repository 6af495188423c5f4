//! The staff inbox: replies a person must read (free text, opt-out requests in free words, confirm or
//! cancel replies that match nothing outstanding, unknown numbers, ugly input), with their likely
//! patient and appointment; staff work them through the API and the pages. Also: a webhook delivered
//! twice, two processors at once, and a reply left unprocessed by a crash, each processed once.

use hearth_core::Role;
use hearth_server::app::{App, Deps, Roles};
use hearth_server::config::{Config, WritebackMethod};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{PASSWORD, json, seed_org, seed_user};
use crate::replies::{book, both_replies, messages_to, processed, prompt, reply_events, spawn, text};

both_replies!(
    replies_that_need_a_person_go_to_the_inbox_with_their_likely_patient,
    staff_work_the_inbox_through_the_api_and_the_pages,
    a_webhook_delivered_three_times_is_processed_once,
    replies_left_unprocessed_by_a_crash_are_processed_when_workers_start,
    a_reply_that_cannot_be_answered_is_still_acted_on_and_shown_to_a_person,
);

const PHONE: &str = "+13125550143";

async fn replies_that_need_a_person_go_to_the_inbox_with_their_likely_patient(
    db: hearth_store::testing::TestDb,
) {
    let app = spawn(db, None, WritebackMethod::None).await;
    let org = seed_org(&app, "Riverside").await;
    let (p, a) = book(&app, org, "EHR-1", PHONE, "A-1", "2026-01-08T10:00:00").await;
    prompt(&app, org, p, PHONE, &[a], "appointment_reminder").await;

    // Free text that reads as an opt-out: flagged for a person, consent untouched.
    let r = text(&app, "SMi1", PHONE, "Please stop texting me, I moved away").await;
    assert_eq!(r.outcome.as_deref(), Some("to_inbox"));
    let reply = app.state.store.reply(org, r.id).await.unwrap();
    assert!(reply.reads_as_opt_out);
    assert_eq!(
        (reply.inbox_status.as_deref(), reply.patient_id, reply.appointment_id),
        (Some("open"), Some(p), Some(a))
    );
    assert!(app.state.store.consents(org, p).await.unwrap().last().unwrap().opted_in, "a person decides");
    assert_eq!(reply_events(&app, org, p).await, ["reply.needs_human"]);
    // Ordinary free text, Spanish and Arabic.
    for (sid, words) in [("SMi2", "¿Puedo llegar a las 11?"), ("SMi3", "شكرا، هل يمكن تغيير الموعد؟")]
    {
        let r = text(&app, sid, PHONE, words).await;
        let reply = app.state.store.reply(org, r.id).await.unwrap();
        assert_eq!(
            (reply.kind.as_str(), reply.reads_as_opt_out, reply.body.as_str()),
            ("other", false, words)
        );
    }
    // Ugly input: empty, emoji only, 2,000 characters: kept whole, in the inbox.
    let long = "Tengo una pregunta sobre mi cita. ".repeat(60)[..2000].to_owned();
    for (sid, words) in [("SMi4", ""), ("SMi5", "👍🙏"), ("SMi6", long.as_str())] {
        let r = text(&app, sid, PHONE, words).await;
        let reply = app.state.store.reply(org, r.id).await.unwrap();
        assert_eq!((reply.kind.as_str(), reply.inbox_status.as_deref()), ("other", Some("open")));
        assert_eq!(reply.body.chars().count(), words.chars().count());
    }
    // An unknown number: in the inbox, no patient; a keyword from it is still answered.
    let r = text(&app, "SMi7", "+13125550999", "C").await;
    assert_eq!(r.outcome.as_deref(), Some("no_prompt"));
    let reply = app.state.store.reply(org, r.id).await.unwrap();
    assert_eq!(
        (reply.patients_on_number, reply.patient_id, reply.inbox_status.as_deref()),
        (0, None, Some("open"))
    );
    assert_eq!(text(&app, "SMi8", "+13125550999", "HELP").await.outcome.as_deref(), Some("help_sent"));
    assert_eq!(messages_to(&app, org, "+13125550999").await.len(), 1);
    // A confirmation after the appointment started: nothing to confirm, a person looks; the likely
    // appointment is the one the reminder was about.
    app.clock.set(hearth_core::UtcTime::new("2026-01-08T16:05:00Z".parse().unwrap()));
    let r = text(&app, "SMi9", PHONE, "C").await;
    assert_eq!(r.outcome.as_deref(), Some("no_prompt"));
    let reply = app.state.store.reply(org, r.id).await.unwrap();
    assert_eq!((reply.kind.as_str(), reply.appointment_id), ("confirm", Some(a)));
    assert!(app.state.store.ehr_requests_about(org, a).await.unwrap().is_empty());
    // The inbox lists them, newest first; automatic ones (HELP) are not there.
    let actor = crate::replies::system(org);
    let items = hearth_server::replies::inbox::list(
        &app.state,
        &actor,
        &hearth_server::replies::InboxQuery::default(),
    )
    .await
    .unwrap();
    assert_eq!(items.len(), 8);
    assert_eq!(items[0].outcome, "no_prompt");
    assert!(items.iter().all(|i| i.kind != "help"));
    let flagged = items.iter().find(|i| i.reads_as_opt_out).unwrap();
    assert_eq!(flagged.patient.as_ref().unwrap().name, "Ana-EHR-1 Diaz");
    assert_eq!(flagged.appointment.as_ref().unwrap().local_start, "2026-01-08T10:00:00");
}

async fn staff_work_the_inbox_through_the_api_and_the_pages(db: hearth_store::testing::TestDb) {
    let app = spawn(db, None, WritebackMethod::None).await;
    let org = seed_org(&app, "Riverside").await;
    let (p, a) = book(&app, org, "EHR-1", PHONE, "A-1", "2026-01-08T10:00:00").await;
    prompt(&app, org, p, PHONE, &[a], "appointment_reminder").await;
    let item = text(&app, "SMw1", PHONE, "Can I bring my daughter along?").await.id;
    let (desk_id, desk_email) = seed_user(&app, org, Role::Staff, None).await;
    let desk = app.login(&desk_email, PASSWORD).await;
    let (_, viewer_email) = seed_user(&app, org, Role::Viewer, None).await;
    let viewer = app.login(&viewer_email, PASSWORD).await;

    let list = json(app.as_staff(&desk, Method::GET, "/api/v1/inbox").send().await.unwrap(), 200).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], item.to_string());
    assert_eq!(list[0]["status"], "open");
    assert_eq!(list[0]["patient"]["id"], p.to_string());
    assert_eq!(list[0]["appointment"]["id"], a.to_string());
    assert_eq!(app.as_staff(&viewer, Method::GET, "/api/v1/inbox").send().await.unwrap().status(), 403);
    let bad =
        json(app.as_staff(&desk, Method::GET, "/api/v1/inbox?status=closed").send().await.unwrap(), 422)
            .await;
    assert_eq!(bad["fields"][0]["field"], "status");
    // Reading an item is an audited read of patient data.
    let path = format!("/api/v1/inbox/{item}");
    let detail = json(app.as_staff(&desk, Method::GET, &path).send().await.unwrap(), 200).await;
    assert_eq!(detail["item"]["body"], "Can I bring my daughter along?");
    let reads = app
        .state
        .store
        .list_audit(
            org,
            &hearth_store::audit::AuditFilter {
                action: Some("inbox.read".into()),
                limit: 5,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(reads[0].actor_id, Some(desk_id.to_string()));
    assert_eq!(reads[0].subject_id, Some(item.to_string()));
    // Assign (to me), answer, done.
    let assigned = json(
        app.as_staff(&desk, Method::POST, &format!("{path}/assign")).json(&json!({})).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(
        (assigned["status"].as_str(), assigned["assigned_to"]["id"].as_str()),
        (Some("assigned"), Some(desk_id.to_string().as_str()))
    );
    let mine =
        json(app.as_staff(&desk, Method::GET, "/api/v1/inbox?assigned_to=me").send().await.unwrap(), 200)
            .await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let sent = json(
        app.as_staff(&desk, Method::POST, &format!("{path}/reply"))
            .json(&json!({"body": "Yes, of course."}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(
        (sent["purpose"].as_str(), sent["to"].as_str(), sent["status"].as_str()),
        (Some("staff_reply"), Some(PHONE), Some("queued"))
    );
    let empty = json(
        app.as_staff(&desk, Method::POST, &format!("{path}/reply"))
            .json(&json!({"body": " "}))
            .send()
            .await
            .unwrap(),
        422,
    )
    .await;
    assert_eq!(empty["fields"][0]["field"], "body");
    let detail = json(app.as_staff(&desk, Method::GET, &path).send().await.unwrap(), 200).await;
    assert_eq!(detail["answers"].as_array().unwrap().len(), 1);
    let done =
        json(app.as_staff(&desk, Method::POST, &format!("{path}/done")).send().await.unwrap(), 200).await;
    assert_eq!(done["status"], "done");
    let open = json(app.as_staff(&desk, Method::GET, "/api/v1/inbox").send().await.unwrap(), 200).await;
    assert!(open.as_array().unwrap().is_empty());
    let all =
        json(app.as_staff(&desk, Method::GET, "/api/v1/inbox?status=done").send().await.unwrap(), 200).await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    // An automatic reply is no inbox item.
    let stop = text(&app, "SMw2", PHONE, "STOP").await.id;
    assert_eq!(
        app.as_staff(&desk, Method::GET, &format!("/api/v1/inbox/{stop}")).send().await.unwrap().status(),
        404
    );
    // After STOP staff cannot text the number.
    let refused = json(
        app.as_staff(&desk, Method::POST, &format!("{path}/reply"))
            .json(&json!({"body": "Are you sure?"}))
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;
    assert_eq!(refused["code"], "consent_missing");

    // The pages: the list, the item, the answer form (refused with the reason on the page).
    let another = text(&app, "SMw3", PHONE, "gracias, una pregunta más").await.id;
    let page = app.as_staff(&desk, Method::GET, "/inbox").send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("/inbox/{another}")) && page.contains("Ana-EHR-1 Diaz"), "{page}");
    let html = app
        .as_staff(&desk, Method::GET, &format!("/inbox/{another}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("gracias, una pregunta más") && html.contains("dir=\"auto\""), "{html}");
    let res = app
        .as_staff(&desk, Method::POST, &format!("/inbox/{another}/reply"))
        .form(&[("csrf", desk.csrf.as_str()), ("body", "Claro")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "the number opted out");
    assert!(res.text().await.unwrap().contains("no consent"));
    let res = app
        .as_staff(&desk, Method::POST, &format!("/inbox/{another}/assign"))
        .form(&[("csrf", desk.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let res = app
        .as_staff(&desk, Method::POST, &format!("/inbox/{another}/done"))
        .form(&[("csrf", desk.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    // The appointment page shows the replies.
    let timeline = app.as_staff(&desk, Method::GET, &format!("/appointments/{a}")).send().await.unwrap();
    assert_eq!(timeline.status(), 200);
    let timeline = timeline.text().await.unwrap();
    assert!(timeline.contains("Patient replies") && timeline.contains("daughter"), "{timeline}");
}

async fn a_webhook_delivered_three_times_is_processed_once(db: hearth_store::testing::TestDb) {
    let app = spawn(db, None, WritebackMethod::None).await;
    let org = seed_org(&app, "Riverside").await;
    let (p, a) = book(&app, org, "EHR-1", PHONE, "A-1", "2026-01-08T10:00:00").await;
    prompt(&app, org, p, PHONE, &[a], "appointment_reminder").await;
    let statuses = tokio::join!(
        crate::replies::post_reply(&app, "SMdup", PHONE, "C"),
        crate::replies::post_reply(&app, "SMdup", PHONE, "C"),
        crate::replies::post_reply(&app, "SMdup", PHONE, "C"),
    );
    assert_eq!(statuses, (200, 200, 200));
    let row = processed(&app, "SMdup").await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(app.state.store.inbound_for_provider_id("twilio", "SMdup").await.unwrap().len(), 1);
    let acks =
        messages_to(&app, org, PHONE).await.into_iter().filter(|m| m.purpose == "confirm_received").count();
    assert_eq!(acks, 1);
    assert_eq!(reply_events(&app, org, p).await, ["reply.confirm_requested"]);
    // Two processors racing on the same receipt: one acts, the other finds it done.
    let stored = app.state.store.inbound_for_provider_id("twilio", "SMdup").await.unwrap().remove(0);
    let mut fresh = stored.clone();
    fresh.id = hearth_core::InboundMessageId::new();
    fresh.dedup_key = "twilio:reply:SMrace".into();
    fresh.provider_id = "SMrace".into();
    fresh.processed_at = None;
    fresh.outcome = None;
    assert!(app.state.store.insert_inbound(&fresh).await.unwrap());
    let (one, two) = tokio::join!(
        hearth_server::replies::process(&app.state, &fresh),
        hearth_server::replies::process(&app.state, &fresh),
    );
    let mut outcomes = [one.unwrap().outcome(), two.unwrap().outcome()];
    outcomes.sort_unstable();
    assert_eq!(outcomes, ["already_processed", "confirm_requested"]);
    assert_eq!(row.id, stored.id);
}

async fn replies_left_unprocessed_by_a_crash_are_processed_when_workers_start(
    db: hearth_store::testing::TestDb,
) {
    let app = spawn(db, None, WritebackMethod::None).await;
    let org = seed_org(&app, "Riverside").await;
    let (p, a) = book(&app, org, "EHR-1", PHONE, "A-1", "2026-01-08T10:00:00").await;
    prompt(&app, org, p, PHONE, &[a], "appointment_reminder").await;
    // Stored by the webhook, then the process died before working on it.
    let row = hearth_store::inbound::InboundRow {
        id: hearth_core::InboundMessageId::new(),
        org_id: Some(org),
        provider: "twilio".into(),
        kind: "reply".into(),
        dedup_key: "twilio:reply:SMcrash".into(),
        provider_id: "SMcrash".into(),
        account_id: None,
        message_id: None,
        channel: Some("sms".into()),
        from_address: Some(PHONE.into()),
        to_address: Some(crate::replies::OUR_NUMBER.into()),
        body: Some("CANCEL APPT".into()),
        status: Some("received".into()),
        error_code: None,
        payload: "{}".into(),
        received_at: app.clock_now(),
        processed_at: None,
        outcome: None,
    };
    assert!(app.state.store.insert_inbound(&row).await.unwrap());
    // A restarted process: its workers' first act is the recovery pass.
    let mut config = Config::for_tests(&app.database_url());
    config.replies.support_phone = Some("+1 312 555 0199".into());
    let restarted =
        App::build(config, Deps { clock: app.clock.clone() }, Roles { web: false, workers: true })
            .await
            .unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let run = tokio::spawn(restarted.run_until_stopped(cancel.clone()));
    let done = processed(&app, "SMcrash").await;
    assert_eq!(done.outcome.as_deref(), Some("cancel_requested"));
    assert_eq!(reply_events(&app, org, p).await, ["reply.cancel_requested"]);
    cancel.cancel();
    run.await.unwrap().unwrap();
}

async fn a_reply_that_cannot_be_answered_is_still_acted_on_and_shown_to_a_person(
    db: hearth_store::testing::TestDb,
) {
    let app = spawn(db, None, WritebackMethod::None).await;
    // A name so long that no answer naming it fits in one message (1,600 characters): rendering fails.
    let org = seed_org(&app, &"Riverside Community Health ".repeat(70)).await;
    let (p, _) = book(&app, org, "EHR-1", PHONE, "A-1", "2026-01-08T10:00:00").await;
    let r = text(&app, "SMn1", PHONE, "STOP").await;
    assert_eq!(r.outcome.as_deref(), Some("opted_out_unanswered"));
    assert!(!app.state.store.consents(org, p).await.unwrap().last().unwrap().opted_in, "the opt-out holds");
    let reply = app.state.store.reply(org, r.id).await.unwrap();
    assert_eq!((reply.kind.as_str(), reply.inbox_status.as_deref()), ("opt_out", Some("open")));
    assert!(messages_to(&app, org, PHONE).await.is_empty(), "no half-made answer");
    let r = text(&app, "SMn2", PHONE, "HELP").await;
    assert_eq!(r.outcome.as_deref(), Some("help_unanswered"));
    assert!(
        app.state.store.unprocessed_inbound("reply", 10).await.unwrap().is_empty(),
        "nothing left to retry"
    );
}
