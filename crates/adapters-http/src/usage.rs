//! The usage and rate-limit layer: after every authenticated request it records usage
//! (into the non-blocking sink) and adds the rate-limit headers.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use chrono::Utc;
use tengine_domain::{Principal, ProjectId};
use tengine_ports::{RateDecision, UsageRecord};

use crate::state::AppState;

/// What authentication learned about a request, for the layer to use afterwards.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The caller.
    pub principal: Principal,
    /// The rate-limit decision, for accounts with a limit.
    pub rate: Option<RateDecision>,
}

/// A slot the `Auth` extractor fills; shared through request extensions.
#[derive(Clone, Default)]
pub struct AuthSlot(pub Arc<OnceLock<Authenticated>>);

/// The rate-limit headers of SPEC section 7 (legacy `X-RateLimit-*` and IETF draft-10).
pub fn rate_headers(headers: &mut HeaderMap, d: &RateDecision) {
    let now = Utc::now();
    let reset_in = (d.reset_at - now).num_seconds().max(0);
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    put("x-ratelimit-limit", d.limit.to_string());
    put("x-ratelimit-remaining", d.remaining.to_string());
    put("x-ratelimit-reset", d.reset_at.timestamp().to_string());
    put("ratelimit-policy", format!("\"hourly\";q={};w=3600", d.limit));
    put("ratelimit", format!("\"hourly\";r={};t={reset_in}", d.remaining));
}

/// The project a request is attributed to: the key's own, else the one in the path.
fn attributed_project(p: &Principal, path: &str) -> Option<ProjectId> {
    p.scope.project().or_else(|| {
        // Inside the nested API router the prefix is already stripped.
        let path = path.strip_prefix(crate::API_PREFIX).unwrap_or(path);
        let rest = path.strip_prefix("/projects/")?;
        rest.split('/').next()?.parse().ok()
    })
}

/// Middleware: times the request, then records usage and sets rate-limit headers.
pub async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if !state.metering {
        return next.run(req).await;
    }
    let started = Instant::now();
    let at = Utc::now();
    let slot = AuthSlot::default();
    req.extensions_mut().insert(slot.clone());
    let path = req.uri().path().to_owned();
    let mut res = next.run(req).await;
    if let Some(auth) = slot.0.get() {
        if let Some(d) = &auth.rate {
            rate_headers(res.headers_mut(), d);
        }
        if let Some(project_id) = attributed_project(&auth.principal, &path) {
            state.usage.record(UsageRecord {
                at,
                account_id: auth.principal.account_id,
                project_id,
                key_id: auth.principal.key_id,
                status: res.status().as_u16(),
                latency_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            });
        }
    }
    res
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
