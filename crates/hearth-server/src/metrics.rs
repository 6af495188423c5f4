//! Prometheus metrics, owned by the application state (no global registry, so every test app has its
//! own). Rendered in the text exposition format on `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route template (`/api/v1/locations/{id}`), never the raw path.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InfoLabels {
    version: &'static str,
    backend: &'static str,
}

#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    pool: Family<PoolLabels, Gauge>,
}

impl Metrics {
    pub fn new(backend: &'static str) -> Self {
        let mut registry = Registry::with_prefix("hearth");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by route template and status", requests.clone());
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 0.5 ms … ~8 s
            Histogram::new(exponential_buckets(0.000_5, 2.0, 15))
        });
        registry.register("http_request_duration_seconds", "HTTP request latency", latency.clone());
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "store_pool_connections",
            "Database pool connections by state (idle, busy, max)",
            pool.clone(),
        );
        let info = Family::<InfoLabels, Gauge>::default();
        info.get_or_create(&InfoLabels { version: env!("CARGO_PKG_VERSION"), backend }).set(1);
        registry.register("build_info", "Version and store backend", info);
        Self(Arc::new(Inner { registry, requests, latency, pool }))
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let (method, route) = (method.to_owned(), route.to_owned());
        self.0
            .requests
            .get_or_create(&RequestLabels { method: method.clone(), route: route.clone(), status })
            .inc();
        self.0.latency.get_or_create(&RouteLabels { method, route }).observe(elapsed.as_secs_f64());
    }

    /// The exposition text, with the pool gauges read at this moment.
    pub fn render(&self, pool: hearth_store::PoolStats) -> String {
        let set = |state, v: u32| self.0.pool.get_or_create(&PoolLabels { state }).set(i64::from(v));
        set("idle", pool.idle);
        set("busy", pool.size.saturating_sub(pool.idle));
        set("max", pool.max);
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.0.registry) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        out
    }
}
