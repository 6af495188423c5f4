//! `/health`, `/metrics` and the start page.

use std::time::Duration;

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::AppError;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health)).routes(routes!(metrics)).routes(routes!(index))
}

/// The state of one dependency.
#[derive(Debug, Serialize, ToSchema)]
pub struct Check {
    /// `store`, `migrations` or `worker:<name>`.
    pub name: String,
    pub ok: bool,
    /// Why it failed (never a secret), or a short fact when it did not.
    pub detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    pub version: &'static str,
    /// `sqlite` or `postgres`.
    pub store: &'static str,
    pub checks: Vec<Check>,
}

/// Liveness and readiness: the store answers, its migrations are current, and every background
/// worker has reported recently. 503 names the failing part.
#[utoipa::path(get, path = "/health", tag = "system",
    responses((status = 200, description = "Everything works", body = Health),
               (status = 503, description = "A part has failed; see `checks`", body = Health)))]
async fn health(State(app): State<AppState>) -> (StatusCode, Json<Health>) {
    let mut checks = Vec::new();
    let ping = tokio::time::timeout(Duration::from_secs(2), app.store.ping()).await;
    let store_ok = matches!(ping, Ok(Ok(())));
    checks.push(Check {
        name: "store".into(),
        ok: store_ok,
        detail: match ping {
            Ok(Ok(())) => "reachable".into(),
            Ok(Err(e)) => format!("unreachable: {e}"),
            Err(_) => "no answer within 2 s".into(),
        },
    });
    if store_ok {
        let (ok, detail) = match app.store.migration_status().await {
            Ok(s) if s.is_current() => (true, format!("{} applied", s.applied.len())),
            Ok(s) => (false, format!("pending: {:?}", s.pending())),
            Err(e) => (false, format!("cannot read migration state: {e}")),
        };
        checks.push(Check { name: "migrations".into(), ok, detail });
    }
    for w in app.heartbeats.statuses() {
        let detail = format!("last heartbeat {:.1} s ago", w.silent_for.as_secs_f64());
        checks.push(Check { name: format!("worker:{}", w.name), ok: w.alive, detail });
    }
    let healthy = checks.iter().all(|c| c.ok);
    let body = Health {
        status: if healthy { "ok" } else { "unavailable" },
        version: env!("CARGO_PKG_VERSION"),
        store: app.store.backend().as_str(),
        checks,
    };
    (if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}

/// Prometheus metrics in the text exposition format: requests by route template and status, request
/// latency, store pool connections. No patient data.
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")))]
async fn metrics(State(app): State<AppState>) -> Response {
    let text = app.metrics.render(app.store.pool_stats());
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
        .into_response()
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    version: &'static str,
    store: &'static str,
}

/// The start page: what this is and where to go next.
#[utoipa::path(get, path = "/", tag = "system", responses((status = 200, description = "HTML", content_type = "text/html")))]
async fn index(State(app): State<AppState>) -> Result<Html<String>, AppError> {
    let page = IndexPage { version: env!("CARGO_PKG_VERSION"), store: app.store.backend().as_str() };
    Ok(Html(page.render().map_err(anyhow::Error::from)?))
}
