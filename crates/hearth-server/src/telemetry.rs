//! Logs. JSON lines (or pretty text) on stderr, spans keyed by route template and request id, never
//! a URI, a body, a name, a phone number or a secret: values that could identify a patient are wrapped
//! in `hearth_core::Phi` before they can reach a formatter.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogConfig, LogFormat};

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Installs the global subscriber. `RUST_LOG` overrides `log.level`.
pub fn init(cfg: &LogConfig) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new(&cfg.level))?;
    let registry = tracing_subscriber::registry().with(filter);
    let writer = std::io::stderr;
    match cfg.format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(writer),
            )
            .try_init()?,
        LogFormat::Pretty => {
            registry.with(tracing_subscriber::fmt::layer().with_writer(writer)).try_init()?;
        }
    }
    Ok(())
}

/// Runs `fut` with `id` as the current request id (read by error responses).
pub async fn with_request_id<F: Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// The id of the request being handled, or `-` outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| "-".to_owned())
}
