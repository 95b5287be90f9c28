//! The application's error: what went wrong, in terms the HTTP layer can map.

use tengine_domain::{Denied, ValidationError};
use tengine_ports::RepoError;

/// Why an API key did not authenticate; the message is safe to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization` header.
    Missing,
    /// Not `Bearer <key>`, or not a well-formed key.
    Malformed,
    /// Well-formed but unknown, revoked, or its project was deleted.
    Unknown,
    /// Past its expiry.
    Expired,
}

impl AuthFailure {
    /// A client-facing explanation.
    pub fn message(&self) -> &'static str {
        match self {
            AuthFailure::Missing => "Missing API key: send 'Authorization: Bearer <key>'",
            AuthFailure::Malformed => "The provided API key is malformed",
            AuthFailure::Unknown => "The provided API key is invalid",
            AuthFailure::Expired => "The provided API key has expired",
        }
    }
}

/// Everything a use case can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 401: no usable key. `prefix` is the key-shaped prefix that is safe to echo.
    #[error("unauthenticated: {failure:?}")]
    Unauthenticated {
        /// Why.
        failure: AuthFailure,
        /// The first characters of a key-shaped credential, if any.
        prefix: Option<String>,
    },
    /// 403: the key may not do this.
    #[error("forbidden: {0}")]
    Forbidden(#[from] Denied),
    /// 404: the project is missing, deleted or out of scope.
    #[error("project not found")]
    ProjectNotFound,
    /// 404: another resource (named) is missing.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 422: the input is invalid.
    #[error("validation failed: {0}")]
    Validation(#[from] ValidationError),
    /// 422: the `Idempotency-Key` was used with another request.
    #[error("idempotency key reused")]
    IdempotencyKeyReused,
    /// 409: a request with the same `Idempotency-Key` is still running.
    #[error("idempotency key in use")]
    IdempotencyKeyInUse,
    /// 503: the store is unreachable.
    #[error("service unavailable")]
    Unavailable(#[source] RepoError),
    /// 500: a bug or corrupt data; details go to the log only.
    #[error("internal error")]
    Internal(#[source] RepoError),
}

impl From<RepoError> for AppError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::Unavailable(_) => AppError::Unavailable(e),
            // The client named the cursor; it is their mistake, not the store's.
            RepoError::UnknownCursor(field) => {
                AppError::Validation(tengine_domain::FieldError::new(field, "is not an item of this list").into())
            }
            _ => AppError::Internal(e),
        }
    }
}

impl AppError {
    /// A 401 for `failure`, echoing nothing.
    pub fn unauthenticated(failure: AuthFailure) -> Self {
        AppError::Unauthenticated { failure, prefix: None }
    }
}

impl From<tengine_domain::FieldError> for AppError {
    fn from(e: tengine_domain::FieldError) -> Self {
        AppError::Validation(e.into())
    }
}
