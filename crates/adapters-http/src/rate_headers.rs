//! The rate-limit headers the edge sets on every metered answer, and the project a
//! request names (for usage attribution).

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use tengine_domain::ProjectId;
use tengine_ports::RateDecision;

/// 10000-01-01T00:00:00Z in seconds since the epoch: the first second an HTTP date cannot
/// write.
const HTTP_DATE_END: i64 = 253_402_300_800;

/// The rate-limit headers of SPEC section 7 (legacy `X-RateLimit-*` and IETF draft-10).
pub fn rate_headers(headers: &mut HeaderMap, d: &RateDecision) {
    let reset_in = d.reset_in_secs;
    headers.reserve(6);
    // `Date` is the second the decision was made in, so that `X-RateLimit-Reset` is
    // exactly `Date + Retry-After` (hyper would stamp the second the answer leaves in).
    let decided = d.reset_at - chrono::Duration::seconds(i64::try_from(reset_in).unwrap_or(0));
    // Outside 1970-9999 only with a broken clock: httpdate panics there, so hyper's own
    // `Date` stays.
    if (0..HTTP_DATE_END).contains(&decided.timestamp()) {
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

    /// An allowed decision made at `decided` (seconds since the epoch), its window
    /// resetting an hour later.
    fn decision(decided: i64) -> RateDecision {
        let decided = chrono::DateTime::from_timestamp(decided, 0).expect("time");
        RateDecision {
            allowed: true,
            limit: 1000,
            remaining: 999,
            reset_at: decided + chrono::Duration::hours(1),
            reset_in_secs: 3600,
            retry_after_secs: 0,
            window_start: decided,
            crossed_threshold: false,
        }
    }

    #[test]
    fn the_date_is_the_decisions_second_in_imf_fixdate() {
        // 2026-03-01T08:05:07Z.
        let d = decision(1_772_352_307);
        let reset_at = d.reset_at;
        let mut headers = HeaderMap::new();
        rate_headers(&mut headers, &d);
        // A month's first day and a one-digit hour, as the former strftime pattern wrote them.
        assert_eq!(headers[axum::http::header::DATE], "Sun, 01 Mar 2026 08:05:07 GMT");
        assert_eq!(headers["x-ratelimit-reset"], reset_at.timestamp().to_string().as_str());
        assert_eq!(headers["ratelimit"], "\"hourly\";r=999;t=3600");
    }

    #[test]
    fn a_clock_outside_what_an_http_date_can_write_sets_no_date_and_does_not_panic() {
        for decided in [-1, HTTP_DATE_END] {
            let d = decision(decided);
            let mut headers = HeaderMap::new();
            rate_headers(&mut headers, &d);
            assert!(headers.get(axum::http::header::DATE).is_none(), "{decided}");
            assert_eq!(headers["x-ratelimit-reset"], d.reset_at.timestamp().to_string().as_str(), "{decided}");
        }
        // The last second that can be written still is.
        let mut headers = HeaderMap::new();
        rate_headers(&mut headers, &decision(HTTP_DATE_END - 1));
        assert_eq!(headers[axum::http::header::DATE], "Fri, 31 Dec 9999 23:59:59 GMT");
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
