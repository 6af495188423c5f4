//! `hearth audit verify`: check every organization's audit hash chain; exit 1 naming the first broken
//! link.

use std::io::Write;
use std::process::ExitCode;

use hearth_store::{Store, StoreOptions};

use crate::config::Overrides;

pub async fn verify(overrides: &Overrides) -> anyhow::Result<ExitCode> {
    let (config, _) = match super::load_config(overrides) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let store = Store::connect(config.database_url().expose(), &StoreOptions::default()).await?;
    let report = crate::audit::verify::verify(&store).await?;
    store.close().await;
    let mut out = std::io::stdout().lock();
    match report.broken {
        None => {
            writeln!(out, "audit trail intact: {} events in {} chains", report.events, report.chains)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(b) => {
            writeln!(out, "audit trail BROKEN: organization {} event {}: {}", b.org, b.seq, b.reason)?;
            writeln!(out, "{} events before it verified", report.events)?;
            Ok(ExitCode::FAILURE)
        }
    }
}
