//! Remembers when keys (and OAuth connections) were used, so `last_used_at` is written
//! off the request path, in batches, at most once a minute per key.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use tengine_domain::ApiKeyId;

/// How often a key's `last_used_at` may be written.
pub const RESOLUTION: Duration = Duration::seconds(60);

/// Pending `last_used_at` updates, collapsed per key (or other id).
#[derive(Debug)]
pub struct LastUsedTracker<K = ApiKeyId> {
    inner: Mutex<State<K>>,
}

impl<K> Default for LastUsedTracker<K> {
    fn default() -> Self {
        Self { inner: Mutex::new(State { pending: HashMap::new(), written: HashMap::new() }) }
    }
}

#[derive(Debug)]
struct State<K> {
    pending: HashMap<K, DateTime<Utc>>,
    written: HashMap<K, DateTime<Utc>>,
}

impl<K: Copy + Eq + std::hash::Hash> LastUsedTracker<K> {
    /// Notes a use of `key` at `at`; `stored` is the value the store last showed.
    /// Cheap: one short lock, no I/O.
    pub fn note(&self, key: K, stored: Option<DateTime<Utc>>, at: DateTime<Utc>) {
        let Ok(mut s) = self.inner.lock() else { return };
        let last = s.written.get(&key).copied().max(stored);
        if last.is_some_and(|l| at - l < RESOLUTION) {
            return;
        }
        s.pending.insert(key, at);
    }

    /// Takes the pending updates, marking them written.
    pub fn drain(&self) -> Vec<(K, DateTime<Utc>)> {
        let Ok(mut s) = self.inner.lock() else { return Vec::new() };
        let batch: Vec<_> = s.pending.drain().collect();
        for (k, at) in &batch {
            s.written.insert(*k, *at);
        }
        // Keys unused for a while need no memory; the store's value guards them.
        if s.written.len() > 100_000 {
            s.written.clear();
        }
        batch
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn a_key_is_written_at_most_once_a_minute() {
        let t = LastUsedTracker::<ApiKeyId>::default();
        let k = ApiKeyId::from_uuid(Uuid::from_u128(1));
        let t0 = DateTime::from_timestamp(1_000, 0).unwrap();
        t.note(k, None, t0);
        t.note(k, None, t0 + Duration::seconds(5));
        assert_eq!(t.drain(), vec![(k, t0 + Duration::seconds(5))]);
        t.note(k, None, t0 + Duration::seconds(30));
        assert!(t.drain().is_empty());
        t.note(k, None, t0 + Duration::seconds(70));
        assert_eq!(t.drain().len(), 1);
        t.note(k, Some(t0 + Duration::seconds(100)), t0 + Duration::seconds(120));
        assert!(t.drain().is_empty(), "the stored value counts too");
    }
}
