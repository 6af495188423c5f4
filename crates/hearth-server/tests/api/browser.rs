//! Pages in headless Chromium (tests/browser): the real binary is started in an empty directory, a
//! PX admin is created with the CLI, and a Node/Playwright scenario drives the pages on a phone-sized
//! screen, failing on console errors, CSP violations or requests that leave the machine. Screenshots
//! go to `.ci-artifacts/screenshots/<scenario>/`.
//!
//! Without Chromium, Node or `tests/browser/node_modules` the tests skip with a message, unless
//! `HEARTH_TEST_REQUIRE_BROWSER=1` (CI) makes that a failure.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What is missing for browser tests, if anything.
fn missing() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!("{chromium} (apt-get install chromium)"));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node".into());
    }
    if !workspace().join("tests/browser/node_modules/playwright-core").exists()
        || !workspace().join("tests/browser/node_modules/axe-core").exists()
    {
        return Some("tests/browser/node_modules (cd tests/browser && npm ci)".into());
    }
    None
}

#[allow(clippy::print_stderr)] // a skipped test says why
fn skip_or_fail() -> bool {
    match missing() {
        None => false,
        Some(what) => {
            assert!(
                std::env::var("HEARTH_TEST_REQUIRE_BROWSER").as_deref() != Ok("1"),
                "browser tests required but {what} is missing"
            );
            eprintln!("skipped: browser tests need {what}");
            true
        }
    }
}

struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hearth(dir: &std::path::Path) -> Command {
    crate::helpers::hearth_command(dir)
}

/// Starts Hearth in a fresh directory with a PX admin whose password is `password`.
fn start(email: &str, password: &str) -> Server {
    start_with(email, password, "")
}

/// [`start`] with a `hearth.toml` in the directory.
fn start_with(email: &str, password: &str, toml: &str) -> Server {
    let dir = tempfile::tempdir().unwrap();
    if !toml.is_empty() {
        std::fs::write(dir.path().join("hearth.toml"), toml).unwrap();
    }
    let mut admin = hearth(dir.path())
        .args([
            "admin",
            "create",
            "--org",
            "Riverside Clinic",
            "--email",
            email,
            "--time-zone",
            "America/Chicago",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(admin.stdin.take().unwrap(), "{password}").unwrap();
    assert!(admin.wait().unwrap().success(), "hearth admin create failed");
    let (child, _, url) = crate::helpers::spawn_server(dir.path(), Stdio::null());
    Server { child, url, _dir: dir }
}

/// Runs `scenario` against `base_url` with extra environment; panics with the runner's output on failure.
pub fn run_scenario(base_url: &str, scenario: &str, env: &[(&str, &str)]) {
    let summary = scenario_summary(base_url, scenario, env, "300");
    assert!(summary["shots_taken"].as_u64().unwrap_or(0) > 0, "the scenario took screenshots");
}

/// Runs `scenario` and returns how many times it ran axe-core (each run's violations fail it).
fn run_scenario_with_axe(base_url: &str, scenario: &str, env: &[(&str, &str)]) -> u64 {
    scenario_summary(base_url, scenario, env, "600")["axe_runs"].as_u64().unwrap_or(0)
}

/// Runs the scenario (ended by `timeout` after `limit_secs`, so a hung browser cannot hang the
/// suite); panics unless it passed; returns its summary line.
fn scenario_summary(
    base_url: &str,
    scenario: &str,
    env: &[(&str, &str)],
    limit_secs: &str,
) -> serde_json::Value {
    let shots = workspace().join(".ci-artifacts/screenshots").join(scenario);
    let out = Command::new("timeout")
        .args([limit_secs, "node"])
        .arg(workspace().join("tests/browser/check.mjs"))
        .env("HEARTH_URL", base_url)
        .env("HEARTH_SCENARIO", scenario)
        .env("HEARTH_SCREENSHOTS", &shots)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "scenario {scenario} failed:\n{stderr}\n{stdout}");
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap();
    assert_eq!(summary["ok"], true, "{stdout}");
    summary
}

#[test]
fn start_page_and_api_docs() {
    if skip_or_fail() {
        return;
    }
    let server = start("admin@riverside.example", "plum tree at dawn 42");
    run_scenario(&server.url, "home", &[]);
}

#[test]
fn staff_sign_in_users_keys_audit_and_two_step() {
    if skip_or_fail() {
        return;
    }
    let (email, password) = ("admin@riverside.example", "plum tree at dawn 42");
    let server = start(email, password);
    run_scenario(&server.url, "staff", &[("HEARTH_EMAIL", email), ("HEARTH_PASSWORD", password)]);
}

#[test]
fn patient_add_search_profile_and_consent() {
    if skip_or_fail() {
        return;
    }
    let (email, password) = ("admin@riverside.example", "plum tree at dawn 42");
    let server = start(email, password);
    run_scenario(&server.url, "patients", &[("HEARTH_EMAIL", email), ("HEARTH_PASSWORD", password)]);
}

#[test]
fn appointments_of_the_day_and_a_timeline() {
    if skip_or_fail() {
        return;
    }
    let (email, password) = ("admin@riverside.example", "plum tree at dawn 42");
    let server = start(email, password);
    run_scenario(&server.url, "appointments", &[("HEARTH_EMAIL", email), ("HEARTH_PASSWORD", password)]);
}

#[test]
fn schedule_upload_and_simulator() {
    if skip_or_fail() {
        return;
    }
    let (email, password) = ("admin@riverside.example", "plum tree at dawn 42");
    let server = start(email, password);
    run_scenario(&server.url, "import", &[("HEARTH_EMAIL", email), ("HEARTH_PASSWORD", password)]);
}

#[test]
fn message_templates_preview_and_save() {
    if skip_or_fail() {
        return;
    }
    let (email, password) = ("admin@riverside.example", "plum tree at dawn 42");
    let server = start(email, password);
    run_scenario(&server.url, "templates", &[("HEARTH_EMAIL", email), ("HEARTH_PASSWORD", password)]);
}

#[test]
fn outbox_list_filter_and_one_message() {
    if skip_or_fail() {
        return;
    }
    let (email, password) = ("admin@riverside.example", "plum tree at dawn 42");
    let server = start(email, password);
    run_scenario(&server.url, "outbox", &[("HEARTH_EMAIL", email), ("HEARTH_PASSWORD", password)]);
}

#[test]
fn reminders_replies_and_the_moving_clock() {
    if skip_or_fail() {
        return;
    }
    let (email, password) = ("admin@riverside.example", "plum tree at dawn 42");
    let server = start_with(email, password, "[simulator]\nclock = true\n");
    run_scenario(&server.url, "reminders", &[("HEARTH_EMAIL", email), ("HEARTH_PASSWORD", password)]);
}

/// Every built-in survey in English, Spanish and Arabic, filled and sent by keyboard on a phone, with
/// axe-core (WCAG 2.0/2.1 A and AA) on every form, error, thank-you and results page.
#[test]
fn surveys_by_keyboard_in_every_language_and_results_pass_axe() {
    if skip_or_fail() {
        return;
    }
    let (email, password) = ("admin@riverside.example", "plum tree at dawn 42");
    let server = start(email, password);
    let runs = run_scenario_with_axe(
        &server.url,
        "surveys",
        &[("HEARTH_EMAIL", email), ("HEARTH_PASSWORD", password)],
    );
    // 9 forms + 9 thank-you pages + 4 error states + the list + 3 results pages + a refused filter.
    assert!(runs >= 27, "axe ran {runs} times");
}
