//! Request ids: every response carries `X-Request-Id`, and error bodies repeat it.
//!
//! A task-local holds the id while the request is handled, so an `ApiError` built
//! anywhere (an extractor, a fallback, the panic handler) can include it.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

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

/// Middleware: sets the id for the request's duration and on the response.
pub async fn middleware(mut req: Request, next: Next) -> Response {
    let id = choose(&req);
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(HEADER, v);
    }
    let mut res = REQUEST_ID.scope(id.clone(), next.run(req)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, v);
    }
    res
}
