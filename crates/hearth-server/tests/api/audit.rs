//! The audit trail: writes are recorded with before/after and no secrets; tampering is found by
//! `hearth audit verify`.

use hearth_core::{ApiScope, Role};
use reqwest::Method;

use crate::helpers::{PASSWORD, TestApp, both, json, seed_api_key, seed_org, seed_user};

both!(writes_are_audited_with_before_and_after_and_no_secrets, a_modified_audit_row_is_found_by_verify);

async fn writes_are_audited_with_before_and_after_and_no_secrets(app: TestApp) {
    let org = seed_org(&app, "Clinic").await;
    let (_, email) = seed_user(&app, org, Role::PxAdmin, None).await;
    let admin = app.login(&email, PASSWORD).await;
    let loc = json(
        app.as_staff(&admin, Method::POST, "/api/v1/locations")
            .json(&serde_json::json!({"name": "North"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let id = loc["id"].as_str().unwrap();
    app.as_staff(&admin, Method::PATCH, &format!("/api/v1/locations/{id}"))
        .json(&serde_json::json!({"time_zone": "Asia/Tokyo"}))
        .send()
        .await
        .unwrap();
    let created = json(
        app.as_staff(&admin, Method::POST, "/api/v1/api-keys")
            .json(&serde_json::json!({"name": "feed", "scopes": ["ingest"]}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let key = created["key"].as_str().unwrap();

    let (_, auditor_key) = seed_api_key(&app, org, &[ApiScope::Admin]).await;
    let events = json(
        app.as_key(&auditor_key, Method::GET, &format!("/api/v1/audit-events?subject_id={id}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["action"], "location.update");
    assert_eq!(events[0]["before"]["time_zone"], "America/Chicago");
    assert_eq!(events[0]["after"]["time_zone"], "Asia/Tokyo");
    assert_eq!(events[0]["actor_label"], email.as_str());
    assert_eq!(events[0]["ip"], "127.0.0.1");
    assert!(events[0]["request_id"].as_str().is_some_and(|r| !r.is_empty()));

    let all = json(
        app.as_key(&auditor_key, Method::GET, "/api/v1/audit-events?limit=1000").send().await.unwrap(),
        200,
    )
    .await
    .to_string();
    assert!(!all.contains(key), "an API key never enters the audit trail");
    assert!(!all.contains(PASSWORD) && !all.contains("$argon2"), "no passwords or hashes");
    let bad =
        app.as_key(&auditor_key, Method::GET, "/api/v1/audit-events?from=yesterday").send().await.unwrap();
    assert_eq!(json(bad, 400).await["code"], "invalid_query");
}

async fn a_modified_audit_row_is_found_by_verify(app: TestApp) {
    let org = seed_org(&app, "Clinic").await;
    for role in [Role::Nurse, Role::Staff, Role::Viewer] {
        seed_user(&app, org, role, None).await;
    }
    let store = &app.state.store;
    let report = hearth_server::audit::verify::verify(store).await.unwrap();
    assert_eq!((report.events, report.broken.clone()), (3, None));

    // Someone with database access drops the guard and edits event 2.
    let drop_guard = match store.backend() {
        hearth_store::Backend::Sqlite => "drop trigger audit_events_no_update",
        hearth_store::Backend::Postgres => "drop trigger audit_events_no_update on audit_events",
    };
    hearth_store::on_pool!(store, |p| sqlx::query(drop_guard).execute(p).await.map(|_| ())).unwrap();
    let tamper = "update audit_events set actor_label = 'someone else' where seq = 2";
    hearth_store::on_pool!(store, |p| sqlx::query(tamper).execute(p).await.map(|_| ())).unwrap();

    let report = hearth_server::audit::verify::verify(store).await.unwrap();
    let broken = report.broken.expect("tampering is detected");
    assert_eq!((broken.org, broken.seq), (org, 2));
    assert!(broken.reason.contains("modified"), "{}", broken.reason);

    // The CLI says the same, with a failing exit code.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["audit", "verify"])
        .env_clear()
        .env("HEARTH_DATABASE_URL", app.database_url())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("organization {org} event 2")), "{text}");
}
