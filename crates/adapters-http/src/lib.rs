//! Tengine's HTTP API: the axum router under `/api/v1`, its extractors and the error
//! envelope every failure uses.

pub mod doc;
pub mod dto;
pub mod edge;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod mcp;
pub mod metrics_access;
pub(crate) mod oauth;
pub mod openapi;
pub mod rate_headers;
pub mod refusal;
pub mod request_id;
pub mod routes;
pub mod slot;
pub mod state;

use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use edge::Edge;
pub use error::ApiError;
pub use metrics_access::{MetricsAccess, MetricsToken};
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
    /// How `/metrics` answers on the listener this router serves.
    pub metrics: MetricsAccess,
    /// Routes served beside the API (the console), behind the same edge.
    pub pages: Option<Pages>,
}

/// Routes of another adapter served beside the API (the console's pages and assets).
#[derive(Clone)]
pub struct Pages(pub Router);

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pages(..)")
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_concurrent_requests: 1_024,
            request_timeout: Duration::from_secs(30),
            cors_origins: Vec::new(),
            metrics: MetricsAccess::Open,
            pages: None,
        }
    }
}

/// Builds the whole application with default transport settings.
pub fn router(state: AppState) -> Edge {
    router_with(state, &HttpConfig::default())
}

/// Every route, the fallbacks and, with `idempotent`, `Idempotency-Key` handling.
/// `mcp` is the `/mcp` router, built once so both routers share its sessions.
fn routes(
    state: &AppState,
    idempotent: bool,
    cors: Option<&CorsLayer>,
    metrics: &MetricsAccess,
    mcp: Router<AppState>,
    pages: Option<&Pages>,
) -> Router {
    let (mut app, _) = routes::all(metrics).split_for_parts();
    if idempotent {
        // Only POSTs with an `Idempotency-Key` reach this router; `/api/v1` has them all.
        app = app.route_layer(axum::middleware::from_fn(idempotency::layer));
    }
    // Served by rmcp, outside the OpenAPI document.
    let mut app =
        app.merge(mcp).merge(oauth::router()).fallback(unknown_route).method_not_allowed_fallback(wrong_method);
    if let Some(cors) = cors {
        app = app.layer(cors.clone());
    }
    let app = app.with_state(state.clone());
    match pages {
        Some(Pages(pages)) => app.merge(pages.clone()),
        None => app,
    }
}

/// Builds the whole application: API routes, health routes, fallbacks and what every
/// request goes through (see [`edge`]).
pub fn router_with(state: AppState, config: &HttpConfig) -> Edge {
    // `GET /openapi.json` serves the document of these very routes.
    let _ = openapi::json();
    let _ = openapi::event_types_json();
    let cors = (!config.cors_origins.is_empty()).then(|| {
        let origins: Vec<HeaderValue> =
            config.cors_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, HeaderName::from_static("idempotency-key")])
            .expose_headers([HeaderName::from_static("x-request-id"), header::LINK, header::RETRY_AFTER])
    });
    let mcp = mcp::router(&state);
    let pages = config.pages.as_ref();
    let plain = routes(&state, false, cors.as_ref(), &config.metrics, mcp.clone(), pages);
    let idempotent = routes(&state, true, cors.as_ref(), &config.metrics, mcp, pages);
    Edge::new(plain, idempotent, state, config.max_concurrent_requests, config.request_timeout)
}

/// `/metrics` alone, as `config.metrics` says, for a listener of its own (everything
/// else there is a 404).
pub fn metrics_router(state: AppState, config: &HttpConfig) -> Edge {
    let app = || {
        let (router, _) = routes::health::metrics_router(&config.metrics).split_for_parts();
        router.fallback(unknown_route).method_not_allowed_fallback(wrong_method).with_state(state.clone())
    };
    Edge::new(app(), app(), state.clone(), config.max_concurrent_requests, config.request_timeout)
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
    Router::new()
        .route("/healthz", axum::routing::get(alive))
        .fallback(unavailable)
        .layer(axum::middleware::from_fn(|req, next: axum::middleware::Next| edge::identified(req, |r| next.run(r))))
}

async fn unknown_route() -> ApiError {
    ApiError::not_found("route")
}

async fn wrong_method(method: Method) -> ApiError {
    ApiError::method_not_allowed(method.as_str())
}
