//! API and CLI tests: one binary (link once, run in parallel). Every `both!` test runs on SQLite and,
//! when `HEARTH_TEST_POSTGRES_URL` is set, on PostgreSQL.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod helpers;

mod cli;
mod system;
