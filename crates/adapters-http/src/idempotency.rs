//! `Idempotency-Key` on POST: one execution per key and account for 24 hours; a retry
//! with the same request replays the first response byte for byte
//! (`Idempotent-Replayed: true`), another request with the same key is
//! `IDEMPOTENCY_KEY_REUSED`, and a concurrent duplicate waits for the first to finish.

use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use tengine_application::AppError;
use tengine_domain::idempotency::{fingerprint, IdempotencyKey, RETENTION};
use tengine_domain::AccountId;
use tengine_ports::{IdempotencyClaim, StoredResponse};

use crate::error::ApiError;
use crate::extract::BODY_LIMIT;
use crate::state::AppState;

/// The request header.
pub const HEADER: &str = "idempotency-key";

/// How long a duplicate waits for the first request before giving up with 409.
const WAIT: Duration = Duration::from_secs(10);

/// A claim older than this without a response belongs to a dead instance.
const STALE: chrono::Duration = chrono::Duration::seconds(60);

fn replay(key: &IdempotencyKey, account: &AccountId, stored: StoredResponse) -> Response {
    let Some(body) = key.open(account, &stored.body) else {
        return ApiError::internal().into_response();
    };
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    for (name, value) in stored.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            res.headers_mut().insert(n, v);
        }
    }
    res.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    res
}

fn reused() -> Response {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "IDEMPOTENCY_KEY_REUSED",
        "This Idempotency-Key was already used with a different request",
    )
    .detail("field", "Idempotency-Key")
    .detail("reason", "was used with a different method, path or body within 24 hours")
    .into_response()
}

/// Middleware for POST routes.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Answers given here, before any handler, are counted under their route too.
    let _ = crate::edge::note_route(req.extensions());
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get(HEADER) else { return next.run(req).await };
    let key: IdempotencyKey = match raw.to_str().map_err(|_| ()).and_then(|s| s.parse().map_err(|_| ())) {
        Ok(k) => k,
        Err(()) => {
            return ApiError::invalid_field("Idempotency-Key", "must be 1 to 255 printable ASCII characters")
                .into_response()
        }
    };
    // Records are per account; an unauthenticated request goes on to get its 401.
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let Ok(who) = state.tengine.authenticate(authorization.as_deref()).await else { return next.run(req).await };
    let account = who.account_id;
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
        return ApiError::payload_too_large(BODY_LIMIT).into_response();
    };
    // The path below the prefix, as earlier versions stored it, so their claims still match.
    let path = parts.uri.path();
    let fp = fingerprint(parts.method.as_str(), path.strip_prefix(crate::API_PREFIX).unwrap_or(path), &bytes);
    let hash = key.lookup_hash(state.tengine.lookup_key(), &account);
    let store = state.tengine.store();
    let started = tokio::time::Instant::now();
    loop {
        let now = Utc::now();
        match store.claim_idempotency(account, hash, fp, now, now - STALE, now - RETENTION).await {
            Err(e) => return ApiError::from(AppError::from(e)).into_response(),
            Ok(IdempotencyClaim::Claimed) => break,
            Ok(IdempotencyClaim::Existing { fingerprint, .. }) if fingerprint != fp => return reused(),
            Ok(IdempotencyClaim::Existing { response: Some(stored), .. }) => return replay(&key, &account, stored),
            Ok(IdempotencyClaim::Existing { response: None, .. }) if started.elapsed() < WAIT => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(IdempotencyClaim::Existing { response: None, .. }) => {
                return ApiError::new(
                    StatusCode::CONFLICT,
                    "IDEMPOTENCY_KEY_IN_USE",
                    "A request with this Idempotency-Key is still being processed; retry shortly",
                )
                .detail("field", "Idempotency-Key")
                .into_response();
            }
        }
    }
    let res = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (parts, body) = res.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        let _ = store.release_idempotency(account, hash).await;
        return ApiError::internal().into_response();
    };
    // Server errors and rate limits are not final answers: let a retry run again.
    if parts.status.is_server_error() || parts.status == StatusCode::TOO_MANY_REQUESTS {
        if let Err(e) = store.release_idempotency(account, hash).await {
            tracing::warn!(error = %e, "could not release an idempotency key");
        }
    } else {
        let keep = [header::CONTENT_TYPE, header::LOCATION];
        let headers = keep
            .iter()
            .filter_map(|n| {
                parts.headers.get(n).and_then(|v| v.to_str().ok()).map(|v| (n.as_str().to_owned(), v.to_owned()))
            })
            .collect();
        let nonce: [u8; 12] = uuid::Uuid::new_v4().as_bytes()[..12].try_into().unwrap_or([0; 12]);
        let stored = StoredResponse { status: parts.status.as_u16(), headers, body: key.seal(&account, nonce, &bytes) };
        if let Err(e) = store.complete_idempotency(account, hash, &stored).await {
            tracing::warn!(error = %e, "could not store an idempotent response");
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}
