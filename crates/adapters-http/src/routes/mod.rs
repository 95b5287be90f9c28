//! The routes, one module per resource.

pub mod analytics;
pub mod api_keys;
pub mod deliveries;
pub mod events;
pub mod health;
pub mod integrations;
pub mod member_sessions;
pub mod projects;
pub mod sessions;
pub mod tool_calls;
pub mod tools;
pub mod webhooks;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tengine_domain::{Cursor, Page};

use utoipa_axum::router::OpenApiRouter;

use crate::dto::ListBody;
use crate::state::AppState;

/// Every route with its OpenAPI operation: the one place a route is registered (its
/// method and path live in its handler's `#[utoipa::path]`).
pub fn all(metrics: &crate::metrics_access::MetricsAccess) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(projects::router())
        .merge(api_keys::router())
        .merge(analytics::router())
        .merge(webhooks::router())
        .merge(deliveries::router())
        .merge(events::router())
        .merge(tools::router())
        .merge(integrations::router())
        .merge(tool_calls::router())
        .merge(sessions::router())
        .merge(member_sessions::router())
        .merge(health::router(metrics))
}

/// Names the moment since which the event log and delivery history are complete: what
/// finished before it may have been purged (`X-Tengine-Retained-Since`).
fn retained_since(response: &mut Response, tengine: &tengine_application::Tengine) {
    let since = tengine.retention().horizon(tengine.now());
    if let Ok(value) = HeaderValue::from_str(&tengine_domain::time::format(since)) {
        response.headers_mut().insert("x-tengine-retained-since", value);
    }
}

/// The response of a list that pages by number or by cursor: a numbered page as
/// [`list_response`]; a cursor page with `Link`s (first, prev, next) whose cursors are the
/// ids (`id`) of its first and last items. `filter` is the rest of the query the links
/// keep (`&type=...`, or empty).
pub fn keyset_response<D, T: Serialize>(
    page: Page<D>,
    id: impl Fn(&D) -> String,
    body: impl FnMut(D) -> T,
    path: &str,
    filter: &str,
) -> Response {
    let Some(cursor) = page.request.cursor() else { return list_response(page.map(body), path) };
    let per = page.request.per_page();
    let mut links = vec![format!("<{path}?per_page={per}{filter}>; rel=\"first\"")];
    let after = matches!(cursor, Cursor::After(_));
    // Going newer from a `starting_after` page always finds at least its cursor item;
    // going older from an `ending_before` page likewise.
    if let Some(first) = page.items.first().filter(|_| after || page.has_more) {
        links.push(format!("<{path}?ending_before={}&per_page={per}{filter}>; rel=\"prev\"", id(first)));
    }
    if let Some(last) = page.items.last().filter(|_| !after || page.has_more) {
        links.push(format!("<{path}?starting_after={}&per_page={per}{filter}>; rel=\"next\"", id(last)));
    }
    let mut res = page_json(&ListBody::new(page.map(body)));
    if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
        res.headers_mut().insert(header::LINK, v);
    }
    res
}

/// What one item of a page takes in JSON, about: a key is ~330 bytes, a webhook ~450.
const ITEM_BYTES: usize = 512;

/// A page's JSON, written into a buffer sized for its items up front: `Json` starts at
/// 128 bytes and grows by copying, five or six times for a page of 20.
fn page_json<T: Serialize>(body: &ListBody<T>) -> Response {
    let mut buf = Vec::with_capacity(ITEM_BYTES * (body.len() + 1));
    match serde_json::to_writer(&mut buf, body) {
        Ok(()) => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], buf).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page did not serialize");
            crate::error::ApiError::internal().into_response()
        }
    }
}

/// A list body with an RFC 8288 `Link` header (first, prev, next, last) for `path`.
pub fn list_response<T: Serialize>(page: Page<T>, path: &str) -> Response {
    let per = page.request.per_page();
    let current = page.request.page();
    let has_next = page.has_next();
    let last = u32::try_from(page.total.div_ceil(u64::from(per))).unwrap_or(u32::MAX).max(1);
    let link = |n: u32, rel: &str| format!("<{path}?page={n}&per_page={per}>; rel=\"{rel}\"");
    let mut links = vec![link(1, "first")];
    if current > 1 {
        links.push(link((current - 1).min(last), "prev"));
    }
    if has_next {
        links.push(link(current + 1, "next"));
    }
    links.push(link(last, "last"));
    let mut res = page_json(&ListBody::new(page));
    if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
        res.headers_mut().insert(header::LINK, v);
    }
    res
}
