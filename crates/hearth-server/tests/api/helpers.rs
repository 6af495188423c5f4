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
    pub clock: Arc<FakeClock>,
    pub client: reqwest::Client,
    cancel: CancellationToken,
    db: TestDb,
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
        let app = App::build(config, deps, Roles { web: true, workers: true }).await.expect("build the app");
        let addr = app.local_addr().expect("a bound listener");
        let state = app.state().clone();
        let cancel = CancellationToken::new();
        tokio::spawn(app.run_until_stopped(cancel.clone()));
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { addr, state, clock, client, cancel, db }
    }

    pub fn clock_now(&self) -> hearth_core::UtcTime {
        use hearth_core::Clock;
        self.clock.now()
    }

    pub fn database_url(&self) -> String {
        self.db.url().to_owned()
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

/// A signed-in staff member: the session cookie and its CSRF token.
pub struct Staff {
    pub cookie: String,
    pub csrf: String,
}

/// A fresh organization and its id.
pub async fn seed_org(app: &TestApp, name: &str) -> hearth_core::OrgId {
    let id = hearth_core::OrgId::new();
    let new = hearth_store::organizations::NewOrganization {
        id,
        name,
        time_zone: "America/Chicago",
        now: app.clock_now(),
    };
    app.state.store.create_organization(&new).await.unwrap();
    id
}

pub const PASSWORD: &str = "plum tree at dawn 42";

/// Creates a user with a known password; returns (id, e-mail).
pub async fn seed_user(
    app: &TestApp,
    org: hearth_core::OrgId,
    role: hearth_core::Role,
    department: Option<hearth_core::LocationId>,
) -> (hearth_core::UserId, String) {
    let email =
        format!("{}-{}@clinic.example", role.as_str().replace('_', "-"), uuid::Uuid::now_v7().simple());
    let input = hearth_server::staff::CreateUserInput {
        email: email.clone(),
        display_name: format!("Test {}", role.label()),
        role,
        department_id: department,
        password: Some(PASSWORD.into()),
    };
    let actor = hearth_server::auth::Actor::system(org, "test seed");
    let created = hearth_server::staff::create(&app.state, &actor, input).await.unwrap();
    (created.user.id, email)
}

/// Creates an API key with the given scopes; returns the key.
pub async fn seed_api_key(
    app: &TestApp,
    org: hearth_core::OrgId,
    scopes: &[hearth_core::ApiScope],
) -> (hearth_core::ApiKeyId, String) {
    let actor = hearth_server::auth::Actor::system(org, "test seed");
    let input =
        hearth_server::api_keys::CreateApiKeyInput { name: "test key".into(), scopes: scopes.to_vec() };
    let created = hearth_server::api_keys::create(&app.state, &actor, input).await.unwrap();
    (created.api_key.id, created.key)
}

/// The value of `name=` in a page's hidden inputs.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..].split('"').next()?.to_owned())
}

/// The cookie `name` from a response's Set-Cookie headers.
pub fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        v.strip_prefix(&format!("{name}=")).map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
    })
}

impl TestApp {
    /// Submits the sign-in form as a browser would; returns the response (a redirect on success).
    pub async fn submit_login(&self, email: &str, password: &str) -> reqwest::Response {
        let page = self.get("/login").await;
        let csrf_cookie = set_cookie(&page, "hearth_csrf").expect("the sign-in page sets a CSRF cookie");
        let html = page.text().await.unwrap();
        let csrf = hidden_field(&html, "csrf").expect("the sign-in form carries a CSRF field");
        self.client
            .post(self.url("/login"))
            .header("cookie", format!("hearth_csrf={csrf_cookie}"))
            .form(&[("csrf", csrf.as_str()), ("email", email), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    /// Signs in (no second factor) and returns the session.
    pub async fn login(&self, email: &str, password: &str) -> Staff {
        let res = self.submit_login(email, password).await;
        assert_eq!(res.status(), 303, "sign-in of {email} should redirect");
        let cookie = set_cookie(&res, "hearth_session").expect("a session cookie");
        let me = self
            .client
            .get(self.url("/api/v1/me"))
            .header("cookie", format!("hearth_session={cookie}"))
            .send()
            .await
            .unwrap();
        let me = json(me, 200).await;
        let csrf = me["csrf_token"].as_str().expect("a session has a CSRF token").to_owned();
        Staff { cookie, csrf }
    }

    /// A request as `staff` (cookie and CSRF header).
    pub fn as_staff(&self, staff: &Staff, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("cookie", format!("hearth_session={}", staff.cookie))
            .header("x-csrf-token", &staff.csrf)
    }

    /// A request with an API key.
    pub fn as_key(&self, key: &str, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path)).bearer_auth(key)
    }
}

/// The `hearth` binary in `dir` with a clean environment: nothing inherited may configure it.
pub fn hearth_command(dir: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"));
    cmd.current_dir(dir).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd
}

/// Starts `hearth --listen 127.0.0.1:0` in `dir`; returns the process, its banner (the first line
/// on stdout) and the base URL the banner names, without a trailing slash.
pub fn spawn_server(
    dir: &std::path::Path,
    stderr: std::process::Stdio,
) -> (std::process::Child, String, String) {
    use std::io::BufRead;
    let mut child = hearth_command(dir)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start hearth");
    let mut banner = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut banner)
        .expect("read the banner");
    let url = banner.split_whitespace().find(|w| w.starts_with("http://")).expect("the banner names the URL");
    let url = url.trim_end_matches('/').to_owned();
    (child, banner, url)
}
