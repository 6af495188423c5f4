//! Schema migrations: two trees (`migrations/sqlite`, `migrations/postgres`) with identical versions,
//! applied at start-up and by `hearth migrate`.

use sqlx::migrate::Migrator;

use crate::{Store, StoreError};

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// Which migrations the binary knows and which the database has applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    pub expected: Vec<i64>,
    pub applied: Vec<i64>,
}

impl MigrationStatus {
    pub fn pending(&self) -> Vec<i64> {
        self.expected.iter().copied().filter(|v| !self.applied.contains(v)).collect()
    }
    /// True when every known migration is applied (a database newer than the binary also counts as
    /// current for reading, but is reported by `unknown`).
    pub fn is_current(&self) -> bool {
        self.pending().is_empty()
    }
    /// Versions in the database that this binary does not know (it is older than the schema).
    pub fn unknown(&self) -> Vec<i64> {
        self.applied.iter().copied().filter(|v| !self.expected.contains(v)).collect()
    }
}

impl Store {
    fn migrator(&self) -> &'static Migrator {
        match self {
            Store::Sqlite(..) => &SQLITE,
            Store::Postgres(_) => &POSTGRES,
        }
    }

    /// Applies every pending migration; returns the versions it applied.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        let before = self.migration_status().await?;
        let result = on_pool!(self, |p| self.migrator().run(p).await);
        result.map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(before.pending())
    }

    pub async fn migration_status(&self) -> Result<MigrationStatus, StoreError> {
        const TABLE_SQLITE: &str =
            "select count(*) from sqlite_master where type = 'table' and name = '_sqlx_migrations'";
        const TABLE_PG: &str = "select count(*) from information_schema.tables where table_schema = current_schema() and table_name = '_sqlx_migrations'";
        const APPLIED: &str = "select version from _sqlx_migrations where success order by version";
        let expected = self.migrator().iter().map(|m| m.version).collect();
        let has_table: i64 = match self {
            Store::Sqlite(p, _) => sqlx::query_scalar(TABLE_SQLITE).fetch_one(p).await?,
            Store::Postgres(p) => sqlx::query_scalar(TABLE_PG).fetch_one(p).await?,
        };
        let applied = if has_table == 0 {
            Vec::new()
        } else {
            on_pool!(self, |p| sqlx::query_scalar(APPLIED).fetch_all(p).await)?
        };
        Ok(MigrationStatus { expected, applied })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_trees_have_identical_versions_and_names() {
        let names =
            |m: &Migrator| m.iter().map(|m| (m.version, m.description.to_string())).collect::<Vec<_>>();
        assert!(!names(&SQLITE).is_empty());
        assert_eq!(
            names(&SQLITE),
            names(&POSTGRES),
            "every migration needs a twin with the same version and name"
        );
    }
}
