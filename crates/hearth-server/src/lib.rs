//! The `hearth` server: configuration, wiring, web, workers and CLI. Domain modules live here because
//! they share transactions; SQL lives in `hearth-store`, pure rules in `hearth-core`.
//!
//! Dependencies point one way: `web`/`cli` (edges) → services → `hearth_store`.

pub mod api_keys;
pub mod app;
pub mod appointments;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod directory;
pub mod error;
pub mod fhir;
pub mod keys;
pub mod metrics;
pub mod notifications;
pub mod patients;
pub mod reminders;
pub mod replies;
pub mod staff;
pub mod state;
pub mod telemetry;
pub mod web;
pub mod workers;
