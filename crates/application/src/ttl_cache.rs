//! The short-lived, race-safe cache behind the key cache and the tool cache.
//!
//! Entries live at most [`TTL`]: a change made by another instance (or by the CLI) takes
//! effect here within that time, with no notification channel to lose. Changes made
//! through this instance evict at once, and every eviction bumps a counter, so a value
//! read from the store before an eviction is not cached after it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Duration, Utc};

/// How long a cached value is trusted without a lookup (under SPEC's one second).
pub const TTL: Duration = Duration::milliseconds(900);

/// The cache's eviction count when a read started (see [`TtlCache::put`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64);

/// Cached values by key, each with when it was read.
type Entries<K, V> = HashMap<K, (Arc<V>, DateTime<Utc>)>;

/// Values by key, each kept for at most [`TTL`], at most `capacity` of them.
pub struct TtlCache<K, V> {
    entries: Mutex<Entries<K, V>>,
    /// Bumped by every eviction, so a value read before one is not cached after it.
    evictions: AtomicU64,
    /// Beyond this many entries, expired ones go, then (a flood) all of them.
    capacity: usize,
}

impl<K: Eq + Hash, V> TtlCache<K, V> {
    /// An empty cache of at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self { entries: Mutex::default(), evictions: AtomicU64::new(0), capacity }
    }

    fn lock(&self) -> MutexGuard<'_, Entries<K, V>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Entries held now (some may be expired and not yet dropped).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most entries it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The value for `key` if it was read less than [`TTL`] ago (a clock step back is a miss).
    pub fn get(&self, key: &K, now: DateTime<Utc>) -> Option<Arc<V>> {
        let map = self.lock();
        let (value, at) = map.get(key)?;
        (now - *at < TTL && now >= *at).then(|| Arc::clone(value))
    }

    /// The generation to pass to [`TtlCache::put`]; take it before reading the store.
    pub fn generation(&self) -> Generation {
        Generation(self.evictions.load(Ordering::Acquire))
    }

    /// Remembers a value read at `now`, unless something was evicted since `read_at` was
    /// taken: the value may predate a change made meanwhile.
    pub fn put(&self, key: K, value: Arc<V>, now: DateTime<Utc>, read_at: Generation) {
        let mut map = self.lock();
        // Evictions bump the counter under this lock, so none can slip in after the check.
        if self.evictions.load(Ordering::Acquire) != read_at.0 {
            return;
        }
        if map.len() >= self.capacity {
            map.retain(|_, (_, at)| now - *at < TTL);
            if map.len() >= self.capacity {
                map.clear();
            }
        }
        map.insert(key, (value, now));
    }

    /// Forgets every value `gone` says changed.
    pub fn evict_where(&self, gone: impl Fn(&K, &V) -> bool) {
        let mut map = self.lock();
        self.evictions.fetch_add(1, Ordering::AcqRel);
        map.retain(|k, (v, _)| !gone(k, v));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    #[test]
    fn entries_expire_after_the_ttl_and_go_when_evicted() {
        let cache = TtlCache::new(10);
        cache.put(1, Arc::new("a"), now(), cache.generation());
        assert!(cache.get(&1, now() + TTL - Duration::milliseconds(1)).is_some());
        assert!(cache.get(&1, now() + TTL).is_none());
        assert!(cache.get(&1, now() - Duration::milliseconds(1)).is_none(), "a clock step back is a miss");
        cache.evict_where(|k, _| *k == 2);
        assert!(cache.get(&1, now()).is_some());
        cache.evict_where(|_, v| *v == "a");
        assert!(cache.get(&1, now()).is_none());
    }

    #[test]
    fn a_value_read_before_an_eviction_is_not_cached_after_it() {
        let cache = TtlCache::new(10);
        let read_at = cache.generation();
        cache.evict_where(|_, _| false);
        cache.put(1, Arc::new("stale"), now(), read_at);
        assert!(cache.get(&1, now()).is_none(), "the stale read must not be cached");
        cache.put(1, Arc::new("fresh"), now(), cache.generation());
        assert!(cache.get(&1, now()).is_some());
    }

    #[test]
    fn a_full_cache_drops_expired_entries_then_everything() {
        let cache = TtlCache::new(2);
        cache.put(1, Arc::new(1), now(), cache.generation());
        cache.put(2, Arc::new(2), now() + TTL, cache.generation());
        // 1 has expired by now: it goes, 2 stays.
        cache.put(3, Arc::new(3), now() + TTL, cache.generation());
        assert!(cache.get(&2, now() + TTL).is_some() && cache.get(&3, now() + TTL).is_some());
        // Nothing has expired: a flood of keys empties the cache.
        cache.put(4, Arc::new(4), now() + TTL, cache.generation());
        assert!(cache.get(&2, now() + TTL).is_none() && cache.get(&4, now() + TTL).is_some());
    }
}
