//! Generated from the OpenAPI document and the permission table: every API operation must declare
//! its permission; every role and API-key scope gets exactly what the table grants; and a caller
//! from organization A gets 404 for every id of organization B, never B's data.

use std::collections::BTreeMap;

use hearth_core::{ApiScope, OrgId, Permission, Role};
use hearth_server::patients::Strictness;
use serde_json::Value;

use crate::helpers::{Staff, TestApp, both, json, seed_api_key, seed_org, seed_user};

both!(every_role_and_scope_gets_exactly_what_the_table_grants, organization_b_ids_are_404_for_organization_a);

/// Routes anyone may call. Every other operation must declare a permission.
const PUBLIC: &[&str] = &["/", "/health", "/metrics"];

struct Operation {
    method: reqwest::Method,
    path: String,
    permission: Permission,
}

async fn operations(app: &TestApp) -> Vec<Operation> {
    let doc = json(app.get("/openapi.json").await, 200).await;
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let scopes: Vec<&str> = op["security"]
                .as_array()
                .map(|reqs| {
                    reqs.iter()
                        .flat_map(|r| r.as_object().unwrap().values())
                        .flat_map(|v| v.as_array().unwrap())
                        .filter_map(Value::as_str)
                        .collect()
                })
                .unwrap_or_default();
            if scopes.is_empty() {
                assert!(
                    PUBLIC.contains(&path.as_str()),
                    "{method} {path} declares no permission: add `security(...)` to its #[utoipa::path]"
                );
                continue;
            }
            let permission = Permission::parse(scopes[0])
                .unwrap_or_else(|| panic!("{method} {path}: unknown permission {}", scopes[0]));
            assert!(scopes.iter().all(|s| *s == scopes[0]), "{method} {path}: one permission per operation");
            ops.push(Operation {
                method: method.to_uppercase().parse().unwrap(),
                path: path.clone(),
                permission,
            });
        }
    }
    assert!(ops.len() >= 15, "the API lists {} protected operations", ops.len());
    ops
}

/// One organization's resources, by the path parameter that names them.
struct Fixtures {
    org: OrgId,
    ids: BTreeMap<&'static str, String>,
    /// Names that must never appear in another organization's responses.
    secrets: Vec<String>,
}

async fn fixtures(app: &TestApp, label: &str) -> Fixtures {
    let org = seed_org(app, &format!("Org {label}")).await;
    let system = hearth_server::auth::Actor::system(org, "test seed");
    let loc = hearth_server::directory::create_location(
        &app.state,
        &system,
        hearth_server::directory::CreateLocationInput {
            name: format!("Ward-{label}-secret"),
            time_zone: None,
            sensitive: false,
        },
    )
    .await
    .unwrap();
    let prac = hearth_server::directory::create_practitioner(
        &app.state,
        &system,
        hearth_server::directory::CreatePractitionerInput {
            given_name: "Ada".into(),
            family_name: format!("Okafor-{label}-secret"),
            external_id: Some(format!("P-{label}")),
        },
    )
    .await
    .unwrap();
    let record: hearth_server::patients::PatientRecord = serde_json::from_value(serde_json::json!({
        "name": {"family": format!("Doe-{label}-secret"), "given": ["Jane"]},
        "birth_date": "1980-04-02",
        "phones": [{"value": "+12025550143"}]
    }))
    .unwrap();
    let patient = hearth_server::patients::create(&app.state, &system, record.clone(), Strictness::Strict)
        .await
        .unwrap();
    // A second record of the same person puts a pair in the duplicate queue.
    hearth_server::patients::create(&app.state, &system, record, Strictness::Strict).await.unwrap();
    let duplicate = app.state.store.list_duplicates(org, "pending", 10).await.unwrap()[0].id;
    // A merge of two other records, for the unmerge route.
    let mk = |family: &str| -> hearth_server::patients::PatientRecord {
        serde_json::from_value(serde_json::json!({"name": {"family": family}})).unwrap()
    };
    let s = hearth_server::patients::create(&app.state, &system, mk("Merge-survivor"), Strictness::Strict)
        .await
        .unwrap();
    let m = hearth_server::patients::create(&app.state, &system, mk("Merge-duplicate"), Strictness::Strict)
        .await
        .unwrap();
    let merge = hearth_server::patients::merge(&app.state, &system, s.id, m.id).await.unwrap().id;
    // An appointment from the EHR feed.
    let event = serde_json::json!({"event_type": "BOOKED", "patient_id": format!("EHR-{label}"),
        "patient_last_name": format!("Appt-{label}-secret"), "appointment_id": format!("A-{label}"),
        "appointment_datetime": "2026-02-01T09:00:00", "appointment_timezone": "America/Chicago"});
    let report = hearth_server::appointments::ingest(&app.state, &system, vec![event], false).await.unwrap();
    let appointment = report.results[0].appointment_id.unwrap();
    // A message template of the organization.
    let template = hearth_server::notifications::templates::manage::create(
        &app.state,
        &system,
        serde_json::from_value(serde_json::json!({"channel": "sms", "purpose": "help", "language": "en",
            "body": format!("{{{{ organization_name }}}} Template-{label}-secret: call {{{{ support_phone }}}}")}))
        .unwrap(),
    )
    .await
    .unwrap();
    // A message in the outbox (to a bare address: no consent needed).
    let message = {
        let mut tx = app.state.store.begin().await.unwrap();
        let msg = hearth_server::notifications::NewMessage {
            org,
            patient: None,
            channel: hearth_core::messaging::Channel::Sms,
            to: "+13125550199".into(),
            from: None,
            subject: None,
            body: "Matrix".into(),
            language: "en".into(),
            purpose: "test".into(),
            dedup_key: format!("matrix-{label}"),
            cause: None,
            valid_until: None,
            not_before: None,
        };
        let done = hearth_server::notifications::enqueue(&mut tx, &app.state, msg).await.unwrap();
        tx.commit().await.unwrap();
        done.message.id
    };
    // A patient's free-text reply in the inbox.
    let inbox_item = {
        let row = hearth_store::inbound::InboundRow {
            id: hearth_core::InboundMessageId::new(),
            org_id: Some(org),
            provider: "twilio".into(),
            kind: "reply".into(),
            dedup_key: format!("twilio:reply:matrix-{label}"),
            provider_id: format!("SM-matrix-{label}"),
            account_id: None,
            message_id: None,
            channel: Some("sms".into()),
            from_address: Some("+12025550143".into()),
            to_address: Some("+13125550100".into()),
            body: Some(format!("Reply-{label}-secret")),
            status: Some("received".into()),
            error_code: None,
            payload: "{}".into(),
            received_at: app.clock_now(),
            processed_at: None,
            outcome: None,
        };
        app.state.store.insert_inbound(&row).await.unwrap();
        hearth_server::replies::process(&app.state, &row).await.unwrap();
        row.id
    };
    // A low-ranked user every manager may manage.
    let (user, email) = seed_user(app, org, Role::Viewer, None).await;
    let (key, _) = seed_api_key(app, org, &[ApiScope::Read]).await;
    let ids = BTreeMap::from([
        ("location_id", loc.id.to_string()),
        ("practitioner_id", prac.id.to_string()),
        ("user_id", user.to_string()),
        ("api_key_id", key.to_string()),
        ("patient_id", patient.id.to_string()),
        ("duplicate_id", duplicate.to_string()),
        ("merge_id", merge.to_string()),
        ("appointment_id", appointment.to_string()),
        ("template_id", template.id.to_string()),
        ("export", "appointments.csv".to_owned()),
        ("message_id", message.to_string()),
        ("scope", "appointment_type".to_owned()),
        ("inbox_item_id", inbox_item.to_string()),
    ]);
    Fixtures {
        org,
        ids,
        secrets: vec![
            loc.name,
            prac.family_name,
            email,
            patient.record.name.family,
            format!("Template-{label}-secret"),
            format!("Reply-{label}-secret"),
        ],
    }
}

/// Path parameters that name something other than a record (an export's file name, a rule's scope).
const NOT_IDS: &[&str] = &["{export}", "{scope}"];

/// Whether the path names a record by id (so another organization's id must be 404).
fn takes_ids(path: &str) -> bool {
    NOT_IDS.iter().fold(path.to_owned(), |p, n| p.replace(n, "")).contains('{')
}

fn fill(path: &str, f: &Fixtures) -> String {
    let mut out = path.to_owned();
    while let Some(start) = out.find('{') {
        let end = out[start..].find('}').unwrap() + start;
        let name = &out[start + 1..end];
        let id = f.ids.get(name).unwrap_or_else(|| {
            panic!("no fixture for path parameter `{name}` of {path}: add one in access.rs")
        });
        out.replace_range(start..=end, id);
    }
    out
}

/// Valid bodies for operations on an existing resource whose body has required fields, so that
/// with another organization's id the only possible answer is 404. Others get `{}`.
fn valid_body(method: &reqwest::Method, path: &str) -> Option<Value> {
    if ![reqwest::Method::POST, reqwest::Method::PATCH, reqwest::Method::PUT].contains(method) {
        return None;
    }
    let fhir_patient = serde_json::json!({"resourceType": "Patient", "name": [{"family": "Matrix"}]});
    Some(match path {
        "/fhir/r4/Patient" | "/fhir/r4/Patient/{patient_id}" => fhir_patient,
        "/api/integrations/events" => serde_json::json!({"source_system": "px360", "event_code": "X",
            "encounter_id": "E", "patient_identifier": "P"}),
        "/api/v1/ingest/appointment-events" => {
            serde_json::json!({"event_type": "BOOKED", "patient_id": "matrix",
            "appointment_id": "matrix", "appointment_datetime": "2026-02-02T10:00:00"})
        }
        "/fhir/r4" => {
            serde_json::json!({"resourceType": "Bundle", "type": "batch", "entry": [{"resource": fhir_patient}]})
        }
        "/api/v1/patients/{patient_id}/consents" => {
            serde_json::json!({"channel": "sms", "opted_in": true, "source": "staff"})
        }
        "/api/v1/patients/{patient_id}/merge" => serde_json::json!({"duplicate_id": uuid::Uuid::now_v7()}),
        "/api/v1/templates/{template_id}" => serde_json::json!({"body": "{{ organization_name }}: help"}),
        "/api/v1/inbox/{inbox_item_id}/reply" => serde_json::json!({"body": "Matrix answer"}),
        _ => serde_json::json!({}),
    })
}

async fn call(req: reqwest::RequestBuilder, method: &reqwest::Method, path: &str) -> (u16, String) {
    let req = match valid_body(method, path) {
        Some(b) => req.json(&b).header("if-match", "\"1\""),
        None => req,
    };
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn every_role_and_scope_gets_exactly_what_the_table_grants(app: TestApp) {
    let ops = operations(&app).await;
    let a = fixtures(&app, "A").await;
    let mut checked = 0;
    for role in Role::ALL {
        let (_, email) = seed_user(&app, a.org, *role, None).await;
        let staff: Staff = app.login(&email, crate::helpers::PASSWORD).await;
        for op in &ops {
            let (status, body) =
                call(app.as_staff(&staff, op.method.clone(), &fill(&op.path, &a)), &op.method, &op.path)
                    .await;
            let granted = role.grants(op.permission);
            if granted {
                assert!(
                    status != 401 && status != 403,
                    "{role} should be allowed {} {} ({}): {status} {body}",
                    op.method,
                    op.path,
                    op.permission.as_str()
                );
            } else {
                assert_eq!(
                    status,
                    403,
                    "{role} must be refused {} {} ({}): {body}",
                    op.method,
                    op.path,
                    op.permission.as_str()
                );
            }
            checked += 1;
        }
    }
    for scope in ApiScope::ALL {
        let (_, key) = seed_api_key(&app, a.org, &[*scope]).await;
        for op in &ops {
            let (status, body) =
                call(app.as_key(&key, op.method.clone(), &fill(&op.path, &a)), &op.method, &op.path).await;
            if scope.grants(op.permission) {
                assert!(
                    status != 401 && status != 403,
                    "scope {} should be allowed {} {}: {status} {body}",
                    scope.as_str(),
                    op.method,
                    op.path
                );
            } else {
                assert_eq!(
                    status,
                    403,
                    "scope {} must be refused {} {}: {body}",
                    scope.as_str(),
                    op.method,
                    op.path
                );
            }
            checked += 1;
        }
    }
    // Nobody at all: 401 everywhere.
    for op in &ops {
        let (status, _) =
            call(app.client.request(op.method.clone(), app.url(&fill(&op.path, &a))), &op.method, &op.path)
                .await;
        assert_eq!(status, 401, "{} {} without credentials", op.method, op.path);
    }
    assert!(checked > 200, "{checked} role × operation checks");
}

async fn organization_b_ids_are_404_for_organization_a(app: TestApp) {
    let ops = operations(&app).await;
    let a = fixtures(&app, "A").await;
    let b = fixtures(&app, "B").await;
    let (_, email) = seed_user(&app, a.org, Role::PxAdmin, None).await;
    let admin = app.login(&email, crate::helpers::PASSWORD).await;
    let (_, key) = seed_api_key(&app, a.org, &[ApiScope::Admin]).await;
    let mut with_ids = 0;
    for op in &ops {
        let path_b = fill(&op.path, &b);
        for (who, req) in [
            ("px_admin session", app.as_staff(&admin, op.method.clone(), &path_b)),
            ("admin API key", app.as_key(&key, op.method.clone(), &path_b)),
        ] {
            let (status, body) = call(req, &op.method, &op.path).await;
            if takes_ids(&op.path) {
                assert_eq!(
                    status, 404,
                    "{who} of A: {} {} with B's id must be 404: {body}",
                    op.method, op.path
                );
            }
            for secret in &b.secrets {
                assert!(
                    !body.contains(secret.as_str()),
                    "{who} of A saw B's data `{secret}` in {} {}: {body}",
                    op.method,
                    op.path
                );
            }
        }
        if takes_ids(&op.path) {
            with_ids += 1;
        }
    }
    assert!(with_ids >= 6, "{with_ids} operations take ids");
    // Nothing was changed in B by all that.
    let b_user = app.state.store.user(b.org, b.ids["user_id"].parse().unwrap()).await.unwrap();
    assert!(b_user.active && !b_user.must_change_password);
    let b_key = app.state.store.api_key(b.org, b.ids["api_key_id"].parse().unwrap()).await.unwrap();
    assert!(b_key.revoked_at.is_none());
}
