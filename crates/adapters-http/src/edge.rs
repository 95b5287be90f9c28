//! The edge of the server: what every request goes through, in one service.
//!
//! axum boxes and clones each `Router::layer` once per request and layer, and the dozen
//! layers this used to be (request id, security headers, concurrency cap, panic guard,
//! timeout, trace, usage, metrics, body limit, the `/api/v1` prefix) cost the hot path
//! more CPU than its database query. Here they are one future, in the same order:
//! request id, concurrency cap, panic guard, timeout, routing; then metrics, usage and
//! headers on the way out.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures::FutureExt;
use tengine_application::Admission;
use tengine_ports::UsageRecord;
use tokio::sync::Semaphore;
use tower::{BoxError, Layer, Service};
use tracing::Instrument;

use crate::error::ApiError;
use crate::rate_headers::rate_headers;
use crate::request_id;
use crate::slot::SlotHandle;
use crate::state::AppState;

/// The header a TLS proxy names the client's scheme in.
const FORWARDED_PROTO: &str = "x-forwarded-proto";

/// Header fields a request may carry; past it, a 431 envelope. The HTTP/1.1 parser is
/// set to accept more (see [`PARSER_MAX_HEADERS`]) so that this answer, not its empty
/// one, is what clients see.
pub const MAX_HEADER_FIELDS: usize = 100;

/// What the server's HTTP/1.1 parser is configured to accept: past it, the parser itself
/// answers 431 with an empty body.
pub const PARSER_MAX_HEADERS: usize = 4 * MAX_HEADER_FIELDS;

type Routed = <DefaultBodyLimit as Layer<Router>>::Service;

/// The whole server as one tower service (cheap to clone: one `Arc`).
#[derive(Clone)]
pub struct Edge(Arc<EdgeParts>);

struct EdgeParts {
    /// Every route.
    plain: Routed,
    /// The same routes with `Idempotency-Key` handling, for POSTs that carry one.
    idempotent: Routed,
    state: AppState,
    permits: Arc<Semaphore>,
    timeout: Duration,
    metrics: RouteMetrics,
}

impl Edge {
    /// Wraps the two routers (built from the same routes).
    pub(crate) fn new(
        plain: Router,
        idempotent: Router,
        state: AppState,
        max_concurrent: usize,
        timeout: Duration,
    ) -> Self {
        let limit = DefaultBodyLimit::max(crate::extract::BODY_LIMIT);
        Self(Arc::new(EdgeParts {
            plain: limit.layer(plain),
            idempotent: limit.layer(idempotent),
            state,
            permits: Arc::new(Semaphore::new(max_concurrent.clamp(1, Semaphore::MAX_PERMITS))),
            timeout,
            metrics: RouteMetrics::default(),
        }))
    }
}

impl<B> Service<axum::http::Request<B>> for Edge
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        let parts = Arc::clone(&self.0);
        let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
        let work = async move { identified(req.map(Body::new), |req| async move { parts.handle(req).await }).await };
        if !writes {
            return Box::pin(async move { Ok(work.await) });
        }
        // A client that disconnects drops its request's future wherever it is. For a
        // write that can be in the middle of a transaction, between a statement sent and
        // its answer read, where the database driver cannot always tell whether a
        // `BEGIN` took effect (a connection then went back to the pool inside a
        // transaction, seen under load as "there is no transaction in progress" and as
        // locks held until the statement timeout). A write runs in a task of its own,
        // to its end, whether or not anyone waits for its answer.
        Box::pin(async move {
            Ok(tokio::spawn(work).await.unwrap_or_else(|_| {
                tracing::error!("a request task failed");
                ApiError::internal().into_response()
            }))
        })
    }
}

/// Gives a request its id (for its whole handling, its log span and its answer) and the
/// answer the security headers: what every response of the server carries, the
/// starting router's included.
pub(crate) async fn identified<F, Fut>(mut req: Request, handle: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let id = request_id::choose(&req);
    let value = HeaderValue::from_str(&id).ok();
    if let Some(v) = &value {
        req.headers_mut().insert(request_id::HEADER, v.clone());
    }
    let span = tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id);
    let mut res = request_id::scope(id, handle(req).instrument(span)).await;
    finish_headers(res.headers_mut(), value);
    res
}

impl EdgeParts {
    async fn handle(&self, mut req: Request) -> Response {
        let started = Instant::now();
        if req.headers().len() > MAX_HEADER_FIELDS {
            return ApiError::too_many_headers(MAX_HEADER_FIELDS).into_response();
        }
        let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
            return ApiError::unavailable()
                .detail("reason", "the server is at its concurrent request limit")
                .into_response();
        };
        let slot = SlotHandle::default();
        req.extensions_mut().insert(slot.clone());
        let method = req.method().clone();
        // Only requests with a body can be dripped slowly by a client; database work is
        // bounded separately (statement timeout, pool acquire timeout). Asking the body,
        // not the headers, covers a body however it is framed.
        let has_body = !req.body().is_end_stream();
        // `/mcp` reads a refused request's body itself, keeping the connection.
        let mcp = req.uri().path().starts_with(crate::mcp::PATH);
        let idempotent = method == Method::POST && req.headers().contains_key(crate::idempotency::HEADER);
        // What a 401 of the API needs to name its resource metadata (RFC 9728 §5.1).
        // Only the two header values (reference-counted), so the hot path allocates nothing.
        let api_origin = req.uri().path().starts_with("/api/").then(|| {
            let get = |name: &str| req.headers().get(name).cloned();
            (get(header::HOST.as_str()), get(FORWARDED_PROTO))
        });
        let mut router = if idempotent { self.idempotent.clone() } else { self.plain.clone() };
        // `None` when the handler panicked.
        let routed = std::panic::catch_unwind(AssertUnwindSafe(|| router.call(req)));
        let answered = async move {
            let done = AssertUnwindSafe(routed.ok()?).catch_unwind().await.ok()?;
            Some(done.unwrap_or_else(|never| match never {}))
        };
        let answered = if has_body {
            tokio::time::timeout(self.timeout, answered).await.unwrap_or_else(|_| {
                Some(ApiError::unavailable().detail("reason", "the request took too long").into_response())
            })
        } else {
            answered.await
        };
        drop(permit);
        let mut res = answered.unwrap_or_else(|| {
            // The payload may quote request data; it is not logged.
            tracing::error!("a request handler panicked");
            ApiError::internal().into_response()
        });
        if let Some((host, proto)) = api_origin.filter(|_| res.status() == StatusCode::UNAUTHORIZED) {
            if !res.headers().contains_key(header::WWW_AUTHENTICATE) {
                let mut h = HeaderMap::new();
                for (name, value) in [(header::HOST, host), (HeaderName::from_static(FORWARDED_PROTO), proto)] {
                    if let Some(v) = value {
                        h.insert(name, v);
                    }
                }
                let origin = crate::mcp::public_origin(&self.state.tengine, &h);
                let challenge = crate::mcp::challenge(&origin, "/.well-known/oauth-protected-resource/api/v1");
                res.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
            }
        }
        if has_body && !mcp && res.status().is_client_error() && !res.headers().contains_key(header::CONNECTION) {
            // A refusal may come before its body was read (a 401 from authentication), and
            // then the connection cannot be reused: say so, so that a client does not send
            // its next request (the discovery a 401 calls for) on a connection being closed.
            res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        let elapsed = started.elapsed();
        if let Some(route) = slot.0.route.get() {
            self.metrics.record(route, &method, res.status().as_u16(), elapsed);
        }
        if let Some(auth) = slot.0.auth.get() {
            self.account(auth, &mut res, elapsed);
        }
        tracing::info!(
            status = res.status().as_u16(),
            latency_ms = elapsed.as_secs_f64() * 1e3,
            "finished processing request"
        );
        res
    }

    /// Records usage and sets the rate-limit headers of an authenticated request.
    fn account(&self, auth: &Admission, res: &mut Response, elapsed: Duration) {
        if !self.state.metering {
            return;
        }
        if let Some(d) = &auth.rate {
            rate_headers(res.headers_mut(), d);
            if !d.allowed {
                metrics::counter!("tengine_rate_limit_refusals_total").increment(1);
            }
        }
        if let Some(project_id) = auth.project {
            self.state.usage.record(UsageRecord {
                at: auth.at,
                account_id: auth.principal.account_id,
                project_id,
                // An OAuth token's requests count under its integration.
                subject: match auth.principal.oauth {
                    Some(o) => tengine_domain::usage::UsageSubject::Integration(o.integration_id),
                    None => auth.principal.key_id.into(),
                },
                status: res.status().as_u16(),
                latency_us: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            });
        }
    }
}

/// Security headers every response carries (an API never renders in a browser frame).
fn security_headers() -> [(header::HeaderName, HeaderValue); 5] {
    [
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'")),
    ]
}

/// Adds the security headers a handler did not set, and the request id.
pub(crate) fn finish_headers(headers: &mut HeaderMap, request_id: Option<HeaderValue>) {
    headers.reserve(6);
    for (name, value) in security_headers() {
        if !headers.contains_key(&name) {
            headers.insert(name, value);
        }
    }
    if let Some(v) = request_id {
        headers.insert(request_id::HEADER, v);
    }
}

/// Request counters and latency histograms by route template, method and status, with
/// their handles kept: building a labelled key costs several allocations per request.
#[derive(Default)]
struct RouteMetrics {
    handles: RwLock<HashMap<String, ByMethodAndStatus>>,
}

type Handles = (metrics::Counter, metrics::Histogram);
type ByMethodAndStatus = HashMap<(Method, u16), Handles>;

impl RouteMetrics {
    fn record(&self, route: &MatchedPath, method: &Method, status: u16, elapsed: Duration) {
        let route = route.as_str();
        let found = {
            let map = self.handles.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            map.get(route).and_then(|m| m.get(&(method.clone(), status))).cloned()
        };
        let (counter, histogram) = found.unwrap_or_else(|| {
            let (r, m) = (route.to_owned(), method.as_str().to_owned());
            let made: Handles = (
                metrics::counter!("tengine_http_requests_total", "route" => r.clone(), "method" => m.clone(), "status" => status.to_string()),
                metrics::histogram!("tengine_http_request_duration_seconds", "route" => r, "method" => m),
            );
            let mut map = self.handles.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            map.entry(route.to_owned()).or_default().insert((method.clone(), status), made.clone());
            made
        });
        counter.increment(1);
        histogram.record(elapsed.as_secs_f64());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use axum::Router;
    use tengine_application::{Deps, SlidingWindowLimiter, Tengine};
    use tengine_domain::secret_key::{Keyring, ServerKey};
    use tengine_ports::{MockClock, MockIdGenerator, MockSecretGenerator, MockStore, MockUsageSink};
    use tower::ServiceExt;

    use super::Edge;
    use crate::state::{AppState, AppStateParts};

    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_millis(400)).await;
        "done"
    }

    async fn broken() -> &'static str {
        panic!("a handler bug")
    }

    /// Finished runs of [`finish`], by method.
    static FINISHED: [std::sync::atomic::AtomicUsize; 2] =
        [std::sync::atomic::AtomicUsize::new(0), std::sync::atomic::AtomicUsize::new(0)];

    async fn finish(method: axum::http::Method) -> &'static str {
        tokio::time::sleep(Duration::from_millis(50)).await;
        FINISHED[usize::from(method == axum::http::Method::POST)].fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        "done"
    }

    /// An edge over routes that panic or take long, with a 100 ms body timeout.
    fn edge() -> Edge {
        let state = AppState::new(AppStateParts {
            tengine: Tengine::new(Deps {
                store: Arc::new(MockStore::new()),
                clock: Arc::new(MockClock::new()),
                ids: Arc::new(MockIdGenerator::new()),
                secrets: Arc::new(MockSecretGenerator::new()),
                limiter: Arc::new(SlidingWindowLimiter::local()),
                keyring: Arc::new(Keyring::new(ServerKey::from_bytes([1; 32]), vec![])),
                tool_caller: Arc::new(tengine_ports::MockToolCaller::new()),
            }),
            ready: Arc::new(|| Box::pin(async { true })),
            usage: Arc::new(MockUsageSink::new()),
            metering: false,
            metrics: Arc::new(String::new),
            streams: Default::default(),
        });
        let routes = || {
            Router::new()
                .route("/slow", get(slow).post(slow))
                .route("/broken", get(broken))
                .route("/finish", get(finish).post(finish))
        };
        Edge::new(routes(), routes(), state, 8, Duration::from_millis(100))
    }

    async fn send(req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let res = edge().oneshot(req).await.unwrap();
        let (parts, body) = res.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        (parts.status, parts.headers, serde_json::from_slice(&bytes).unwrap_or_default())
    }

    #[tokio::test]
    async fn a_write_runs_to_its_end_when_its_client_goes_away_and_a_read_stops() {
        use std::sync::atomic::Ordering::SeqCst;
        for method in ["GET", "POST"] {
            let req = Request::builder().method(method).uri("/finish").body(Body::empty()).unwrap();
            let gone = tokio::time::timeout(Duration::from_millis(10), edge().oneshot(req)).await;
            assert!(gone.is_err(), "the client stopped waiting before the handler finished");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(FINISHED[1].load(SeqCst), 1, "the write finished without its client");
        assert_eq!(FINISHED[0].load(SeqCst), 0, "the read was dropped with its client");
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_500_envelope_with_the_usual_headers() {
        let (status, headers, body) = send(Request::get("/broken").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"]["code"], "INTERNAL_ERROR", "{body}");
        let id = headers["x-request-id"].to_str().unwrap();
        assert_eq!(body["error"]["request_id"], id);
        assert_eq!(headers["x-content-type-options"], "nosniff");
    }

    #[tokio::test]
    async fn a_request_with_a_body_is_cut_at_the_timeout_and_one_without_is_not() {
        let with_body = Request::post("/slow").header("content-length", "2").body(Body::from("{}")).unwrap();
        let (status, _, body) = send(with_body).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["details"]["reason"], "the request took too long", "{body}");
        let (status, _, _) = send(Request::get("/slow").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "database work is bounded elsewhere; bodiless requests run on");
    }

    #[tokio::test]
    async fn a_body_framed_without_length_headers_is_cut_at_the_timeout_too() {
        // HTTP/2 frames a body with DATA frames alone: no Content-Length, no Transfer-Encoding.
        let never_ends = Body::from_stream(futures::stream::pending::<Result<axum::body::Bytes, std::io::Error>>());
        let (status, _, body) = send(Request::post("/slow").body(never_ends).unwrap()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["details"]["reason"], "the request took too long", "{body}");
    }

    #[tokio::test]
    async fn more_header_fields_than_the_limit_get_a_431_envelope() {
        let mut req = Request::get("/slow");
        for i in 0..=super::MAX_HEADER_FIELDS {
            req = req.header(format!("x-filler-{i}"), "1");
        }
        let (status, headers, body) = send(req.body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        assert_eq!(body["error"]["code"], "VALIDATION_ERROR", "{body}");
        assert_eq!(body["error"]["details"]["limit"], super::MAX_HEADER_FIELDS);
        assert_eq!(body["error"]["request_id"], headers["x-request-id"].to_str().unwrap());
    }
}
