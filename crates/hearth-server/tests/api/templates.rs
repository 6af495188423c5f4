//! Message templates: versions, validation naming the field, overrides of the built-in defaults,
//! language fallback, the minimal variant for sensitive locations, the preview and tenant isolation.

use hearth_core::messaging::{Channel, Purpose};
use hearth_core::{OrgId, Role};
use hearth_server::notifications::templates;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Staff, TestApp, both, json, seed_org, seed_user};

both!(
    edits_make_versions_and_the_latest_active_one_is_used,
    bad_templates_are_422_naming_the_field,
    an_organization_template_beats_the_default_and_languages_fall_back,
    a_sensitive_location_forces_the_minimal_variant,
    the_preview_reports_encoding_and_warnings,
    another_organization_cannot_read_or_preview_a_template,
);

async fn admin(app: &TestApp, org_name: &str) -> (OrgId, Staff) {
    let org = seed_org(app, org_name).await;
    let (_, email) = seed_user(app, org, Role::PxAdmin, None).await;
    (org, app.login(&email, crate::helpers::PASSWORD).await)
}

async fn send(
    app: &TestApp,
    staff: &Staff,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let req = app.as_staff(staff, method, path);
    let req = match body {
        Some(b) => req.json(&b),
        None => req,
    };
    req.send().await.unwrap()
}

fn reminder_vars() -> Value {
    json!({"patient_first_name": "Lena", "appointment_start": "2026-03-10T15:30:00Z", "support_phone": "+1 312 555 0100",
           "reply_confirm_word": "C", "reply_cancel_word": "CANCEL APPT", "practitioner_name": "Dr. Grace Okafor"})
}

async fn edits_make_versions_and_the_latest_active_one_is_used(app: TestApp) {
    let (org, staff) = admin(&app, "Versions Clinic").await;
    let body1 =
        "{{ organization_name }}: see you {{ appointment_start|date }}. Reply {{ reply_confirm_word }}.";
    let created = json(
        send(
            &app,
            &staff,
            Method::POST,
            "/api/v1/templates",
            Some(
                json!({"channel": "sms", "purpose": "appointment_reminder", "language": "en", "body": body1}),
            ),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["current_version"], 1);
    assert_eq!(
        created["options"],
        json!({"include_practitioner": false, "include_location": true, "include_appointment_type": false})
    );
    let id = created["id"].as_str().unwrap().to_owned();

    let body2 = "{{ organization_name }}: Hi {{ patient_first_name }}, your visit is {{ appointment_start|date }} at {{ appointment_start|time }}.";
    let updated = json(
        send(&app, &staff, Method::PUT, &format!("/api/v1/templates/{id}"), Some(json!({"body": body2})))
            .await,
        200,
    )
    .await;
    assert_eq!(updated["current_version"], 2);
    let got =
        json(send(&app, &staff, Method::GET, &format!("/api/v1/templates/{id}"), None).await, 200).await;
    let versions: Vec<i64> =
        got["versions"].as_array().unwrap().iter().map(|v| v["version"].as_i64().unwrap()).collect();
    assert_eq!(versions, vec![2, 1]);
    assert_eq!(got["versions"][1]["body"], body1, "old versions stay readable");

    let r = templates::render(
        &app.state,
        org,
        Channel::Sms,
        Purpose::AppointmentReminder,
        "en",
        None,
        &reminder_vars(),
    )
    .await
    .unwrap();
    assert_eq!((r.template_id.map(|t| t.to_string()), r.version), (Some(id.clone()), 2));
    assert_eq!(r.body, "Versions Clinic: Hi Lena, your visit is Tue, Mar 10 at 10:30 AM.");
    assert_eq!((r.encoding.segments, r.encoding.encoding.as_str()), (1, "GSM-7"));

    // Deactivated: the built-in default again; a new version reactivates.
    let off = json(
        send(&app, &staff, Method::POST, &format!("/api/v1/templates/{id}/deactivate"), None).await,
        200,
    )
    .await;
    assert_eq!(off["active"], false);
    let r = templates::render(
        &app.state,
        org,
        Channel::Sms,
        Purpose::AppointmentReminder,
        "en",
        None,
        &reminder_vars(),
    )
    .await
    .unwrap();
    assert_eq!((r.template_id, r.version), (None, 0));
    assert!(r.body.starts_with("Versions Clinic reminder: Hi Lena"), "{}", r.body);
    let listed = json(
        send(
            &app,
            &staff,
            Method::GET,
            "/api/v1/templates?purpose=appointment_reminder&channel=sms&language=en",
            None,
        )
        .await,
        200,
    )
    .await;
    let sources: Vec<&str> =
        listed.as_array().unwrap().iter().map(|e| e["source"].as_str().unwrap()).collect();
    assert_eq!(
        sources,
        vec!["organization", "default"],
        "the inactive template and the default in use: {listed}"
    );
    json(
        send(&app, &staff, Method::PUT, &format!("/api/v1/templates/{id}"), Some(json!({"body": body1})))
            .await,
        200,
    )
    .await;
    let r = templates::render(
        &app.state,
        org,
        Channel::Sms,
        Purpose::AppointmentReminder,
        "en",
        None,
        &reminder_vars(),
    )
    .await
    .unwrap();
    assert_eq!(r.version, 3);

    // The same channel, purpose and language again is a conflict, not a second template.
    let dup = json(
        send(
            &app,
            &staff,
            Method::POST,
            "/api/v1/templates",
            Some(
                json!({"channel": "sms", "purpose": "appointment_reminder", "language": "en", "body": body1}),
            ),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(dup["code"], "already_exists");
}

async fn bad_templates_are_422_naming_the_field(app: TestApp) {
    let (_, staff) = admin(&app, "Strict Clinic").await;
    let post = |body: Value| send(&app, &staff, Method::POST, "/api/v1/templates", Some(body));
    let err = json(
        post(json!({"channel": "sms", "purpose": "appointment_reminder", "language": "en",
        "body": "Hi {{ patient_first_nme }}, see you {{ appointment_start|date }}"}))
        .await,
        422,
    )
    .await;
    assert_eq!(err["fields"][0]["field"], "body");
    assert!(err["fields"][0]["message"].as_str().unwrap().contains("`patient_first_nme`"), "{err}");

    let err = json(
        post(json!({"channel": "sms", "purpose": "help", "language": "en",
        "body": "{{ organization_name }}\n{% if support_phone %}call"}))
        .await,
        422,
    )
    .await;
    assert!(err["fields"][0]["message"].as_str().unwrap().starts_with("syntax error on line 2"), "{err}");

    let err = json(
        post(json!({"channel": "sms", "purpose": "help", "language": "en", "body": "x".repeat(1601)})).await,
        422,
    )
    .await;
    assert_eq!(err["fields"][0]["field"], "body");
    assert!(err["fields"][0]["message"].as_str().unwrap().contains("1600"), "{err}");
    json(
        post(json!({"channel": "sms", "purpose": "help", "language": "en", "body": "x".repeat(1600)})).await,
        201,
    )
    .await;

    let err = json(
        post(json!({"channel": "email", "purpose": "help", "language": "en", "body": "{{ support_phone }}"}))
            .await,
        422,
    )
    .await;
    assert_eq!(err["fields"][0]["field"], "subject");
    let err =
        json(post(json!({"channel": "fax", "purpose": "help", "language": "en", "body": "x"})).await, 422)
            .await;
    assert_eq!(err["fields"][0]["field"], "channel");
    let err = json(
        post(json!({"channel": "sms", "purpose": "help", "language": "english", "body": "x"})).await,
        422,
    )
    .await;
    assert_eq!(err["fields"][0]["field"], "language");

    // Rendering for sending names a variable the caller did not supply.
    let org = seed_org(&app, "Render Clinic").await;
    let err = templates::render(&app.state, org, Channel::Sms, Purpose::Help, "en", None, &json!({}))
        .await
        .unwrap_err();
    match err {
        hearth_server::error::AppError::Fields(f) => assert_eq!(f[0].field, "variables.support_phone"),
        other => panic!("{other:?}"),
    }
}

async fn an_organization_template_beats_the_default_and_languages_fall_back(app: TestApp) {
    let (org, staff) = admin(&app, "Fallback Clinic").await;
    let vars = json!({"support_phone": "+1 312 555 0100"});
    let render = |lang: &'static str| {
        let (state, vars) = (app.state.clone(), vars.clone());
        async move {
            templates::render(&state, org, Channel::Sms, Purpose::Help, lang, None, &vars).await.unwrap()
        }
    };
    let r = render("es").await;
    assert_eq!((r.version, r.language.as_str()), (0, "es"));
    assert!(r.body.starts_with("Fallback Clinic: Para ayuda, llame al +1 312 555 0100."), "{}", r.body);
    let r = render("ar").await;
    assert!(r.body.contains("للمساعدة") && r.encoding.encoding.as_str() == "UCS-2", "{}", r.body);
    // No French: the organization's default language (en), built in.
    let r = render("fr-CA").await;
    assert_eq!((r.version, r.language.as_str()), (0, "en"));
    assert!(r.body.contains("Msg & data rates may apply"));

    let created = json(
        send(&app, &staff, Method::POST, "/api/v1/templates",
            Some(json!({"channel": "sms", "purpose": "help", "language": "es",
                        "body": "{{ organization_name }}: llame al {{ support_phone }}. {{ opt_out_word }} para salir."}))).await,
        201,
    )
    .await;
    let r = render("es").await;
    assert_eq!(r.template_id.map(|t| t.to_string()).as_deref(), created["id"].as_str());
    assert_eq!(r.body, "Fallback Clinic: llame al +1 312 555 0100. STOP para salir.");
    // A regional tag falls back to its language, and the organization's template still wins.
    let r = render("es-MX").await;
    assert_eq!((r.version, r.language.as_str()), (1, "es"));
    // Other channels and languages keep their defaults.
    assert_eq!(render("en").await.version, 0);
    let r = templates::render(&app.state, org, Channel::Whatsapp, Purpose::Help, "es", None, &vars)
        .await
        .unwrap();
    assert_eq!(r.version, 0);
}

async fn a_sensitive_location_forces_the_minimal_variant(app: TestApp) {
    let (org, staff) = admin(&app, "Minimal Clinic").await;
    let loc = json(
        send(
            &app,
            &staff,
            Method::POST,
            "/api/v1/locations",
            Some(json!({"name": "Harbor Behavioral Health"})),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(loc["sensitive"], false);
    let loc_id: hearth_core::LocationId = loc["id"].as_str().unwrap().parse().unwrap();
    let body = "{{ organization_name }}: {{ patient_first_name }}, {{ appointment_start|date }} with {{ practitioner_name }} at {{ location_name }} ({{ appointment_type }}).";
    json(
        send(&app, &staff, Method::POST, "/api/v1/templates",
            Some(json!({"channel": "sms", "purpose": "appointment_booked", "language": "en", "body": body,
                        "options": {"include_practitioner": true, "include_location": true, "include_appointment_type": true}}))).await,
        201,
    )
    .await;
    let mut vars = reminder_vars();
    vars["appointment_type"] = json!("psychiatry intake");
    let r = templates::render(
        &app.state,
        org,
        Channel::Sms,
        Purpose::AppointmentBooked,
        "en",
        Some(loc_id),
        &vars,
    )
    .await
    .unwrap();
    assert_eq!(
        r.body,
        "Minimal Clinic: Lena, Tue, Mar 10 with Dr. Grace Okafor at Harbor Behavioral Health (psychiatry intake)."
    );
    assert!(!r.minimal);

    let patched = json(
        send(
            &app,
            &staff,
            Method::PATCH,
            &format!("/api/v1/locations/{loc_id}"),
            Some(json!({"sensitive": true})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(patched["sensitive"], true);
    for channel in Channel::ALL {
        let r = templates::render(
            &app.state,
            org,
            channel,
            Purpose::AppointmentBooked,
            "en",
            Some(loc_id),
            &vars,
        )
        .await
        .unwrap();
        assert!(r.minimal && r.template_id.is_none(), "{channel}: {r:?}");
        for secret in ["Okafor", "Harbor", "psychiatry"] {
            assert!(!r.body.contains(secret), "{channel} shows {secret}: {}", r.body);
        }
        assert!(
            r.body.contains("Tue, Mar 10") || r.body.contains("Tuesday, March 10"),
            "{channel}: {}",
            r.body
        );
    }
    // Purposes without details are not affected.
    let r = templates::render(
        &app.state,
        org,
        Channel::Sms,
        Purpose::Help,
        "en",
        Some(loc_id),
        &json!({"support_phone": "1"}),
    )
    .await
    .unwrap();
    assert!(!r.minimal);
    // The preview shows the same.
    let p = json(
        send(&app, &staff, Method::POST, "/api/v1/templates/preview",
            Some(json!({"channel": "sms", "purpose": "appointment_booked", "language": "en", "location_id": loc_id}))).await,
        200,
    )
    .await;
    assert_eq!((p["minimal"].clone(), p["source"].clone()), (json!(true), json!("default")));
    assert!(!p["body"].as_str().unwrap().contains("Harbor"), "{p}");
}

async fn the_preview_reports_encoding_and_warnings(app: TestApp) {
    let (_, staff) = admin(&app, "Preview Clinic").await;
    let preview = |body: Value| send(&app, &staff, Method::POST, "/api/v1/templates/preview", Some(body));
    let p = json(
        preview(json!({"channel": "sms", "purpose": "appointment_reminder", "language": "en"})).await,
        200,
    )
    .await;
    assert_eq!(
        (p["source"].clone(), p["encoding"].clone(), p["version"].clone()),
        (json!("default"), json!("GSM-7"), json!(0))
    );
    assert!(p["body"].as_str().unwrap().starts_with("Preview Clinic reminder: Hi Maria"), "{p}");
    assert_eq!(p["segments"], 1, "{p}");

    let p = json(
        preview(json!({"channel": "sms", "purpose": "help", "language": "en",
        "body": "{{ organization_name }} \u{1F600} call {{ support_phone }}"}))
        .await,
        200,
    )
    .await;
    assert_eq!((p["source"].clone(), p["encoding"].clone()), (json!("draft"), json!("UCS-2")));
    assert_eq!(p["warnings"][0]["kind"], "emoji");
    assert!(p["warnings"][0]["message"].as_str().unwrap().contains('\u{1F600}'));

    let p = json(preview(json!({"channel": "sms", "purpose": "help", "language": "en",
        "body": "{{ organization_name }}: {{ support_phone }} {{ support_phone }}", "variables": {"support_phone": "x".repeat(80)}})).await, 200).await;
    assert_eq!((p["characters"].clone(), p["segments"].clone()), (json!(177), json!(2)));
    assert_eq!(p["warnings"][0]["kind"], "multi_part");

    let p = json(preview(json!({"channel": "sms", "purpose": "help", "language": "es", "body": "{{ organization_name }}: \u{201C}hola\u{201D}"})).await, 200).await;
    assert_eq!(p["warnings"][0]["kind"], "typographic");

    let err = json(preview(json!({"purpose": "help"})).await, 422).await;
    let fields: Vec<&str> =
        err["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["channel", "language"]);
    let err = json(
        preview(json!({"channel": "sms", "purpose": "help", "language": "en", "body": "{{ nope }}"})).await,
        422,
    )
    .await;
    assert!(err["fields"][0]["message"].as_str().unwrap().contains("`nope`"));
}

async fn another_organization_cannot_read_or_preview_a_template(app: TestApp) {
    let (_, a) = admin(&app, "Clinic A").await;
    let (_, b) = admin(&app, "Clinic B").await;
    let created = json(
        send(&app, &a, Method::POST, "/api/v1/templates",
            Some(json!({"channel": "sms", "purpose": "help", "language": "en", "body": "A-only words {{ support_phone }}"}))).await,
        201,
    )
    .await;
    let id = created["id"].as_str().unwrap();
    json(send(&app, &b, Method::GET, &format!("/api/v1/templates/{id}"), None).await, 404).await;
    json(
        send(&app, &b, Method::POST, "/api/v1/templates/preview", Some(json!({"template_id": id}))).await,
        404,
    )
    .await;
    json(
        send(
            &app,
            &b,
            Method::PUT,
            &format!("/api/v1/templates/{id}"),
            Some(json!({"body": "{{ support_phone }}"})),
        )
        .await,
        404,
    )
    .await;
    json(send(&app, &b, Method::POST, &format!("/api/v1/templates/{id}/deactivate"), None).await, 404).await;
    let listed = send(&app, &b, Method::GET, "/api/v1/templates", None).await.text().await.unwrap();
    assert!(!listed.contains("A-only"), "{listed}");
    let own = json(
        send(&app, &a, Method::POST, "/api/v1/templates/preview", Some(json!({"template_id": id}))).await,
        200,
    )
    .await;
    assert_eq!(own["body"], "A-only words +1 312 555 0100");
}
