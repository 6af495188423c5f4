//! A loopback provider endpoint in the test process (docs/outbox.md "Loopback provider"): counts
//! every message id it receives and answers lookups, so tests can tell a resend from a reconcile.
//! The body decides the answer: `transient…` 503, `throttle…` 429 with `Retry-After: 120`,
//! `reject…` 400 with code 21610, anything else 201.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

#[derive(Clone, Default)]
pub struct Counter(Arc<Mutex<HashMap<String, u32>>>, Duration);

impl Counter {
    /// How many times each message id was received.
    pub fn counts(&self) -> HashMap<String, u32> {
        self.0.lock().unwrap().clone()
    }
    pub fn count(&self, id: &str) -> u32 {
        self.0.lock().unwrap().get(id).copied().unwrap_or(0)
    }
    pub fn total(&self) -> u32 {
        self.0.lock().unwrap().values().sum()
    }
}

async fn receive(State(c): State<Counter>, Json(m): Json<Value>) -> Response {
    let id = m["message_id"].as_str().unwrap_or_default().to_owned();
    let body = m["body"].as_str().unwrap_or_default();
    if body.starts_with("transient") {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"message": "try later"}))).into_response();
    }
    if body.starts_with("throttle") {
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "120")], Json(json!({"code": 20429})))
            .into_response();
    }
    if body.starts_with("reject") {
        return (StatusCode::BAD_REQUEST, Json(json!({"code": 21610, "message": "unsubscribed recipient"})))
            .into_response();
    }
    *c.0.lock().unwrap().entry(id.clone()).or_default() += 1;
    if !c.1.is_zero() {
        // Accepted, answered late: the window a crash can fall into.
        tokio::time::sleep(c.1).await;
    }
    (StatusCode::CREATED, Json(json!({"id": format!("lb-{id}"), "status": "sent"}))).into_response()
}

async fn lookup(State(c): State<Counter>, Path(id): Path<String>) -> Response {
    if c.count(&id) > 0 {
        Json(json!({"id": format!("lb-{id}"), "status": "delivered"})).into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

/// Starts the endpoint on an ephemeral port; returns its URL and counter. It runs until the test's
/// runtime ends.
pub async fn start() -> (String, Counter) {
    start_with_delay(Duration::ZERO).await
}

/// Like [`start`], answering each accepted message only after `delay`.
pub async fn start_with_delay(delay: Duration) -> (String, Counter) {
    let counter = Counter(Arc::default(), delay);
    let router = axum::Router::new()
        .route("/messages", post(receive))
        .route("/messages/{id}", get(lookup))
        .with_state(counter.clone());
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}"), counter)
}
