//! API and CLI tests: one binary (link once, run in parallel). Every `both!` test runs on SQLite and,
//! when `HEARTH_TEST_POSTGRES_URL` is set, on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::too_many_lines, clippy::many_single_char_names)] // tests: a failed unwrap is a failed test; stories run long with short names

mod helpers;

mod access;
mod admin_simulate;
mod appointments;
mod audit;
mod auth;
mod browser;
mod cli;
mod crash;
mod e2e;
mod fhir;
mod import;
mod inbox;
mod loopback;
mod outbox;
mod outbox_crash;
mod patients;
mod providers;
mod reminders;
mod replies;
mod schedule_upload;
mod sensitive;
mod simulate;
mod survey_results;
mod survey_webhook;
mod surveys;
mod system;
mod templates;
mod twilio_hooks;
