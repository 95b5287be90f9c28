//! Retried tool calls: a `tools/call` with the same JSON-RPC id in the same MCP session,
//! or with the same `_meta.idempotency_key`, gets the first call's result for 24 hours
//! and the API is not called again.
//!
//! Sessions live in one server's memory (the transport keeps them there), so a
//! session's retries always reach this process: they are remembered here, bounded in
//! entries and bytes. A client's idempotency key may come back through any instance,
//! after a restart too: it goes through the idempotency records of the REST API.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tengine_domain::idempotency::RETENTION;
use tengine_domain::tool::ToolOutcome;
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::ToolCallResult;

/// The most session calls remembered.
pub const SESSION_ENTRIES: usize = 10_000;

/// The most result text remembered for session calls, in bytes.
pub const SESSION_BYTES: usize = 64 << 20;

/// What makes a call a retry of an earlier one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryKey {
    /// The JSON-RPC request id within an MCP session.
    Session {
        /// The `Mcp-Session-Id`.
        session: String,
        /// The request id, typed (`n:1` and `s:1` differ).
        request: String,
    },
    /// The client's `_meta.idempotency_key`.
    Client(String),
}

/// One remembered call: the fingerprint of its tool and arguments and, once it
/// finished, its result. Concurrent retries wait on the cell for the first.
pub(crate) struct Slot {
    fingerprint: [u8; 32],
    pub(crate) cell: OnceCell<ToolCallResult>,
}

struct Entry {
    slot: Arc<Slot>,
    at: DateTime<Utc>,
    bytes: usize,
}

#[derive(Default)]
struct Recent {
    entries: HashMap<String, Entry>,
    order: VecDeque<String>,
    bytes: usize,
}

impl Recent {
    fn evict(&mut self, now: DateTime<Utc>) {
        while let Some(oldest) = self.order.front() {
            let expired = self.entries.get(oldest).is_none_or(|e| now - e.at >= RETENTION);
            let full = self.order.len() > SESSION_ENTRIES || self.bytes > SESSION_BYTES;
            if !expired && !full {
                break;
            }
            if let Some(key) = self.order.pop_front() {
                if let Some(e) = self.entries.remove(&key) {
                    self.bytes -= e.bytes;
                }
            }
        }
    }
}

/// The session calls of this process, most recent last.
#[derive(Default)]
pub struct RecentCalls {
    inner: Mutex<Recent>,
}

impl RecentCalls {
    fn lock(&self) -> std::sync::MutexGuard<'_, Recent> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The slot of `key`, made if new; `None` when the key was used for another call.
    pub(crate) fn slot(&self, key: &str, fingerprint: [u8; 32], now: DateTime<Utc>) -> Option<Arc<Slot>> {
        let mut r = self.lock();
        r.evict(now);
        if let Some(e) = r.entries.get(key) {
            return (e.slot.fingerprint == fingerprint).then(|| e.slot.clone());
        }
        let slot = Arc::new(Slot { fingerprint, cell: OnceCell::new() });
        r.entries.insert(key.to_owned(), Entry { slot: slot.clone(), at: now, bytes: 0 });
        r.order.push_back(key.to_owned());
        Some(slot)
    }

    /// Counts the size of `key`'s result against the byte bound.
    pub(crate) fn charge(&self, key: &str, bytes: usize, now: DateTime<Utc>) {
        let mut r = self.lock();
        if let Some(e) = r.entries.get_mut(key) {
            e.bytes = bytes;
            r.bytes += bytes;
        }
        r.evict(now);
    }

    /// Forgets `key` (its call was refused: a retry may try again).
    pub(crate) fn forget(&self, key: &str) {
        let mut r = self.lock();
        if let Some(e) = r.entries.remove(key) {
            r.bytes -= e.bytes;
            r.order.retain(|k| k != key);
        }
    }

    /// Calls remembered.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The bytes a remembered result holds, roughly.
pub(crate) fn size_of(r: &ToolCallResult) -> usize {
    r.outcome.text.len() * 2 + 256
}

/// A result as an idempotency record keeps it.
pub(crate) fn encode(r: &ToolCallResult) -> Vec<u8> {
    json!({
        "call_id": r.call_id.to_string(),
        "request_id": r.request_id.to_string(),
        "is_error": r.outcome.is_error,
        "text": r.outcome.text,
        "structured": r.outcome.structured,
        "truncated": r.outcome.truncated,
        "upstream_status": r.upstream_status,
        "latency_us": u64::try_from(r.latency.as_micros()).unwrap_or(u64::MAX),
    })
    .to_string()
    .into_bytes()
}

/// A kept result read back, marked as replayed; `None` if it is not one.
pub(crate) fn decode(body: &[u8]) -> Option<ToolCallResult> {
    let v: Value = serde_json::from_slice(body).ok()?;
    Some(ToolCallResult {
        call_id: v["call_id"].as_str()?.parse().ok()?,
        request_id: v["request_id"].as_str()?.parse::<Uuid>().ok()?,
        outcome: ToolOutcome {
            is_error: v["is_error"].as_bool()?,
            text: v["text"].as_str()?.to_owned(),
            structured: Some(v["structured"].clone()).filter(|s| !s.is_null()),
            truncated: v["truncated"].as_bool()?,
        },
        upstream_status: v["upstream_status"].as_u64().and_then(|s| u16::try_from(s).ok()),
        failure: None,
        latency: std::time::Duration::from_micros(v["latency_us"].as_u64()?),
        replayed: true,
    })
}
