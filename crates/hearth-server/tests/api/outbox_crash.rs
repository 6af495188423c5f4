//! Durability of dispatch: the real `hearth` binary sends a batch of messages to a counting loopback
//! provider (in this process; it answers each accepted message late, so messages sit in the window
//! between "provider accepted" and "recorded") and is killed with SIGKILL in the middle. After a
//! restart on the same database every message ends sent, and the provider received each exactly
//! once: the messages caught in the window were reconciled (found at the provider), not resent.
//! Without reconciliation they would be counted twice and the test would fail; it also checks that
//! the window was really hit.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use hearth_core::messaging::Channel;
use hearth_server::app::{App, Deps, Roles};
use hearth_server::config::Overrides;
use hearth_store::Store;
use hearth_store::testing::TestDb;

mod dispatch_killed_mid_batch {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::killed_mid_batch(hearth_store::testing::TestDb::sqlite()).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Some(db) = hearth_store::testing::TestDb::postgres().await else {
            eprintln!("skipped: {} is not set", hearth_store::testing::POSTGRES_URL_VAR);
            return;
        };
        super::killed_mid_batch(db).await;
    }
}

const MESSAGES: u32 = 240;
/// The server is killed once the provider has accepted this many.
const KILL_AFTER: u32 = 60;

async fn seed(dir: &std::path::Path, db_url: &str) {
    let overrides = Overrides { data_dir: Some(dir.join("hearth-data")), ..Overrides::default() };
    let env = vec![("HEARTH_DATABASE_URL".to_owned(), db_url.to_owned())];
    let (config, _) = hearth_server::config::load(&overrides, &env).unwrap();
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
    let mut tx = state.store.begin().await.unwrap();
    for n in 0..MESSAGES {
        let msg = hearth_server::notifications::NewMessage {
            org,
            patient: None,
            channel: Channel::Sms,
            to: format!("+1312555{:04}", 1000 + n),
            from: None,
            subject: None,
            body: format!("Reminder {n}"),
            language: "en".into(),
            purpose: "reminder".into(),
            dedup_key: format!("crash:{n}"),
            cause: None,
            valid_until: None,
            not_before: None,
        };
        hearth_server::notifications::enqueue(&mut tx, &state, msg).await.unwrap();
    }
    tx.commit().await.unwrap();
    state.store.close().await;
}

fn start(dir: &std::path::Path, db_url: &str, provider: &str) -> std::process::Child {
    use std::io::BufRead;
    let mut child = crate::helpers::hearth_command(dir)
        .env("HEARTH_DATABASE_URL", db_url)
        .env("HEARTH_OUTBOX__LOOPBACK_URL", provider)
        .env("HEARTH_OUTBOX__BATCH_SIZE", "20")
        .env("HEARTH_OUTBOX__CONCURRENCY", "10")
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hearth");
    let mut banner = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut banner).expect("banner");
    child
}

async fn statuses(store: &Store) -> BTreeMap<String, String> {
    const SQL: &str = "select dedup_key, status from messages";
    let rows: Vec<(String, String)> = match store {
        Store::Sqlite(p, _) => sqlx::query_as(SQL).fetch_all(p).await.unwrap(),
        Store::Postgres(p) => sqlx::query_as(SQL).fetch_all(p).await.unwrap(),
    };
    rows.into_iter().collect()
}

async fn found_at_provider(store: &Store) -> i64 {
    const SQL: &str = "select count(*) from message_status_history where source = 'reconcile' and reason = 'found_at_provider'";
    match store {
        Store::Sqlite(p, _) => sqlx::query_scalar(SQL).fetch_one(p).await.unwrap(),
        Store::Postgres(p) => sqlx::query_scalar(SQL).fetch_one(p).await.unwrap(),
    }
}

async fn killed_mid_batch(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path(), db.url()).await;
    let (provider, counter) = crate::loopback::start_with_delay(Duration::from_millis(300)).await;
    let mut server = start(dir.path(), db.url(), &provider);
    for _ in 0..1200 {
        if counter.total() >= KILL_AFTER {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill().expect("SIGKILL");
    server.wait().unwrap();
    let accepted_before = counter.total();
    assert!(accepted_before >= KILL_AFTER, "only {accepted_before} accepted before the kill");
    assert!(accepted_before < MESSAGES, "the kill came after the batch");
    let store = db.store().await;
    let before = statuses(&store).await;
    let in_flight = before.values().filter(|s| *s == "sending").count();
    assert!(in_flight > 0, "the kill left messages sending: {before:?}");

    let mut server = start(dir.path(), db.url(), &provider);
    let mut done = BTreeMap::new();
    for _ in 0..600 {
        done = statuses(&store).await;
        if done.values().all(|s| s == "sent" || s == "delivered") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(done.len(), MESSAGES as usize);
    assert!(
        done.values().all(|s| s == "sent" || s == "delivered"),
        "every message ends sent or reconciled: {done:?}"
    );
    let counts = counter.counts();
    assert_eq!(counts.len(), MESSAGES as usize, "the provider received every message");
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    // The crash window was hit: some messages were accepted but not recorded, and reconciliation
    // found them (without it they would have been sent again).
    assert!(found_at_provider(&store).await > 0, "no message was caught between accepted and recorded");
    store.close().await;
}
