//! A short-lived cache of each project's enabled tools (with their compiled input
//! schemas), so an MCP `tools/call` or `tools/list` costs no store read and no schema
//! compile.
//!
//! As with the key cache, entries live at most [`TTL`]: a tool created, changed or
//! deleted (or a project deleted) by another instance shows here within that time.
//! Changes made through this instance evict at once, and a read that raced an eviction
//! is not kept.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use tengine_domain::tool::Tool;
use tengine_domain::{AccountId, ProjectId};

pub use crate::key_cache::TTL;

/// Projects cached beyond this count are dropped wholesale.
const MAX_PROJECTS: usize = 10_000;

/// A live project's enabled tools, sorted by name.
#[derive(Debug)]
pub struct ProjectTools {
    /// The project's account, checked against the caller's on every hit.
    pub account_id: AccountId,
    /// Enabled tools, sorted by name.
    pub tools: Vec<Arc<Tool>>,
}

impl ProjectTools {
    /// The enabled tool called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Tool>> {
        self.tools.binary_search_by(|t| t.name.as_str().cmp(name)).ok().and_then(|i| self.tools.get(i))
    }
}

/// The cache's eviction count when a read started (see [`ToolCache::put`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64);

/// A cached project's tools and when they were read.
type Entry = (Arc<ProjectTools>, DateTime<Utc>);

/// Enabled tools by project.
#[derive(Default)]
pub struct ToolCache {
    entries: Mutex<HashMap<ProjectId, Entry>>,
    evictions: AtomicU64,
}

impl ToolCache {
    fn lock(&self) -> MutexGuard<'_, HashMap<ProjectId, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The project's tools if they were read less than [`TTL`] ago.
    pub fn get(&self, project: ProjectId, now: DateTime<Utc>) -> Option<Arc<ProjectTools>> {
        let map = self.lock();
        let (tools, at) = map.get(&project)?;
        (now - *at < TTL && now >= *at).then(|| Arc::clone(tools))
    }

    /// The generation to pass to [`ToolCache::put`]; take it before reading the store.
    pub fn generation(&self) -> Generation {
        Generation(self.evictions.load(Ordering::Acquire))
    }

    /// Remembers tools read at `now`, unless something was evicted since `read_at`.
    pub fn put(&self, project: ProjectId, tools: Arc<ProjectTools>, now: DateTime<Utc>, read_at: Generation) {
        let mut map = self.lock();
        if self.evictions.load(Ordering::Acquire) != read_at.0 {
            return;
        }
        if map.len() >= MAX_PROJECTS {
            map.retain(|_, (_, at)| now - *at < TTL);
            if map.len() >= MAX_PROJECTS {
                map.clear();
            }
        }
        map.insert(project, (tools, now));
    }

    /// Forgets a project's tools (they changed, or the project went).
    pub fn evict(&self, project: ProjectId) {
        let mut map = self.lock();
        self.evictions.fetch_add(1, Ordering::AcqRel);
        map.remove(&project);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn entry() -> Arc<ProjectTools> {
        Arc::new(ProjectTools { account_id: AccountId::from_uuid(uuid::Uuid::nil()), tools: Vec::new() })
    }

    #[test]
    fn entries_expire_after_the_ttl_and_go_when_evicted() {
        let cache = ToolCache::default();
        let p = ProjectId::from_uuid(uuid::Uuid::from_u128(1));
        cache.put(p, entry(), now(), cache.generation());
        assert!(cache.get(p, now() + TTL - Duration::milliseconds(1)).is_some());
        assert!(cache.get(p, now() + TTL).is_none());
        assert!(cache.get(p, now() - Duration::milliseconds(1)).is_none(), "a clock step back is a miss");
        cache.evict(p);
        assert!(cache.get(p, now()).is_none());
    }

    #[test]
    fn a_read_that_raced_an_eviction_is_not_kept() {
        let cache = ToolCache::default();
        let p = ProjectId::from_uuid(uuid::Uuid::from_u128(1));
        let before = cache.generation();
        cache.evict(ProjectId::from_uuid(uuid::Uuid::from_u128(2)));
        cache.put(p, entry(), now(), before);
        assert!(cache.get(p, now()).is_none());
    }
}
