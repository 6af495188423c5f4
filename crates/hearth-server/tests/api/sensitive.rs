//! Sensitive identifiers (SSNs): encrypted at rest, masked in every answer (JSON API, FHIR, pages),
//! read in full only with `patient:read_sensitive` and audited; kept when a client sends the masked
//! value back; re-encrypted by key rotation.

use hearth_core::ApiScope;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, both, json, seed_api_key, seed_org};

both!(ssns_are_sealed_masked_revealed_with_audit_and_rotated);

const SSN: &str = "http://hl7.org/fhir/sid/us-ssn";

async fn ssns_are_sealed_masked_revealed_with_audit_and_rotated(app: TestApp) {
    let org = seed_org(&app, "Clinic").await;
    let (_, admin) = seed_api_key(&app, org, &[ApiScope::Admin]).await;
    let (_, writer) = seed_api_key(&app, org, &[ApiScope::Write]).await;
    let body = json!({"name": {"family": "Everywoman", "given": ["Eve"]},
        "identifiers": [{"system": SSN, "value": "444222222"}, {"system": "urn:ehr", "value": "E-1"}]});
    let created =
        json(app.as_key(&writer, Method::POST, "/api/v1/patients").json(&body).send().await.unwrap(), 201)
            .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["identifiers"][0],
        json!({"system": SSN, "value": "*****2222"}),
        "masked, nothing sealed shown"
    );
    assert_eq!(created["identifiers"][1]["value"], "E-1", "other identifiers are as they are");

    // At rest: no plaintext anywhere in the stored record.
    let row = app.state.store.patient(org, id.parse().unwrap()).await.unwrap();
    assert!(!row.document.contains("444222222") && row.document.contains("enc:v1:k1:"), "{}", row.document);

    // FHIR shows the mask too.
    let fhir =
        json(app.as_key(&writer, Method::GET, &format!("/fhir/r4/Patient/{id}")).send().await.unwrap(), 200)
            .await;
    assert!(fhir.to_string().contains("*****2222") && !fhir.to_string().contains("444222222"));

    // Full value: only with patient:read_sensitive, and audited.
    let path = format!("/api/v1/patients/{id}/sensitive");
    json(app.as_key(&writer, Method::GET, &path).send().await.unwrap(), 403).await;
    let full = json(app.as_key(&admin, Method::GET, &path).send().await.unwrap(), 200).await;
    assert_eq!(full["identifiers"], json!([{"system": SSN, "value": "444222222"}]));
    let audit = json(
        app.as_key(&admin, Method::GET, "/api/v1/audit-events?action=patient.sensitive_read")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let events = audit.as_array().or_else(|| audit["events"].as_array()).cloned().unwrap_or_default();
    assert_eq!(events.len(), 1, "{audit}");
    assert!(!audit.to_string().contains("444222222"), "the audit trail holds no SSN");

    // A client that sends the masked value back keeps the SSN; a new value replaces it.
    let change_ids = |ids: Value, version: i64| {
        app.as_key(&writer, Method::PATCH, &format!("/api/v1/patients/{id}"))
            .header("if-match", format!("\"{version}\""))
            .json(&json!({"identifiers": ids, "gender": "female"}))
            .send()
    };
    let echoed = json(change_ids(created["identifiers"].clone(), 1).await.unwrap(), 200).await;
    assert_eq!(echoed["identifiers"], created["identifiers"]);
    let full = json(app.as_key(&admin, Method::GET, &path).send().await.unwrap(), 200).await;
    assert_eq!(full["identifiers"][0]["value"], "444222222");
    // A client cannot plant a ciphertext: `sealed` is ignored on input.
    let forged = json!([{"system": SSN, "value": "*****2222", "sealed": "enc:v1:k1:AAAA"}]);
    json(change_ids(forged, 2).await.unwrap(), 200).await;
    let full = json(app.as_key(&admin, Method::GET, &path).send().await.unwrap(), 200).await;
    assert_eq!(full["identifiers"][0]["value"], "444222222");
    json(change_ids(json!([{"system": SSN, "value": "555-11-3333"}]), 3).await.unwrap(), 200).await;
    let full = json(app.as_key(&admin, Method::GET, &path).send().await.unwrap(), 200).await;
    assert_eq!(full["identifiers"][0]["value"], "555-11-3333");

    // Two people may share the last four digits (or an SSN typo): masks are not unique keys.
    let other = json!({"name": {"family": "Other"}, "identifiers": [{"system": SSN, "value": "999993333"}]});
    json(app.as_key(&writer, Method::POST, "/api/v1/patients").json(&other).send().await.unwrap(), 201).await;

    // Rotation: a new key (configured keys: added last), every sealed value re-encrypted under it.
    let k1 = app.state.config.encryption.keys.clone().unwrap();
    let k2 = hearth_core::crypto::Keyring::new_key_line("k2").replacen(' ', ":", 1);
    let mut config = app.state.config.clone();
    config.encryption.keys = Some(hearth_core::Secret::new(format!("{},{k2}", k1.expose())));
    let report = hearth_server::keys::rotate(&config, &app.state.store, app.clock_now()).await.unwrap();
    assert_eq!((report.active_key.as_str(), report.patient_values, report.added_key), ("k2", 2, None));
    let row = app.state.store.patient(org, id.parse().unwrap()).await.unwrap();
    assert!(row.document.contains("enc:v1:k2:") && !row.document.contains("enc:v1:k1:"));
    let both_keys = hearth_server::keys::load(&config).unwrap();
    let stored: Value = serde_json::from_str(&row.document).unwrap();
    let sealed = stored["identifiers"][0]["sealed"].as_str().unwrap();
    let context = hearth_server::patients::sensitive_context(org, id.parse().unwrap(), SSN);
    assert_eq!(both_keys.open(sealed, &context).unwrap(), "555-11-3333");
    let again = hearth_server::keys::rotate(&config, &app.state.store, app.clock_now()).await.unwrap();
    assert_eq!(again.patient_values, 0, "nothing left under an old key");
}
