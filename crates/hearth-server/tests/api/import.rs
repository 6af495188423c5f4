//! `hearth import schedule` as an integration engineer runs it against a live database: a dry run
//! that writes nothing, an import, the same file again changing nothing, the next day's export
//! updating what changed, and bad lines named by number while the good ones go in.

use std::path::{Path, PathBuf};

use hearth_store::appointments::AppointmentFilter;
use serde_json::Value;

use crate::helpers::{TestApp, both, seed_org};

both!(
    a_schedule_imports_once_and_the_same_file_again_changes_nothing,
    bad_lines_are_named_and_the_good_rows_are_imported,
    a_bad_mapping_or_header_or_organization_stops_before_anything_is_read,
);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schedules").join(name)
}

fn example_mapping() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/schedule-mapping.example.toml")
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

/// Runs `hearth import schedule ARGS…` against the test app's database.
async fn import(app: &TestApp, args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = crate::helpers::hearth_command(dir.path());
    cmd.env("HEARTH_DATABASE_URL", app.database_url()).args(["import", "schedule"]).args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn counts(v: &Value) -> [u64; 7] {
    ["rows", "creates", "updates", "unchanged", "ignored", "skipped", "errors"]
        .map(|k| v[k].as_u64().unwrap())
}

async fn appointment_count(app: &TestApp, org: hearth_core::OrgId) -> usize {
    let filter = AppointmentFilter { limit: 1000, ..AppointmentFilter::default() };
    app.state.store.list_appointments(org, &filter).await.unwrap().len()
}

async fn a_schedule_imports_once_and_the_same_file_again_changes_nothing(app: TestApp) {
    let org = seed_org(&app, "North Clinic").await;
    let mapping = example_mapping();
    let (day1, day2) = (fixture("day1.csv"), fixture("day2.csv"));
    let m = path(&mapping);

    let dry = import(&app, &[path(&day1), "--mapping", m, "--dry-run", "--json"]).await;
    assert_eq!(dry.code, Some(0), "{}\n{}", dry.stdout, dry.stderr);
    let v = dry.json();
    assert_eq!(counts(&v), [6, 5, 0, 0, 0, 1, 0], "{v:#}");
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["organization"], "North Clinic");
    let lines: Vec<(u64, &str)> = v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["line"].as_u64().unwrap(), l["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        lines,
        [(2, "created"), (3, "created"), (4, "created"), (6, "created"), (7, "created"), (8, "skipped")],
        "line numbers count the blank line"
    );
    assert_eq!(appointment_count(&app, org).await, 0, "a dry run writes nothing");
    let again = import(&app, &[path(&day1), "--mapping", m, "--dry-run", "--json"]).await;
    assert_eq!(counts(&again.json()), [6, 5, 0, 0, 0, 1, 0], "still all new: the dry run wrote nothing");

    let first = import(&app, &[path(&day1), "--mapping", m, "--json"]).await;
    assert_eq!(first.code, Some(0), "{}\n{}", first.stdout, first.stderr);
    assert_eq!(counts(&first.json()), [6, 5, 0, 0, 0, 1, 0]);
    assert_eq!(appointment_count(&app, org).await, 5);
    let statuses: Vec<String> = first.json()["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["status"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(statuses, ["booked", "booked", "booked", "booked", "fulfilled"], "Seen → fulfilled");

    let second = import(&app, &[path(&day1), "--mapping", m, "--json"]).await;
    assert_eq!(second.code, Some(0));
    assert_eq!(counts(&second.json()), [6, 0, 0, 5, 0, 1, 0], "re-importing the same file changes nothing");
    assert_eq!(appointment_count(&app, org).await, 5);

    // The next day's export: one cancellation, one new time, one new booking, three as before.
    let preview = import(&app, &[path(&day2), "--mapping", m, "--dry-run"]).await;
    assert_eq!(preview.code, Some(0), "{}\n{}", preview.stdout, preview.stderr);
    assert!(preview.stdout.contains("line 3: A-1002 would be updated"), "{}", preview.stdout);
    assert!(preview.stdout.contains("line 7: A-1005 would be created"), "{}", preview.stdout);
    assert!(
        preview
            .stdout
            .contains("6 rows — 1 to create, 2 to update, 3 unchanged, 0 ignored, 0 skipped, 0 with errors"),
        "{}",
        preview.stdout
    );
    assert!(preview.stdout.contains("dry run, nothing written"), "{}", preview.stdout);
    let next = import(&app, &[path(&day2), "--mapping", m, "--json"]).await;
    assert_eq!(counts(&next.json()), [6, 1, 2, 3, 0, 0, 0]);
    let cancelled =
        AppointmentFilter { status: Some("cancelled".into()), limit: 10, ..AppointmentFilter::default() };
    let rows = app.state.store.list_appointments(org, &cancelled).await.unwrap();
    assert_eq!(rows.iter().map(|r| r.external_id.as_str()).collect::<Vec<_>>(), ["A-1002"]);
    assert_eq!(rows[0].source, "clinic-csv");
    assert_eq!(appointment_count(&app, org).await, 6);
    let last = import(&app, &[path(&day2), "--mapping", m, "--json"]).await;
    assert_eq!(counts(&last.json()), [6, 0, 0, 6, 0, 0, 0]);

    // Back to the first day's file: A-1002 is booked again and A-1004 back at its first time. Same
    // rows as the first import, but not replays of it: the appointments have moved on since.
    let back = import(&app, &[path(&day1), "--mapping", m, "--json"]).await;
    let v = back.json();
    assert_eq!(counts(&v), [6, 0, 2, 3, 0, 1, 0], "{v:#}");
    let a1002 = v["lines"].as_array().unwrap().iter().find(|l| l["appointment_id"] == "A-1002").unwrap();
    assert_eq!((&a1002["result"], &a1002["status"]), (&Value::from("updated"), &Value::from("booked")));
    let rows = app.state.store.list_appointments(org, &cancelled).await.unwrap();
    assert!(rows.is_empty(), "re-booked: {rows:?}");
    let again = import(&app, &[path(&day1), "--mapping", m, "--json"]).await;
    assert_eq!(counts(&again.json()), [6, 0, 0, 5, 0, 1, 0], "and that file once more changes nothing");
}

async fn bad_lines_are_named_and_the_good_rows_are_imported(app: TestApp) {
    let org = seed_org(&app, "North Clinic").await;
    let mapping = example_mapping();
    let bad = fixture("bad.csv");

    let run = import(&app, &[path(&bad), "--mapping", path(&mapping), "--json"]).await;
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    let v = run.json();
    assert_eq!(counts(&v), [5, 1, 0, 0, 0, 0, 4], "{v:#}");
    let errors: Vec<(u64, &str)> = v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["result"] == "error")
        .map(|l| (l["line"].as_u64().unwrap(), l["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        [(2, "Appt Date/Time"), (3, "Status"), (4, "Cell Phone"), (5, "(row)")],
        "the engine's field errors are named by their column too"
    );
    assert_eq!(appointment_count(&app, org).await, 1, "the good row is in, no bad one half-way");

    let text = import(&app, &[path(&bad), "--mapping", path(&mapping)]).await;
    assert_eq!(text.code, Some(1));
    for expected in [
        "line 2: error: Appt Date/Time: `02/30/2027 09:00 AM` is not a date and time as `%m/%d/%Y %I:%M %p`",
        "line 3: error: Status: `Seen?` is not a status word of the mapping",
        "line 4: error: Cell Phone:",
        "line 5: error: (row): 15 values, but the header has 14 columns",
    ] {
        assert!(text.stdout.contains(expected), "{expected}\n{}", text.stdout);
    }
    assert!(text.stdout.contains("5 rows — 0 created, 0 updated, 1 unchanged"), "{}", text.stdout);
}

async fn a_bad_mapping_or_header_or_organization_stops_before_anything_is_read(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let day1 = fixture("day1.csv");
    let example = std::fs::read_to_string(example_mapping()).unwrap();

    let typo = dir.path().join("typo.toml");
    std::fs::write(
        &typo,
        example.replace("time_zone = \"America/Chicago\"", "time_zone = \"America/Chicgo\""),
    )
    .unwrap();
    let run = import(&app, &[path(&day1), "--mapping", path(&typo)]).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("time_zone: `America/Chicgo` is not an IANA time zone"), "{}", run.stderr);

    let renamed = dir.path().join("renamed.toml");
    std::fs::write(&renamed, example.replace("status = \"Status\"", "status = \"Appt Status\"")).unwrap();
    let run = import(&app, &[path(&day1), "--mapping", path(&renamed)]).await;
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("line 1: Appt Status: no such column in the header (columns.status names it)"),
        "{}",
        run.stderr
    );

    let latin1 = dir.path().join("latin1.csv");
    let mut bytes = std::fs::read(&day1).unwrap();
    let at = bytes.windows(2).position(|w| w == "É".as_bytes()).unwrap();
    bytes.splice(at..at + 2, [0xC9]);
    std::fs::write(&latin1, bytes).unwrap();
    let run = import(&app, &[path(&latin1), "--mapping", path(&example_mapping())]).await;
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("line 7: (file): byte 0xC9 is not UTF-8"), "{}", run.stderr);

    // With no organization, and then with two, the operator is told how to pick.
    let run = import(&app, &[path(&day1), "--mapping", path(&example_mapping())]).await;
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("hearth admin create"), "{}", run.stderr);
    seed_org(&app, "North Clinic").await;
    let south = seed_org(&app, "South Clinic").await;
    let run = import(&app, &[path(&day1), "--mapping", path(&example_mapping()), "--dry-run"]).await;
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("--org") && run.stderr.contains("South Clinic"), "{}", run.stderr);
    let run = import(
        &app,
        &[path(&day1), "--mapping", path(&example_mapping()), "--org", &south.to_string(), "--json"],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.json()["organization"], "South Clinic");
    assert_eq!(appointment_count(&app, south).await, 5);
}
