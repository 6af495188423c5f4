//! Throwaway PostgreSQL databases on a server: created empty, dropped when done. `hearth bench` loads
//! its data sets into them; tests use them through `testing::TestDb`.

use crate::{Store, StoreError, StoreOptions};

/// Creates the empty database `name` on the server `server_url` names (any database URL on that server
/// with rights to create databases); returns the URL of the new database. `name` may hold only
/// lower-case ASCII letters, digits and `_`.
pub async fn create_postgres_database(server_url: &str, name: &str) -> Result<String, StoreError> {
    run_on_server(server_url, &format!(r#"create database "{}""#, checked(name)?)).await?;
    Ok(with_database(server_url, name))
}

/// Drops the database `name` (closing its connections), if it exists.
pub async fn drop_postgres_database(server_url: &str, name: &str) -> Result<(), StoreError> {
    run_on_server(server_url, &format!(r#"drop database if exists "{}" with (force)"#, checked(name)?)).await
}

/// After a bulk load, brings the planner's statistics to where a running Hearth would have them:
/// PostgreSQL `vacuum analyze` (what autovacuum does within minutes), SQLite
/// [`Store::refresh_statistics`] (what the maintenance worker does every minute).
pub async fn settle(store: &Store) -> Result<(), StoreError> {
    match store {
        Store::Sqlite(..) => store.refresh_statistics().await,
        Store::Postgres(p) => {
            sqlx::query("vacuum analyze").execute(p).await?;
            Ok(())
        }
    }
}

/// The disk's durable-commit rate as this store sees it: one-row write transactions committed one
/// after another (each waits for its own flush: SQLite `synchronous=FULL`, PostgreSQL's WAL flush) for
/// `duration`, in a table created for the purpose and dropped after. Returns the commits made and the
/// time they took: the ceiling of anything that commits once per request.
pub async fn durable_commit_rate(
    store: &Store,
    duration: std::time::Duration,
) -> Result<(u64, std::time::Duration), StoreError> {
    const CREATE: &str = "create table if not exists bench_durable_commits (n bigint primary key)";
    const INSERT: &str = "insert into bench_durable_commits (n) values ($1)";
    crate::on_pool!(store, |p| sqlx::query(CREATE).execute(p).await.map(|_| ()))?;
    let started = std::time::Instant::now();
    let mut n: i64 = 0;
    while started.elapsed() < duration {
        let mut tx = store.begin().await?;
        crate::on_tx!(&mut tx, |c| sqlx::query(INSERT).bind(n).execute(c).await.map(|_| ()))?;
        tx.commit().await?;
        n += 1;
    }
    let elapsed = started.elapsed();
    crate::on_pool!(store, |p| sqlx::query("drop table bench_durable_commits").execute(p).await.map(|_| ()))?;
    Ok((u64::try_from(n).unwrap_or(0), elapsed))
}

fn checked(name: &str) -> Result<&str, StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok { Ok(name) } else { Err(StoreError::Config(format!("`{name}` is not a plain database name"))) }
}

async fn run_on_server(server_url: &str, sql: &str) -> Result<(), StoreError> {
    let admin =
        Store::connect(server_url, &StoreOptions { max_connections: 1, ..StoreOptions::default() }).await?;
    let Store::Postgres(pool) = &admin else {
        admin.close().await;
        return Err(StoreError::Config("a throwaway database needs a postgres:// URL".into()));
    };
    let result = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(pool).await;
    admin.close().await;
    result?;
    Ok(())
}

/// Replaces the database name in a PostgreSQL URL, keeping credentials, host and query.
pub fn with_database(url: &str, name: &str) -> String {
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

    #[test]
    fn only_plain_names_reach_sql() {
        assert!(super::checked("hearth_bench_12_3").is_ok());
        for bad in ["", "a\"b", "Upper", "a;drop", &"x".repeat(64)] {
            assert!(super::checked(bad).is_err(), "{bad}");
        }
    }
}
