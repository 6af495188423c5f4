//! `hearth migrate`: apply pending migrations and exit.

use std::io::Write;
use std::process::ExitCode;

use hearth_store::{Store, StoreOptions};

use crate::config::Overrides;

pub async fn run(overrides: &Overrides) -> anyhow::Result<ExitCode> {
    let (config, _) = match super::load_config(overrides) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    crate::telemetry::init(&config.log)?;
    let store = Store::connect(config.database_url().expose(), &StoreOptions::default()).await?;
    let applied = store.migrate().await?;
    crate::patients::name_keys::rebuild_after_migrations(&store, &applied).await?;
    let status = store.migration_status().await?;
    let mut out = std::io::stdout().lock();
    if applied.is_empty() {
        writeln!(
            out,
            "{}: schema is current ({} migrations)",
            config.database_url_redacted(),
            status.applied.len()
        )?;
    } else {
        writeln!(out, "{}: applied migrations {applied:?}", config.database_url_redacted())?;
    }
    if !status.unknown().is_empty() {
        writeln!(
            out,
            "warning: the database has migrations this binary does not know: {:?}",
            status.unknown()
        )?;
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
