//! Opening the database named by a URL, with the settings Hearth's durability promises rely on.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Pool settings; the defaults suit one clinic on one machine.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// How long a request waits for a connection before the store counts as unavailable.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { max_connections: 16, acquire_timeout: Duration::from_secs(5) }
    }
}

/// A snapshot of the connection pool, for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

impl Store {
    /// Opens `sqlite:…` or `postgres:…`/`postgresql:…`. SQLite files (and their directory) are created
    /// on first use and run in WAL mode with `synchronous=FULL` and foreign keys on: an acknowledgement
    /// means the data is on disk. They are read through a memory map.
    pub async fn connect(url: &str, opts: &StoreOptions) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::Config(format!("database_url is not a valid SQLite URL: {e}")))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
                // Reads straight from the operating system's file cache rather than through a copy in
                // each connection's small page cache (writes are unchanged): searches at 100,000 patients
                // took a third of the time (BENCHMARKS.md). 0x7fff0000 is the most SQLite maps.
                .pragma("mmap_size", "2147418112")
                // A large write (an ingest commit of thousands of events) keeps up to 64 MiB of changed
                // pages in memory until it commits, rather than writing them to the WAL as soon as the
                // 2 MB page cache is full and again each time they change: batched ingest 15% faster
                // (BENCHMARKS.md). The cache goes back to its usual size after the commit. (16,383, not
                // 16,384: SQLite also reads the number's low byte as "spill or not", and 0 means never.)
                .pragma("cache_spill", "16383")
                // Savepoint and statement journals (the original of each page a request's savepoint or a
                // multi-row statement changes, kept to undo it) stay in memory rather than going to a
                // temporary file past 64 KiB: that file's writes were a tenth of the ingest committer's time.
                .pragma("temp_store", "memory");
            let file = options.get_filename();
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                create_dir(dir)?;
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(opts.max_connections.max(1))
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(options)
                .await?;
            Ok(Self::Sqlite(pool, crate::tx::WriteLock::new()))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::Config(format!("database_url is not a valid PostgreSQL URL: {e}")))?
                .application_name("hearth");
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections.max(1))
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(options)
                .await?;
            Ok(Self::Postgres(pool))
        } else {
            Err(StoreError::Config(
                "database_url must start with `sqlite:` (e.g. sqlite://./hearth-data/hearth.db) or \
                 `postgres:` (e.g. postgres://user@host/db)"
                    .into(),
            ))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(..) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// One round trip to the database.
    pub async fn ping(&self) -> Result<(), StoreError> {
        const SQL: &str = "select 1";
        on_pool!(self, |p| sqlx::query(SQL).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub fn pool_stats(&self) -> PoolStats {
        let (size, idle, max) =
            on_pool!(self, |p| (p.size(), p.num_idle(), p.options().get_max_connections()));
        PoolStats { size, idle: u32::try_from(idle).unwrap_or(u32::MAX), max }
    }

    /// Waits for open connections to finish and closes the pool.
    pub async fn close(&self) {
        on_pool!(self, |p| p.close().await);
    }
}

fn create_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        StoreError::Config(format!("cannot create the database directory {}: {e}", dir.display()))
    })
}

impl Store {
    /// SQLite: a passive WAL checkpoint (never blocks readers or writers). PostgreSQL: nothing to do.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if let Store::Sqlite(p, _) = self {
            sqlx::query("pragma wal_checkpoint(passive)").execute(p).await?;
        }
        Ok(())
    }

    /// SQLite: refreshes the query planner's statistics where they are missing or stale (`PRAGMA
    /// optimize`: a quick, sampled ANALYZE of the tables that grew or shrank a lot since; nothing
    /// otherwise). Without statistics SQLite takes every `org_id = ?` for a selective filter, and may
    /// walk a whole table in name order rather than use the index of a birth date or phone number.
    /// PostgreSQL: nothing to do, autovacuum analyzes.
    pub async fn refresh_statistics(&self) -> Result<(), StoreError> {
        if let Store::Sqlite(p, _) = self {
            sqlx::query("pragma optimize = 0x10002").execute(p).await?;
        }
        Ok(())
    }
}
