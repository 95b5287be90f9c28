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
    // Before the epoch only with a broken clock; httpdate would panic on it.
    if decided.timestamp() >= 0 {
        if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(decided.into())) {
            headers.insert(axum::http::header::DATE, v);
        }
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
    fn the_date_is_the_decisions_second_in_imf_fixdate() {
        let reset_at = chrono::DateTime::parse_from_rfc3339("2026-03-01T09:05:07Z").expect("time").to_utc();
        let d = RateDecision {
            allowed: true,
            limit: 1000,
            remaining: 999,
            reset_at,
            reset_in_secs: 3600,
            retry_after_secs: 0,
            window_start: reset_at - chrono::Duration::hours(1),
            crossed_threshold: false,
        };
        let mut headers = HeaderMap::new();
        rate_headers(&mut headers, &d);
        // A month's first day and a one-digit hour, as the former strftime pattern wrote them.
        assert_eq!(headers[axum::http::header::DATE], "Sun, 01 Mar 2026 08:05:07 GMT");
        assert_eq!(headers["x-ratelimit-reset"], reset_at.timestamp().to_string().as_str());
        assert_eq!(headers["ratelimit"], "\"hourly\";r=999;t=3600");
    }

    #[test]
    fn the_named_project_is_read_with_or_without_the_prefix() {
        let id = ProjectId::from_uuid(uuid::Uuid::from_u128(9));
        assert_eq!(named_project(&format!("/projects/{id}/api-keys")), Some(id));
        assert_eq!(named_project(&format!("/api/v1/projects/{id}")), Some(id));
        assert_eq!(named_project("/projects"), None);
        assert_eq!(named_project("/projects/garbage"), None);
    }
}
