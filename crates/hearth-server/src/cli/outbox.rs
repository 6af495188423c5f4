//! `hearth outbox stats|retry ID|cancel ID`: the outbox from the command line, through the same
//! services as the API (acting as Hearth itself; retry and cancel are audited).

use std::io::Write;
use std::process::ExitCode;

use hearth_core::MessageId;

use crate::app::{App, Deps, Roles};
use crate::auth::Actor;
use crate::config::Overrides;
use crate::error::AppError;
use crate::notifications::outbox;

#[derive(Debug, clap::Subcommand)]
pub enum OutboxCommand {
    /// Messages per status and channel, every organization.
    Stats {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Queue a dead, failed, canceled or unknown message again now.
    Retry { id: MessageId },
    /// Cancel a queued or unknown message.
    Cancel { id: MessageId },
}

pub async fn run(overrides: &Overrides, cmd: OutboxCommand) -> anyhow::Result<ExitCode> {
    let (config, _) = match super::load_config(overrides) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let app = App::build(config, Deps::production(), Roles { web: false, workers: false }).await?;
    let state = app.state().clone();
    let mut out = std::io::stdout().lock();
    let code = match cmd {
        OutboxCommand::Stats { json } => {
            let counts = state.store.outbox_counts(None).await?;
            if json {
                let rows: Vec<_> = counts
                    .iter()
                    .map(|c| serde_json::json!({"status": c.status, "channel": c.channel, "count": c.count}))
                    .collect();
                writeln!(out, "{}", serde_json::Value::Array(rows))?;
            } else if counts.is_empty() {
                writeln!(out, "the outbox is empty")?;
            } else {
                writeln!(out, "{:<12} {:<9} {:>9}", "status", "channel", "messages")?;
                for c in &counts {
                    writeln!(out, "{:<12} {:<9} {:>9}", c.status, c.channel, c.count)?;
                }
            }
            ExitCode::SUCCESS
        }
        OutboxCommand::Retry { id } | OutboxCommand::Cancel { id } => {
            let retry = matches!(cmd, OutboxCommand::Retry { .. });
            let org = match state.store.message_org(id).await {
                Ok(org) => org,
                Err(hearth_store::StoreError::NotFound) => {
                    writeln!(std::io::stderr().lock(), "hearth: no message {id}")?;
                    state.store.close().await;
                    return Ok(ExitCode::from(2));
                }
                Err(e) => return Err(e.into()),
            };
            let actor = Actor::system(org, "cli");
            let result = if retry {
                outbox::retry(&state, &actor, id).await
            } else {
                outbox::cancel(&state, &actor, id).await
            };
            match result {
                Ok(m) => {
                    writeln!(out, "message {id}: {}", m.status)?;
                    ExitCode::SUCCESS
                }
                Err(AppError::Code { message, .. }) => {
                    writeln!(std::io::stderr().lock(), "hearth: {message}")?;
                    ExitCode::FAILURE
                }
                Err(e) => return Err(anyhow::anyhow!("{e}")),
            }
        }
    };
    state.store.close().await;
    Ok(code)
}
