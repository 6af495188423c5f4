//! `hearth simulate` against the real binary: a server started in an empty directory, an organization
//! and API keys seeded into its database, then the simulator run twice with the same seed (the second
//! run is answered as replays), with a key lacking the `ingest` scope, and against a closed port.

use std::process::{Output, Stdio};

use hearth_core::ApiScope;
use hearth_server::app::{App, Deps, Roles};
use hearth_server::config::Overrides;

/// Creates the organization and one API key per scope list in the store `hearth` will use in `dir`
/// (`./hearth-data`), before the server starts; returns the keys.
async fn seed(dir: &std::path::Path, keys: &[&[ApiScope]]) -> Vec<String> {
    let overrides = Overrides { data_dir: Some(dir.join("hearth-data")), ..Overrides::default() };
    let (config, _) = hearth_server::config::load(&overrides, &[]).unwrap();
    let app = App::build(config, Deps::production(), Roles { web: false, workers: false }).await.unwrap();
    let state = app.state().clone();
    let org = hearth_core::OrgId::new();
    let new = hearth_store::organizations::NewOrganization {
        id: org,
        name: "Simulated Clinic",
        time_zone: "America/Chicago",
        now: state.clock.now(),
    };
    state.store.create_organization(&new).await.unwrap();
    let actor = hearth_server::auth::Actor::system(org, "test seed");
    let mut out = Vec::new();
    for scopes in keys {
        let input =
            hearth_server::api_keys::CreateApiKeyInput { name: "simulator".into(), scopes: scopes.to_vec() };
        out.push(hearth_server::api_keys::create(&state, &actor, input).await.unwrap().key);
    }
    state.store.close().await;
    out
}

fn simulate(dir: &std::path::Path, key: &str, args: &[&str]) -> Output {
    crate::helpers::hearth_command(dir)
        .env("HEARTH_SIMULATE_API_KEY", key)
        .arg("simulate")
        .args(args)
        .output()
        .unwrap()
}

fn report(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {text}\nstderr: {}", String::from_utf8_lossy(&out.stderr))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_plays_an_ehr_against_a_running_hearth_and_a_second_run_is_a_replay() {
    let dir = tempfile::tempdir().unwrap();
    let keys = seed(dir.path(), &[&[ApiScope::Ingest], &[ApiScope::Read]]).await;
    let (ingest, read_only) = (&keys[0], &keys[1]);
    let (mut server, _, url) = crate::helpers::spawn_server(dir.path(), Stdio::null());

    // First run: every event applied; each patient's appointment created once, then updated.
    let first = simulate(dir.path(), ingest, &["--url", &url, "--patients", "2", "--seed", "7", "--json"]);
    assert_eq!(first.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&first.stderr));
    let r = report(&first);
    let script_len = 6; // book, confirm, reschedule, modify, arrive, visit-end
    assert_eq!(r["sent"], 2 * script_len, "{r}");
    assert_eq!(r["created"], 2, "{r}");
    assert_eq!(r["updated"], 2 * script_len - 2, "{r}");
    for k in ["unchanged", "stale", "ignored", "rejected", "replayed", "failed"] {
        assert_eq!(r[k], 0, "{k}: {r}");
    }
    // The counts come first, in this order, then the events.
    let line = String::from_utf8_lossy(&first.stdout);
    let at = |k: &str| line.find(&format!("\"{k}\":")).unwrap_or_else(|| panic!("{k} missing: {line}"));
    let order = [
        "sent",
        "created",
        "updated",
        "unchanged",
        "stale",
        "ignored",
        "rejected",
        "replayed",
        "failed",
        "events",
    ];
    assert!(order.windows(2).all(|w| at(w[0]) < at(w[1])), "{line}");
    let events = r["events"].as_array().unwrap();
    assert_eq!(events.len(), 12);
    assert_eq!(events[0]["event_type"], "BOOKED");
    assert_eq!(events[0]["result"], "created");
    assert_eq!(events[0]["status"], "booked");
    assert_eq!(events[0]["http_status"], 202);
    assert!(events[0]["notices"].as_array().is_some_and(|n| !n.is_empty()), "{}", events[0]);
    let last = &events[11];
    assert_eq!(
        (last["event_type"].as_str(), last["status"].as_str()),
        (Some("FULFILLED"), Some("fulfilled"))
    );
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(!stdout.contains(ingest.as_str()), "the key is never printed");

    // Same seed again: every event is a replay, nothing changes.
    let second = simulate(dir.path(), ingest, &["--url", &url, "--patients", "2", "--seed", "7", "--json"]);
    assert_eq!(second.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&second.stderr));
    let r2 = report(&second);
    assert_eq!(
        (r2["sent"].as_u64(), r2["replayed"].as_u64(), r2["unchanged"].as_u64()),
        (Some(12), Some(12), Some(12))
    );
    assert_eq!((r2["created"].as_u64(), r2["updated"].as_u64()), (Some(0), Some(0)), "{r2}");
    for (a, b) in events.iter().zip(r2["events"].as_array().unwrap()) {
        assert_eq!(b["replayed"], true);
        assert_eq!(a["appointment_id"], b["appointment_id"], "answered as the first time");
        assert_eq!(a["status"], b["status"]);
    }

    // Text output, another seed and script: new patients, a line per event and a summary.
    let text = crate::helpers::hearth_command(dir.path())
        .args(["simulate", "--url", &url, "--api-key", ingest, "--patients", "1", "--seed", "8"])
        .args(["--script", "book,cancel"])
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&text.stderr));
    let out = String::from_utf8_lossy(&text.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].contains("BOOKED") && lines[0].contains("created: booked"), "{out}");
    assert!(lines[1].contains("CANCELED") && lines[1].contains("cancelled"), "{out}");
    assert!(lines[2].starts_with("sent 2 events") && lines[2].contains("1 created"), "{out}");

    // Every step the simulator knows, in one script: all valid on the wire, none rejected.
    let all = "book,confirm,reschedule,modify,cancel,noshow,arrive,visit-end";
    let full = simulate(
        dir.path(),
        ingest,
        &["--url", &url, "--patients", "3", "--seed", "9", "--script", all, "--json"],
    );
    assert_eq!(full.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&full.stderr));
    let r3 = report(&full);
    assert_eq!((r3["sent"].as_u64(), r3["created"].as_u64()), (Some(24), Some(3)), "{r3}");
    assert_eq!((r3["rejected"].as_u64(), r3["failed"].as_u64()), (Some(0), Some(0)), "{r3}");
    let types: Vec<&str> = r3["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["patient"] == 1)
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["BOOKED", "CONFIRMED", "RESCHEDULED", "MODIFIED", "CANCELED", "NOSHOWED", "ARRIVED", "FULFILLED"]
    );

    // A key without the ingest scope: refused, saying so, and the key is not echoed.
    let refused = simulate(dir.path(), read_only, &["--url", &url, "--patients", "1"]);
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("`ingest` scope"), "{err}");
    assert!(!err.contains(read_only.as_str()), "{err}");
    // No key at all.
    let none = crate::helpers::hearth_command(dir.path()).args(["simulate", "--url", &url]).output().unwrap();
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("HEARTH_SIMULATE_API_KEY"));

    server.kill().unwrap();
    let _ = server.wait();

    // Nothing listening: the error names the URL and what to check; no panic.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let down = simulate(dir.path(), ingest, &["--url", &closed]);
    assert_eq!(down.status.code(), Some(2));
    let err = String::from_utf8_lossy(&down.stderr);
    assert!(err.contains(&closed) && err.contains("is Hearth running"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
