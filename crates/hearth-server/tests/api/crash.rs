//! Durability of ingest: the real `hearth` binary is killed with SIGKILL in the middle of a load
//! from concurrent clients (single events and batches, sharing commits), then restarted on the same
//! database. Every event answered 202 before the kill is there exactly once; sending everything
//! again (what an EHR does with the events it got no answer for) answers the acknowledged ones as
//! replays and leaves every event exactly once.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_core::ApiScope;
use hearth_server::app::{App, Deps, Roles};
use hearth_server::config::Overrides;
use hearth_store::Store;
use hearth_store::testing::TestDb;
use serde_json::{Value, json};

mod ingest_killed_mid_load {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::killed_mid_load(hearth_store::testing::TestDb::sqlite()).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Some(db) = hearth_store::testing::TestDb::postgres().await else {
            eprintln!("skipped: {} is not set", hearth_store::testing::POSTGRES_URL_VAR);
            return;
        };
        super::killed_mid_load(db).await;
    }
}

/// Clients sending at once; each sends single events and batches of five in turn.
const CLIENTS: usize = 12;
/// The server is killed once this many events were acknowledged.
const KILL_AFTER: usize = 150;

fn env(db_url: &str) -> Vec<(String, String)> {
    vec![("HEARTH_DATABASE_URL".into(), db_url.into())]
}

async fn seed(dir: &std::path::Path, db_url: &str) -> String {
    let overrides = Overrides { data_dir: Some(dir.join("hearth-data")), ..Overrides::default() };
    let (config, _) = hearth_server::config::load(&overrides, &env(db_url)).unwrap();
    let app = App::build(config, Deps::production(), Roles { web: false, workers: false }).await.unwrap();
    let state = app.state().clone();
    let org = hearth_core::OrgId::new();
    let new = hearth_store::organizations::NewOrganization {
        id: org,
        name: "Crash Clinic",
        time_zone: "America/Chicago",
        now: state.clock.now(),
    };
    state.store.create_organization(&new).await.unwrap();
    let actor = hearth_server::auth::Actor::system(org, "test seed");
    let input =
        hearth_server::api_keys::CreateApiKeyInput { name: "ehr".into(), scopes: vec![ApiScope::Ingest] };
    let key = hearth_server::api_keys::create(&state, &actor, input).await.unwrap().key;
    state.store.close().await;
    key
}

/// `hearth` on an ephemeral port, on the test's database; its base URL.
fn start(dir: &std::path::Path, db_url: &str) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = crate::helpers::hearth_command(dir)
        .env("HEARTH_DATABASE_URL", db_url)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hearth");
    let mut banner = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut banner).expect("banner");
    let url = banner.split_whitespace().find(|w| w.starts_with("http://")).expect("the banner names the URL");
    (child, url.trim_end_matches('/').to_owned())
}

fn booked(id: &str, n: usize) -> Value {
    json!({"event_type": "BOOKED", "source_message_id": id, "patient_id": format!("P-{id}"),
        "patient_first_name": "Ana", "patient_last_name": format!("Crash{id}"),
        "patient_phone": format!("+1312555{:04}", n % 10_000), "appointment_id": format!("A-{id}"),
        "appointment_datetime": "2030-03-10T09:30:00", "appointment_timezone": "America/Chicago",
        "appointment_location": "Main", "provider_id": "P-1", "provider_last_name": "Okafor",
        "event_datetime_utc": "2026-02-01T10:00:00Z"})
}

/// Every event's body (by id) that was sent, and the ids answered 202.
#[derive(Default)]
struct Ledger {
    sent: BTreeMap<String, Value>,
    acked: BTreeSet<String>,
}

async fn post(client: &reqwest::Client, url: &str, key: &str, body: &Value) -> Option<Value> {
    let res = client
        .post(format!("{url}/api/v1/ingest/appointment-events"))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .ok()?;
    if res.status() != 202 {
        return None;
    }
    res.json().await.ok()
}

async fn killed_mid_load(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let key = seed(dir.path(), db.url()).await;
    let (mut server, url) = start(dir.path(), db.url());
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();

    let mut clients = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        let (client, url, key, ledger) = (client.clone(), url.clone(), key.clone(), ledger.clone());
        clients.spawn(async move {
            for n in 0.. {
                let size = if n % 2 == 0 { 1 } else { 5 };
                let events: Vec<Value> =
                    (0..size).map(|i| booked(&format!("c{c}-{n}-{i}"), c * 1000 + n * 5 + i)).collect();
                {
                    let mut l = ledger.lock().unwrap();
                    for e in &events {
                        l.sent.insert(e["source_message_id"].as_str().unwrap().to_owned(), e.clone());
                    }
                }
                let Some(answer) = post(&client, &url, &key, &Value::Array(events.clone())).await else {
                    return; // the server is gone
                };
                let results = answer["results"].as_array().expect("results");
                assert_eq!(results.len(), events.len(), "{answer}");
                let mut l = ledger.lock().unwrap();
                for (e, r) in events.iter().zip(results) {
                    assert_eq!(r["result"], "created", "{r}");
                    l.acked.insert(e["source_message_id"].as_str().unwrap().to_owned());
                }
            }
        });
    }
    // Kill in the middle: once enough were acknowledged, while the clients keep sending.
    for _ in 0..600 {
        if ledger.lock().unwrap().acked.len() >= KILL_AFTER {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    server.kill().expect("SIGKILL"); // std's kill() is SIGKILL on Unix
    server.wait().unwrap();
    while let Some(done) = clients.join_next().await {
        done.expect("a client failed an assertion");
    }
    let (sent, acked) = {
        let l = ledger.lock().unwrap();
        (l.sent.clone(), l.acked.clone())
    };
    assert!(acked.len() >= KILL_AFTER, "only {} events were acknowledged before the kill", acked.len());
    assert!(sent.len() > acked.len(), "the kill came after the load: nothing was in flight");

    // After a restart (which also recovers the WAL / runs crash recovery): every acknowledged event is
    // there once, with its appointment.
    let (mut server, url) = start(dir.path(), db.url());
    let store = db.store().await;
    let counts = event_counts(&store).await;
    for id in &acked {
        assert_eq!(counts.get(id), Some(&1), "acknowledged event {id} must be stored exactly once");
    }
    assert!(counts.values().all(|n| *n == 1), "no event stored twice");
    let appointments = appointment_ids(&store).await;
    for id in &acked {
        assert!(appointments.contains(&format!("A-{id}")), "the appointment of {id} exists");
    }
    if let Store::Sqlite(p, _) = &store {
        let check: String = sqlx::query_scalar("pragma integrity_check").fetch_one(p).await.unwrap();
        assert_eq!(check, "ok");
    }

    // The EHR sends again everything it is unsure of (here: all of it).
    let bodies: Vec<Value> = sent.values().cloned().collect();
    for chunk in bodies.chunks(100) {
        let answer =
            post(&client, &url, &key, &Value::Array(chunk.to_vec())).await.expect("202 after restart");
        for (e, r) in chunk.iter().zip(answer["results"].as_array().unwrap()) {
            let id = e["source_message_id"].as_str().unwrap();
            if acked.contains(id) {
                assert_eq!(r["replayed"], true, "{id} was acknowledged before: a replay: {r}");
            }
            assert_ne!(r["result"], "rejected", "{r}");
        }
    }
    let counts = event_counts(&store).await;
    assert_eq!(counts.len(), sent.len(), "every event sent is stored");
    assert!(counts.values().all(|n| *n == 1), "each exactly once");
    assert_eq!(appointment_ids(&store).await.len(), sent.len(), "one appointment per booking");
    store.close().await;
    server.kill().unwrap();
    server.wait().unwrap();
}

async fn event_counts(store: &Store) -> BTreeMap<String, i64> {
    const SQL: &str = "select source_message_id, count(*) from appointment_events group by source_message_id";
    let rows: Vec<(String, i64)> = match store {
        Store::Sqlite(p, _) => sqlx::query_as(SQL).fetch_all(p).await.unwrap(),
        Store::Postgres(p) => sqlx::query_as(SQL).fetch_all(p).await.unwrap(),
    };
    rows.into_iter().collect()
}

async fn appointment_ids(store: &Store) -> BTreeSet<String> {
    const SQL: &str = "select external_id from appointments";
    let rows: Vec<String> = match store {
        Store::Sqlite(p, _) => sqlx::query_scalar(SQL).fetch_all(p).await.unwrap(),
        Store::Postgres(p) => sqlx::query_scalar(SQL).fetch_all(p).await.unwrap(),
    };
    rows.into_iter().collect()
}
