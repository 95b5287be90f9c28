//! Usage attribution and the rate-limit headers, applied by the edge after every
//! authenticated request.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use chrono::{DateTime, Utc};
use tengine_domain::{Principal, ProjectId};
use tengine_ports::RateDecision;

/// What authentication learned about a request, for the edge to use afterwards.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The caller.
    pub principal: Principal,
    /// The rate-limit decision, for accounts with a limit.
    pub rate: Option<RateDecision>,
    /// The project the request's usage counts against, if any.
    pub project: Option<ProjectId>,
    /// When the request was authenticated (the hour its usage falls in).
    pub at: DateTime<Utc>,
}

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

/// The project a request is attributed to: the key's own, else the one in the path.
pub(crate) fn attributed_project(p: &Principal, path: &str) -> Option<ProjectId> {
    p.scope.project().or_else(|| {
        // Inside the nested API router the prefix is already stripped.
        let path = path.strip_prefix(crate::API_PREFIX).unwrap_or(path);
        let rest = path.strip_prefix("/projects/")?;
        rest.split('/').next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tengine_domain::{AccountId, ApiKeyId, KeyScope, PermissionSet};

    #[test]
    fn account_wide_keys_are_attributed_to_the_project_in_the_path_with_or_without_the_prefix() {
        let id = ProjectId::from_uuid(uuid::Uuid::from_u128(9));
        let p = Principal {
            account_id: AccountId::from_uuid(uuid::Uuid::from_u128(1)),
            key_id: ApiKeyId::from_uuid(uuid::Uuid::from_u128(2)),
            scope: KeyScope::Account,
            permissions: PermissionSet::all(),
            expires_at: None,
        };
        assert_eq!(attributed_project(&p, &format!("/projects/{id}/api-keys")), Some(id));
        assert_eq!(attributed_project(&p, &format!("/api/v1/projects/{id}")), Some(id));
        assert_eq!(attributed_project(&p, "/projects"), None);
        assert_eq!(attributed_project(&p, "/projects/garbage"), None);
    }
}
