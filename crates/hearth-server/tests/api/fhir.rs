//! The FHIR R4 Patient facade: every official Patient example imports and exports again without
//! losing a field Hearth models; every Patient Hearth emits is valid R4 according to
//! `fhir.resources==6.4.0` (a real validator, run in Python); search, update with versions, merged
//! records' links, and bad input answered with an OperationOutcome naming the element.

use std::path::{Path, PathBuf};

use hearth_core::{ApiScope, OrgId};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, both, json, seed_api_key, seed_org};

both!(
    every_official_patient_example_imports_round_trips_and_validates,
    search_finds_by_name_with_typos_birthdate_identifier_and_phone,
    update_keeps_the_mrn_and_checks_the_version,
    a_merged_patient_links_to_its_survivor,
    bad_resources_get_an_operation_outcome_naming_the_element_and_write_nothing,
);

const FHIR_JSON: &str = "application/fhir+json";

async fn setup(app: &TestApp) -> (OrgId, String) {
    let org = seed_org(app, "Clinic").await;
    let (_, key) = seed_api_key(app, org, &[ApiScope::Admin]).await;
    (org, key)
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fhir-r4");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

async fn post(app: &TestApp, key: &str, path: &str, body: &Value) -> reqwest::Response {
    app.as_key(key, Method::POST, path)
        .header("content-type", FHIR_JSON)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn get(app: &TestApp, key: &str, path: &str) -> Value {
    let res = app.as_key(key, Method::GET, path).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], FHIR_JSON);
    json(res, 200).await
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_owned)).collect()
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// The facts of a Patient that Hearth models, in a comparable form. `hearth_mrn` drops Hearth's own
/// MRN identifier from an exported Patient.
fn modeled(p: &Value) -> Value {
    let mut names: Vec<Value> = p["name"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| !n["family"].is_null() || !strs(&n["given"]).is_empty() || !n["text"].is_null())
        .map(|n| {
            json!([
                s(&n["use"]),
                s(&n["family"]),
                strs(&n["given"]),
                strs(&n["prefix"]),
                strs(&n["suffix"]),
                s(&n["text"])
            ])
        })
        .collect();
    names.sort_by_key(Value::to_string);
    let telecom = |system: &[&str]| -> Vec<Value> {
        p["telecom"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| system.contains(&t["system"].as_str().unwrap_or_default()) && !t["value"].is_null())
            .map(|t| {
                let raw = s(&t["value"]);
                // Hearth writes usable numbers in E.164 and e-mail addresses in lower case.
                let value = if t["system"] == "email" {
                    raw.to_lowercase()
                } else {
                    hearth_core::contact::Phone::parse(&raw, "US").map_or(raw, |p| p.as_str().to_owned())
                };
                json!([value, s(&t["use"])])
            })
            .collect()
    };
    let mut identifiers: Vec<Value> = p["identifier"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| !i["value"].is_null() && !s(&i["system"]).ends_with("/fhir/sid/mrn"))
        .map(|i| {
            let value = s(&i["value"]);
            // SSNs leave Hearth masked: the last four digits.
            let value = if i["system"] == "http://hl7.org/fhir/sid/us-ssn" {
                "*".repeat(value.len() - 4) + &value[value.len() - 4..]
            } else {
                value
            };
            json!([s(&i["system"]), value])
        })
        .collect();
    identifiers.sort_by_key(Value::to_string);
    identifiers.dedup();
    let addresses: Vec<Value> = p["address"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            json!([
                s(&a["use"]),
                strs(&a["line"]),
                s(&a["city"]),
                s(&a["district"]),
                s(&a["state"]),
                s(&a["postalCode"]),
                s(&a["country"])
            ])
        })
        .collect();
    let communication = p["communication"].as_array().and_then(|c| {
        c.iter()
            .find(|c| c["preferred"] == true)
            .or_else(|| c.first())
            .map(|c| s(&c["language"]["coding"][0]["code"]))
    });
    let contacts: Vec<usize> = p["contact"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| !c["name"].is_null())
        .map(|c| strs(&c["telecom"]).len())
        .collect();
    json!({
        "names": names,
        "phones": telecom(&["phone", "sms"]),
        "emails": telecom(&["email"]),
        "identifiers": identifiers,
        "gender": p["gender"],
        "birthDate": p["birthDate"],
        "deceased": p["deceasedBoolean"] == true || !p["deceasedDateTime"].is_null(),
        "deceasedDate": p["deceasedDateTime"].as_str().map(|d| d[..10].to_owned()),
        "addresses": addresses,
        "language": communication,
        "contacts": contacts.len(),
        "active": p["active"] != false,
    })
}

/// The Python interpreter that has fhir.resources 6.4.0, if any.
#[allow(clippy::print_stderr)] // a skipped check says why
fn validator() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("HEARTH_TEST_FHIR_PYTHON").map(PathBuf::from),
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/hearth/fhir-venv/bin/python")),
    ];
    let found = candidates.into_iter().flatten().find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var("HEARTH_TEST_REQUIRE_FHIR_VALIDATOR").is_err(),
            "HEARTH_TEST_REQUIRE_FHIR_VALIDATOR is set but no Python with fhir.resources was found \
             (set HEARTH_TEST_FHIR_PYTHON; .ci/run makes the venv)"
        );
        eprintln!("SKIPPED FHIR validation: no Python with fhir.resources 6.4.0 (see .ci/run)");
    }
    found
}

/// Runs the validator over the resources; every one must be valid R4.
pub(crate) fn validate(resources: &[Value]) {
    let Some(python) = validator() else { return };
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let f = dir.path().join(format!("{i}.json"));
            std::fs::write(&f, r.to_string()).unwrap();
            f
        })
        .collect();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fhir_validate.py");
    let out = std::process::Command::new(python).arg(script).args(&files).output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "invalid R4 emitted:\n{report}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(report.lines().count(), resources.len(), "{report}");
}

async fn every_official_patient_example_imports_round_trips_and_validates(app: TestApp) {
    let mut emitted = Vec::new();
    let mut singles = 0;
    let mut key = String::new();
    for file in fixtures() {
        // Each file is its own data set (Eve Everywoman is in two of them, with the same SSN).
        key = setup(&app).await.1;
        let key = key.as_str();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let input: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        if input["resourceType"] == "Bundle" {
            let res = json(post(&app, key, "/fhir/r4", &input).await, 200).await;
            assert_eq!(res["type"], "batch-response");
            let entries = input["entry"].as_array().unwrap();
            assert_eq!(res["entry"].as_array().unwrap().len(), entries.len(), "{name}");
            for (entry, answer) in entries.iter().zip(res["entry"].as_array().unwrap()) {
                assert_eq!(answer["response"]["status"], "201 Created", "{name}: {answer}");
                let location = s(&answer["response"]["location"]);
                let id = location.split('/').nth(1).unwrap();
                let out = get(&app, key, &format!("/fhir/r4/Patient/{id}")).await;
                assert_eq!(modeled(&out), modeled(&entry["resource"]), "{name}: {location}");
                emitted.push(out);
            }
            continue;
        }
        let res = post(&app, key, "/fhir/r4/Patient", &input).await;
        let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
        let created = json(res, 201).await;
        let location = location.unwrap();
        assert!(
            location.ends_with(&format!("/fhir/r4/Patient/{}/_history/1", s(&created["id"]))),
            "{location}"
        );
        let out = get(&app, key, &format!("/fhir/r4/Patient/{}", s(&created["id"]))).await;
        assert_eq!(modeled(&out), modeled(&input), "{name} lost a modeled field");
        assert_eq!(out["identifier"][0]["type"]["coding"][0]["code"], "MR", "Hearth's MRN comes first");
        singles += 1;
        emitted.push(out);
    }
    assert_eq!(singles, 20, "the single-Patient examples");
    assert!(emitted.len() > 250, "{} Patients", emitted.len());

    // The quirks are kept, flagged, and never messaged: "555-555-2003" is no real number.
    let key = key.as_str();
    let search = get(&app, key, "/fhir/r4/Patient?family=Everywoman").await;
    let eve = s(&search["entry"][0]["resource"]["id"]);
    let view =
        json(app.as_key(key, Method::GET, &format!("/api/v1/patients/{eve}")).send().await.unwrap(), 200)
            .await;
    assert_eq!(view["phones"][0]["value"], "555-555-2003");
    assert!(s(&view["phones"][0]["problem"]).contains("never messaged"), "{view}");
    // A patient without any name (the newborn example) is kept.
    let unnamed: Vec<&Value> = emitted.iter().filter(|p| p["name"].is_null()).collect();
    assert_eq!(unnamed.len(), 3, "newborn, fetal and proband examples have no name");

    validate(&emitted);
}

async fn search_finds_by_name_with_typos_birthdate_identifier_and_phone(app: TestApp) {
    let (_, key) = setup(&app).await;
    for (family, given, birth, phone, id) in [
        ("Smith", "John", "1980-04-01", "+12025550101", "A1"),
        ("Smithers", "Waylon", "1951-07-02", "+12025550102", "A2"),
        ("Jones", "Mary", "1980-04-01", "+12025550103", "A3"),
    ] {
        let p = json!({"resourceType": "Patient", "name": [{"family": family, "given": [given]}],
            "birthDate": birth, "telecom": [{"system": "phone", "value": phone}],
            "identifier": [{"system": "urn:ehr", "value": id}]});
        json(post(&app, &key, "/fhir/r4/Patient", &p).await, 201).await;
    }
    let families = |b: &Value| -> Vec<String> {
        b["entry"].as_array().into_iter().flatten().map(|e| s(&e["resource"]["name"][0]["family"])).collect()
    };
    for (query, expect) in [
        ("name=Jon%20Smyth", vec!["Smith"]),
        ("given=Jhon&name=Smiht", vec!["Smith"]),
        ("family=smith", vec!["Smith", "Smithers"]),
        ("birthdate=1980-04-01", vec!["Jones", "Smith"]),
        ("birthdate=eq1980-04-01", vec!["Jones", "Smith"]),
        ("identifier=urn:ehr%7CA3", vec!["Jones"]),
        ("phone=(202)%20555-0102", vec!["Smithers"]),
        ("telecom=phone%7C202.555.0103", vec!["Jones"]),
        ("family=nobody", vec![]),
    ] {
        let b = get(&app, &key, &format!("/fhir/r4/Patient?{query}")).await;
        assert_eq!(b["type"], "searchset");
        assert_eq!(families(&b), expect, "{query}");
    }
    // Paging: a next link while there may be more.
    let page = get(&app, &key, "/fhir/r4/Patient?_count=2").await;
    assert_eq!(page["entry"].as_array().unwrap().len(), 2);
    let next = page["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").unwrap();
    let path = s(&next["url"]).split_once("/fhir/").map(|(_, p)| format!("/fhir/{p}")).unwrap();
    let rest = get(&app, &key, &path).await;
    assert_eq!(rest["entry"].as_array().unwrap().len(), 1);
    validate(&[page, rest]);
    // Unsupported parameters are named, not ignored.
    for (query, element) in
        [("shoe_size=9", "Patient.shoe_size"), ("birthdate=gt1980-01-01", "Patient.birthdate")]
    {
        let res = app.as_key(&key, Method::GET, &format!("/fhir/r4/Patient?{query}")).send().await.unwrap();
        assert!(res.status().is_client_error());
        let o = json(res, res_status(query)).await;
        assert_eq!(o["resourceType"], "OperationOutcome");
        assert!(o.to_string().contains(element.trim_start_matches("Patient.")), "{query}: {o}");
    }
}

fn res_status(query: &str) -> u16 {
    if query.starts_with("shoe_size") { 400 } else { 422 }
}

async fn update_keeps_the_mrn_and_checks_the_version(app: TestApp) {
    let (_, key) = setup(&app).await;
    let p = json!({"resourceType": "Patient", "name": [{"family": "Okafor", "given": ["Ada"]}],
        "identifier": [{"system": "urn:ehr", "value": "X9"}]});
    let created = json(post(&app, &key, "/fhir/r4/Patient", &p).await, 201).await;
    let id = s(&created["id"]);
    let mut changed = created.clone();
    changed["birthDate"] = json!("1990-05-06");
    changed["telecom"] = json!([{"system": "email", "value": "Ada@Example.org"}]);
    let put = |body: Value, etag: Option<&str>| {
        let mut req = app
            .as_key(&key, Method::PUT, &format!("/fhir/r4/Patient/{id}"))
            .header("content-type", FHIR_JSON)
            .body(body.to_string());
        if let Some(e) = etag {
            req = req.header("if-match", e);
        }
        req.send()
    };
    let res = put(changed.clone(), Some("W/\"1\"")).await.unwrap();
    assert_eq!(res.headers()["etag"], "W/\"2\"");
    let updated = json(res, 200).await;
    assert_eq!(updated["meta"]["versionId"], "2");
    assert_eq!(updated["identifier"], created["identifier"], "the MRN and the EHR id, once each");
    assert_eq!(updated["telecom"][0]["value"], "ada@example.org");
    // A stale version is refused and changes nothing.
    let stale = put(changed.clone(), Some("W/\"1\"")).await.unwrap();
    let o = json(stale, 412).await;
    assert_eq!(
        (o["resourceType"].as_str(), o["issue"][0]["code"].as_str()),
        (Some("OperationOutcome"), Some("conflict"))
    );
    // The id in the body must be the id in the URL; the MRN cannot change.
    let mut other = changed.clone();
    other["id"] = json!(uuid::Uuid::now_v7().to_string());
    json(put(other, None).await.unwrap(), 422).await;
    let mut mrn = changed.clone();
    mrn["identifier"][0]["value"] = json!("MRN-OTHER");
    let o = json(put(mrn, None).await.unwrap(), 422).await;
    assert_eq!(o["issue"][0]["expression"][0], "Patient.identifier[0].value");
    // active=false makes the record inactive.
    changed["active"] = json!(false);
    let inactive = json(put(changed, None).await.unwrap(), 200).await;
    assert_eq!(inactive["active"], false);
    validate(&[updated, inactive]);
}

async fn a_merged_patient_links_to_its_survivor(app: TestApp) {
    let (_, key) = setup(&app).await;
    let mk = |given: &str| json!({"resourceType": "Patient", "name": [{"family": "Lindqvist", "given": [given]}], "birthDate": "1970-01-02"});
    let survivor = s(&json(post(&app, &key, "/fhir/r4/Patient", &mk("Karin")).await, 201).await["id"]);
    let duplicate = s(&json(post(&app, &key, "/fhir/r4/Patient", &mk("Karin")).await, 201).await["id"]);
    json(
        app.as_key(&key, Method::POST, &format!("/api/v1/patients/{survivor}/merge"))
            .json(&json!({"duplicate_id": duplicate}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let gone = get(&app, &key, &format!("/fhir/r4/Patient/{duplicate}")).await;
    assert_eq!(
        gone["link"],
        json!([{"other": {"reference": format!("Patient/{survivor}")}, "type": "replaced-by"}])
    );
    assert_eq!(gone["active"], false);
    validate(&[gone]);
}

async fn bad_resources_get_an_operation_outcome_naming_the_element_and_write_nothing(app: TestApp) {
    let (org, key) = setup(&app).await;
    let base = json!({"resourceType": "Patient", "name": [{"family": "Valid"}]});
    let with = |k: &str, v: Value| {
        let mut p = base.clone();
        p[k] = v;
        p
    };
    for (body, status, element) in [
        (with("gender", json!("robot")), 422, "Patient.gender"),
        (with("birthDate", json!("2023-02-30")), 422, "Patient.birthDate"),
        (with("birthDate", json!("2999-01-01")), 422, "Patient.birthDate"),
        (with("name", json!("Valid")), 422, "Patient.name"),
        (
            with("telecom", json!([{"system": "phone", "value": "+1 202 555 0100", "use": "pager"}])),
            422,
            "Patient.telecom[0].use",
        ),
        (with("resourceType", json!("Observation")), 422, "Patient.resourceType"),
    ] {
        let res = post(&app, &key, "/fhir/r4/Patient", &body).await;
        assert_eq!(res.headers()["content-type"], FHIR_JSON);
        let o = json(res, status).await;
        assert_eq!(o["resourceType"], "OperationOutcome");
        assert_eq!(o["issue"][0]["severity"], "error");
        assert_eq!(o["issue"][0]["expression"][0], element, "{body}: {o}");
        assert!(!s(&o["issue"][0]["diagnostics"]).is_empty());
        validate(&[o]);
    }
    let res = app
        .as_key(&key, Method::POST, "/fhir/r4/Patient")
        .header("content-type", FHIR_JSON)
        .body("{\"resourceType\": \"Patient\", ")
        .send()
        .await
        .unwrap();
    let o = json(res, 400).await;
    assert!(s(&o["issue"][0]["diagnostics"]).contains("line 1"), "{o}");
    // A colliding identifier in a batch fails that entry only.
    let p = json!({"resourceType": "Patient", "name": [{"family": "Once"}], "identifier": [{"system": "urn:ehr", "value": "DUP"}]});
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [{"resource": p}, {"resource": p}, {"resource": {"resourceType": "Observation"}}]});
    let res = json(post(&app, &key, "/fhir/r4", &batch).await, 200).await;
    let statuses: Vec<String> =
        res["entry"].as_array().unwrap().iter().map(|e| s(&e["response"]["status"])).collect();
    assert_eq!(statuses, ["201 Created", "422 Unprocessable Entity", "422 Unprocessable Entity"]);
    assert_eq!(
        res["entry"][1]["response"]["outcome"]["issue"][0]["expression"][0],
        "Bundle.entry[1].resource.identifier"
    );
    let transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": []});
    let o = json(post(&app, &key, "/fhir/r4", &transaction).await, 422).await;
    assert_eq!(o["issue"][0]["expression"][0], "Bundle.type");
    // Nothing but the one valid batch entry was written.
    let all = app
        .state
        .store
        .list_patients(org, &hearth_store::patients::PatientFilter { limit: 50, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
}
