//! `/healthz` (the process is alive), `/readyz` (the database answers), `/metrics`
//! (Prometheus text) and `/openapi.json` (the API's description).

use axum::extract::State;
use axum::http::{header, HeaderName, StatusCode};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::doc::schemas::ErrorBody;
use crate::error::ApiError;
use crate::state::AppState;

/// The operational routes (outside `/api/v1`, no authentication).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
}

/// A health answer.
#[derive(Serialize, ToSchema)]
#[schema(as = HealthStatus)]
struct StatusBody {
    /// `ok` from `/healthz`, `ready` from `/readyz`.
    #[schema(value_type = String, example = "ok")]
    status: &'static str,
}

/// Answers while the process is alive.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "Operations",
    summary = "Liveness",
    responses((status = 200, description = "The process is alive: `{\"status\": \"ok\"}`.", body = StatusBody))
)]
async fn healthz() -> Json<StatusBody> {
    Json(StatusBody { status: "ok" })
}

/// The Prometheus metrics.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "Operations",
    summary = "Prometheus metrics",
    responses((status = 200, description = "Metrics in the Prometheus text format 0.0.4.",
        body = String, content_type = "text/plain; version=0.0.4"))
)]
async fn metrics(State(state): State<AppState>) -> ([(HeaderName, &'static str); 1], String) {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], (state.metrics)())
}

/// Answers 200 when the database is reachable.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "Operations",
    summary = "Readiness",
    responses(
        (status = 200, description = "The database answers: `{\"status\": \"ready\"}`.", body = StatusBody),
        (status = 503, description = "`SERVICE_UNAVAILABLE`: the database cannot be reached.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying.")),
            example = json!({"error": {
                "code": "SERVICE_UNAVAILABLE",
                "message": "The service is temporarily unavailable; retry shortly",
                "details": {"reason": "database unreachable"},
                "request_id": "req_01936f0e4b9c7d2a8e5f1a3b6c9d0e12"
            }})),
    )
)]
async fn readyz(State(state): State<AppState>) -> Result<(StatusCode, Json<StatusBody>), ApiError> {
    if (state.ready)().await {
        Ok((StatusCode::OK, Json(StatusBody { status: "ready" })))
    } else {
        Err(ApiError::unavailable().detail("reason", "database unreachable"))
    }
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "getOpenApi",
    tag = "Operations",
    summary = "The OpenAPI document",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API.", body = Object))
)]
async fn openapi_json() -> ([(HeaderName, &'static str); 1], &'static str) {
    // Rendered when the router was built.
    let doc = crate::doc::DOCUMENT.get().map_or("{}", String::as_str);
    ([(header::CONTENT_TYPE, "application/json")], doc)
}
