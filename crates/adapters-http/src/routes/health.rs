//! `/healthz` (the process is alive), `/readyz` (the database answers), `/metrics`
//! (Prometheus text) and `/openapi.json` (the API's description).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::{Extension, Json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::doc::schemas::ErrorBody;
use crate::dto::StatusBody;
use crate::error::ApiError;
use crate::metrics_access::MetricsAccess;
use crate::state::AppState;

/// The operational routes (outside `/api/v1`, no API key), with `/metrics` as `access`
/// says.
pub fn router(access: &MetricsAccess) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .merge(metrics_router(access))
        .routes(routes!(openapi_json))
}

/// `/metrics` alone (also for a listener of its own); with `access` `Off` it answers 404
/// like any unknown route. The access rule is layered on this route only.
pub fn metrics_router(access: &MetricsAccess) -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics)).layer(Extension(access.clone()))
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
    description = "Needs `Authorization: Bearer <TENGINE_METRICS_TOKEN>` when the server sets that token; \
        not served on the main listener when `TENGINE_METRICS_LISTEN` gives it a listener of its own, \
        or when neither is set.",
    responses(
        (status = 200, description = "Metrics in the Prometheus text format 0.0.4.",
            body = String, content_type = "text/plain; version=0.0.4"),
        (status = 401, description = "`INVALID_API_KEY`: the metrics token is missing or wrong.", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: metrics are not served on this listener (neither \
            `TENGINE_METRICS_TOKEN` nor `TENGINE_METRICS_LISTEN` is set, or the latter moved them).", body = ErrorBody),
    )
)]
async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(access): Extension<MetricsAccess>,
) -> Result<([(HeaderName, &'static str); 1], String), ([(HeaderName, &'static str); 1], ApiError)> {
    if matches!(access, MetricsAccess::Off) {
        return Err(([(header::VARY, "Authorization")], ApiError::not_found("route")));
    }
    if let MetricsAccess::Token(token) = &access {
        let presented = headers.get(header::AUTHORIZATION).and_then(|v| bearer(v.as_bytes()));
        let reason = match presented {
            None => Some("missing"),
            Some(p) if !token.matches(p) => Some("invalid"),
            Some(_) => None,
        };
        if let Some(reason) = reason {
            let error = ApiError::new(StatusCode::UNAUTHORIZED, "INVALID_API_KEY", "A valid metrics token is required")
                .detail("field", "authorization")
                .detail("reason", reason);
            return Err(([(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")], error));
        }
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], (state.metrics)()))
}

/// The credentials of `Bearer <credentials>` (the scheme is case-insensitive).
fn bearer(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case(b"bearer ").then_some(rest)
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
