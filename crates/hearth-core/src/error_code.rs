//! The catalogue of every error Hearth answers with. A code is a stable contract: integrations match
//! on it, so codes are only ever added. `docs/errors.md` is generated from this table and a test keeps
//! the two identical.

/// Who is expected to act on an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request is wrong; the caller must change it.
    Request,
    /// The caller is not allowed, or not known.
    Auth,
    /// Hearth or something it depends on is unavailable; retrying later may succeed.
    System,
    /// A bug or an unexpected failure; details are in the server log under the request id.
    Internal,
}

impl ErrorKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Auth => "auth",
            Self::System => "system",
            Self::Internal => "internal",
        }
    }
}

macro_rules! error_codes {
    ($($variant:ident = $wire:literal => $status:literal, $kind:ident, $message:literal;)+) => {
        /// A stable error code: snake_case on the wire, an HTTP status, a kind and a default message.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $($variant),+ }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(Self::$variant),+];
            pub const fn as_str(self) -> &'static str { match self { $(Self::$variant => $wire),+ } }
            pub const fn http_status(self) -> u16 { match self { $(Self::$variant => $status),+ } }
            pub const fn kind(self) -> ErrorKind { match self { $(Self::$variant => ErrorKind::$kind),+ } }
            /// The message sent when the caller has nothing more specific to say.
            pub const fn message(self) -> &'static str { match self { $(Self::$variant => $message),+ } }
        }
    };
}

error_codes! {
    InvalidRequest       = "invalid_request"        => 400, Request,  "The request is not valid.";
    MalformedJson        = "malformed_json"         => 400, Request,  "The body is not well-formed JSON.";
    InvalidField         = "invalid_field"          => 422, Request,  "One or more fields are invalid; see `fields`.";
    InvalidQuery         = "invalid_query"          => 400, Request,  "A query-string parameter is invalid.";
    InvalidPath          = "invalid_path"           => 400, Request,  "A path parameter is invalid.";
    UnsupportedMediaType = "unsupported_media_type" => 415, Request,  "The body must be sent with `Content-Type: application/json`.";
    PayloadTooLarge      = "payload_too_large"      => 413, Request,  "The body is larger than the server accepts.";
    NotFound             = "not_found"              => 404, Request,  "No such resource.";
    Gone                 = "gone"                   => 410, Request,  "The resource was deleted.";
    MethodNotAllowed     = "method_not_allowed"     => 405, Request,  "This method is not allowed on this resource.";
    AlreadyExists        = "already_exists"         => 409, Request,  "A resource with the same unique key already exists.";
    Conflict             = "conflict"               => 409, Request,  "The request conflicts with the current state of the resource.";
    PreconditionRequired = "precondition_required"  => 428, Request,  "Send the version you read in `If-Match` (its ETag) to change this resource.";
    PreconditionFailed   = "precondition_failed"    => 412, Request,  "The resource changed since you read it; read it again and reapply your change.";
    RequestTimeout       = "request_timeout"        => 503, System,   "The request took too long and was abandoned; retry later.";
    RateLimited          = "rate_limited"           => 429, Request,  "Too many requests; retry after the time in `Retry-After`.";
    Unauthenticated      = "unauthenticated"        => 401, Auth,     "Sign in or send a valid API key.";
    Forbidden            = "forbidden"              => 403, Auth,     "Your role does not allow this action.";
    CsrfInvalid          = "csrf_invalid"           => 403, Auth,     "The form or request lacks a valid CSRF token; reload the page and try again.";
    ConsentMissing       = "consent_missing"        => 409, Request,  "The patient has not agreed to messages on this channel and address (or opted out).";
    ServiceUnavailable   = "service_unavailable"    => 503, System,   "Hearth or a service it depends on is unavailable; retry later.";
    Internal             = "internal"               => 500, Internal, "Something went wrong on our side; the request id identifies it in the server log.";
}

impl ErrorCode {
    /// The Markdown document generated from the catalogue (`docs/errors.md`).
    pub fn markdown_catalogue() -> String {
        use std::fmt::Write as _;
        let mut out = String::from(
            "# Error codes\n\n\
             <!-- Generated from crates/hearth-core/src/error_code.rs; a test keeps this file identical. -->\n\n\
             Every JSON error from Hearth has this shape:\n\n\
             ```json\n{\"code\": \"invalid_field\", \"message\": \"…\", \"request_id\": \"…\", \
             \"fields\": [{\"field\": \"time_zone\", \"message\": \"…\"}]}\n```\n\n\
             `code` is stable: match on it, not on `message`. `fields` appears when specific fields are at fault \
             and names each one with what was expected. Internal errors never carry their cause; quote the \
             `request_id` (also sent as the `x-request-id` header) to find it in the server log.\n\n\
             | code | HTTP status | kind | meaning |\n|---|---|---|---|\n",
        );
        for code in Self::ALL {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                code.as_str(),
                code.http_status(),
                code.kind().as_str(),
                code.message()
            );
        }
        out
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_snake_case_with_valid_statuses() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{s} is not snake_case");
            assert!((400..600).contains(&code.http_status()), "{s} has a non-error status");
            assert!(code.message().ends_with('.'), "{s}: messages are sentences");
        }
    }

    #[test]
    fn docs_errors_md_matches_the_catalogue() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/errors.md");
        let generated = ErrorCode::markdown_catalogue();
        if std::env::var_os("BLESS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            on_disk, generated,
            "docs/errors.md is out of date; regenerate it with `BLESS=1 cargo test -p hearth-core`"
        );
    }
}
