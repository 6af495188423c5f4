//! Throwaway databases for tests: a SQLite file in a temporary directory (always), or a fresh
//! PostgreSQL database created on the server named by `HEARTH_TEST_POSTGRES_URL` and dropped after.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::{Store, StoreOptions};

/// The environment variable naming a PostgreSQL server for tests (an admin URL, e.g.
/// `postgres://postgres@127.0.0.1:5432/postgres`). Unset: the PostgreSQL half of each test is skipped.
pub const POSTGRES_URL_VAR: &str = "HEARTH_TEST_POSTGRES_URL";

/// Set to `1` (CI does) to make a missing `HEARTH_TEST_POSTGRES_URL` fail the PostgreSQL half of every
/// test instead of skipping it.
pub const REQUIRE_POSTGRES_VAR: &str = "HEARTH_TEST_REQUIRE_POSTGRES";

pub enum TestDb {
    Sqlite { _dir: tempfile::TempDir, url: String },
    Postgres { admin_url: String, name: String, url: String },
}

impl TestDb {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("hearth.db").display());
        Self::Sqlite { _dir: dir, url }
    }

    /// A fresh database, or `None` when `HEARTH_TEST_POSTGRES_URL` is unset. When it is set the server
    /// must answer: a broken PostgreSQL fails the test instead of skipping it.
    pub async fn postgres() -> Option<Self> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let Some(admin_url) = std::env::var(POSTGRES_URL_VAR).ok().filter(|s| !s.is_empty()) else {
            assert!(
                std::env::var(REQUIRE_POSTGRES_VAR).as_deref() != Ok("1"),
                "{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is not set: the PostgreSQL tests would be skipped"
            );
            return None;
        };
        let name = format!(
            "hearth_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            uuid::Uuid::now_v7().simple()
        );
        assert!(
            admin_url.starts_with("postgres:") || admin_url.starts_with("postgresql:"),
            "{POSTGRES_URL_VAR} must be a postgres:// URL"
        );
        let url = crate::scratch::create_postgres_database(&admin_url, &name).await.unwrap_or_else(|e| {
            panic!("{POSTGRES_URL_VAR} is set but no test database could be created: {e}")
        });
        Some(Self::Postgres { admin_url, name, url })
    }

    pub fn url(&self) -> &str {
        match self {
            Self::Sqlite { url, .. } | Self::Postgres { url, .. } => url,
        }
    }

    /// A migrated store on this database, with a small pool (many tests run at once).
    pub async fn store(&self) -> Store {
        let store =
            Store::connect(self.url(), &StoreOptions { max_connections: 4, ..StoreOptions::default() })
                .await
                .expect("connect to the test database");
        store.migrate().await.expect("migrate the test database");
        store
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Self::Postgres { admin_url, name, .. } = self {
            let (url, name) = (admin_url.clone(), name.clone());
            // Drop cannot await; a short-lived thread with its own runtime does the cleanup.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                    return;
                };
                rt.block_on(async move {
                    let _ = crate::scratch::drop_postgres_database(&url, &name).await;
                });
            })
            .join();
        }
    }
}
