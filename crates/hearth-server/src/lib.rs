//! The `hearth` server: configuration, wiring, web, workers and CLI. Domain modules live here because
//! they share transactions; SQL lives in `hearth-store`, pure rules in `hearth-core`.
//!
//! Dependencies point one way: `web`/`cli` (edges) → services → `hearth_store`.

pub mod app;
pub mod cli;
pub mod config;
pub mod error;
pub mod metrics;
pub mod state;
pub mod telemetry;
pub mod web;
pub mod workers;
