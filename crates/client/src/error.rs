//! Typed errors mapped from the API's error envelope.

use serde_json::Value;

/// Everything a call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with an error envelope (or at least an error status).
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The request never got an answer (connection, timeout, TLS).
    #[error("connection error: {0}")]
    Connection(#[source] reqwest::Error),
    /// The answer was not what the API documents.
    #[error("unexpected response: {0}")]
    Decode(String),
    /// The client was configured wrongly (no API key, bad base URL).
    #[error("configuration error: {0}")]
    Config(String),
}

/// An error answer of the API: `{"error": {"code", "message", "details", "request_id"}}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The error code (`INVALID_API_KEY`, `VALIDATION_ERROR`, ...).
    pub code: String,
    /// A human-readable message.
    pub message: String,
    /// Structured details (`field`, `reason`, `permission`, `limit`, ...).
    pub details: Value,
    /// The request id, to quote to support.
    pub request_id: Option<String>,
    /// `Retry-After` in seconds, for 429 and 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// Whether this is a 401 (`INVALID_API_KEY`).
    pub fn is_authentication(&self) -> bool {
        self.status == 401
    }

    /// Whether this is a 403 (`INSUFFICIENT_PERMISSIONS`).
    pub fn is_permission(&self) -> bool {
        self.status == 403
    }

    /// Whether this is a 404 (`PROJECT_NOT_FOUND` or `NOT_FOUND`).
    pub fn is_not_found(&self) -> bool {
        self.status == 404
    }

    /// Whether this is a validation error (400/422).
    pub fn is_validation(&self) -> bool {
        self.code == "VALIDATION_ERROR"
    }

    /// Whether this is a 429.
    pub fn is_rate_limited(&self) -> bool {
        self.status == 429
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl Error {
    /// The API error, if this is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn from_response(status: u16, retry_after: Option<u64>, body: &[u8]) -> Self {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let err = parsed.as_ref().and_then(|v| v.get("error"));
        let text = |k: &str| err.and_then(|e| e.get(k)).and_then(Value::as_str).map(str::to_owned);
        Error::Api(Box::new(ApiError {
            status,
            code: text("code").unwrap_or_else(|| format!("HTTP_{status}")),
            message: text("message").unwrap_or_else(|| format!("HTTP {status}")),
            details: err.and_then(|e| e.get("details")).cloned().unwrap_or(Value::Null),
            request_id: text("request_id"),
            retry_after,
        }))
    }
}
