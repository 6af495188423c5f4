//! A transaction on either backend, for writes that touch several tables (the change, its history
//! row, its audit row and its outbox rows commit together or not at all).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{Store, StoreError};

pub enum Tx {
    Sqlite(SqliteTx),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// SQLite admits one writer at a time. Writers of this process wait for their turn here, in arrival
/// order, instead of in SQLite's busy handler, which sleeps 1, 2, 5, 10… ms between tries: under
/// concurrent writers (outbox workers, the scheduler, ingest commits) those sleeps, not the writes,
/// set the pace. Another process on the same file still meets SQLite's own lock and busy timeout.
#[derive(Clone, Debug)]
pub struct WriteLock(Arc<Semaphore>);

impl WriteLock {
    pub(crate) fn new() -> Self {
        Self(Arc::new(Semaphore::new(1)))
    }
}

/// A SQLite write transaction holding this process's turn to write ([`WriteLock`]) until it ends.
/// Dereferences to its connection, like a `sqlx::Transaction`.
pub struct SqliteTx {
    tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    _turn: OwnedSemaphorePermit,
}

impl std::ops::Deref for SqliteTx {
    type Target = sqlx::SqliteConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for SqliteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// How long a writer waits for its turn: as long as SQLite's busy timeout, then the store is busy.
const TURN_TIMEOUT: Duration = Duration::from_secs(5);

impl Store {
    /// Begins a write transaction. On SQLite it waits for this process's turn to write, then is
    /// `BEGIN IMMEDIATE`, taking the database's write lock up front so two writers cannot deadlock
    /// upgrading from read to write.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Store::Sqlite(p, lock) => {
                let turn = tokio::time::timeout(TURN_TIMEOUT, Arc::clone(&lock.0).acquire_owned())
                    .await
                    .map_err(|_| StoreError::Busy)?
                    .map_err(|_| StoreError::Busy)?;
                Tx::Sqlite(SqliteTx { tx: p.begin_with("begin immediate").await?, _turn: turn })
            }
            Store::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }
}

impl Tx {
    pub fn backend(&self) -> crate::Backend {
        match self {
            Tx::Sqlite(_) => crate::Backend::Sqlite,
            Tx::Postgres(_) => crate::Backend::Postgres,
        }
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.tx.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Marks a point inside the transaction that [`Tx::rollback_to_savepoint`] can return to, so one
    /// part of a shared commit can fail without the rest (SQL `SAVEPOINT`, the same on both stores).
    pub async fn savepoint(&mut self) -> Result<(), StoreError> {
        self.execute_plain("savepoint part").await
    }

    /// Keeps what was done since [`Tx::savepoint`].
    pub async fn release_savepoint(&mut self) -> Result<(), StoreError> {
        self.execute_plain("release savepoint part").await
    }

    /// Undoes what was done since [`Tx::savepoint`]; the transaction goes on (on PostgreSQL this also
    /// clears an error that aborted the transaction).
    pub async fn rollback_to_savepoint(&mut self) -> Result<(), StoreError> {
        self.execute_plain("rollback to savepoint part").await?;
        self.execute_plain("release savepoint part").await
    }

    /// PostgreSQL: for the rest of this transaction, plan by index, never by sorting or hashing a
    /// whole table. For the outbox's work-queue statements, whose right plan does not depend on the
    /// table's statistics: a queue filled faster than `ANALYZE` runs (or with autovacuum off) is
    /// estimated at a few rows, and PostgreSQL then sorted every queued message to claim 500, and
    /// hashed the whole table to record 500 outcomes, on every call. SQLite: nothing to do.
    pub async fn plan_by_index(&mut self) -> Result<(), StoreError> {
        if let Tx::Postgres(t) = self {
            sqlx::raw_sql(
                "set local enable_sort = off; set local enable_bitmapscan = off;
                 set local enable_hashjoin = off; set local enable_mergejoin = off; set local enable_seqscan = off",
            )
            .execute(&mut **t)
            .await?;
        }
        Ok(())
    }

    async fn execute_plain(&mut self, sql: &'static str) -> Result<(), StoreError> {
        crate::on_tx!(self, |c| sqlx::raw_sql(sql).execute(c).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.tx.rollback().await?,
            Tx::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}
