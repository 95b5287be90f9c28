//! The usage buffer: records are summed in memory per (project, key, hour) on the
//! request path and flushed in batches, so recording never waits on the database.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use tengine_domain::usage::UsageSubject;
use tengine_domain::usage::{Granularity, UsageCounts};
use tengine_domain::{AccountId, ProjectId};
use tengine_ports::{UsageDelta, UsageRecord, UsageSink};

type RowKey = (AccountId, ProjectId, UsageSubject, DateTime<Utc>);

/// A bounded in-memory buffer of usage, drained by a flusher.
pub struct UsageBuffer {
    rows: Mutex<HashMap<RowKey, UsageCounts>>,
    capacity: usize,
    flush_at: usize,
    dropped: AtomicU64,
    on_full: Box<dyn Fn() + Send + Sync>,
}

impl UsageBuffer {
    /// A buffer of at most `capacity` distinct rows; `wake` is called (cheaply, perhaps
    /// often) once it holds a quarter of that, to flush early.
    pub fn new(capacity: usize, wake: impl Fn() + Send + Sync + 'static) -> Self {
        Self {
            rows: Mutex::new(HashMap::new()),
            capacity,
            flush_at: (capacity / 4).max(1),
            dropped: AtomicU64::new(0),
            on_full: Box::new(wake),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RowKey, UsageCounts>> {
        self.rows.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes everything buffered, as deltas sorted by row.
    pub fn drain(&self) -> Vec<UsageDelta> {
        let rows = std::mem::take(&mut *self.lock());
        let mut deltas: Vec<UsageDelta> = rows
            .into_iter()
            .map(|((account_id, project_id, subject, hour), counts)| UsageDelta {
                hour,
                account_id,
                project_id,
                subject,
                counts,
            })
            .collect();
        deltas.sort_by_key(|d| (d.project_id, d.hour, d.subject));
        deltas
    }

    /// Puts back deltas a failed flush could not write, so an outage loses nothing
    /// while there is room.
    pub fn restore(&self, deltas: Vec<UsageDelta>) {
        let mut rows = self.lock();
        for d in deltas {
            let key = (d.account_id, d.project_id, d.subject, d.hour);
            let room = rows.len() < self.capacity;
            match rows.get_mut(&key) {
                Some(c) => c.merge(&d.counts),
                None if room => {
                    rows.insert(key, d.counts);
                }
                None => {
                    self.dropped.fetch_add(d.counts.requests, Ordering::Relaxed);
                }
            }
        }
    }

    /// Distinct rows waiting to be flushed.
    pub fn depth(&self) -> usize {
        self.lock().len()
    }

    /// Records dropped because the buffer was full, since start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl UsageSink for UsageBuffer {
    fn record(&self, r: UsageRecord) {
        let key = (r.account_id, r.project_id, r.subject, Granularity::Hour.floor(r.at));
        let len = {
            let mut rows = self.lock();
            let len = rows.len();
            match rows.get_mut(&key) {
                Some(c) => c.record(r.status, r.latency_us),
                None if len < self.capacity => rows.entry(key).or_default().record(r.status, r.latency_us),
                None => {
                    drop(rows);
                    if self.dropped.fetch_add(1, Ordering::Relaxed).is_multiple_of(1_000) {
                        tracing::warn!(capacity = self.capacity, "usage buffer full: dropping usage records");
                    }
                    (self.on_full)();
                    return;
                }
            }
            len + 1
        };
        if len >= self.flush_at {
            (self.on_full)();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use uuid::Uuid;

    fn record(project: u128, key: u128, at: &str, status: u16) -> UsageRecord {
        UsageRecord {
            at: tengine_domain::time::parse(at).unwrap(),
            account_id: AccountId::from_uuid(Uuid::from_u128(1)),
            project_id: ProjectId::from_uuid(Uuid::from_u128(project)),
            subject: tengine_domain::ApiKeyId::from_uuid(Uuid::from_u128(key)).into(),
            status,
            latency_us: 1_500,
        }
    }

    #[test]
    fn records_are_summed_per_project_key_and_hour() {
        let b = UsageBuffer::new(100, || {});
        b.record(record(1, 1, "2026-11-28T10:05:00Z", 200));
        b.record(record(1, 1, "2026-11-28T10:55:00Z", 404));
        b.record(record(1, 1, "2026-11-28T11:00:00Z", 429));
        b.record(record(1, 2, "2026-11-28T10:00:00Z", 200));
        let d = b.drain();
        assert_eq!(d.len(), 3);
        let first = &d[0];
        assert_eq!((first.counts.requests, first.counts.errors, first.counts.rate_limited), (2, 1, 0));
        assert_eq!(b.depth(), 0);
    }

    #[test]
    fn a_full_buffer_drops_new_rows_and_says_so_without_blocking() {
        let woken = Arc::new(AtomicUsize::new(0));
        let w = woken.clone();
        let b = UsageBuffer::new(2, move || {
            w.fetch_add(1, Ordering::Relaxed);
        });
        b.record(record(1, 1, "2026-11-28T10:00:00Z", 200));
        b.record(record(2, 1, "2026-11-28T10:00:00Z", 200));
        b.record(record(3, 1, "2026-11-28T10:00:00Z", 200));
        b.record(record(1, 1, "2026-11-28T10:00:00Z", 200));
        assert_eq!(b.dropped(), 1);
        assert_eq!(b.depth(), 2);
        assert!(woken.load(Ordering::Relaxed) >= 1);
    }

    #[test]
    fn restored_deltas_merge_back() {
        let b = UsageBuffer::new(10, || {});
        b.record(record(1, 1, "2026-11-28T10:00:00Z", 200));
        let d = b.drain();
        b.record(record(1, 1, "2026-11-28T10:30:00Z", 200));
        b.restore(d);
        assert_eq!(b.drain()[0].counts.requests, 2);
    }
}
