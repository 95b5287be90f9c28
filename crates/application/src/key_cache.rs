//! A short-lived cache of verified keys, so an authenticated request costs only the
//! work it asks for.
//!
//! Entries live at most [`TTL`]: a revocation, rotation or project deletion made by
//! another instance (or by the CLI) takes effect here within that time, with no
//! notification channel to lose. Changes made through this instance evict at once.
//! Each active key costs one lookup per `TTL` per instance.

use std::collections::HashMap;
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
}

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

    /// Remembers a record read at `now`.
    pub fn put(&self, digest: ApiKeyDigest, key: Arc<ApiKey>, now: DateTime<Utc>) {
        let mut map = self.lock();
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
        self.lock().retain(|_, (k, _)| k.id != id);
    }

    /// Forgets every key of a project (after it was deleted here).
    pub fn evict_project(&self, project: ProjectId) {
        self.lock().retain(|_, (k, _)| k.scope.project() != Some(project));
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
        cache.put(key.digest, Arc::new(key.clone()), now());
        assert!(cache.get(&key.digest, now() + TTL - Duration::milliseconds(1)).is_some());
        assert!(cache.get(&key.digest, now() + TTL).is_none());
        cache.evict_key(key.id);
        assert!(cache.get(&key.digest, now()).is_none());
        cache.put(key.digest, Arc::new(key.clone()), now());
        cache.evict_project(project_id(4));
        assert!(cache.get(&key.digest, now()).is_some());
        cache.evict_project(project_id(3));
        assert!(cache.get(&key.digest, now()).is_none());
    }
}
