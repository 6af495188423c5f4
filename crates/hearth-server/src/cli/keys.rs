//! `hearth keys rotate`: a new encryption key, and every encrypted value re-encrypted under it.

use std::io::Write;
use std::process::ExitCode;

use hearth_store::{Store, StoreOptions};

use crate::config::Overrides;

pub async fn rotate(overrides: &Overrides, json: bool) -> anyhow::Result<ExitCode> {
    let (config, _) = match super::load_config(overrides) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let store = Store::connect(config.database_url().expose(), &StoreOptions::default()).await?;
    let now = hearth_core::UtcTime::new(jiff::Timestamp::now());
    let report = crate::keys::rotate(&config, &store, now).await?;
    store.close().await;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    match &report.added_key {
        Some(k) => writeln!(out, "added key {k} to the keyring file")?,
        None => writeln!(
            out,
            "keys come from encryption.keys: add the new key there (last in the list) before rotating"
        )?,
    }
    writeln!(
        out,
        "re-encrypted under {}: {} sensitive patient values, {} TOTP secrets",
        report.active_key, report.patient_values, report.totp_secrets
    )?;
    Ok(ExitCode::SUCCESS)
}
