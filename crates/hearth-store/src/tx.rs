//! A transaction on either backend, for writes that touch several tables (the change, its history
//! row, its audit row and its outbox rows commit together or not at all).

use crate::{Store, StoreError};

pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Store {
    /// Begins a write transaction. On SQLite it is `BEGIN IMMEDIATE`, taking the write lock up front
    /// so two writers cannot deadlock upgrading from read to write.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Store::Sqlite(p) => Tx::Sqlite(p.begin_with("begin immediate").await?),
            Store::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
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

    async fn execute_plain(&mut self, sql: &'static str) -> Result<(), StoreError> {
        crate::on_tx!(self, |c| sqlx::raw_sql(sql).execute(c).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.rollback().await?,
            Tx::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}
