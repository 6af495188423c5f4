//! Patient records through the API: create with generated or supplied MRN, normalized contacts,
//! audited reads, optimistic concurrency, soft delete, filters, consent, and bad input.

use hearth_core::{ApiScope, OrgId};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, both, json, seed_api_key, seed_org};

both!(
    create_read_and_list_with_normalized_contacts,
    updates_need_the_current_version,
    soft_delete_and_reactivate,
    bad_input_names_the_field_and_writes_nothing,
    consent_ledger_keeps_history_and_derives_current,
    reads_are_audited_and_lifecycle_events_written,
    name_search_is_typo_tolerant_phonetic_and_ranked,
    duplicates_are_scored_and_explained,
    merge_moves_what_belongs_to_the_duplicate_and_unmerge_moves_it_back,
);

async fn setup(app: &TestApp) -> (OrgId, String) {
    let org = seed_org(app, "Clinic").await;
    let (_, key) = seed_api_key(app, org, &[ApiScope::Admin]).await;
    (org, key)
}

fn jane() -> Value {
    json!({
        "name": {"family": "Doe", "given": ["Jane", "Q"]},
        "birth_date": "1984-02-29",
        "gender": "female",
        "phones": [{"value": "(202) 555-0143", "use": "mobile"}],
        "emails": [{"value": "Jane.Doe@Example.org"}],
        "identifiers": [{"system": "epic", "value": "E1001"}],
        "preferred_language": "es",
        "preferred_channel": "sms",
        "addresses": [{"line": ["12 Elm St"], "city": "Springfield", "postal_code": "62701", "country": "US"}]
    })
}

async fn create(app: &TestApp, key: &str, body: &Value) -> reqwest::Response {
    app.as_key(key, Method::POST, "/api/v1/patients").json(body).send().await.unwrap()
}

async fn create_read_and_list_with_normalized_contacts(app: TestApp) {
    let (_, key) = setup(&app).await;
    let res = create(&app, &key, &jane()).await;
    assert_eq!(res.headers()["etag"], "\"1\"");
    let p = json(res, 201).await;
    assert_eq!(p["mrn"], "MRN-2026000001", "generated from the pattern, first of the year");
    assert_eq!(p["phones"][0]["value"], "+12025550143");
    assert_eq!(p["emails"][0]["value"], "jane.doe@example.org");
    assert_eq!((p["status"].as_str(), p["version"].as_i64()), (Some("active"), Some(1)));
    let second =
        json(create(&app, &key, &json!({"name": {"family": "Roe"}, "mrn": "EXT-77"})).await, 201).await;
    assert_eq!(second["mrn"], "EXT-77", "a supplied MRN is kept");
    let third = json(create(&app, &key, &json!({"name": {"family": "Poe"}})).await, 201).await;
    assert_eq!(third["mrn"], "MRN-2026000002");

    let id = p["id"].as_str().unwrap();
    let read =
        json(app.as_key(&key, Method::GET, &format!("/api/v1/patients/{id}")).send().await.unwrap(), 200)
            .await;
    assert_eq!(read["name"], p["name"]);
    for (query, expect) in [
        ("phone=202-555-0143", 1),
        ("phone=%2B1%20202%20555%200143", 1),
        ("email=JANE.DOE%40example.org", 1),
        ("birth_date=1984-02-29", 1),
        ("identifier=epic%7CE1001", 1),
        ("mrn=EXT-77", 1),
        ("family=do", 1),
        ("family=zz", 0),
        ("", 3),
        ("limit=2", 2),
    ] {
        let list = json(
            app.as_key(&key, Method::GET, &format!("/api/v1/patients?{query}")).send().await.unwrap(),
            200,
        )
        .await;
        assert_eq!(list.as_array().unwrap().len(), expect, "?{query}");
    }
}

async fn updates_need_the_current_version(app: TestApp) {
    let (_, key) = setup(&app).await;
    let p = json(create(&app, &key, &jane()).await, 201).await;
    let url = format!("/api/v1/patients/{}", p["id"].as_str().unwrap());
    let patch = json!({"phones": [{"value": "+1 312 555 0199"}], "preferred_channel": null});
    let res = app.as_key(&key, Method::PATCH, &url).json(&patch).send().await.unwrap();
    assert_eq!(json(res, 428).await["code"], "precondition_required");
    let res =
        app.as_key(&key, Method::PATCH, &url).header("if-match", "\"1\"").json(&patch).send().await.unwrap();
    assert_eq!(res.headers()["etag"], "\"2\"");
    let updated = json(res, 200).await;
    assert_eq!(updated["phones"][0]["value"], "+13125550199");
    assert!(updated.get("preferred_channel").is_none(), "null removes a field (merge patch)");
    assert_eq!(updated["name"]["family"], "Doe", "untouched fields stay");
    // A second writer that read version 1 is refused, and nothing changes.
    let res = app
        .as_key(&key, Method::PATCH, &url)
        .header("if-match", "W/\"1\"")
        .json(&json!({"gender": "male"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 412).await["code"], "precondition_failed");
    let now = json(app.as_key(&key, Method::GET, &url).send().await.unwrap(), 200).await;
    assert_eq!((now["gender"].as_str(), now["version"].as_i64()), (Some("female"), Some(2)));
    let res = app
        .as_key(&key, Method::PATCH, &url)
        .header("if-match", "\"2\"")
        .json(&json!({"mrn": "OTHER"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res, 422).await["fields"][0]["field"], "mrn");
}

async fn soft_delete_and_reactivate(app: TestApp) {
    let (_, key) = setup(&app).await;
    let p = json(create(&app, &key, &jane()).await, 201).await;
    let url = format!("/api/v1/patients/{}", p["id"].as_str().unwrap());
    let res = app.as_key(&key, Method::DELETE, &url).header("if-match", "\"1\"").send().await.unwrap();
    let deleted = json(res, 200).await;
    assert_eq!(deleted["status"], "deleted");
    assert!(deleted["deleted_at"].is_string());
    let list = json(app.as_key(&key, Method::GET, "/api/v1/patients").send().await.unwrap(), 200).await;
    assert!(list.as_array().unwrap().is_empty(), "deleted records leave lists");
    let list =
        json(app.as_key(&key, Method::GET, "/api/v1/patients?status=deleted").send().await.unwrap(), 200)
            .await;
    assert_eq!(list.as_array().unwrap().len(), 1, "…but can be found");
    let back =
        json(app.as_key(&key, Method::POST, &format!("{url}/reactivate")).send().await.unwrap(), 200).await;
    assert_eq!((back["status"].as_str(), back["version"].as_i64()), (Some("active"), Some(3)));
    assert!(back.get("deleted_at").is_none());
}

async fn bad_input_names_the_field_and_writes_nothing(app: TestApp) {
    let (org, key) = setup(&app).await;
    let cases: &[(Value, &str)] = &[
        (json!({"name": {"family": "X"}, "gender": "robot"}), "gender"),
        (json!({"name": {"family": "X"}, "birth_date": "2023-02-30"}), "birth_date"),
        (json!({"name": {"family": "X"}, "phones": [{"value": "555-CALL-NOW"}]}), "phones[0].value"),
        (json!({"name": {"family": "X"}, "emails": [{"value": "nope"}]}), "emails[0].value"),
        (json!({"name": {"family": "X"}, "favourite_colour": "red"}), "favourite_colour"),
        (json!({"name": {"family": "X"}, "phones": "+12025550143"}), "phones"),
        (json!({"name": {}}), "name.family"),
    ];
    for (body, field) in cases {
        let res = create(&app, &key, body).await;
        let err = json(res, 422).await;
        assert_eq!(err["code"], "invalid_field");
        assert_eq!(err["fields"][0]["field"], *field, "{body}");
    }
    // A colliding MRN and a colliding identifier.
    json(create(&app, &key, &json!({"name": {"family": "A"}, "mrn": "M-1", "identifiers": [{"system": "epic", "value": "9"}]})).await, 201).await;
    let err = json(create(&app, &key, &json!({"name": {"family": "B"}, "mrn": "M-1"})).await, 422).await;
    assert_eq!(err["fields"][0]["field"], "mrn");
    let err = json(
        create(
            &app,
            &key,
            &json!({"name": {"family": "C"}, "identifiers": [{"system": "epic", "value": "9"}]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(err["fields"][0]["field"], "identifiers");
    let all =
        json(app.as_key(&key, Method::GET, "/api/v1/patients?status=active").send().await.unwrap(), 200)
            .await;
    assert_eq!(all.as_array().unwrap().len(), 1, "nothing half-written");
    let events =
        app.state.store.patient_events(org, "2000-01-01T00:00:00Z".parse().unwrap(), 100).await.unwrap();
    assert_eq!(events.len(), 1);
}

async fn consent_ledger_keeps_history_and_derives_current(app: TestApp) {
    let (_, key) = setup(&app).await;
    let p = json(create(&app, &key, &jane()).await, 201).await;
    let url = format!("/api/v1/patients/{}/consents", p["id"].as_str().unwrap());
    for (opted_in, words) in [(true, "yes texts please"), (false, "STOP")] {
        let body = json!({"channel": "sms", "opted_in": opted_in, "source": "keyword", "words": words});
        json(app.as_key(&key, Method::POST, &url).json(&body).send().await.unwrap(), 201).await;
    }
    let body = json!({"channel": "email", "opted_in": true, "source": "staff"});
    let c = json(app.as_key(&key, Method::POST, &url).json(&body).send().await.unwrap(), 201).await;
    assert_eq!(c["ledger"].as_array().unwrap().len(), 3);
    let current = c["current"].as_array().unwrap();
    let sms = current.iter().find(|x| x["channel"] == "sms").unwrap();
    assert_eq!(
        (sms["opted_in"].as_bool(), sms["words"].as_str(), sms["address"].as_str()),
        (Some(false), Some("STOP"), Some("+12025550143"))
    );
    assert_eq!(current.iter().find(|x| x["channel"] == "email").unwrap()["address"], "jane.doe@example.org");
    let bad = json!({"channel": "pigeon", "opted_in": true, "source": "rumour", "address": "12"});
    let err = json(app.as_key(&key, Method::POST, &url).json(&bad).send().await.unwrap(), 422).await;
    let fields: Vec<&str> =
        err["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["channel", "source", "address"]);
}

async fn reads_are_audited_and_lifecycle_events_written(app: TestApp) {
    let (org, key) = setup(&app).await;
    let p = json(create(&app, &key, &jane()).await, 201).await;
    let id = p["id"].as_str().unwrap();
    app.as_key(&key, Method::GET, &format!("/api/v1/patients/{id}")).send().await.unwrap();
    app.as_key(&key, Method::GET, "/api/v1/patients?phone=2025550143").send().await.unwrap();
    let f =
        hearth_store::audit::AuditFilter { subject_id: Some(id.to_owned()), limit: 50, ..Default::default() };
    let actions: Vec<String> =
        app.state.store.list_audit(org, &f).await.unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(actions, ["patient.read", "patient.create"]);
    let f = hearth_store::audit::AuditFilter {
        action: Some("patient.list".into()),
        limit: 50,
        ..Default::default()
    };
    let list_events = app.state.store.list_audit(org, &f).await.unwrap();
    let after = list_events[0].after_json.as_deref().unwrap();
    assert!(after.contains(id), "the list read names the records shown");
    assert!(!after.contains("2025550143"), "but never the search terms: {after}");
    let events =
        app.state.store.patient_events(org, "2000-01-01T00:00:00Z".parse().unwrap(), 100).await.unwrap();
    assert_eq!(events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["patient.created"]);
}

async fn name_search_is_typo_tolerant_phonetic_and_ranked(app: TestApp) {
    let (_, key) = setup(&app).await;
    for (given, family) in
        [("John", "Smith"), ("Johan", "Smithers"), ("Maria", "García"), ("Mary", "Garsia"), ("Ada", "Okafor")]
    {
        json(create(&app, &key, &json!({"name": {"family": family, "given": [given]}})).await, 201).await;
    }
    let search = |q: &'static str| {
        let app = &app;
        let key = key.clone();
        async move {
            let url = format!("/api/v1/patients?name={}", q.replace(' ', "%20"));
            let list = json(app.as_key(&key, Method::GET, &url).send().await.unwrap(), 200).await;
            list.as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    format!(
                        "{} {}",
                        p["name"]["given"][0].as_str().unwrap(),
                        p["name"]["family"].as_str().unwrap()
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(search("Jon Smyth").await.first().map(String::as_str), Some("John Smith"), "phonetic");
    assert_eq!(
        search("Jhon Smiht").await.first().map(String::as_str),
        Some("John Smith"),
        "transposed letters"
    );
    assert_eq!(search("John Smith").await, ["John Smith", "Johan Smithers"], "exact first, then close");
    let garcias = search("garcia").await;
    assert!(
        garcias.contains(&"Maria García".to_owned()) && garcias.contains(&"Mary Garsia".to_owned()),
        "{garcias:?}"
    );
    assert!(search("Nobody Atall").await.is_empty());
    let res = app.as_key(&key, Method::GET, "/api/v1/patients?name=%20--%20").send().await.unwrap();
    assert_eq!(json(res, 422).await["fields"][0]["field"], "name");
}

async fn duplicates_are_scored_and_explained(app: TestApp) {
    let (org, key) = setup(&app).await;
    let john = json(
        create(&app, &key, &jane_like("John", "Smith", "1984-02-03", "(202) 555-0143", "12 Elm St")).await,
        201,
    )
    .await;
    let dup = json(
        create(&app, &key, &jane_like("Jon", "Smyth", "1984-03-02", "202 555 0143", "12 Elm Street")).await,
        201,
    )
    .await;
    json(
        create(&app, &key, &jane_like("Maria", "Garcia", "1984-02-03", "(312) 555-0199", "7 Oak Ave")).await,
        201,
    )
    .await;
    let url = format!("/api/v1/patients/{}/duplicates", john["id"].as_str().unwrap());
    let list = json(app.as_key(&key, Method::GET, &url).send().await.unwrap(), 200).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "the stranger born the same day is not a candidate: {list:?}");
    assert_eq!(list[0]["patient"]["id"], dup["id"]);
    assert_eq!(list[0]["likely"], true);
    let level = |f: &str| {
        list[0]["fields"].as_array().unwrap().iter().find(|x| x["field"] == f).unwrap()["level"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        (level("phone"), level("birth_date"), level("family_name")),
        ("exact".into(), "close".into(), "close".into())
    );
    let f = hearth_store::audit::AuditFilter {
        action: Some("patient.duplicates_read".into()),
        limit: 5,
        ..Default::default()
    };
    assert_eq!(
        app.state.store.list_audit(org, &f).await.unwrap().len(),
        1,
        "looking at candidates is an audited read"
    );

    // Creating the second record queued the pair; a reviewer says they differ; it stays decided.
    let queue =
        json(app.as_key(&key, Method::GET, "/api/v1/duplicate-candidates").send().await.unwrap(), 200).await;
    let queue = queue.as_array().unwrap();
    assert_eq!(queue.len(), 1, "{queue:?}");
    let ids = [queue[0]["patient_a"]["id"].clone(), queue[0]["patient_b"]["id"].clone()];
    assert!(ids.contains(&john["id"]) && ids.contains(&dup["id"]));
    let pair = queue[0]["id"].as_str().unwrap();
    let url = format!("/api/v1/duplicate-candidates/{pair}/not-duplicate");
    let decided = json(app.as_key(&key, Method::POST, &url).send().await.unwrap(), 200).await;
    assert_eq!(decided["status"], "not_duplicate");
    // Changing the record again does not bring the pair back.
    let url = format!("/api/v1/patients/{}", john["id"].as_str().unwrap());
    let patch =
        app.as_key(&key, Method::PATCH, &url).header("if-match", "\"1\"").json(&json!({"gender": "male"}));
    json(patch.send().await.unwrap(), 200).await;
    let queue =
        json(app.as_key(&key, Method::GET, "/api/v1/duplicate-candidates").send().await.unwrap(), 200).await;
    assert!(queue.as_array().unwrap().is_empty());
    let url = "/api/v1/duplicate-candidates?status=not_duplicate";
    let decided = json(app.as_key(&key, Method::GET, url).send().await.unwrap(), 200).await;
    assert_eq!(decided.as_array().unwrap().len(), 1);
    let bad =
        app.as_key(&key, Method::GET, "/api/v1/duplicate-candidates?status=maybe").send().await.unwrap();
    assert_eq!(json(bad, 422).await["fields"][0]["field"], "status");
}

fn jane_like(given: &str, family: &str, dob: &str, phone: &str, line: &str) -> Value {
    json!({"name": {"family": family, "given": [given]}, "birth_date": dob, "phones": [{"value": phone}],
           "addresses": [{"line": [line], "city": "Springfield", "postal_code": "62701"}]})
}

async fn merge_moves_what_belongs_to_the_duplicate_and_unmerge_moves_it_back(app: TestApp) {
    let (org, key) = setup(&app).await;
    let survivor = json(
        create(&app, &key, &jane_like("John", "Smith", "1984-02-03", "(202) 555-0143", "12 Elm St")).await,
        201,
    )
    .await;
    let dup = json(
        create(&app, &key, &jane_like("Jon", "Smyth", "1984-03-02", "(202) 555-0143", "12 Elm Street")).await,
        201,
    )
    .await;
    let (sid, did) = (survivor["id"].as_str().unwrap(), dup["id"].as_str().unwrap());
    let consent = json!({"channel": "sms", "opted_in": false, "source": "keyword", "words": "STOP"});
    json(
        app.as_key(&key, Method::POST, &format!("/api/v1/patients/{did}/consents"))
            .json(&consent)
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;

    let merge_url = format!("/api/v1/patients/{sid}/merge");
    let res =
        app.as_key(&key, Method::POST, &merge_url).json(&json!({"duplicate_id": sid})).send().await.unwrap();
    assert_eq!(json(res, 422).await["fields"][0]["field"], "duplicate_id", "not into itself");
    let m = json(
        app.as_key(&key, Method::POST, &merge_url).json(&json!({"duplicate_id": did})).send().await.unwrap(),
        201,
    )
    .await;
    assert_eq!(m["merged"]["status"], "merged");
    assert_eq!(m["moved"]["consents"].as_array().unwrap().len(), 1);
    // The duplicate's opt-out now belongs to the survivor; the duplicate has nothing left.
    let c = json(
        app.as_key(&key, Method::GET, &format!("/api/v1/patients/{sid}/consents")).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(c["current"][0]["words"], "STOP");
    let c = json(
        app.as_key(&key, Method::GET, &format!("/api/v1/patients/{did}/consents")).send().await.unwrap(),
        200,
    )
    .await;
    assert!(c["ledger"].as_array().unwrap().is_empty());
    let list = json(app.as_key(&key, Method::GET, "/api/v1/patients").send().await.unwrap(), 200).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "merged records leave lists");
    let merged = json(
        app.as_key(&key, Method::GET, "/api/v1/duplicate-candidates?status=merged").send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(merged.as_array().unwrap().len(), 1, "the queue entry is settled");
    let res =
        app.as_key(&key, Method::POST, &merge_url).json(&json!({"duplicate_id": did})).send().await.unwrap();
    assert_eq!(json(res, 409).await["code"], "conflict", "a merged record cannot be merged again");

    let unmerge = format!("/api/v1/patient-merges/{}/unmerge", m["id"].as_str().unwrap());
    let u = json(app.as_key(&key, Method::POST, &unmerge).send().await.unwrap(), 200).await;
    assert_eq!((u["unmerged"].as_bool(), u["merged"]["status"].as_str()), (Some(true), Some("active")));
    let c = json(
        app.as_key(&key, Method::GET, &format!("/api/v1/patients/{did}/consents")).send().await.unwrap(),
        200,
    )
    .await;
    assert_eq!(c["ledger"].as_array().unwrap().len(), 1, "exactly the moved rows went back");
    let c = json(
        app.as_key(&key, Method::GET, &format!("/api/v1/patients/{sid}/consents")).send().await.unwrap(),
        200,
    )
    .await;
    assert!(c["ledger"].as_array().unwrap().is_empty());
    assert_eq!(
        json(app.as_key(&key, Method::POST, &unmerge).send().await.unwrap(), 409).await["code"],
        "conflict"
    );
    let events =
        app.state.store.patient_events(org, "2000-01-01T00:00:00Z".parse().unwrap(), 100).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "patient.merged").count(), 2);
    assert_eq!(kinds.iter().filter(|k| **k == "patient.unmerged").count(), 2);
}
