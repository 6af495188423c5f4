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
        let admin =
            Store::connect(&admin_url, &StoreOptions { max_connections: 1, ..StoreOptions::default() })
                .await
                .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR} is set but PostgreSQL is unreachable: {e}"));
        let Store::Postgres(pool) = &admin else { panic!("{POSTGRES_URL_VAR} must be a postgres:// URL") };
        sqlx::query(sqlx::AssertSqlSafe(format!(r#"create database "{name}""#)))
            .execute(pool)
            .await
            .expect("create a test database");
        admin.close().await;
        let url = with_database(&admin_url, &name);
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
                    if let Ok(Store::Postgres(pool)) =
                        Store::connect(&url, &StoreOptions { max_connections: 1, ..StoreOptions::default() })
                            .await
                    {
                        let sql = format!(r#"drop database if exists "{name}" with (force)"#);
                        let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await;
                        pool.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// Replaces the database name in a PostgreSQL URL, keeping credentials, host and query.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_is_replaced_in_place() {
        assert_eq!(
            super::with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            super::with_database("postgres://u:p@h/db?sslmode=disable", "t2"),
            "postgres://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(super::with_database("postgresql://localhost", "t3"), "postgresql://localhost/t3");
    }
}
