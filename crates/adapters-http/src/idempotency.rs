//! The transport half of `Idempotency-Key`: the route layer fingerprints the raw
//! request, the [`Idempotency`] extractor reads the header, and [`Idempotency::run`]
//! hands both to the application, which authorizes the caller before it claims the key
//! or replays a stored answer (`tengine_application::idempotency`).

use std::future::Future;

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tengine_application::{Answer, Begun, Guarded, IdempotentRequest};
use tengine_domain::idempotency::{fingerprint, IdempotencyKey};
use tengine_domain::Principal;

use crate::error::ApiError;
use crate::extract::BODY_LIMIT;
use crate::state::AppState;

/// The request header.
pub const HEADER: &str = "idempotency-key";

/// The fingerprint of a POST's method, path and body, left by [`layer`].
#[derive(Debug, Clone, Copy)]
struct Fingerprint([u8; 32]);

/// Route layer of the idempotent router: reads the body once to fingerprint it, and
/// passes the request on with the same bytes.
pub async fn layer(req: Request, next: Next) -> Response {
    // Answers given here, before any handler, are counted under their route too.
    let _ = crate::slot::note_route(req.extensions());
    if req.method() != Method::POST || !req.headers().contains_key(HEADER) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_LIMIT).await else {
        return ApiError::payload_too_large(BODY_LIMIT).into_response();
    };
    // The path below the prefix, as earlier versions stored it, so their claims still match.
    let path = parts.uri.path();
    let path = path.strip_prefix(crate::API_PREFIX).unwrap_or(path);
    parts.extensions.insert(Fingerprint(fingerprint(parts.method.as_str(), path, &bytes)));
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// A POST's `Idempotency-Key`, if it sent one. Put it after `Auth` in a handler's
/// arguments, so that an unauthenticated request gets its 401 first.
pub struct Idempotency(Option<IdempotentRequest>);

impl FromRequestParts<AppState> for Idempotency {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        let Some(raw) = parts.headers.get(HEADER) else { return Ok(Self(None)) };
        let key: IdempotencyKey =
            raw.to_str().ok().and_then(|s| s.parse().ok()).ok_or_else(|| {
                ApiError::invalid_field("Idempotency-Key", "must be 1 to 255 printable ASCII characters")
            })?;
        // The edge sends every POST with the header through `layer`.
        let Fingerprint(fingerprint) = parts.extensions.get::<Fingerprint>().copied().ok_or_else(ApiError::internal)?;
        Ok(Self(Some(IdempotentRequest { key, fingerprint })))
    }
}

impl Idempotency {
    /// Runs `handler` at most once per key: the application authorizes `op` for `who`,
    /// then either replays the stored answer or lets `handler` run and keeps its answer.
    ///
    /// # Errors
    /// What authorization or the claim fails with; the handler's own errors are answers.
    pub async fn run(
        self,
        state: &AppState,
        who: &Principal,
        op: Guarded,
        handler: impl Future<Output = Result<Response, ApiError>>,
    ) -> Result<Response, ApiError> {
        let Some(request) = self.0 else { return handler.await };
        let claim = match state.tengine.begin_idempotent(who, &op, &request).await? {
            Begun::Replay(answer) => return Ok(replay(answer)),
            Begun::Fresh(claim) => claim,
        };
        let (parts, body) = handler.await.unwrap_or_else(IntoResponse::into_response).into_parts();
        let Ok(bytes) = to_bytes(body, usize::MAX).await else {
            state.tengine.finish_idempotent(claim, None).await;
            return Err(ApiError::internal());
        };
        // Server errors and rate limits are not final answers: a retry runs again.
        let fin = !(parts.status.is_server_error() || parts.status == StatusCode::TOO_MANY_REQUESTS);
        let answer = fin.then(|| Answer {
            status: parts.status.as_u16(),
            headers: [header::CONTENT_TYPE, header::LOCATION]
                .iter()
                .filter_map(|n| parts.headers.get(n)?.to_str().ok().map(|v| (n.as_str().to_owned(), v.to_owned())))
                .collect(),
            body: bytes.to_vec(),
        });
        state.tengine.finish_idempotent(claim, answer.as_ref()).await;
        Ok(Response::from_parts(parts, Body::from(bytes)))
    }
}

fn replay(answer: Answer) -> Response {
    let mut res = Response::new(Body::from(answer.body));
    *res.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    for (name, value) in answer.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            res.headers_mut().insert(n, v);
        }
    }
    res.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    res
}
