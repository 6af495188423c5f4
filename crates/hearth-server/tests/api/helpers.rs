//! `TestApp`: the real application on an ephemeral port with a throwaway store, a fake clock and an
//! HTTP client.

use std::net::SocketAddr;
use std::sync::Arc;

use hearth_core::FakeClock;
use hearth_server::app::{App, Deps, Roles};
use hearth_server::config::Config;
use hearth_server::state::AppState;
use hearth_store::testing::TestDb;
use tokio_util::sync::CancellationToken;

pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    #[allow(dead_code)] // read by the time-dependent tests of later modules
    pub clock: Arc<FakeClock>,
    pub client: reqwest::Client,
    cancel: CancellationToken,
    _db: TestDb,
}

/// Expands each name to `<name>::sqlite` and `<name>::postgres`, both calling `async fn name(app)`.
macro_rules! both {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::helpers::TestApp::spawn(hearth_store::testing::TestDb::sqlite()).await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = hearth_store::testing::TestDb::postgres().await else {
                    eprintln!("skipped: {} is not set", hearth_store::testing::POSTGRES_URL_VAR);
                    return;
                };
                super::$name(crate::helpers::TestApp::spawn(db).await).await;
            }
        }
    )+};
}
pub(crate) use both;

impl TestApp {
    pub async fn spawn(db: TestDb) -> Self {
        Self::spawn_with(db, |_| {}).await
    }

    /// Spawns with a configuration adjusted by `tweak`.
    pub async fn spawn_with(db: TestDb, tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::for_tests(db.url());
        tweak(&mut config);
        let clock = Arc::new(FakeClock::at_str("2026-01-06T09:00:00Z"));
        let deps = Deps { clock: clock.clone() };
        let app = App::build(
            config,
            deps,
            Roles {
                web: true,
                workers: true,
            },
        )
        .await
        .expect("build the app");
        let addr = app.local_addr().expect("a bound listener");
        let state = app.state().clone();
        let cancel = CancellationToken::new();
        tokio::spawn(app.run_until_stopped(cancel.clone()));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            addr,
            state,
            clock,
            client,
            cancel,
            _db: db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// A request with a raw body and content type (for malformed-input tests).
    pub async fn send_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .request(method, self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The JSON body of a response, asserting the status first.
pub async fn json(res: reqwest::Response, status: u16) -> serde_json::Value {
    let got = res.status().as_u16();
    let text = res.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}
