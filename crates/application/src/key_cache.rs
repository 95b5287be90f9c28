//! A short-lived cache of verified keys, so an authenticated request costs only the
//! work it asks for.
//!
//! Entries live at most [`TTL`]: a revocation, rotation or project deletion made by
//! another instance (or by the CLI) takes effect here within that time, with no
//! notification channel to lose. Changes made through this instance evict at once.
//! Each active key costs one lookup per `TTL` per instance.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use tengine_domain::{ApiKey, ApiKeyDigest, ApiKeyId, ProjectId};

/// How long a verified key is trusted without a lookup (under SPEC's one second).
pub const TTL: Duration = Duration::milliseconds(900);

/// Keys cached beyond this count are dropped wholesale (a flood of distinct keys).
const MAX_ENTRIES: usize = 100_000;

/// A cached record and when it was read.
type Entry = (Arc<ApiKey>, DateTime<Utc>);

/// Verified key records by digest.
#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<ApiKeyDigest, Entry>>,
    /// Bumped by every eviction, so a record read before one is not cached after it.
    evictions: AtomicU64,
}

/// The cache's eviction count when a lookup started (see [`KeyCache::put`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64);

impl KeyCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ApiKeyDigest, Entry>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The record for `digest` if it was read less than [`TTL`] ago.
    pub fn get(&self, digest: &ApiKeyDigest, now: DateTime<Utc>) -> Option<Arc<ApiKey>> {
        let map = self.lock();
        let (key, at) = map.get(digest)?;
        (now - *at < TTL && now >= *at).then(|| Arc::clone(key))
    }

    /// The generation to pass to [`KeyCache::put`]; take it before reading the store.
    pub fn generation(&self) -> Generation {
        Generation(self.evictions.load(Ordering::Acquire))
    }

    /// Remembers a record read at `now`, unless something was evicted since `read_at`
    /// was taken: the record may predate a revocation made meanwhile.
    pub fn put(&self, digest: ApiKeyDigest, key: Arc<ApiKey>, now: DateTime<Utc>, read_at: Generation) {
        let mut map = self.lock();
        // Evictions bump the counter under this lock, so none can slip in after the check.
        if self.evictions.load(Ordering::Acquire) != read_at.0 {
            return;
        }
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (_, at)| now - *at < TTL);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(digest, (key, now));
    }

    /// Forgets a key (after it changed here).
    pub fn evict_key(&self, id: ApiKeyId) {
        let mut map = self.lock();
        self.evictions.fetch_add(1, Ordering::AcqRel);
        map.retain(|_, (k, _)| k.id != id);
    }

    /// Forgets every key of a project (after it was deleted here).
    pub fn evict_project(&self, project: ProjectId) {
        let mut map = self.lock();
        self.evictions.fetch_add(1, Ordering::AcqRel);
        map.retain(|_, (k, _)| k.scope.project() != Some(project));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use tengine_domain::{KeyScope, Permission};

    #[test]
    fn entries_expire_after_the_ttl_and_evict_by_key_or_project() {
        let cache = KeyCache::default();
        let key = api_key(1, KeyScope::Project(project_id(3)), &[Permission::Read]);
        cache.put(key.digest, Arc::new(key.clone()), now(), cache.generation());
        assert!(cache.get(&key.digest, now() + TTL - Duration::milliseconds(1)).is_some());
        assert!(cache.get(&key.digest, now() + TTL).is_none());
        cache.evict_key(key.id);
        assert!(cache.get(&key.digest, now()).is_none());
        cache.put(key.digest, Arc::new(key.clone()), now(), cache.generation());
        cache.evict_project(project_id(4));
        assert!(cache.get(&key.digest, now()).is_some());
        cache.evict_project(project_id(3));
        assert!(cache.get(&key.digest, now()).is_none());
    }

    #[test]
    fn a_record_read_before_an_eviction_is_not_cached_after_it() {
        let cache = KeyCache::default();
        let key = api_key(1, KeyScope::Project(project_id(3)), &[Permission::Read]);
        let read_at = cache.generation();
        cache.evict_key(key.id);
        cache.put(key.digest, Arc::new(key.clone()), now(), read_at);
        assert!(cache.get(&key.digest, now()).is_none(), "the stale read must not be cached");
        cache.put(key.digest, Arc::new(key.clone()), now(), cache.generation());
        assert!(cache.get(&key.digest, now()).is_some());
    }
}
