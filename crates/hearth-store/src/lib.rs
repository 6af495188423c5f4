//! All of Hearth's SQL. One [`Store`] over SQLite or PostgreSQL, chosen by URL.
//!
//! SQL is written once in the portable subset both dialects share (`$1` placeholders, `returning`,
//! `on conflict`, no database-side clocks or ids: time and ids come from Rust). The [`on_pool!`] and
//! [`on_tx!`] macros compile the same body once per backend. Where the dialects really differ the code
//! says so with an explicit `match`.
//!
//! Every query on tenant-owned data takes the organization id: a caller cannot ask for a row without
//! saying whose it is.

use sqlx::{PgPool, SqlitePool};

/// The database. Cheap to clone (pools are reference-counted).
#[derive(Clone, Debug)]
pub enum Store {
    /// The pool, and the lock its write transactions take in turn (see [`tx::WriteLock`]).
    Sqlite(SqlitePool, tx::WriteLock),
    Postgres(PgPool),
}

/// Runs one sqlx expression against whichever pool is active. The body is type-checked once per
/// backend, so it must be portable SQL.
#[macro_export]
macro_rules! on_pool {
    ($store:expr, |$p:ident| $body:expr) => {
        match $store {
            $crate::Store::Sqlite($p, _) => $body,
            $crate::Store::Postgres($p) => $body,
        }
    };
}

/// Runs one sqlx expression inside an open [`Tx`], on whichever backend it belongs to.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::Tx::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

mod connect;
mod error;
mod migrate;
mod multi_row;
pub mod tx;

pub mod api_keys;
pub mod appointments;
pub mod audit;
pub mod duplicates;
pub mod ehr_requests;
pub mod inbound;
pub mod locations;
pub mod merges;
pub mod organizations;
pub mod outbox;
pub mod patients;
pub mod practitioners;
pub mod reminders;
pub mod replies;
pub mod scratch;
pub mod sessions;
pub mod survey_results;
pub mod surveys;
pub mod templates;
pub mod users;

#[cfg(feature = "testing")]
pub mod testing;

pub use connect::{Backend, PoolStats, StoreOptions};
pub use error::StoreError;
pub use migrate::MigrationStatus;
pub use tx::Tx;
