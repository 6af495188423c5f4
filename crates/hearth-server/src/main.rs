//! The `hearth` binary: parse the command line and run it. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = hearth_server::cli::Cli::parse();
    match hearth_server::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "hearth stopped with an error");
            let _ = std::io::Write::write_fmt(&mut std::io::stderr(), format_args!("hearth: {e:#}\n"));
            ExitCode::FAILURE
        }
    }
}
