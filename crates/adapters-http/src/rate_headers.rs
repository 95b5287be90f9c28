//! The rate-limit headers the edge sets on every metered answer, and the project a
//! request names (for usage attribution).

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use tengine_domain::ProjectId;
use tengine_ports::RateDecision;

/// The rate-limit headers of SPEC section 7 (legacy `X-RateLimit-*` and IETF draft-10).
pub fn rate_headers(headers: &mut HeaderMap, d: &RateDecision) {
    let reset_in = d.reset_in_secs;
    headers.reserve(6);
    // `Date` is the second the decision was made in, so that `X-RateLimit-Reset` is
    // exactly `Date + Retry-After` (hyper would stamp the second the answer leaves in).
    let decided = d.reset_at - chrono::Duration::seconds(i64::try_from(reset_in).unwrap_or(0));
    if let Ok(v) = HeaderValue::from_str(&decided.format("%a, %d %b %Y %H:%M:%S GMT").to_string()) {
        headers.insert(axum::http::header::DATE, v);
    }
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    put("ratelimit-policy", format!("\"hourly\";q={};w=3600", d.limit));
    put("ratelimit", format!("\"hourly\";r={};t={reset_in}", d.remaining));
    headers.insert(HeaderName::from_static("x-ratelimit-limit"), HeaderValue::from(d.limit));
    headers.insert(HeaderName::from_static("x-ratelimit-remaining"), HeaderValue::from(d.remaining));
    headers.insert(HeaderName::from_static("x-ratelimit-reset"), HeaderValue::from(d.reset_at.timestamp()));
}

/// The project in a request's path (`/api/v1/projects/{id}/...`), if any.
pub(crate) fn named_project(path: &str) -> Option<ProjectId> {
    let path = path.strip_prefix(crate::API_PREFIX).unwrap_or(path);
    let rest = path.strip_prefix("/projects/")?;
    rest.split('/').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_project_is_read_with_or_without_the_prefix() {
        let id = ProjectId::from_uuid(uuid::Uuid::from_u128(9));
        assert_eq!(named_project(&format!("/projects/{id}/api-keys")), Some(id));
        assert_eq!(named_project(&format!("/api/v1/projects/{id}")), Some(id));
        assert_eq!(named_project("/projects"), None);
        assert_eq!(named_project("/projects/garbage"), None);
    }
}
