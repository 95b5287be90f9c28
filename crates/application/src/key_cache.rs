//! A short-lived cache of verified keys, so an authenticated request costs only the
//! work it asks for.
//!
//! Entries live at most [`TTL`]: a revocation, rotation or project deletion made by
//! another instance (or by the CLI) takes effect here within that time, with no
//! notification channel to lose. Changes made through this instance evict at once.
//! Each active key costs one lookup per `TTL` per instance.

use tengine_domain::{ApiKey, ApiKeyDigest, ApiKeyId, ProjectId};

use crate::ttl_cache::TtlCache;
pub use crate::ttl_cache::{Generation, TTL};

/// Keys cached beyond this count are dropped wholesale (a flood of distinct keys).
const MAX_ENTRIES: usize = 100_000;

/// Verified key records by digest.
pub type KeyCache = TtlCache<ApiKeyDigest, ApiKey>;

impl Default for KeyCache {
    fn default() -> Self {
        Self::new(MAX_ENTRIES)
    }
}

impl KeyCache {
    /// Forgets a key (after it changed here).
    pub fn evict_key(&self, id: ApiKeyId) {
        self.evict_where(|_, k| k.id == id);
    }

    /// Forgets every key of a project (after it was deleted here).
    pub fn evict_project(&self, project: ProjectId) {
        self.evict_where(|_, k| k.scope.project() == Some(project));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::Duration;

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
