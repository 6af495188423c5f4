//! The OpenAPI document's header; paths and schemas come from the handlers' annotations.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hearth",
        description = "Patient engagement API. Errors share one shape (`ErrorBody`) with a stable `code`; \
                       see docs/errors.md.",
        license(name = "Apache-2.0")
    ),
    components(schemas(crate::error::ErrorBody, crate::error::FieldError)),
    tags((name = "system", description = "Health, metrics and this document"))
)]
struct Doc;

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
