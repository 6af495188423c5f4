//! Health, metrics, the OpenAPI document, the error shape and the headers every response carries.

use crate::helpers::{TestApp, both, json};

both!(
    health_reports_every_part,
    health_is_503_naming_a_dead_worker,
    metrics_count_requests_by_route_template,
    openapi_document_lists_the_system_routes,
    docs_page_is_served_without_third_parties,
    unknown_routes_and_methods_are_catalogued_json,
    responses_carry_security_headers_and_a_request_id,
    a_safe_caller_request_id_is_kept_and_an_unsafe_one_replaced,
    start_page_links_to_the_docs,
);

async fn health_reports_every_part(app: TestApp) {
    let body = json(app.get("/health").await, 200).await;
    assert_eq!(body["status"], "ok");
    assert_eq!(body["store"], app.state.store.backend().as_str());
    let names: Vec<&str> =
        body["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["store", "migrations", "worker:maintenance", "worker:replies"]);
    assert!(body["checks"].as_array().unwrap().iter().all(|c| c["ok"] == true));
}

async fn health_is_503_naming_a_dead_worker(app: TestApp) {
    // A worker that registered and then went silent (stuck, panicked or exited).
    app.state.heartbeats.register("stuck", std::time::Duration::from_millis(1));
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let body = json(app.get("/health").await, 503).await;
    assert_eq!(body["status"], "unavailable");
    let failing: Vec<&str> = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failing, ["worker:stuck"]);
}

async fn metrics_count_requests_by_route_template(app: TestApp) {
    for _ in 0..3 {
        app.get("/health").await;
    }
    app.get("/no/such/patient/Jane-Doe").await;
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        text.contains(r#"hearth_http_requests_total{method="GET",route="/health",status="200"} 3"#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404"} 1"#), "{text}");
    assert!(!text.contains("Jane-Doe"), "raw paths must never become labels");
    assert!(text.contains("hearth_http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains(r#"hearth_store_pool_connections{state="max"}"#), "{text}");
    let backend = app.state.store.backend().as_str();
    assert!(
        text.contains(&format!(r#"hearth_build_info{{version="0.1.0",backend="{backend}"}} 1"#)),
        "{text}"
    );
}

async fn openapi_document_lists_the_system_routes(app: TestApp) {
    let doc = json(app.get("/openapi.json").await, 200).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/health", "/metrics", "/"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} missing from the OpenAPI document");
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
}

async fn docs_page_is_served_without_third_parties(app: TestApp) {
    let res = app.get("/docs/").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("swagger"), "{html}");
    assert!(!html.contains("https://"), "the docs page must not load anything from the internet: {html}");
}

async fn unknown_routes_and_methods_are_catalogued_json(app: TestApp) {
    let body = json(app.get("/api/v1/nothing-here").await, 404).await;
    assert_eq!(body["code"], "not_found");
    assert!(body["request_id"].as_str().unwrap().len() >= 8);
    let res = app.send_raw(reqwest::Method::DELETE, "/health", "application/json", "{}").await;
    let body = json(res, 405).await;
    assert_eq!(body["code"], "method_not_allowed");
}

async fn responses_carry_security_headers_and_a_request_id(app: TestApp) {
    for path in ["/health", "/", "/nope"] {
        let res = app.get(path).await;
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert!(h["content-security-policy"].to_str().unwrap().contains("default-src 'self'"), "{path}");
        assert!(h.contains_key("x-request-id"), "{path}");
        assert!(!h.contains_key("strict-transport-security"), "no HSTS over plain http");
    }
}

async fn a_safe_caller_request_id_is_kept_and_an_unsafe_one_replaced(app: TestApp) {
    let res = app.client.get(app.url("/nope")).header("x-request-id", "ehr-batch-42").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "ehr-batch-42");
    assert_eq!(json(res, 404).await["request_id"], "ehr-batch-42");
    let res = app.client.get(app.url("/nope")).header("x-request-id", "a b<c>").send().await.unwrap();
    assert_ne!(res.headers()["x-request-id"], "a b<c>");
}

async fn start_page_links_to_the_docs(app: TestApp) {
    let res = app.get("/").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"<html lang="en""#) && html.contains(r#"href="/docs/""#), "{html}");
}
