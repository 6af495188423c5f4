//! The HTTP surface: routes, their OpenAPI document, and the layers every request passes through.

mod extract;
mod middleware;
mod openapi;
mod system;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use hearth_core::ErrorCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

pub use extract::{ApiJson, ApiPath, ApiQuery};

use crate::error::AppError;
use crate::state::AppState;

/// Every route with its layers. The OpenAPI document is generated from the same handlers.
pub fn router(state: AppState) -> Router {
    let (api_router, api) = api_routes().split_for_parts();
    let max_body = state.config.http.max_body_bytes;
    api_router
        .merge(SwaggerUi::new("/docs").url("/openapi.json", api))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone())
        .layer(DefaultBodyLimit::max(max_body))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            middleware::panic_response,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::security_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(state, middleware::observe))
}

/// The routes described in the OpenAPI document.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::document()).merge(system::routes())
}

async fn not_found() -> Response {
    AppError::code(ErrorCode::NotFound).into_response()
}

async fn method_not_allowed() -> Response {
    AppError::code(ErrorCode::MethodNotAllowed).into_response()
}
