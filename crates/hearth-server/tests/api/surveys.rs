//! Surveys: Questionnaire import and versioning, invitations when a visit is fulfilled, the public
//! page (languages, CSRF, errors with answers kept, once only), storage, actions, results, exports.

use hearth_core::{ApiScope, OrgId};
use hearth_store::outbox::MessageFilter;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, both, hidden_field, json, seed_api_key, seed_org, set_cookie};

both!(
    questionnaires_import_with_named_errors_and_versions,
    a_fulfilled_visit_invites_once_and_the_page_stores_one_response,
    unknown_and_expired_links_reveal_nothing,
    anonymous_surveys_keep_only_the_visit_context_and_birth_date_is_checked,
);

fn questionnaire(version: &str, text: &str) -> Value {
    json!({"resourceType": "Questionnaire", "url": "https://clinic.example/fhir/Questionnaire/q1", "version": version,
        "title": "Q1", "item": [{"linkId": "a", "type": "string", "text": text}]})
}

async fn questionnaires_import_with_named_errors_and_versions(app: TestApp) {
    let org = seed_org(&app, "Clinic").await;
    let (_, key) = seed_api_key(&app, org, &[ApiScope::Write]).await;
    let list = json(app.as_key(&key, Method::GET, "/api/v1/questionnaires").send().await.unwrap(), 200).await;
    let urls: Vec<&str> = list.as_array().unwrap().iter().map(|q| q["url"].as_str().unwrap()).collect();
    assert_eq!(urls.len(), 3, "{list}");
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|q| q["builtin"] == true && q["languages"] == json!(["en", "ar", "es"]))
    );

    let post = |body: Value| app.as_key(&key, Method::POST, "/api/v1/questionnaires").json(&body).send();
    let bad = json!({"resourceType": "Questionnaire", "url": "https://clinic.example/q", "version": "1",
        "item": [{"linkId": "g", "type": "group", "item": [{"linkId": "n", "type": "choice", "text": "?"}]}]});
    let err = json(post(bad).await.unwrap(), 422).await;
    assert_eq!(err["fields"][0]["field"], "item[0].item[0].answerOption", "{err}");
    assert!(err["fields"][0]["message"].as_str().unwrap().contains("linkId \"n\""), "{err}");
    let official: Value = serde_json::from_str(include_str!(
        "../fixtures/fhir-r4-questionnaires/questionnaire-example-gcs.json"
    ))
    .unwrap();
    let err = json(post(official).await.unwrap(), 422).await;
    assert!(err["fields"].as_array().unwrap().iter().any(|f| f["field"] == "version"), "{err}");

    let v1 = json(post(questionnaire("1", "First")).await.unwrap(), 201).await;
    let again = json(post(questionnaire("1", "First")).await.unwrap(), 200).await;
    assert_eq!(again["id"], v1["id"], "the same version again changes nothing");
    let conflict = json(post(questionnaire("1", "Changed")).await.unwrap(), 409).await;
    assert!(conflict["message"].as_str().unwrap().contains("new `version`"), "{conflict}");
    let v2 = json(post(questionnaire("2", "Changed")).await.unwrap(), 201).await;
    assert_ne!(v2["id"], v1["id"]);
    let got = json(
        app.as_key(&key, Method::GET, &format!("/api/v1/questionnaires/{}", v1["id"].as_str().unwrap()))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(got["resource"]["item"][0]["text"], "First", "version 1 is kept as imported");
    let list = json(app.as_key(&key, Method::GET, "/api/v1/questionnaires").send().await.unwrap(), 200).await;
    assert_eq!(list.as_array().unwrap().len(), 5);
}

pub struct Setup {
    pub org: OrgId,
    pub key: String,
    pub questionnaire: String,
}

/// An organization with a rule for the built-in `slug` on fulfilled CLINICIAN visits.
pub async fn setup(app: &TestApp, slug: &str, extra: Value) -> Setup {
    let org = seed_org(app, "Clinic").await;
    let (_, key) = seed_api_key(app, org, &[ApiScope::Admin]).await;
    let list = json(app.as_key(&key, Method::GET, "/api/v1/questionnaires").send().await.unwrap(), 200).await;
    let q = list.as_array().unwrap().iter().find(|q| q["url"].as_str().unwrap().ends_with(slug)).unwrap();
    let questionnaire = q["id"].as_str().unwrap().to_owned();
    let mut rule =
        json!({"name": "post-visit", "questionnaire_id": questionnaire, "appointment_types": ["clinician"]});
    for (k, v) in extra.as_object().unwrap() {
        rule[k] = v.clone();
    }
    let created =
        json(app.as_key(&key, Method::POST, "/api/v1/survey-rules").json(&rule).send().await.unwrap(), 201)
            .await;
    assert_eq!(created["trigger_status"], "fulfilled");
    Setup { org, key, questionnaire }
}

pub fn visit(kind: &str, id: &str, lang: &str) -> Value {
    json!({"event_type": kind, "patient_id": format!("MRN-{id}"), "patient_first_name": "Ana", "patient_last_name": "Núñez",
        "patient_phone": "(415) 555-0100", "patient_language": lang,
        "appointment_id": id, "appointment_datetime": "2026-01-06T09:30:00", "appointment_type": "CLINICIAN",
        "appointment_timezone": "America/Chicago", "appointment_location": "Main St", "provider_id": "P-1",
        "provider_last_name": "Okafor"})
}

/// Books, records SMS consent, fulfils; returns the survey link's token (from the queued SMS).
pub async fn visit_and_token(app: &TestApp, s: &Setup, id: &str, lang: &str) -> Option<String> {
    visit_and_token_with(app, s, id, lang, &json!({})).await
}

/// As [`visit_and_token`], with fields of the visit replaced by `extra` (provider, location, date…).
pub async fn visit_and_token_with(
    app: &TestApp,
    s: &Setup,
    id: &str,
    lang: &str,
    extra: &Value,
) -> Option<String> {
    let event = |kind: &str| {
        let mut v = visit(kind, id, lang);
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    let system = hearth_server::auth::Actor::system(s.org, "test");
    let booked =
        hearth_server::appointments::ingest(&app.state, &system, vec![event("BOOKED")], false).await.unwrap();
    let appointment = booked.results[0].appointment_id.unwrap_or_else(|| panic!("{booked:?}"));
    let patient = app.state.store.appointment(s.org, appointment).await.unwrap().patient_id;
    let consent = hearth_server::patients::ConsentInput {
        channel: "sms".into(),
        address: None,
        opted_in: true,
        source: "staff".into(),
        words: None,
    };
    hearth_server::patients::record_consent(&app.state, &system, patient, consent).await.unwrap();
    let version = app.state.store.patient(s.org, patient).await.unwrap().version;
    hearth_server::patients::update(
        &app.state,
        &system,
        patient,
        Some(version),
        json!({"birth_date": "1980-04-02"}),
    )
    .await
    .unwrap();
    let done = hearth_server::appointments::ingest(&app.state, &system, vec![event("FULFILLED")], false)
        .await
        .unwrap();
    assert_eq!(done.results[0].status.as_deref(), Some("fulfilled"), "{done:?}");
    let filter = MessageFilter { patient: Some(patient), limit: 100, ..MessageFilter::default() };
    let messages = app.state.store.list_messages(s.org, &filter).await.unwrap();
    let invitation = messages.iter().find(|m| m.purpose == "survey_invitation")?;
    let link = invitation.body.split_whitespace().find(|w| w.contains("/s/")).unwrap();
    Some(link.rsplit('/').next().unwrap().to_owned())
}

/// GETs the page; returns (status, html, csrf cookie, csrf field).
pub async fn open(app: &TestApp, path: &str) -> (u16, String, Option<String>, Option<String>) {
    let res = app.get(path).await;
    let status = res.status().as_u16();
    let cookie = set_cookie(&res, "hearth_csrf");
    let html = res.text().await.unwrap();
    let csrf = hidden_field(&html, "csrf");
    (status, html, cookie, csrf)
}

pub async fn post(app: &TestApp, token: &str, cookie: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let res = app
        .client
        .post(app.url(&format!("/s/{token}")))
        .header("cookie", format!("hearth_csrf={cookie}"))
        .form(fields)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn a_fulfilled_visit_invites_once_and_the_page_stores_one_response(app: TestApp) {
    let s = setup(&app, "visit-experience", json!({})).await;
    let token = visit_and_token(&app, &s, "V-1", "es").await.expect("an invitation SMS");
    assert_eq!(token.len(), 22);
    let messages = app
        .state
        .store
        .list_messages(s.org, &MessageFilter { limit: 100, ..MessageFilter::default() })
        .await
        .unwrap();
    let invitation = messages.iter().find(|m| m.purpose == "survey_invitation").unwrap();
    assert_eq!(invitation.language, "es");
    assert!(invitation.body.contains("/s/"), "{}", invitation.body);
    // 09:00 UTC is 03:00 in Chicago: the message waits for the outreach window (08:00 local).
    assert_eq!(invitation.next_attempt_at.unwrap().to_string(), "2026-01-06T14:00:00Z");
    assert!(messages.iter().any(|m| m.purpose == "survey_reminder" && m.status == "queued"));
    // The same visit fulfilled again (a replay, or a new event) invites nobody twice.
    let system = hearth_server::auth::Actor::system(s.org, "test");
    let mut again = visit("FULFILLED", "V-1", "es");
    again["source_message_id"] = json!("again");
    hearth_server::appointments::ingest(&app.state, &system, vec![again], false).await.unwrap();
    let n = app
        .state
        .store
        .list_messages(s.org, &MessageFilter { limit: 100, ..MessageFilter::default() })
        .await
        .unwrap();
    assert_eq!(n.iter().filter(|m| m.purpose == "survey_invitation").count(), 1);

    let (status, html, cookie, csrf) = open(&app, &format!("/s/{token}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("<html lang=\"es\" dir=\"ltr\">"), "the invitation's language");
    assert!(html.contains("¿Qué tan probable es que nos recomiende"));
    assert!(html.len() < 50_000, "{} bytes", html.len());
    assert!(!html.contains("http://") && !html.contains("https://"), "no third-party requests");
    let (_, ar, _, _) = open(&app, &format!("/s/{token}?lang=ar")).await;
    assert!(ar.contains("<html lang=\"ar\" dir=\"rtl\">"));
    let (cookie, csrf) = (cookie.unwrap(), csrf.unwrap());

    let (status, _) =
        post(&app, &token, "forged", &[("csrf", &csrf), ("lang", "es"), ("q.satisfaction", "1")]).await;
    assert_eq!(status, 403, "a form without its double-submit cookie is refused");
    let (status, html) = post(
        &app,
        &token,
        &cookie,
        &[("csrf", &csrf), ("lang", "es"), ("q.satisfaction", "2"), ("q.do-better", "Más tiempo")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("Responda esta pregunta."), "the error beside the field");
    assert!(html.contains("role=\"alert\""));
    assert!(html.contains("value=\"2\" checked"), "answers are kept");
    assert!(html.contains(">Más tiempo</textarea>"));
    let csrf = hidden_field(&html, "csrf").unwrap();
    let fields = [
        ("csrf", csrf.as_str()),
        ("lang", "es"),
        ("q.satisfaction", "2"),
        ("q.recommend", "3"),
        ("q.do-better", "Más tiempo"),
        ("q.contact-me", "true"),
    ];
    let (status, html) = post(&app, &token, &cookie, &fields).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Gracias"));
    let (status, html) = post(&app, &token, &cookie, &fields).await;
    assert_eq!(status, 200);
    assert!(html.contains("Ya recibida"), "a second submission stores nothing");
    let (_, html, _, _) = open(&app, &format!("/s/{token}")).await;
    assert!(html.contains("Ya recibida"));

    let results = json(
        app.as_key(&s.key, Method::GET, &format!("/api/v1/questionnaires/{}/results", s.questionnaire))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(results["responses"], 1);
    assert_eq!(results["funnel"], json!({"completed": 1, "opened": 1, "sent": 1, "started": 1}), "{results}");
    let nps = results["scores"].as_array().unwrap().iter().find(|s| s["name"] == "nps").unwrap();
    assert_eq!(nps["bands"], json!({"detractor": 1}));
    assert_eq!(nps["by_week"][0]["key"], "2026-W02");

    let bundle = json(
        app.as_key(&s.key, Method::GET, &format!("/api/v1/questionnaires/{}/responses", s.questionnaire))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let qr = &bundle["entry"][0]["resource"];
    assert_eq!(qr["resourceType"], "QuestionnaireResponse");
    assert_eq!(qr["status"], "completed");
    assert_eq!(qr["questionnaire"], "https://hearth.dev/fhir/Questionnaire/visit-experience|1");
    assert!(qr["subject"]["reference"].as_str().unwrap().starts_with("Patient/"));
    let recommend = qr["item"].as_array().unwrap().iter().find(|i| i["linkId"] == "recommend").unwrap();
    assert_eq!(recommend["answer"][0]["valueCoding"]["code"], "3");
    let obs = json(
        app.as_key(
            &s.key,
            Method::GET,
            &format!("/api/v1/questionnaires/{}/responses?as=observations", s.questionnaire),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    let nps_obs =
        obs["entry"].as_array().unwrap().iter().find(|e| e["resource"]["code"]["text"] == "nps").unwrap();
    assert_eq!(nps_obs["resource"]["valueQuantity"]["value"], 3.0);
    assert_eq!(nps_obs["resource"]["interpretation"][0]["text"], "detractor");

    let response: hearth_core::survey::SurveyResponseId = qr["id"].as_str().unwrap().parse().unwrap();
    let actions = app.state.store.survey_actions(s.org, response).await.unwrap();
    let names: Vec<&str> = actions.iter().map(|a| a.rule_name.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"nps-detractor") && names.contains(&"contact-requested"));
    assert!(actions.iter().all(|a| a.owner == "px_coordinator" && a.status == "open"));
    // The reminder is not sent to someone who answered.
    let after = app
        .state
        .store
        .list_messages(s.org, &MessageFilter { limit: 100, ..MessageFilter::default() })
        .await
        .unwrap();
    let reminder = after.iter().find(|m| m.purpose == "survey_reminder").unwrap();
    assert_eq!(
        (reminder.status.as_str(), reminder.status_reason.as_deref()),
        ("canceled", Some("survey_completed"))
    );
}

async fn unknown_and_expired_links_reveal_nothing(app: TestApp) {
    let s = setup(&app, "visit-experience", json!({})).await;
    let token = visit_and_token(&app, &s, "V-2", "en").await.unwrap();
    let (unknown_status, unknown, _, _) = open(&app, "/s/AAAAAAAAAAAAAAAAAAAAAA").await;
    let (_, malformed, _, _) = open(&app, "/s/x").await;
    assert_eq!(unknown_status, 404);
    assert_eq!(unknown, malformed);
    assert!(unknown.contains("This link does not work") && !unknown.contains("Clinic"));
    app.clock.advance(jiff::SignedDuration::from_hours(24 * 9));
    let (status, expired, _, _) = open(&app, &format!("/s/{token}")).await;
    assert_eq!(status, 404);
    assert_eq!(expired, unknown, "an expired link shows exactly the unknown page");
    let funnel = app.state.store.survey_funnel(s.org, s.questionnaire.parse().unwrap()).await.unwrap();
    assert!(funnel.contains(&("expired".to_owned(), 1)), "{funnel:?}");
}

async fn anonymous_surveys_keep_only_the_visit_context_and_birth_date_is_checked(app: TestApp) {
    let s = setup(&app, "hope-grid", json!({"anonymous": true, "verify_birth_date": true})).await;
    let token = visit_and_token(&app, &s, "V-3", "en").await.unwrap();
    let (status, html, cookie, csrf) = open(&app, &format!("/s/{token}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Date of birth") && !html.contains("Before this visit"),
        "nothing before the check"
    );
    let (cookie, csrf) = (cookie.unwrap(), csrf.unwrap());
    let (status, html) =
        post(&app, &token, &cookie, &[("csrf", &csrf), ("step", "verify"), ("birth_date", "1980-04-03")])
            .await;
    assert_eq!(status, 422);
    assert!(html.contains("does not match"));
    let res = app
        .client
        .post(app.url(&format!("/s/{token}")))
        .header("cookie", format!("hearth_csrf={cookie}"))
        .form(&[("csrf", csrf.as_str()), ("step", "verify"), ("birth_date", "1980-04-02")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let ok = set_cookie(&res, "hearth_survey_ok").expect("a verified cookie");
    let html = res.text().await.unwrap();
    assert!(html.contains("Before this visit"));
    let csrf = hidden_field(&html, "csrf").unwrap();
    let mut fields = vec![("csrf".to_owned(), csrf)];
    for st in ["coping", "goals", "daily", "support", "future"] {
        fields.push((format!("q.{st}.before"), "little".into()));
        fields.push((format!("q.{st}.now"), "some".into()));
    }
    let res = app
        .client
        .post(app.url(&format!("/s/{token}")))
        .header("cookie", format!("hearth_csrf={cookie}; hearth_survey_ok={ok}"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let rows = app.state.store.responses_of(s.org, s.questionnaire.parse().unwrap()).await.unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert!(r.anonymous && r.patient_id.is_none() && r.appointment_id.is_none() && r.invitation_id.is_none());
    assert!(r.practitioner_id.is_some() && r.location_id.is_some());
    assert_eq!((r.appointment_type.as_deref(), r.visit_week.as_str()), (Some("CLINICIAN"), "2026-W02"));
    assert_eq!(r.authored_at.to_string(), "2026-01-05T00:00:00Z", "only the week is kept");
    assert!(!r.resource.contains("Patient/"));
    let scores: Value = serde_json::from_str(&r.scores).unwrap();
    let change = scores.as_array().unwrap().iter().find(|s| s["name"] == "change").unwrap();
    assert_eq!((change["value"].as_f64(), change["band"].as_str()), (Some(5.0), Some("better")));
}

both!(the_survey_senders_day_schedule_invites_seen_clinician_visits_once);

/// The original survey sender's flow: a day's schedule CSV; its "Seen" CLINICIAN visits with an
/// allowed provider get one invitation each; a patient answers; the results show it; the same file
/// imported again sends nothing.
async fn the_survey_senders_day_schedule_invites_seen_clinician_visits_once(app: TestApp) {
    let org = seed_org(&app, "Clinic").await;
    let (_, key) = seed_api_key(&app, org, &[ApiScope::Admin]).await;
    let system = hearth_server::auth::Actor::system(org, "test");
    let mapping_text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/schedule-mapping.example.toml"),
    )
    .unwrap();
    let mapping = hearth_server::appointments::schedule::Mapping::from_toml(&mapping_text).unwrap();
    let header = "Appt ID,MRN,Patient First,Patient Last,Cell Phone,Email,Provider NPI,Provider First,Provider Last,Location,Visit Type,Minutes,Status,Appt Date/Time\n";
    let booked = format!(
        "{header}S-1,M-1,Ana,Ruiz,(312) 555-0101,,111,Grace,Okafor,Main,CLINICIAN,30,Booked,01/06/2026 09:00 AM\n\
         S-2,M-2,Bo,Chen,(312) 555-0102,,222,Luis,Ortega,Main,CLINICIAN,30,Booked,01/06/2026 09:30 AM\n\
         S-3,M-3,Cy,Eze,(312) 555-0103,,111,Grace,Okafor,Main,FOLLOW-UP,30,Booked,01/06/2026 10:00 AM\n"
    );
    let import = |csv: String| {
        let schedule =
            hearth_server::appointments::schedule::read_schedule(csv.as_bytes(), &mapping).unwrap();
        hearth_server::appointments::schedule::import(&app.state, &system, &mapping, schedule, false)
    };
    import(booked.clone()).await.unwrap();
    // The allowed provider list: Dr Okafor only.
    let okafor = app
        .state
        .store
        .list_practitioners(org)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.family_name == "Okafor")
        .unwrap();
    let list = json(app.as_key(&key, Method::GET, "/api/v1/questionnaires").send().await.unwrap(), 200).await;
    let q = list
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["url"].as_str().unwrap().ends_with("visit-experience"))
        .unwrap();
    let questionnaire = q["id"].as_str().unwrap().to_owned();
    let rule = json!({"name": "Hope survey", "questionnaire_id": questionnaire, "appointment_types": ["CLINICIAN"],
        "practitioner_ids": [okafor.id], "channels": ["sms"]});
    json(app.as_key(&key, Method::POST, "/api/v1/survey-rules").json(&rule).send().await.unwrap(), 201).await;
    for p in app
        .state
        .store
        .list_patients(org, &hearth_store::patients::PatientFilter { limit: 10, ..Default::default() })
        .await
        .unwrap()
    {
        let consent = hearth_server::patients::ConsentInput {
            channel: "sms".into(),
            address: None,
            opted_in: true,
            source: "staff".into(),
            words: None,
        };
        hearth_server::patients::record_consent(&app.state, &system, p.id, consent).await.unwrap();
    }
    // End of the day: everyone was seen.
    let seen = booked.replace(",Booked,", ",Seen,");
    app.clock.set(hearth_core::UtcTime::new("2026-01-06T22:00:00Z".parse().unwrap()));
    import(seen.clone()).await.unwrap();
    let filter = MessageFilter { limit: 100, ..MessageFilter::default() };
    let all = || app.state.store.list_messages(org, &filter);
    let invitations: Vec<_> =
        all().await.unwrap().into_iter().filter(|m| m.purpose == "survey_invitation").collect();
    assert_eq!(invitations.len(), 1, "only S-1: S-2 has another provider, S-3 is a follow-up");
    // Seen at 16:00 in Chicago: sent at once, the same day, inside the window.
    assert_eq!(invitations[0].next_attempt_at.unwrap().to_string(), "2026-01-06T22:00:00Z");
    import(seen).await.unwrap();
    let again = all().await.unwrap().into_iter().filter(|m| m.purpose == "survey_invitation").count();
    assert_eq!(again, 1, "the same file again sends nothing");

    let link = invitations[0].body.split_whitespace().find(|w| w.contains("/s/")).unwrap();
    let token = link.rsplit('/').next().unwrap();
    let (_, html, cookie, _) = open(&app, &format!("/s/{token}")).await;
    let csrf = hidden_field(&html, "csrf").unwrap();
    let (status, _) = post(
        &app,
        token,
        &cookie.unwrap(),
        &[("csrf", &csrf), ("q.satisfaction", "5"), ("q.recommend", "9")],
    )
    .await;
    assert_eq!(status, 200);
    let results = json(
        app.as_key(&key, Method::GET, &format!("/api/v1/questionnaires/{questionnaire}/results"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(results["funnel"]["sent"], 1);
    assert_eq!(results["funnel"]["completed"], 1);
    let nps = results["scores"].as_array().unwrap().iter().find(|s| s["name"] == "nps").unwrap();
    assert_eq!(nps["by_practitioner"][0]["key"], okafor.id.to_string());
    assert_eq!(nps["bands"], json!({"promoter": 1}));
}
