//! Rate limiting: the limiter the request path asks, and the shared counters that make
//! it hold across instances.

use chrono::{DateTime, Utc};
use tengine_domain::AccountId;

use crate::RepoError;

/// The limiter's answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// Requests allowed per hour.
    pub limit: u32,
    /// Requests left now (after this one, if allowed).
    pub remaining: u32,
    /// A whole second at which the next request is admitted if nothing else is sent:
    /// after a refusal the earliest one, else the end of the fixed window or later.
    pub reset_at: DateTime<Utc>,
    /// Whole seconds from the decision's second to `reset_at`.
    pub reset_in_secs: u64,
    /// Seconds until a refused request may succeed, `reset_in_secs` (0 when allowed).
    pub retry_after_secs: u64,
    /// The fixed hour window this decision counted in.
    pub window_start: DateTime<Utc>,
    /// This request took usage past 80 % of the limit.
    pub crossed_threshold: bool,
}

/// Decides whether an account may make one more request.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait::async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one request of `account` against `limit` per hour at `now`.
    ///
    /// # Errors
    /// `Unavailable` when a shared limiter cannot reach its store.
    async fn check(&self, account: AccountId, limit: u32, now: DateTime<Utc>) -> Result<RateDecision, RepoError>;

    /// Accounts whose windows are held in memory now (for `/metrics`).
    fn tracked_accounts(&self) -> usize {
        0
    }
}

/// Requests admitted by one instance since its last sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDelta {
    /// The account.
    pub account_id: AccountId,
    /// The fixed hour window (truncated to the hour).
    pub window_start: DateTime<Utc>,
    /// Requests to add (may be 0, to just read the total).
    pub delta: u64,
}

/// Shared per-account, per-hour admitted-request counters.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait::async_trait]
pub trait RateCounterRepository: Send + Sync {
    /// Adds every delta to its counter (creating it at 0) and returns, for each delta
    /// in order, the counter's new total and the total of the window one hour before.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached; nothing is then added.
    async fn sync_rate_counters(&self, deltas: &[RateDelta]) -> Result<Vec<(u64, u64)>, RepoError>;

    /// Atomically adds `pending` to the counter of `(account, window_start)`, then one
    /// more if `total + 1 + carried <= limit`; returns whether that one was added, and
    /// the total after. Concurrent calls never admit past the limit together.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached; nothing is then added.
    async fn admit_one(
        &self,
        account: AccountId,
        window_start: DateTime<Utc>,
        pending: u64,
        carried: u64,
        limit: u64,
    ) -> Result<(bool, u64), RepoError>;

    /// Deletes counters and usage-alert claims of windows that started before `before`.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn purge_rate_windows(&self, before: DateTime<Utc>) -> Result<(), RepoError>;
}
