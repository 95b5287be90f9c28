//! The reusable error responses (each with the error envelope, examples and headers) and
//! the response headers the middleware adds.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};

use utoipa::openapi::Ref;
use utoipa::{IntoResponses, ToResponse, ToSchema};

use super::schemas::ErrorBody;

const REQUEST_ID: &str = "req_01936f0e4b9c7d2a8e5f1a3b6c9d0e12";

fn header(ty: Type, description: &str, example: Option<Value>) -> Header {
    let schema: RefOr<Schema> = ObjectBuilder::new().schema_type(ty).examples(example).into();
    HeaderBuilder::new().schema(schema).description(Some(description)).build()
}

/// `X-Request-Id`, on every response.
pub fn request_id_header() -> (&'static str, Header) {
    (
        "X-Request-Id",
        header(
            Type::String,
            "The request's id: the client's own `X-Request-Id` when it is 1..=128 characters of \
             `[A-Za-z0-9-_.:]`, else a generated `req_...`. Error bodies repeat it as `error.request_id`.",
            Some(json!(REQUEST_ID)),
        ),
    )
}

/// The rate-limit headers of an authenticated response (SPEC section 7).
pub fn rate_limit_headers() -> Vec<(&'static str, Header)> {
    let only = "Sent on authenticated responses of accounts with a rate limit (not on 401).";
    vec![
        ("X-RateLimit-Limit", header(Type::Integer, &format!("Requests allowed per hour. {only}"), Some(json!(1000)))),
        (
            "X-RateLimit-Remaining",
            header(Type::Integer, &format!("Requests left in the current window. {only}"), Some(json!(958))),
        ),
        (
            "X-RateLimit-Reset",
            header(
                Type::Integer,
                &format!("A whole second, in Unix seconds, at which a request is admitted if nothing else is sent; after a 429 exactly `Date` + `Retry-After`. {only}"),
                Some(json!(1_795_000_000)),
            ),
        ),
        (
            "RateLimit-Policy",
            header(
                Type::String,
                &format!("The policy, as in the IETF RateLimit headers draft 10. {only}"),
                Some(json!("\"hourly\";q=1000;w=3600")),
            ),
        ),
        (
            "RateLimit",
            header(
                Type::String,
                &format!("Remaining requests and seconds to the reset (IETF draft 10). {only}"),
                Some(json!("\"hourly\";r=958;t=1800")),
            ),
        ),
    ]
}

/// `Retry-After` in seconds.
pub fn retry_after(description: &str, example: u64) -> (&'static str, Header) {
    ("Retry-After", header(Type::Integer, description, Some(json!(example))))
}

/// One named example of the envelope.
struct Example {
    name: &'static str,
    summary: &'static str,
    code: &'static str,
    message: &'static str,
    details: Value,
}

fn error_response(
    description: &str,
    examples: Vec<Example>,
    headers: Vec<(&'static str, Header)>,
    rate_limited: bool,
) -> RefOr<Response> {
    let examples = examples.into_iter().map(|e| {
        let value = json!({"error": {
            "code": e.code, "message": e.message, "details": e.details, "request_id": REQUEST_ID
        }});
        (e.name, ExampleBuilder::new().summary(e.summary).value(Some(value)).build())
    });
    let content = ContentBuilder::new()
        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(ErrorBody::name()))))
        .examples_from_iter(examples)
        .build();
    let mut b = ResponseBuilder::new().description(description).content("application/json", content);
    let (name, h) = request_id_header();
    b = b.header(name, h);
    for (name, h) in headers {
        b = b.header(name, h);
    }
    if rate_limited {
        for (name, h) in rate_limit_headers() {
            b = b.header(name, h);
        }
    }
    b.build().into()
}

/// Declares a reusable error response component.
macro_rules! error_response {
    ($(#[$meta:meta])* $ty:ident, $build:expr) => {
        $(#[$meta])*
        pub struct $ty;

        impl<'r> ToResponse<'r> for $ty {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($ty), $build)
            }
        }
    };
}

error_response!(
    /// 400: the body is not JSON at all.
    MalformedJson,
    error_response(
        "`VALIDATION_ERROR`: the request body is not valid JSON.",
        vec![Example {
            name: "malformed",
            summary: "Unparseable JSON",
            code: "VALIDATION_ERROR",
            message: "The request body is not valid JSON",
            details: json!({"field": "body", "reason": "EOF while parsing an object"}),
        }],
        vec![],
        true,
    )
);

error_response!(
    /// 401: no usable key.
    Unauthorized,
    error_response(
        "`INVALID_API_KEY`: the key is missing, malformed, unknown, expired or revoked. Only a \
         key-shaped credential's prefix is ever echoed.",
        vec![Example {
            name: "invalid",
            summary: "Unknown or revoked key",
            code: "INVALID_API_KEY",
            message: "The provided API key is invalid",
            details: json!({"field": "authorization", "reason": "invalid", "value": "tng_4Xb9QeR2"}),
        }],
        vec![],
        false,
    )
);

error_response!(
    /// 403: the key lacks a permission.
    Forbidden,
    error_response(
        "`INSUFFICIENT_PERMISSIONS`: the key lacks the permission the operation needs \
         (`details.permission`), or an account-wide key is required (`details.required_scope`).",
        vec![Example {
            name: "missing_permission",
            summary: "Missing permission",
            code: "INSUFFICIENT_PERMISSIONS",
            message: "This API key lacks the 'admin' permission",
            details: json!({"reason": "this API key lacks the 'admin' permission", "permission": "admin"}),
        }],
        vec![],
        true,
    )
);

fn project_not_found() -> Example {
    Example {
        name: "project_not_found",
        summary: "Project missing, deleted or out of the key's scope",
        code: "PROJECT_NOT_FOUND",
        message: "Project not found",
        details: json!({"resource": "project"}),
    }
}

error_response!(
    /// 404 for routes whose only resource is the project.
    ProjectNotFound,
    error_response(
        "`PROJECT_NOT_FOUND`: the project does not exist, was deleted, or is outside the key's \
         scope (the same answer in every case).",
        vec![project_not_found()],
        vec![],
        true,
    )
);

error_response!(
    /// 404 for routes below a project.
    NotFound,
    error_response(
        "`PROJECT_NOT_FOUND` for the project (missing, deleted or out of scope), else `NOT_FOUND` \
         with `details.resource` naming what is missing. A malformed id is simply not found.",
        vec![
            project_not_found(),
            Example {
                name: "not_found",
                summary: "Another resource is missing",
                code: "NOT_FOUND",
                message: "The requested webhook was not found",
                details: json!({"resource": "webhook"}),
            },
        ],
        vec![],
        true,
    )
);

error_response!(
    /// 413: the body is over 1 MiB.
    PayloadTooLarge,
    error_response(
        "`PAYLOAD_TOO_LARGE`: the request body exceeds 1 MiB.",
        vec![Example {
            name: "too_large",
            summary: "Body over 1 MiB",
            code: "PAYLOAD_TOO_LARGE",
            message: "The request body exceeds 1048576 bytes",
            details: json!({"limit_bytes": 1_048_576}),
        }],
        vec![],
        true,
    )
);

error_response!(
    /// 415: the body is not JSON.
    UnsupportedMediaType,
    error_response(
        "`UNSUPPORTED_MEDIA_TYPE`: the body's `Content-Type` is not `application/json` (or `application/*+json`).",
        vec![Example {
            name: "unsupported",
            summary: "Wrong content type",
            code: "UNSUPPORTED_MEDIA_TYPE",
            message: "The request body must be application/json",
            details: json!({"field": "content-type", "expected": "application/json"}),
        }],
        vec![],
        true,
    )
);

error_response!(
    /// 422: a field of the body, path or query is invalid.
    ValidationFailed,
    error_response(
        "`VALIDATION_ERROR`: a body field, query parameter or header is invalid (including unknown \
         fields and parameters). `details.field`/`details.reason` name the first problem, \
         `details.errors` lists them all. On a POST, also `IDEMPOTENCY_KEY_REUSED`: the \
         `Idempotency-Key` was used with another request within 24 hours.",
        vec![
            Example {
            name: "invalid_field",
            summary: "An invalid field",
            code: "VALIDATION_ERROR",
            message: "Validation failed: per_page must be an integer between 1 and 100",
            details: json!({
                "field": "per_page",
                "reason": "must be an integer between 1 and 100",
                "value": "500",
                "errors": [{"field": "per_page", "reason": "must be an integer between 1 and 100", "value": "500"}]
            }),
            },
            Example {
                name: "idempotency_key_reused",
                summary: "An Idempotency-Key reused with another request",
                code: "IDEMPOTENCY_KEY_REUSED",
                message: "This Idempotency-Key was already used with a different request",
                details: json!({
                    "field": "Idempotency-Key",
                    "reason": "was used with a different method, path or body within 24 hours"
                }),
            },
        ],
        vec![],
        true,
    )
);

error_response!(
    /// 409: a request with the same `Idempotency-Key` is still running.
    IdempotencyKeyInUse,
    error_response(
        "`IDEMPOTENCY_KEY_IN_USE`: a request with this `Idempotency-Key` has been running for \
         10 s and is not finished; retry shortly.",
        vec![Example {
            name: "in_use",
            summary: "A duplicate request still running",
            code: "IDEMPOTENCY_KEY_IN_USE",
            message: "A request with this Idempotency-Key is still being processed; retry shortly",
            details: json!({"field": "Idempotency-Key"}),
        }],
        vec![],
        true,
    )
);

error_response!(
    /// 429: the account's hourly allowance is spent.
    RateLimited,
    error_response(
        "`RATE_LIMIT_EXCEEDED`: the account's hourly allowance is spent; retry after `Retry-After` seconds.",
        vec![Example {
            name: "rate_limited",
            summary: "Hourly limit reached",
            code: "RATE_LIMIT_EXCEEDED",
            message: "Rate limit exceeded: 100 requests per hour; retry in 1800 s",
            details: json!({
                "limit": 100, "remaining": 0, "reset_at": "2026-11-28T13:00:00Z", "retry_after_seconds": 1800
            }),
        }],
        vec![retry_after("Seconds until a request can succeed.", 1800)],
        true,
    )
);

error_response!(
    /// 500: a bug; nothing internal is said.
    InternalError,
    error_response(
        "`INTERNAL_ERROR`: an unexpected failure; the message never contains internals.",
        vec![Example {
            name: "internal",
            summary: "Internal error",
            code: "INTERNAL_ERROR",
            message: "An internal error occurred",
            details: json!({}),
        }],
        vec![],
        true,
    )
);

error_response!(
    /// 503: the database cannot be reached.
    ServiceUnavailable,
    error_response(
        "`SERVICE_UNAVAILABLE`: the database cannot be reached; retry after `Retry-After` seconds.",
        vec![Example {
            name: "unavailable",
            summary: "Database unreachable",
            code: "SERVICE_UNAVAILABLE",
            message: "The service is temporarily unavailable; retry shortly",
            details: json!({}),
        }],
        vec![retry_after("Seconds to wait before retrying.", 1)],
        true,
    )
);

/// References to reusable responses, by status.
fn refs(entries: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    entries.iter().map(|(status, name)| ((*status).to_owned(), RefOr::Ref(Ref::from_response_name(*name)))).collect()
}

/// What every authenticated operation can answer besides its success: 401, 403, 429,
/// 500 and 503.
pub struct AuthErrors;

impl IntoResponses for AuthErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[
            ("401", "Unauthorized"),
            ("403", "Forbidden"),
            ("429", "RateLimited"),
            ("500", "InternalError"),
            ("503", "ServiceUnavailable"),
        ])
    }
}

/// [`AuthErrors`] and 404 `PROJECT_NOT_FOUND`: an operation on a project.
pub struct ProjectErrors;

impl IntoResponses for ProjectErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut all = AuthErrors::responses();
        all.extend(refs(&[("404", "ProjectNotFound")]));
        all
    }
}

/// [`AuthErrors`] and 404 `NOT_FOUND` (or `PROJECT_NOT_FOUND`): an operation on a
/// resource inside a project.
pub struct ResourceErrors;

impl IntoResponses for ResourceErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut all = AuthErrors::responses();
        all.extend(refs(&[("404", "NotFound")]));
        all
    }
}

/// What a JSON body can be refused with: 400, 413, 415 and 422.
pub struct BodyErrors;

impl IntoResponses for BodyErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[
            ("400", "MalformedJson"),
            ("413", "PayloadTooLarge"),
            ("415", "UnsupportedMediaType"),
            ("422", "ValidationFailed"),
        ])
    }
}

/// What query parameters can be refused with: 422.
pub struct QueryErrors;

impl IntoResponses for QueryErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[("422", "ValidationFailed")])
    }
}
