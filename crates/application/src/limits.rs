//! Applying an account's plan limit to a request, and the usage alerts it raises.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use tengine_domain::{time, AccountId, Event, EventId, EventType, Principal, ProjectId};
use tengine_ports::RateDecision;

use crate::{AppError, Tengine};

/// How long an account's plan is cached (plans change only by an operator).
const PLAN_TTL: Duration = Duration::seconds(60);

/// An account's limit and when it was read.
type CachedLimit = (Option<u32>, DateTime<Utc>);

/// Accounts whose plan limit is cached before stale entries are dropped.
const PLAN_CACHE_MAX: usize = 200_000;

/// Cached hourly limits per account.
#[derive(Default)]
pub(crate) struct PlanCache {
    // Both maps are bounded by `PLAN_CACHE_MAX` (stale entries go when it is reached).
    limits: Mutex<HashMap<AccountId, CachedLimit>>,
    /// The last window for which each account's refusal alert was attempted.
    refusals: Mutex<HashMap<AccountId, DateTime<Utc>>>,
}

/// Where a request arrives: the REST API, or a project's MCP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// `/api/v1`.
    Api,
    /// `/mcp`, where member session tokens are also accepted.
    Mcp,
}

/// What admitting a request learned: the caller, its rate-limit decision, the project
/// its usage counts against, and when it was admitted (the hour its usage falls in).
#[derive(Debug, Clone)]
pub struct Admission {
    /// The caller.
    pub principal: Principal,
    /// The rate-limit decision, for accounts with a limit; a refusal when not `allowed`.
    pub rate: Option<RateDecision>,
    /// The key's own project, else the project the request names.
    pub project: Option<ProjectId>,
    /// When the request was admitted.
    pub at: DateTime<Utc>,
}

impl Admission {
    /// The refusal, if the account is over its limit.
    pub fn refusal(&self) -> Option<&RateDecision> {
        self.rate.as_ref().filter(|d| !d.allowed)
    }
}

impl Tengine {
    /// Admits one request: authenticates its `Authorization` header (`named_project` is
    /// asked only for an account-wide key), counts it against
    /// the plan when `metering`, and raises a usage alert off the request path when the
    /// decision calls for one. A rate-limit refusal is an `Ok` with
    /// [`Admission::refusal`], so that the refused request is still counted.
    ///
    /// # Errors
    /// `Unauthenticated` as for [`Tengine::authenticate`]; `Unavailable`.
    pub async fn admit_request(
        &self,
        authorization: Option<&str>,
        named_project: impl FnOnce() -> Option<ProjectId>,
        metering: bool,
    ) -> Result<Admission, AppError> {
        self.admit_on(Surface::Api, authorization, named_project, metering).await
    }

    /// [`Tengine::admit_request`] on `surface`: member session tokens open `/mcp` only.
    ///
    /// # Errors
    /// As [`Tengine::admit_request`].
    pub async fn admit_on(
        &self,
        surface: Surface,
        authorization: Option<&str>,
        named_project: impl FnOnce() -> Option<ProjectId>,
        metering: bool,
    ) -> Result<Admission, AppError> {
        let at = self.deps.clock.now();
        let principal = self.authenticate(authorization).await?;
        let member = principal.session.as_ref().is_some_and(|s| s.kind == tengine_domain::session::SessionKind::Member);
        if member && surface != Surface::Mcp {
            return Err(AppError::Unauthenticated { failure: crate::AuthFailure::Unknown, prefix: None });
        }
        // A token bound to a resource (RFC 8707) works only there.
        let audience = principal.oauth.and_then(|o| o.audience);
        let wrong_audience = match audience {
            Some(tengine_domain::integration::Audience::Api) => surface != Surface::Api,
            Some(tengine_domain::integration::Audience::Mcp) => surface != Surface::Mcp,
            None => false,
        };
        if wrong_audience {
            return Err(AppError::Unauthenticated { failure: crate::AuthFailure::Unknown, prefix: None });
        }
        let rate = if metering { self.admit(&principal).await? } else { None };
        if let Some(d) = rate {
            if let Some(kind) = self.usage_alert(&principal, &d) {
                let tengine = self.clone();
                let account = principal.account_id;
                // Off the request path: one small transaction per account and window.
                tokio::spawn(async move {
                    if let Err(e) = tengine.emit_usage_alert(account, kind, d).await {
                        tracing::warn!(error = %e, "could not record a usage alert");
                    }
                });
            }
        }
        // Only an account-wide key's usage is attributed to the project the request names.
        let project = principal.scope.project().or_else(named_project);
        Ok(Admission { principal, rate, project, at })
    }

    /// Counts a request against its account's plan. `None` for accounts without a
    /// limit (no headers, no refusals).
    ///
    /// # Errors
    /// `Unavailable` when the plan or a shared counter cannot be read.
    pub async fn admit(&self, who: &Principal) -> Result<Option<RateDecision>, AppError> {
        let now = self.deps.clock.now();
        let Some(limit) = self.plan_limit(who.account_id, now).await? else { return Ok(None) };
        let decision = self.deps.limiter.check(who.account_id, limit, now).await?;
        Ok(Some(decision))
    }

    /// Which usage alert a decision calls for, if any: the threshold crossing, or the
    /// first refusal this instance saw in the window (the store makes it once overall).
    pub fn usage_alert(&self, who: &Principal, d: &RateDecision) -> Option<EventType> {
        if d.crossed_threshold {
            return Some(EventType::UsageThresholdReached);
        }
        if d.allowed {
            return None;
        }
        let mut seen = self.plans.refusals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= PLAN_CACHE_MAX {
            // Only this window's entries matter; the store still claims each alert once.
            seen.retain(|_, window| *window == d.window_start);
        }
        (seen.insert(who.account_id, d.window_start) != Some(d.window_start)).then_some(EventType::UsageLimitExceeded)
    }

    /// Writes a usage alert event once per account, kind and window, across instances.
    ///
    /// # Errors
    /// `Unavailable` when the store is down.
    pub async fn emit_usage_alert(
        &self,
        account: AccountId,
        kind: EventType,
        d: RateDecision,
    ) -> Result<bool, AppError> {
        let mut tx = self.deps.store.begin().await?;
        if !tx.claim_usage_alert(account, kind, d.window_start).await? {
            return Ok(false);
        }
        let used = d.limit.saturating_sub(d.remaining);
        let event = Event {
            id: EventId::from_uuid(self.deps.ids.next_uuid()),
            account_id: account,
            project_id: None,
            event_type: kind,
            data: json!({
                "account_id": account.to_string(),
                "limit": d.limit,
                "used": used,
                "remaining": d.remaining,
                "window_start": time::format(d.window_start),
                "reset_at": time::format(d.reset_at),
            })
            .into(),
            created_at: self.deps.clock.now(),
        };
        tx.append_event(&event).await?;
        tx.commit().await?;
        tracing::info!(account_id = %account, event = kind.as_str(), "usage alert recorded");
        Ok(true)
    }

    async fn plan_limit(&self, account: AccountId, now: DateTime<Utc>) -> Result<Option<u32>, AppError> {
        {
            let cache = self.plans.limits.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((limit, at)) = cache.get(&account) {
                if now - *at < PLAN_TTL {
                    return Ok(*limit);
                }
            }
        }
        let limit = self
            .deps
            .store
            .get_account(account)
            .await?
            .ok_or(AppError::NotFound(AccountId::KIND))?
            .plan
            .requests_per_hour();
        let mut cache = self.plans.limits.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Bounded: past this many accounts, the stale entries go (a lookup refills them).
        if cache.len() >= PLAN_CACHE_MAX {
            cache.retain(|_, (_, at)| now - *at < PLAN_TTL);
        }
        cache.insert(account, (limit, now));
        Ok(limit)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::test_support::*;
    use tengine_domain::{Account, KeyScope, Permission, Plan};

    fn account_with(plan: Plan) -> Account {
        Account { id: account_id(), name: "a".parse().unwrap(), plan, created_at: now() }
    }

    #[tokio::test]
    async fn unlimited_accounts_get_no_decision_and_the_plan_is_cached() {
        let app = harness(|s| {
            s.expect_get_account().times(1).returning(|_| Ok(Some(account_with(Plan::Enterprise { limit: None }))));
        });
        let who = principal(&[Permission::Read], KeyScope::Account);
        assert_eq!(app.admit(&who).await.unwrap(), None);
        assert_eq!(app.admit(&who).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_free_account_is_refused_after_its_hundredth_request_and_alerts_once() {
        let app = harness(|s| {
            s.expect_get_account().returning(|_| Ok(Some(account_with(Plan::Free))));
        });
        let who = principal(&[Permission::Read], KeyScope::Account);
        let mut alerts = Vec::new();
        for i in 0..102 {
            let d = app.admit(&who).await.unwrap().unwrap();
            assert_eq!(d.allowed, i < 100, "request {i}");
            alerts.extend(app.usage_alert(&who, &d).map(|k| (i, k)));
        }
        assert_eq!(
            alerts,
            vec![
                (79, tengine_domain::EventType::UsageThresholdReached),
                (100, tengine_domain::EventType::UsageLimitExceeded)
            ]
        );
    }
}
