//! `hearth serve` (and `hearth` with no subcommand): web server plus background workers until
//! SIGTERM/SIGINT.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::app::{App, Deps, Roles, cancel_on_signals};
use crate::config::Overrides;

pub async fn run(overrides: &Overrides) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let (config, _) = match super::load_config(overrides) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    crate::telemetry::init(&config.log)?;
    let app = App::build(config, Deps::production(), Roles { web: true, workers: true }).await?;
    let addr = app.local_addr().ok_or_else(|| anyhow::anyhow!("no listener"))?;
    let store = app.state().store.backend().as_str();
    let ready_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(%addr, store, ready_ms, "hearth ready");
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "Hearth is running on {store}. Open http://{addr}/ (Ctrl-C to stop)")?;
        out.flush()?;
    }
    let cancel = CancellationToken::new();
    cancel_on_signals(cancel.clone());
    app.run_until_stopped(cancel).await?;
    Ok(ExitCode::SUCCESS)
}
