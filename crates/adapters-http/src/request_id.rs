//! Request ids: every response carries `X-Request-Id`, and error bodies repeat it.
//!
//! A task-local holds the id while the request is handled, so an `ApiError` built
//! anywhere (an extractor, a fallback, the panic handler) can include it.

use axum::extract::Request;

/// The header name.
pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Keeps a sane client-supplied id (for tracing across systems), else makes one.
pub(crate) fn choose(req: &Request) -> String {
    req.headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(fresh, str::to_owned)
}

/// A new id.
pub(crate) fn fresh() -> String {
    format!("req_{}", uuid::Uuid::now_v7().simple())
}

/// Runs `f` with `id` as the current request id.
pub(crate) async fn scope<F: std::future::Future>(id: String, f: F) -> F::Output {
    REQUEST_ID.scope(id, f).await
}
