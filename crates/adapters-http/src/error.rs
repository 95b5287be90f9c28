//! `ApiError`: the one place that knows status codes and the error envelope.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use tengine_application::{AppError, AuthFailure};
use tengine_domain::error::error_chain;
use tengine_domain::{Denied, ValidationError};

use crate::doc::schemas::{ErrorBody, ErrorObject};
use crate::request_id;

/// An error response: `{"error": {"code", "message", "details", "request_id"}}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Map<String, Value>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with empty details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: Map::new(), retry_after: None }
    }

    /// The envelope's `code`, `message` and `details` (for answers that are not HTTP
    /// envelopes, such as MCP's JSON-RPC errors).
    pub fn envelope(&self) -> (&'static str, &str, &Map<String, Value>) {
        (self.code, &self.message, &self.details)
    }

    /// Adds one entry to `details`.
    #[must_use]
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// 400 for a body that is not JSON at all.
    pub fn malformed_json(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "The request body is not valid JSON")
            .detail("field", "body")
            .detail("reason", reason.into())
    }

    /// 422 for one field.
    pub fn invalid_field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ValidationError::field(field, reason).into()
    }

    /// 404 `NOT_FOUND` for a resource kind.
    pub fn not_found(resource: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("The requested {} was not found", resource.replace('_', " ")),
        )
        .detail("resource", resource)
    }

    /// 404 `PROJECT_NOT_FOUND`.
    pub fn project_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND", "Project not found").detail("resource", "project")
    }

    /// 405 for a known path with another method.
    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("Method {method} is not allowed on this resource"),
        )
        .detail("method", method)
    }

    /// 413 for a body over the limit.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", format!("The request body exceeds {limit} bytes"))
            .detail("limit_bytes", limit)
    }

    /// 431 for a request with more header fields than `limit`.
    pub fn too_many_headers(limit: usize) -> Self {
        Self::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "VALIDATION_ERROR",
            format!("The request has more than {limit} header fields"),
        )
        .detail("field", "headers")
        .detail("reason", format!("more than {limit} header fields"))
        .detail("limit", limit)
    }

    /// 415 for a body that is not `application/json`.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "The request body must be application/json",
        )
        .detail("field", "content-type")
        .detail("expected", "application/json")
    }

    /// 429 with `Retry-After`, the limit and when it resets.
    pub fn rate_limited(d: &tengine_ports::RateDecision) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMIT_EXCEEDED",
            format!("Rate limit exceeded: {} requests per hour; retry in {} s", d.limit, d.retry_after_secs),
        )
        .detail("limit", d.limit)
        .detail("remaining", d.remaining)
        .detail("reset_at", tengine_domain::time::format(d.reset_at))
        .detail("retry_after_seconds", d.retry_after_secs);
        e.retry_after = Some(d.retry_after_secs);
        e
    }

    /// 500 without internals.
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "An internal error occurred")
    }

    /// 503 with `Retry-After`.
    pub fn unavailable() -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "The service is temporarily unavailable; retry shortly",
        );
        e.retry_after = Some(1);
        e
    }
}

impl From<ValidationError> for ApiError {
    fn from(v: ValidationError) -> Self {
        let first = v.first();
        let message = format!("Validation failed: {} {}", first.field, first.reason);
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR", message)
            .detail("field", first.field.clone())
            .detail("reason", first.reason.clone());
        if let Some(value) = &first.value {
            e = e.detail("value", value.clone());
        }
        let all: Vec<Value> = v
            .errors()
            .map(|f| {
                let mut o = json!({"field": f.field, "reason": f.reason});
                if let (Some(value), Some(map)) = (&f.value, o.as_object_mut()) {
                    map.insert("value".into(), value.clone().into());
                }
                o
            })
            .collect();
        e.detail("errors", all)
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Unauthenticated { failure, prefix } => {
                let mut err = ApiError::new(StatusCode::UNAUTHORIZED, "INVALID_API_KEY", failure.message())
                    .detail("field", "authorization")
                    .detail("reason", reason(failure));
                if let Some(prefix) = prefix {
                    err = err.detail("value", prefix);
                }
                err
            }
            AppError::Forbidden(d) => {
                let err = ApiError::new(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS", capitalize(&d.to_string()))
                    .detail("reason", d.to_string());
                match d {
                    Denied::Missing(p) | Denied::CannotGrant(p) => err.detail("permission", p.as_str()),
                    Denied::AccountWideKeyRequired => err.detail("required_scope", "account"),
                    Denied::WouldOutlive => err.detail("field", "expires_at"),
                    Denied::KeyRequired | Denied::OutsidePortal => err.detail("field", "authorization"),
                }
            }
            AppError::ProjectNotFound => ApiError::project_not_found(),
            AppError::IdempotencyKeyReused => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "IDEMPOTENCY_KEY_REUSED",
                "This Idempotency-Key was already used with a different request",
            )
            .detail("field", "Idempotency-Key")
            .detail("reason", "was used with a different method, path or body within 24 hours"),
            AppError::IdempotencyKeyInUse => ApiError::new(
                StatusCode::CONFLICT,
                "IDEMPOTENCY_KEY_IN_USE",
                "A request with this Idempotency-Key is still being processed; retry shortly",
            )
            .detail("field", "Idempotency-Key"),
            AppError::NotFound(resource) => ApiError::not_found(resource),
            AppError::Validation(v) => v.into(),
            AppError::Unavailable(source) => {
                tracing::warn!(error = %error_chain(&source), "store unavailable");
                ApiError::unavailable()
            }
            AppError::Internal(source) => {
                tracing::error!(error = %error_chain(&source), "internal error");
                ApiError::internal()
            }
        }
    }
}

fn reason(f: AuthFailure) -> &'static str {
    match f {
        AuthFailure::Missing => "missing",
        AuthFailure::Malformed => "malformed",
        AuthFailure::Unknown => "invalid",
        AuthFailure::Expired => "expired",
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error = ErrorObject {
            code: self.code,
            message: self.message,
            details: self.details,
            request_id: request_id::current(),
        };
        let mut res = (self.status, axum::Json(ErrorBody { error })).into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}
