//! Tengine's HTTP API: the axum router under `/api/v1`, its extractors and the error
//! envelope every failure uses.

pub mod dto;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod request_id;
pub mod routes;
pub mod state;
pub mod usage;

use std::any::Any;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;
pub use state::{AppState, ReadinessCheck};

/// The API prefix.
pub const API_PREFIX: &str = "/api/v1";

/// Builds the whole application: API routes, health routes, fallbacks and middleware.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(routes::projects::router())
        .merge(routes::api_keys::router())
        .merge(routes::analytics::router())
        .merge(routes::webhooks::router())
        .merge(routes::deliveries::router())
        .merge(routes::events::router())
        .route_layer(axum::middleware::from_fn(track))
        .layer(axum::middleware::from_fn_with_state(state.clone(), usage::layer));
    Router::new()
        .nest(API_PREFIX, api)
        .merge(routes::health::router())
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
        .layer(CatchPanicLayer::custom(on_panic))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let request_id = req.headers().get(request_id::HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
                    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id)
                })
                .on_request(())
                .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(axum::middleware::from_fn(request_id::middleware))
        .with_state(state)
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
