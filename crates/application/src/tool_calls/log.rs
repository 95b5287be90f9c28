//! The call log's buffer: each call is noted in memory on its path and written, with
//! its per-tool usage, in batches by the usage flusher, so a call never waits on the
//! database for its own record.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tengine_domain::tool_call::{ToolCallRecord, ToolUsageDelta, ToolUsageKey};
use tengine_domain::usage::{Granularity, UsageCounts};

/// The most calls held between two flushes; more are dropped (and counted).
pub const CAPACITY: usize = 50_000;

#[derive(Default)]
struct Pending {
    calls: Vec<ToolCallRecord>,
    usage: HashMap<ToolUsageKey, UsageCounts>,
}

/// Calls and per-tool usage waiting to be written.
#[derive(Default)]
pub struct CallLog {
    pending: Mutex<Pending>,
    dropped: AtomicU64,
}

impl CallLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Notes one call: its record and its count in its tool's hourly rollup.
    pub fn note(&self, record: ToolCallRecord) {
        let key = ToolUsageKey {
            account_id: record.account_id,
            project_id: record.project_id,
            hour: Granularity::Hour.floor(record.created_at),
            tool_id: record.tool_id,
            member_id: record.member_id.as_ref().map(|m| m.as_str().to_owned()).unwrap_or_default(),
            api_key_id: record.api_key_id,
        };
        let mut p = self.lock();
        if p.calls.len() >= CAPACITY {
            drop(p);
            if self.dropped.fetch_add(1, Ordering::Relaxed).is_multiple_of(1_000) {
                tracing::warn!(capacity = CAPACITY, "tool call log buffer full: dropping call records");
            }
            return;
        }
        p.usage.entry(key).or_default().record_call(record.is_error(), record.latency_us);
        p.calls.push(record);
    }

    /// Takes everything noted so far.
    pub fn drain(&self) -> (Vec<ToolCallRecord>, Vec<ToolUsageDelta>) {
        let p = std::mem::take(&mut *self.lock());
        let usage = p.usage.into_iter().map(|(key, counts)| ToolUsageDelta { key, counts }).collect();
        (p.calls, usage)
    }

    /// Puts back calls a failed flush could not write (they go before newer ones).
    pub fn restore_calls(&self, mut calls: Vec<ToolCallRecord>) {
        let mut p = self.lock();
        let room = CAPACITY.saturating_sub(p.calls.len());
        if calls.len() > room {
            let lost = calls.len() - room;
            calls.truncate(room);
            self.dropped.fetch_add(lost as u64, Ordering::Relaxed);
        }
        calls.append(&mut p.calls);
        p.calls = calls;
    }

    /// Puts back usage a failed flush could not write.
    pub fn restore_usage(&self, deltas: Vec<ToolUsageDelta>) {
        let mut p = self.lock();
        for d in deltas {
            p.usage.entry(d.key).or_default().merge(&d.counts);
        }
    }

    /// Calls waiting to be written.
    pub fn depth(&self) -> usize {
        self.lock().calls.len()
    }

    /// Calls dropped because the buffer was full, since start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
