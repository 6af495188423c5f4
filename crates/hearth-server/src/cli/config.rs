//! `hearth config check` and `hearth config example`.

use std::io::Write;
use std::process::ExitCode;

use crate::config::{EXAMPLE_TOML, Overrides};

pub fn example() -> anyhow::Result<ExitCode> {
    std::io::stdout().lock().write_all(EXAMPLE_TOML.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

pub fn check(overrides: &Overrides) -> anyhow::Result<ExitCode> {
    let (config, sources) = match super::load_config(overrides) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let rows = config.report(&sources);
    let width = rows.iter().map(|r| r.key.len()).max().unwrap_or(0);
    let vwidth = rows.iter().map(|r| r.value.len()).max().unwrap_or(0).min(48);
    let mut out = std::io::stdout().lock();
    let file = if sources.config_file_found {
        format!("{} (read)", sources.config_file.display())
    } else {
        format!("{} (not present; defaults and environment only)", sources.config_file.display())
    };
    writeln!(out, "configuration file: {file}")?;
    for r in rows {
        writeln!(out, "{:width$}  {:vwidth$}  ({})", r.key, r.value, r.origin)?;
    }
    writeln!(out, "configuration is valid")?;
    Ok(ExitCode::SUCCESS)
}
