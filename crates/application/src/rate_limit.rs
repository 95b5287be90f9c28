//! The sliding-hour rate limiter: exact in one process, and shared across instances
//! through batched counter syncs plus exact admission for the second half of an
//! allowance.
//!
//! Each account's usage is estimated the sliding-window-counter way: the current fixed
//! hour's count plus the previous hour's count weighted by how much of it the sliding
//! hour still covers. With shared counters, limits up to [`EXACT_UP_TO`] per hour are
//! admitted one request at a time by an atomic conditional increment, so they hold
//! exactly across any number of instances (at most that many writes per account and
//! hour). Larger limits are counted in memory up to 90 % of the allowance and synced in
//! batches every [`SYNC_INTERVAL_MS`], then admitted exactly. Refusals are decided from
//! the last known total without touching the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use tengine_domain::AccountId;
use tengine_ports::{RateCounterRepository, RateDecision, RateDelta, RateLimiter, RepoError};

/// How often a shared limiter syncs its counts, in milliseconds.
pub const SYNC_INTERVAL_MS: u64 = 200;

/// Limits up to this are admitted exactly, one conditional increment per request.
pub const EXACT_UP_TO: u64 = 10_000;

/// Forget accounts idle for this long.
const IDLE: Duration = Duration::hours(2);

fn window_of(now: DateTime<Utc>) -> DateTime<Utc> {
    tengine_domain::usage::Granularity::Hour.floor(now)
}

/// The previous window's count still inside the sliding hour at `now`, rounded up.
fn carried(prev: u64, window: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let elapsed_us = (now - window).num_microseconds().unwrap_or(0).clamp(0, 3_600_000_000) as u128;
    let left_us = 3_600_000_000u128 - elapsed_us;
    u64::try_from((u128::from(prev) * left_us).div_ceil(3_600_000_000)).unwrap_or(u64::MAX)
}

const HOUR_US: u128 = 3_600_000_000;

/// The earliest moment, not before `now`, at which one more request is admitted if
/// nothing else is counted, given `prev` and `current` requests in the windows before and
/// at `window`. Exact to the microsecond, as [`carried`] counts.
fn earliest_admission(limit: u64, prev: u64, current: u64, window: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    // `carried(n, w, t) <= k` exactly when the part of the hour left is at most k·H/n.
    let first_moment = |n: u64, k: u64, start: DateTime<Utc>| {
        if n <= k {
            return start;
        }
        let left = u128::from(k) * HOUR_US / u128::from(n);
        let elapsed = i64::try_from(HOUR_US - left).unwrap_or(i64::MAX);
        start + Duration::microseconds(elapsed)
    };
    if let Some(k) = limit.checked_sub(current + 1) {
        return first_moment(prev, k, window).max(now);
    }
    // Not in this window: in the next, this window's count is the one still carried.
    let next = window + Duration::hours(1);
    match limit.checked_sub(1) {
        Some(k) => first_moment(current, k, next).max(now),
        // A limit of zero never admits; name the end of the next window.
        None => next + Duration::hours(1),
    }
}

/// `at` rounded up to a whole second.
fn ceil_second(at: DateTime<Utc>) -> DateTime<Utc> {
    let floor = floor_second(at);
    if floor == at {
        at
    } else {
        floor + Duration::seconds(1)
    }
}

/// `at` rounded down to a whole second (what the `Date` header shows).
fn floor_second(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at)
}

fn decide(
    limit: u64,
    prev: u64,
    current: u64,
    window: DateTime<Utc>,
    now: DateTime<Utc>,
    admitted: bool,
) -> RateDecision {
    let used_before = carried(prev, window, now) + current - u64::from(admitted);
    let used_after = used_before + u64::from(admitted);
    let threshold = (limit * 8).div_ceil(10);
    // Every moment the headers name is a whole second at which the next request is
    // admitted if nothing else is sent: after a refusal the earliest such second, so that
    // `Retry-After` is the smallest wait; after an admission the end of the clock hour,
    // or later while the previous hour still weighs in.
    let next = ceil_second(earliest_admission(limit, prev, current, window, now));
    let reset_at = if admitted { next.max(window + Duration::hours(1)) } else { next };
    let reset_in = u64::try_from((reset_at - floor_second(now)).num_seconds()).unwrap_or(0);
    RateDecision {
        allowed: admitted,
        limit: u32::try_from(limit).unwrap_or(u32::MAX),
        remaining: u32::try_from(limit.saturating_sub(used_after)).unwrap_or(u32::MAX),
        reset_at,
        reset_in_secs: reset_in,
        retry_after_secs: if admitted { 0 } else { reset_in.max(1) },
        window_start: window,
        crossed_threshold: admitted && used_before < threshold && used_after >= threshold,
    }
}

#[derive(Debug, Clone, Copy)]
struct AccountState {
    window: DateTime<Utc>,
    /// Global count of the previous window, as last seen.
    prev: u64,
    /// Global count of this window, as last synced.
    synced: u64,
    /// Admitted here and not yet synced.
    pending: u64,
    last_seen: DateTime<Utc>,
}

impl AccountState {
    fn new(window: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        Self { window, prev: 0, synced: 0, pending: 0, last_seen: now }
    }

    /// Moves to `window`; returns the window left behind and its unsynced count.
    fn roll(&mut self, window: DateTime<Utc>) -> Option<(DateTime<Utc>, u64)> {
        if window == self.window {
            return None;
        }
        let old = *self;
        self.prev = if window == old.window + Duration::hours(1) { old.synced + old.pending } else { 0 };
        self.window = window;
        self.synced = 0;
        self.pending = 0;
        (old.pending > 0).then_some((old.window, old.pending))
    }
}

#[derive(Default)]
struct State {
    accounts: HashMap<AccountId, AccountState>,
    /// When idle accounts were last dropped (a local limiter has no sync to do it).
    pruned_at: Option<DateTime<Utc>>,
    /// Pending counts of windows already left behind, still to be synced.
    leftovers: Vec<RateDelta>,
}

/// A sliding-hour limiter; shared across instances when given counters.
pub struct SlidingWindowLimiter {
    counters: Option<Arc<dyn RateCounterRepository>>,
    state: Mutex<State>,
}

impl SlidingWindowLimiter {
    /// A limiter for one process (exact; the SQLite deployment).
    pub fn local() -> Self {
        Self { counters: None, state: Mutex::default() }
    }

    /// A limiter that holds across every instance sharing `counters`; call
    /// [`SlidingWindowLimiter::sync`] every [`SYNC_INTERVAL_MS`].
    pub fn shared(counters: Arc<dyn RateCounterRepository>) -> Self {
        Self { counters: Some(counters), state: Mutex::default() }
    }

    /// Whether this limiter needs periodic syncs.
    pub fn is_shared(&self) -> bool {
        self.counters.is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Pushes pending counts to the shared counters and pulls every instance's totals.
    ///
    /// # Errors
    /// `Unavailable` when the store is down; the counts stay pending for the next sync.
    pub async fn sync(&self, now: DateTime<Utc>) -> Result<(), RepoError> {
        let Some(counters) = &self.counters else { return Ok(()) };
        let (deltas, leftovers) = {
            let mut s = self.lock();
            s.accounts.retain(|_, a| now - a.last_seen < IDLE || a.pending > 0);
            let deltas: Vec<RateDelta> = s
                .accounts
                .iter()
                .filter(|(_, a)| a.pending > 0 || now - a.last_seen < Duration::seconds(10))
                .map(|(id, a)| RateDelta { account_id: *id, window_start: a.window, delta: a.pending })
                .collect();
            (deltas, std::mem::take(&mut s.leftovers))
        };
        if deltas.is_empty() && leftovers.is_empty() {
            return Ok(());
        }
        let all: Vec<RateDelta> = deltas.iter().chain(leftovers.iter()).copied().collect();
        let totals = match counters.sync_rate_counters(&all).await {
            Ok(t) => t,
            Err(e) => {
                self.lock().leftovers.extend(leftovers);
                return Err(e);
            }
        };
        let mut s = self.lock();
        for (d, (total, prev)) in deltas.iter().zip(totals) {
            if let Some(a) = s.accounts.get_mut(&d.account_id) {
                if a.window == d.window_start {
                    a.pending -= d.delta.min(a.pending);
                    a.synced = a.synced.max(total);
                    a.prev = prev;
                } else {
                    // The window rolled while syncing; what was sent is no longer pending.
                    a.prev = total;
                }
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl RateLimiter for SlidingWindowLimiter {
    fn tracked_accounts(&self) -> usize {
        self.lock().accounts.len()
    }

    async fn check(&self, account: AccountId, limit: u32, now: DateTime<Utc>) -> Result<RateDecision, RepoError> {
        let limit = u64::from(limit);
        let window = window_of(now);
        let (prev, pending, counters) = {
            let mut s = self.lock();
            // Once a minute, accounts idle for longer than `IDLE` go: their windows no
            // longer count (a shared limiter also drops them on sync).
            if s.pruned_at.is_none_or(|at| now - at >= Duration::minutes(1)) {
                s.pruned_at = Some(now);
                // A shared limiter keeps counts it has not yet sent; a local one sends none.
                let shared = self.counters.is_some();
                s.accounts.retain(|_, a| now - a.last_seen < IDLE || (shared && a.pending > 0));
            }
            let a = s.accounts.entry(account).or_insert_with(|| AccountState::new(window, now));
            a.last_seen = now;
            let left =
                a.roll(window).map(|(window_start, delta)| RateDelta { account_id: account, window_start, delta });
            let snapshot = *a;
            s.leftovers.extend(left);
            let used = carried(snapshot.prev, window, now) + snapshot.synced + snapshot.pending;
            let local_until = if limit > EXACT_UP_TO { limit - limit / 10 } else { 0 };
            // The shared total only grows within a window, so a refusal needs no round trip.
            let known_full = carried(snapshot.prev, window, now) + snapshot.synced >= limit;
            let counters = match &self.counters {
                Some(c) if used >= local_until && !known_full => Arc::clone(c),
                _ => {
                    let admitted = used < limit;
                    if let Some(a) = s.accounts.get_mut(&account) {
                        a.pending += u64::from(admitted);
                    }
                    let current = snapshot.synced + snapshot.pending + u64::from(admitted);
                    return Ok(decide(limit, snapshot.prev, current, window, now, admitted));
                }
            };
            // Near the limit: admit exactly, flushing what is pending in the same step.
            if let Some(a) = s.accounts.get_mut(&account) {
                a.pending = 0;
            }
            (snapshot.prev, snapshot.pending, counters)
        };
        let carry = carried(prev, window, now);
        let result = counters.admit_one(account, window, pending, carry, limit).await;
        let mut s = self.lock();
        let a = s.accounts.entry(account).or_insert_with(|| AccountState::new(window, now));
        match result {
            Ok((admitted, total)) => {
                if a.window == window {
                    a.synced = a.synced.max(total);
                }
                Ok(decide(limit, prev, total, window, now, admitted))
            }
            Err(e) => {
                if a.window == window {
                    a.pending += pending;
                }
                Err(e)
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tengine_ports::MockRateCounterRepository;

    fn at(s: &str) -> DateTime<Utc> {
        tengine_domain::time::parse(s).unwrap()
    }

    fn account() -> AccountId {
        AccountId::from_uuid(uuid::Uuid::from_u128(1))
    }

    #[tokio::test]
    async fn a_local_limiter_admits_exactly_the_limit_then_refuses_with_retry_after() {
        let l = SlidingWindowLimiter::local();
        let now = at("2026-11-28T10:00:05Z");
        for i in 0..100 {
            let d = l.check(account(), 100, now).await.unwrap();
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 99 - i);
        }
        let refused = l.check(account(), 100, now).await.unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        // The whole count sits in this window, so it decays only from the next one on:
        // one request's worth of it is gone 36 s into the next hour.
        assert_eq!(refused.reset_at, at("2026-11-28T11:00:36Z"));
        assert_eq!(refused.retry_after_secs, 3_595 + 36);
    }

    #[tokio::test]
    async fn a_local_limiter_forgets_accounts_idle_past_two_hours() {
        let l = SlidingWindowLimiter::local();
        let other = AccountId::from_uuid(uuid::Uuid::from_u128(2));
        l.check(account(), 100, at("2026-11-28T10:00:00Z")).await.unwrap();
        l.check(other, 100, at("2026-11-28T11:30:00Z")).await.unwrap();
        assert_eq!(l.tracked_accounts(), 2);
        // Two hours and a minute later the first account's windows no longer count.
        l.check(other, 100, at("2026-11-28T12:01:00Z")).await.unwrap();
        assert_eq!(l.tracked_accounts(), 1);
        let back = l.check(account(), 100, at("2026-11-28T12:01:01Z")).await.unwrap();
        assert_eq!(back.remaining, 99, "a forgotten account starts afresh, as its windows had expired");
    }

    #[tokio::test]
    async fn the_previous_hour_still_counts_in_proportion() {
        let l = SlidingWindowLimiter::local();
        for _ in 0..100 {
            assert!(l.check(account(), 100, at("2026-11-28T10:59:00Z")).await.unwrap().allowed);
        }
        // At 11:30 half of the previous hour is still inside the sliding hour.
        let mut admitted = 0;
        for _ in 0..100 {
            admitted += u32::from(l.check(account(), 100, at("2026-11-28T11:30:00Z")).await.unwrap().allowed);
        }
        assert_eq!(admitted, 50);
        // Two hours later everything is forgotten.
        assert!(l.check(account(), 100, at("2026-11-28T13:00:00Z")).await.unwrap().remaining == 99);
    }

    #[tokio::test]
    async fn the_threshold_is_crossed_once_at_eighty_percent() {
        let l = SlidingWindowLimiter::local();
        let now = at("2026-11-28T10:00:00Z");
        let crossings: Vec<usize> = {
            let mut v = Vec::new();
            for i in 0..100 {
                if l.check(account(), 100, now).await.unwrap().crossed_threshold {
                    v.push(i);
                }
            }
            v
        };
        assert_eq!(crossings, vec![79]);
    }

    #[tokio::test]
    async fn a_shared_limiter_admits_small_limits_exactly_and_refuses_without_a_round_trip() {
        let mut counters = MockRateCounterRepository::new();
        // Another instance already admitted 30 in this window: the store knows 30 + ours.
        let total = Arc::new(Mutex::new(30u64));
        let t = total.clone();
        // 70 admissions; once the known total is full, refusals are decided locally.
        counters.expect_admit_one().times(70).returning(move |_, _, pending, carried, limit| {
            let mut total = t.lock().unwrap();
            *total += pending;
            let ok = *total + 1 + carried <= limit;
            *total += u64::from(ok);
            Ok((ok, *total))
        });
        let l = SlidingWindowLimiter::shared(Arc::new(counters));
        let now = at("2026-11-28T10:00:00Z");
        let mut admitted = 0;
        for _ in 0..200 {
            admitted += u32::from(l.check(account(), 100, now).await.unwrap().allowed);
        }
        assert_eq!(admitted, 70, "the other instance's 30 are honoured once exact");
        assert_eq!(*total.lock().unwrap(), 100);
    }

    #[tokio::test]
    async fn sync_sends_pending_counts_and_learns_other_instances_totals() {
        let mut counters = MockRateCounterRepository::new();
        counters
            .expect_sync_rate_counters()
            .withf(|d| d.len() == 1 && d[0].delta == 10)
            .times(1)
            .returning(|_| Ok(vec![(45, 7)]));
        let l = SlidingWindowLimiter::shared(Arc::new(counters));
        let now = at("2026-11-28T10:00:00Z");
        for _ in 0..10 {
            l.check(account(), 100_000, now).await.unwrap();
        }
        l.sync(now).await.unwrap();
        let d = l.check(account(), 100_000, now).await.unwrap();
        assert_eq!(d.remaining, 100_000 - 7 - 45 - 1);
    }

    /// A local limiter that admitted `prev` requests late in the hour before `now`'s and
    /// then as many as it would at `now`; returns it with the refusal.
    async fn filled(limit: u32, prev: u32, now: DateTime<Utc>) -> (SlidingWindowLimiter, RateDecision) {
        let l = SlidingWindowLimiter::local();
        let before = window_of(now) - Duration::minutes(1);
        for _ in 0..prev {
            l.check(account(), limit, before).await.unwrap();
        }
        loop {
            let d = l.check(account(), limit, now).await.unwrap();
            if !d.allowed {
                return (l, d);
            }
        }
    }

    #[tokio::test]
    async fn every_reset_moment_admits_and_retry_after_is_the_smallest_wait() {
        let offsets = ["00:00", "00:01", "17:13.400", "30:00", "59:59.900"];
        for limit in [1u32, 5, 100, 10_000] {
            for prev in [0, limit / 2, limit] {
                for offset in offsets {
                    let now = at(&format!("2026-11-28T10:{offset}Z"));
                    let case = format!("limit {limit}, previous hour {prev}, at 10:{offset}");
                    let (l, refused) = filled(limit, prev, now).await;
                    let wait = Duration::seconds(i64::try_from(refused.retry_after_secs).unwrap());
                    // What a client reads: the Date header's second plus Retry-After.
                    assert_eq!(refused.reset_at, floor_second(now) + wait, "{case}");
                    assert_eq!(refused.reset_in_secs, refused.retry_after_secs, "{case}");
                    let early = refused.reset_at - Duration::seconds(1);
                    if early > now {
                        assert!(
                            !l.check(account(), limit, early).await.unwrap().allowed,
                            "{case}: not the smallest wait"
                        );
                    }
                    let admitted = l.check(account(), limit, refused.reset_at).await.unwrap();
                    assert!(admitted.allowed, "{case}: refused at the named moment {}", refused.reset_at);
                    // The admission's own reset moment admits the next request too.
                    let (l2, _) = filled(limit, prev, now).await;
                    l2.check(account(), limit, refused.reset_at).await.unwrap();
                    assert!(admitted.reset_at >= refused.reset_at, "{case}");
                    let later = l2.check(account(), limit, admitted.reset_at).await.unwrap();
                    assert!(later.allowed, "{case}: refused at the admission's reset {}", admitted.reset_at);
                }
            }
        }
    }

    #[tokio::test]
    async fn an_admission_with_nothing_left_names_when_the_next_one_fits() {
        let l = SlidingWindowLimiter::local();
        let now = at("2026-11-28T10:20:00Z");
        for _ in 0..4 {
            l.check(account(), 5, now).await.unwrap();
        }
        let last = l.check(account(), 5, now).await.unwrap();
        assert!(last.allowed);
        assert_eq!(last.remaining, 0);
        // Five in this hour: one fifth of it must have slid out, 12 minutes into the next.
        assert_eq!(last.reset_at, at("2026-11-28T11:12:00Z"));
        assert_eq!(last.reset_in_secs, 52 * 60);
    }

    #[test]
    fn carried_weight_rounds_up() {
        let w = at("2026-11-28T10:00:00Z");
        assert_eq!(carried(100, w, w), 100);
        assert_eq!(carried(100, w, at("2026-11-28T10:30:00Z")), 50);
        assert_eq!(carried(3, w, at("2026-11-28T10:59:59Z")), 1);
        assert_eq!(carried(0, w, at("2026-11-28T10:10:00Z")), 0);
    }
}
