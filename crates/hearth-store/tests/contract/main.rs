//! The store contract: every test here runs on SQLite (always) and on PostgreSQL (when
//! `HEARTH_TEST_POSTGRES_URL` is set; CI sets it and fails if these tests were skipped).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod duplicates;
mod foundation;
mod merges;
mod patient_search;
mod staff;

/// Expands each name to a module with a `sqlite` and a `postgres` test, both calling the same
/// `async fn name(store: Store)`.
macro_rules! contract {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = hearth_store::testing::TestDb::sqlite();
                super::$name(db.store().await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = hearth_store::testing::TestDb::postgres().await else {
                    eprintln!("skipped: {} is not set", hearth_store::testing::POSTGRES_URL_VAR);
                    return;
                };
                let store = db.store().await;
                super::$name(store.clone()).await;
                store.close().await;
            }
        }
    )+};
}
pub(crate) use contract;
