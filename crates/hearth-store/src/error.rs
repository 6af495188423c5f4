//! What the store reports. Never a raw `sqlx::Error`: callers match on meaning (a unique key taken, a
//! row missing, the database unreachable), and the same violation has the same name on both backends.

/// A store failure, by meaning.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist (or belongs to another organization, which callers must not distinguish).
    #[error("not found")]
    NotFound,
    /// A unique constraint, named `<table>_<columns>_key` on both backends.
    #[error("unique constraint {0} violated")]
    Unique(String),
    /// A referenced row does not exist.
    #[error("foreign key violated")]
    ForeignKey,
    /// The row changed since it was read (optimistic concurrency).
    #[error("stale version")]
    Stale,
    /// The database is locked or overloaded; retrying may succeed.
    #[error("database busy")]
    Busy,
    /// The database cannot be reached.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The URL or options are wrong.
    #[error("{0}")]
    Config(String),
    #[error("migration failed: {0}")]
    Migration(String),
    /// Anything else. The text is for the server log, never for an HTTP response.
    #[error("database error: {0}")]
    Other(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => Self::Unavailable(e.to_string()),
            sqlx::Error::Io(io) => Self::Unavailable(io.to_string()),
            sqlx::Error::Tls(t) => Self::Unavailable(t.to_string()),
            sqlx::Error::Database(db) => {
                use sqlx::error::ErrorKind;
                match db.kind() {
                    ErrorKind::UniqueViolation => Self::Unique(
                        db.constraint().map_or_else(|| sqlite_unique_name(db.message()), str::to_owned),
                    ),
                    ErrorKind::ForeignKeyViolation => Self::ForeignKey,
                    _ => {
                        let code = db.code().unwrap_or_default();
                        // SQLITE_BUSY (5) / SQLITE_LOCKED (6) and their extended codes; PostgreSQL
                        // serialization failure and deadlock.
                        let busy = matches!(code.as_ref(), "5" | "6" | "40001" | "40P01")
                            || code.parse::<i32>().is_ok_and(|c| c & 0xff == 5 || c & 0xff == 6);
                        if busy { Self::Busy } else { Self::Other(db.message().to_owned()) }
                    }
                }
            }
            other => Self::Other(other.to_string()),
        }
    }
}

/// SQLite names the columns, not the constraint: "UNIQUE constraint failed: locations.org_id,
/// locations.name" becomes `locations_org_id_name_key`, the name PostgreSQL reports.
fn sqlite_unique_name(message: &str) -> String {
    let cols = message.rsplit(": ").next().unwrap_or(message);
    let mut table = "";
    let mut names = Vec::new();
    for qualified in cols.split(',').map(str::trim) {
        let (t, c) = qualified.split_once('.').unwrap_or(("", qualified));
        table = t;
        names.push(c);
    }
    format!("{table}_{}_key", names.join("_"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn sqlite_unique_messages_become_postgres_style_names() {
        assert_eq!(
            super::sqlite_unique_name("UNIQUE constraint failed: locations.org_id, locations.name"),
            "locations_org_id_name_key"
        );
        assert_eq!(
            super::sqlite_unique_name("UNIQUE constraint failed: organizations.id"),
            "organizations_id_key"
        );
    }
}
