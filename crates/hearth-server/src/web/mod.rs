//! The HTTP surface: routes, their OpenAPI document, and the layers every request passes through.

pub mod api;
mod extract;
mod fhir;
mod hooks;
mod middleware;
mod openapi;
pub mod pages;
mod system;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use hearth_core::ErrorCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

pub use extract::{ApiJson, ApiPath, ApiQuery, if_match_version, parse_json};

use crate::error::AppError;
use crate::state::AppState;

/// Every route with its layers. The OpenAPI document is generated from the same handlers.
pub fn router(state: AppState) -> Router {
    let (api_router, api) = api_routes().split_for_parts();
    let routes = api_router
        .merge(pages::routes())
        .merge(hooks::routes())
        .merge(SwaggerUi::new("/docs").url("/openapi.json", api));
    with_layers(routes, state)
}

/// The fallbacks and layers every route gets.
fn with_layers(routes: Router<AppState>, state: AppState) -> Router {
    let max_body = state.config.http.max_body_bytes;
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone())
        .layer(DefaultBodyLimit::max(max_body))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(middleware::panic_response))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::timeout))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::auth::middleware::authenticate))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::security_headers))
        .layer(axum::middleware::from_fn_with_state(state, middleware::observe))
}

/// The routes described in the OpenAPI document.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::document())
        .merge(system::routes())
        .merge(api::routes())
        .merge(fhir::routes())
}

async fn not_found() -> Response {
    AppError::code(ErrorCode::NotFound).into_response()
}

async fn method_not_allowed() -> Response {
    AppError::code(ErrorCode::MethodNotAllowed).into_response()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;
    use crate::config::Config;

    async fn state(tweak: impl FnOnce(&mut Config)) -> (AppState, hearth_store::testing::TestDb) {
        let db = hearth_store::testing::TestDb::sqlite();
        let mut config = Config::for_tests(db.url());
        tweak(&mut config);
        let clock = Arc::new(hearth_core::SystemClock);
        (AppState::new(config, db.store().await, clock).unwrap(), db)
    }

    async fn body_json(res: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn boom() -> &'static str {
        panic!("secret detail: patient Jane Doe")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_internal_without_its_message() {
        let (state, _db) = state(|_| {}).await;
        let routes = Router::new().route("/boom", get(|| async { boom() }));
        let app = with_layers(routes, state);
        let res = app.oneshot(Request::get("/boom").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), 500);
        assert!(res.headers().contains_key("x-request-id"));
        let body = body_json(res).await;
        assert_eq!(body["code"], "internal");
        assert!(!body.to_string().contains("Jane"), "{body}");
    }

    #[tokio::test]
    async fn a_slow_handler_is_abandoned_with_request_timeout() {
        let (state, _db) = state(|c| c.http.request_timeout_secs = 1).await;
        let routes = Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                "late"
            }),
        );
        let app = with_layers(routes, state);
        let res = app.oneshot(Request::get("/slow").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), 503);
        assert_eq!(body_json(res).await["code"], "request_timeout");
    }

    #[tokio::test]
    async fn json_bodies_are_checked_for_type_and_size() {
        let (state, _db) = state(|c| c.http.max_body_bytes = 64).await;
        let routes = Router::new().route(
            "/echo",
            axum::routing::post(|ApiJson(v): ApiJson<serde_json::Value>| async move { axum::Json(v) }),
        );
        let app = with_layers(routes, state);
        let send = |ct: &'static str, body: String| {
            let app = app.clone();
            async move {
                app.oneshot(Request::post("/echo").header("content-type", ct).body(Body::from(body)).unwrap())
                    .await
                    .unwrap()
            }
        };
        let res = send("text/plain", "{}".into()).await;
        assert_eq!(
            (res.status().as_u16(), body_json(res).await["code"].clone()),
            (415, "unsupported_media_type".into())
        );
        let res = send("application/json", format!("{{\"a\":\"{}\"}}", "x".repeat(100))).await;
        assert_eq!(
            (res.status().as_u16(), body_json(res).await["code"].clone()),
            (413, "payload_too_large".into())
        );
        let res = send("application/json; charset=utf-8", "{\"a\":1}".into()).await;
        assert_eq!(res.status(), 200);
        let res = send("application/json", "{\"a\":".into()).await;
        assert_eq!(
            (res.status().as_u16(), body_json(res).await["code"].clone()),
            (400, "malformed_json".into())
        );
    }
}
