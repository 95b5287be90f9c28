//! Tengine's HTTP API: the axum router under `/api/v1`, its extractors and the error
//! envelope every failure uses.

pub mod dto;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod openapi;
pub mod request_id;
pub mod routes;
pub mod state;
pub mod usage;

use std::any::Any;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;
pub use state::{AppState, ReadinessCheck};

/// The API prefix.
pub const API_PREFIX: &str = "/api/v1";

/// Transport limits and browser access.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Requests handled at once; past it, a clean 503.
    pub max_concurrent_requests: usize,
    /// How long one request (reading its body included) may take; past it, a 503.
    pub request_timeout: Duration,
    /// Origins allowed by CORS; empty means no CORS headers at all.
    pub cors_origins: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self { max_concurrent_requests: 1_024, request_timeout: Duration::from_secs(30), cors_origins: Vec::new() }
    }
}

/// Builds the whole application with default transport settings.
pub fn router(state: AppState) -> Router {
    router_with(state, &HttpConfig::default())
}

/// Security headers every response carries (an API never renders in a browser frame).
fn security_headers() -> [(HeaderName, HeaderValue); 5] {
    [
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'")),
    ]
}

/// Builds the whole application: API routes, health routes, fallbacks and middleware.
pub fn router_with(state: AppState, config: &HttpConfig) -> Router {
    let api = Router::new()
        .merge(routes::projects::router())
        .merge(routes::api_keys::router())
        .merge(routes::analytics::router())
        .merge(routes::webhooks::router())
        .merge(routes::deliveries::router())
        .merge(routes::events::router())
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::layer))
        .route_layer(axum::middleware::from_fn(track))
        .layer(axum::middleware::from_fn_with_state(state.clone(), usage::layer));
    let timeout = config.request_timeout;
    let mut app = Router::new()
        .nest(API_PREFIX, api)
        .merge(routes::health::router())
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
        .layer(axum::middleware::from_fn(move |req: Request, next: axum::middleware::Next| async move {
            // Only requests with a body can be dripped slowly by a client; a timer per
            // bodiless request costs about a tenth of the hot path's throughput. Database
            // work is bounded separately (statement timeout, pool acquire timeout).
            let headers = req.headers();
            let has_body = headers.contains_key(header::TRANSFER_ENCODING)
                || headers.get(header::CONTENT_LENGTH).is_some_and(|v| v.as_bytes() != b"0");
            if !has_body {
                return next.run(req).await;
            }
            match tokio::time::timeout(timeout, next.run(req)).await {
                Ok(res) => res,
                Err(_) => ApiError::unavailable().detail("reason", "the request took too long").into_response(),
            }
        }))
        .layer(CatchPanicLayer::custom(on_panic));
    if !config.cors_origins.is_empty() {
        let origins: Vec<HeaderValue> =
            config.cors_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
        app = app.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    HeaderName::from_static("idempotency-key"),
                ])
                .expose_headers([HeaderName::from_static("x-request-id"), header::LINK, header::RETRY_AFTER]),
        );
    }
    let app = app
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let request_id = req.headers().get(request_id::HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id)
                })
                .on_request(())
                .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .with_state(state);
    // One limit for the whole server: `Router::layer` would give each route its own.
    let limited = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
            ApiError::unavailable().detail("reason", "the server is at its concurrent request limit")
        }))
        .load_shed()
        .concurrency_limit(config.max_concurrent_requests.max(1))
        .service(app);
    let mut outer = Router::new().fallback_service(limited);
    for (name, value) in security_headers() {
        outer = outer.layer(SetResponseHeaderLayer::if_not_present(name, value));
    }
    outer.layer(axum::middleware::from_fn(request_id::middleware))
}

/// What answers while the database is not reachable yet at start: `/healthz` is 200
/// (the process is alive), everything else a 503 with `Retry-After`.
pub fn starting_router() -> Router {
    async fn alive() -> axum::Json<serde_json::Value> {
        axum::Json(serde_json::json!({"status": "starting"}))
    }
    async fn unavailable() -> ApiError {
        ApiError::unavailable().detail("reason", "the server is starting: the database is not reachable yet")
    }
    let mut app = Router::new().route("/healthz", axum::routing::get(alive)).fallback(unavailable);
    for (name, value) in security_headers() {
        app = app.layer(SetResponseHeaderLayer::if_not_present(name, value));
    }
    app.layer(axum::middleware::from_fn(request_id::middleware))
}

/// Counts requests by route template (never a raw path), method and status.
async fn track(req: Request, next: axum::middleware::Next) -> Response {
    let route = req.extensions().get::<axum::extract::MatchedPath>().map_or("unmatched", |m| m.as_str()).to_owned();
    let method = req.method().as_str().to_owned();
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("tengine_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("tengine_http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    res
}

async fn unknown_route() -> ApiError {
    ApiError::not_found("route")
}

async fn wrong_method(method: Method) -> ApiError {
    ApiError::method_not_allowed(method.as_str())
}

fn on_panic(_: Box<dyn Any + Send + 'static>) -> Response {
    // The payload may quote request data; it is not logged.
    tracing::error!("a request handler panicked");
    ApiError::internal().into_response()
}
