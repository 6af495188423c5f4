//! SQLite-only promises: the file is created on first use with WAL, synchronous=FULL and foreign keys.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use hearth_store::{Store, StoreOptions};

#[tokio::test]
async fn sqlite_is_created_with_durable_settings() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested/dir/hearth.db");
    let store =
        Store::connect(&format!("sqlite://{}", file.display()), &StoreOptions::default()).await.unwrap();
    assert!(file.exists(), "database file and its directory are created on first run");
    let Store::Sqlite(pool, _) = &store else { unreachable!() };
    let journal: String = sqlx::query_scalar("pragma journal_mode").fetch_one(pool).await.unwrap();
    let sync: i64 = sqlx::query_scalar("pragma synchronous").fetch_one(pool).await.unwrap();
    let fk: i64 = sqlx::query_scalar("pragma foreign_keys").fetch_one(pool).await.unwrap();
    assert_eq!((journal.as_str(), sync, fk), ("wal", 2, 1), "WAL, synchronous=FULL (2), foreign keys on");
    let spill: i64 = sqlx::query_scalar("pragma cache_spill").fetch_one(pool).await.unwrap();
    assert_eq!(spill, 16383, "a large write keeps up to 64 MiB of changed pages until it commits");
    let temp: i64 = sqlx::query_scalar("pragma temp_store").fetch_one(pool).await.unwrap();
    assert_eq!(temp, 2, "savepoint and statement journals are kept in memory");
    assert!(!store.migration_status().await.unwrap().is_current(), "a new file has pending migrations");
}

#[tokio::test]
async fn an_unknown_scheme_is_refused_with_the_expected_forms() {
    let err = Store::connect("mysql://localhost/x", &StoreOptions::default()).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("sqlite:") && msg.contains("postgres:"), "{msg}");
}
