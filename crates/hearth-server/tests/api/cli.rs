//! The `hearth` binary as an operator uses it: started with no configuration in an empty directory,
//! stopped with SIGTERM, refusing a typo, printing its example configuration.

use std::process::{Command, Stdio};
use std::time::Duration;

fn hearth(dir: &std::path::Path) -> Command {
    crate::helpers::hearth_command(dir)
}

#[tokio::test]
async fn starts_with_no_configuration_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (child, line, url) = crate::helpers::spawn_server(dir.path(), Stdio::piped());
    assert!(line.contains("sqlite"), "{line}");
    let res = reqwest::get(format!("{url}/health")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        dir.path().join("hearth-data/hearth.db").exists(),
        "the default store is created under ./hearth-data"
    );

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    assert!(out.status.success(), "exit status {:?}", out.status);
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(logs.contains("SIGTERM") && logs.contains("\"stopped\""), "{logs}");
    for line in logs.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
        assert!(v["level"].is_string() && v["message"].is_string(), "{line}");
    }
}

#[test]
fn a_config_typo_is_refused_naming_the_key_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let out = hearth(dir.path())
        .env("HEARTH_DATABSE_URL", "sqlite://x.db")
        .arg("config")
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`databse_url`") && err.contains("did you mean `database_url`"), "{err}");

    std::fs::write(dir.path().join("hearth.toml"), "databse_url = \"sqlite://x.db\"\n").unwrap();
    let out = hearth(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "serve refuses to start too");
    assert!(String::from_utf8_lossy(&out.stderr).contains("hearth.toml"));
    assert!(!dir.path().join("hearth-data").exists(), "nothing is created by a refused start");
}

#[test]
fn config_check_masks_secrets_and_names_origins() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("db");
    std::fs::write(&secret, "postgres://hearth:Sup3rSecret@db.internal/hearth\n").unwrap();
    let out = hearth(dir.path())
        .env("HEARTH_DATABASE_URL_FILE", &secret)
        .args(["config", "check", "--data-dir", "/srv/hearth"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Sup3rSecret"), "{text}");
    assert!(
        text.contains("postgres://hearth:***@db.internal/hearth")
            && text.contains("HEARTH_DATABASE_URL_FILE"),
        "{text}"
    );
    assert!(text.contains("/srv/hearth") && text.contains("flag --data-dir"), "{text}");
}

#[test]
fn config_example_prints_the_checked_in_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = hearth(dir.path()).args(["config", "example"]).output().unwrap();
    assert!(out.status.success());
    let file =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/hearth.example.toml"))
            .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), file);
}

#[test]
fn migrate_applies_then_reports_current() {
    let dir = tempfile::tempdir().unwrap();
    let first = hearth(dir.path()).arg("migrate").output().unwrap();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(String::from_utf8_lossy(&first.stdout).contains("applied migrations"));
    let second = hearth(dir.path()).arg("migrate").output().unwrap();
    assert!(String::from_utf8_lossy(&second.stdout).contains("schema is current"));
}

#[test]
fn ready_quickly_enough_to_poll() {
    // Not a timing assertion: the banner must come out before any request, so a supervisor can poll.
    let dir = tempfile::tempdir().unwrap();
    let (mut child, line, _) = crate::helpers::spawn_server(dir.path(), Stdio::null());
    assert!(line.starts_with("Hearth is running"), "{line}");
    child.kill().unwrap();
    let _ = child.wait();
    std::thread::sleep(Duration::from_millis(1));
}

fn shared_data(name: &str) -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data").join(name);
    p.exists().then_some(p)
}

#[test]
fn eval_matching_reports_json_on_febrl1() {
    let (Some(records), Some(links)) = (shared_data("febrl1.csv"), shared_data("febrl1_links.csv")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = hearth(dir.path())
        .args(["patients", "eval-matching"])
        .arg(&records)
        .arg(&links)
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    let at = |k: &str| line.find(&format!("\"{k}\":")).unwrap_or_else(|| panic!("{k} missing: {line}"));
    assert!(
        at("precision") < at("recall") && at("recall") < at("f1") && at("f1") < at("pairs_predicted"),
        "{line}"
    );
    assert_eq!(v.as_object().unwrap().len(), 4, "{line}");
    assert!(v["f1"].as_f64().unwrap() >= 0.99, "{v}");
    assert!(!dir.path().join("hearth-data").exists(), "no store is touched");
}

#[test]
fn eval_matching_names_the_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.csv"), "rec_id,given_name,surname\nr1,ann,lee\nr2,bob\n").unwrap();
    std::fs::write(dir.path().join("l.csv"), "a,b\nr1,r2\n").unwrap();
    let out = hearth(dir.path()).args(["patients", "eval-matching", "r.csv", "l.csv"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("records line 3") && err.contains("expected 3 fields"), "{err}");
}

#[test]
fn bench_patient_search_loads_queries_and_reports_every_kind() {
    let dir = tempfile::tempdir().unwrap();
    let out = hearth(dir.path())
        .env("TMPDIR", dir.path())
        .args(["bench", "patient-search", "--patients", "200", "--queries", "12", "--seed", "9", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["store"].as_str(), report["patients"].as_u64()), (Some("sqlite"), Some(200)));
    assert!(report["load"]["seconds"].as_f64().is_some_and(|s| s > 0.0), "{report}");
    assert!(report["machine"]["cpus"].as_u64().is_some_and(|n| n > 0), "{report}");
    assert_eq!(report["baseline"]["kind"], "patient_by_id");
    let kinds: Vec<&str> =
        report["kinds"].as_array().unwrap().iter().map(|k| k["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["name", "phone", "email", "mrn", "identifier", "birth_date", "family_prefix", "status"]
    );
    for k in std::iter::once(&report["baseline"]).chain(report["kinds"].as_array().unwrap()) {
        assert_eq!(k["count"], 12, "{k}");
        let ms = |f: &str| k[f].as_f64().unwrap_or_else(|| panic!("{f} in {k}"));
        assert!(
            ms("p50_ms") <= ms("p95_ms") && ms("p95_ms") <= ms("p99_ms") && ms("p99_ms") <= ms("max_ms"),
            "{k}"
        );
        assert!(ms("p99_ratio") > 0.0, "{k}");
        assert!(["pass", "fail"].contains(&k["verdict"].as_str().unwrap()), "{k}");
    }
    // Exact keys always find the patient they were taken from.
    for k in &report["kinds"].as_array().unwrap()[1..5] {
        assert_eq!(k["found"], 1.0, "{k}");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "the temporary database is removed: {left:?}");
}

#[test]
fn reminders_explain_prints_each_decision_local_and_utc() {
    let dir = tempfile::tempdir().unwrap();
    let out = hearth(dir.path())
        .args(["reminders", "explain", "--start", "2026-10-26T09:30", "--zone", "Europe/London"])
        .args([
            "--booked",
            "2026-10-22T12:00",
            "--offsets",
            "48h,24h,2h",
            "--window",
            "09:00-21:00",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows: Vec<(String, String, String, String)> = v["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("-").to_owned();
            (s("send_local"), s("send_utc"), s("decision"), s("reason"))
        })
        .collect();
    let row = |a: &str, b: &str, c: &str, d: &str| (a.to_owned(), b.to_owned(), c.to_owned(), d.to_owned());
    assert_eq!(
        rows,
        [
            // Saturday is summer time, Sunday winter time: the wall clock stays 09:30.
            row("2026-10-24T09:30", "2026-10-24T08:30Z", "send", "in_window"),
            row("2026-10-25T09:30", "2026-10-25T09:30Z", "send", "in_window"),
            // 07:30 on the day is outside the window, which opens after start − 1h.
            row("2026-10-26T09:00", "2026-10-26T09:00Z", "dropped", "too_late"),
        ]
    );

    let bad = hearth(dir.path())
        .args(["reminders", "explain", "--start", "2026-10-26T09:30", "--zone", "Europe/Lundon"])
        .args(["--booked", "2026-10-22T12:00"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("--zone: `Europe/Lundon` is not an IANA time zone")
    );
    let bad = hearth(dir.path())
        .args(["reminders", "explain", "--start", "2026-10-26T09:30", "--zone", "Europe/London"])
        .args(["--booked", "2026-10-22T12:00", "--offsets", "48x"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--offsets: `48x` is not a length"));
}

/// Without rule options, `explain` starts from the organization's stored rule (the only
/// organization of the database in the working directory); options still override it.
#[tokio::test]
async fn reminders_explain_starts_from_the_organizations_rule() {
    let dir = tempfile::tempdir().unwrap();
    let mut admin = hearth(dir.path())
        .args([
            "admin",
            "create",
            "--org",
            "Harbor Clinic",
            "--email",
            "a@harbor.example",
            "--password-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut admin.stdin.take().unwrap(), b"plum tree at dawn 42\n").unwrap();
    assert!(admin.wait().unwrap().success());
    let url = format!("sqlite://{}", dir.path().join("hearth-data/hearth.db").display());
    let store = hearth_store::Store::connect(&url, &hearth_store::StoreOptions::default()).await.unwrap();
    let org = store.sole_organization().await.unwrap().unwrap();
    let text =
        hearth_server::reminders::rules::RuleText { offsets: vec!["72h".into()], ..Default::default() };
    let mut tx = store.begin().await.unwrap();
    tx.put_reminder_rule(&hearth_store::reminders::RuleRow {
        org_id: org,
        scope: "organization".into(),
        scope_key: String::new(),
        rule: serde_json::to_string(&text).unwrap(),
        updated_at: "2026-01-01T00:00:00Z".parse().unwrap(),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    store.close().await;
    let run = |extra: &[&str]| {
        let out = hearth(dir.path())
            .args(["reminders", "explain", "--start", "2026-10-26T09:30", "--zone", "Europe/London"])
            .args(["--booked", "2026-10-20T12:00"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let own = run(&[]);
    assert!(own.contains("the organization's rule: offsets 72h"), "{own}");
    assert!(own.contains("reminder 1 (72h before): due 2026-10-23T09:30"), "{own}");
    let given = run(&["--offsets", "24h"]);
    assert!(given.contains("the organization's rule with the options given: offsets 24h"), "{given}");
}

#[test]
fn bench_survey_page_drives_both_servers_and_reports_the_p99_ratio() {
    let dir = tempfile::tempdir().unwrap();
    let out = hearth(dir.path())
        .env("TMPDIR", dir.path())
        .args(["bench", "survey-page", "--rate", "200", "--seconds", "0.5", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["store"].as_str(), report["rate_per_second"].as_u64()), (Some("sqlite"), Some(200)));
    assert!(report["machine"]["cpus"].as_u64().is_some_and(|n| n > 0), "{report}");
    assert!(report["page_bytes"].as_u64().is_some_and(|b| b > 1000 && b < 50_000), "{report}");
    for side in ["hello", "survey_page"] {
        let l = &report[side];
        let ms = |f: &str| l[f].as_f64().unwrap_or_else(|| panic!("{f} in {l}"));
        assert_eq!(l["errors"], 0, "{l}");
        assert_eq!(l["requests"].as_u64().unwrap() + l["dropped"].as_u64().unwrap(), 100, "{l}");
        assert!(ms("p50_ms") > 0.0 && ms("p50_ms") <= ms("p95_ms") && ms("p95_ms") <= ms("p99_ms"), "{l}");
        assert!(ms("p99_ms") <= ms("max_ms"), "{l}");
    }
    assert!(report["p99_ratio"].as_f64().is_some_and(|r| r > 0.0), "{report}");
    assert_eq!(report["target_ratio"], 3.0);
    assert!(["pass", "fail"].contains(&report["verdict"].as_str().unwrap()));
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "the temporary database is removed: {left:?}");
}
