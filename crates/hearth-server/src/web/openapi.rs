//! The OpenAPI document's header; paths and schemas come from the handlers' annotations.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Hearth",
        description = "Patient engagement API. Errors share one shape (`ErrorBody`) with a stable `code`; \
                       see docs/errors.md.",
        license(name = "Apache-2.0")
    ),
    components(schemas(crate::error::ErrorBody, crate::error::FieldError)),
    modifiers(&Security),
    tags(
        (name = "system", description = "Health, metrics and this document"),
        (name = "directory", description = "The organization, its locations and practitioners"),
        (name = "staff", description = "Staff accounts, API keys and the audit trail"),
        (name = "patients", description = "Patient records and consent; every read is audited"),
        (name = "appointments", description = "EHR appointment events in; appointments and their history out"),
        (name = "templates", description = "Message templates per channel, purpose and language; preview with SMS encoding"),
        (name = "messages", description = "The outbox: send messages, read them with their attempts and history, retry, cancel"),
        (name = "reminders", description = "When reminders go out: rules per organization, location and appointment type"),
        (name = "inbox", description = "Patient replies that need a person: list, read, assign, answer, done"),
        (name = "fhir", description = "FHIR R4 (4.0.1) Patient read, search, create, update and batch")
    )
)]
struct Doc;

/// The two ways to authenticate. Each operation lists the permission it needs as the scope of both;
/// see docs/permissions.md for which roles and API-key scopes hold it.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key created by an administrator: `Authorization: Bearer hk_…`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "hearth_session",
                "A staff session from the sign-in page. State-changing requests must also send the session's \
                 CSRF token in `x-csrf-token`.",
            ))),
        );
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}
