//! Applying an account's plan limit to a request, and the usage alerts it raises.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use tengine_domain::{time, AccountId, Event, EventId, EventType, Principal};
use tengine_ports::RateDecision;

use crate::{AppError, Tengine};

/// How long an account's plan is cached (plans change only by an operator).
const PLAN_TTL: Duration = Duration::seconds(60);

/// An account's limit and when it was read.
type CachedLimit = (Option<u32>, DateTime<Utc>);

/// Cached hourly limits per account.
#[derive(Default)]
pub(crate) struct PlanCache {
    limits: Mutex<HashMap<AccountId, CachedLimit>>,
    /// The last window for which each account's refusal alert was attempted.
    refusals: Mutex<HashMap<AccountId, DateTime<Utc>>>,
}

impl Tengine {
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
            }),
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
        self.plans.limits.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(account, (limit, now));
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
