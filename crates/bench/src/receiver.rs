//! A webhook receiver for `cargo xtask bench webhooks`: answers 200 at once, and on
//! `GET /stats` reports how many deliveries arrived, how many were duplicates, and the
//! event-to-arrival latency percentiles (from each event's `created_at`).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

#[derive(Default)]
struct Stats {
    seen: HashSet<String>,
    duplicates: u64,
    latencies_ms: Vec<f64>,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
}

type Shared = Arc<Mutex<Stats>>;

async fn hook(State(stats): State<Shared>, headers: HeaderMap, body: Bytes) -> &'static str {
    let now = Utc::now();
    let created = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("created_at").and_then(Value::as_str).map(str::to_owned))
        .and_then(|s| DateTime::parse_from_rfc3339(&s).ok());
    let delivery = headers.get("x-tengine-delivery-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let mut s = stats.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !s.seen.insert(delivery) {
        s.duplicates += 1;
    }
    if let Some(c) = created {
        s.latencies_ms.push((now - c.with_timezone(&Utc)).num_microseconds().unwrap_or(0) as f64 / 1_000.0);
    }
    s.first.get_or_insert(now);
    s.last = Some(now);
    "ok"
}

async fn stats(State(stats): State<Shared>) -> Json<Value> {
    let mut s = stats.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut l = s.latencies_ms.clone();
    l.sort_by(f64::total_cmp);
    let pct = |p: f64| l.get(((l.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0);
    let span = match (s.first, s.last) {
        (Some(a), Some(b)) => (b - a).num_milliseconds() as f64 / 1_000.0,
        _ => 0.0,
    };
    let body = json!({
        "deliveries": s.seen.len(),
        "duplicates": s.duplicates,
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "span_seconds": span,
    });
    if s.seen.is_empty() {
        s.first = None;
    }
    Json(body)
}

async fn reset(State(stats): State<Shared>) -> &'static str {
    *stats.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Stats::default();
    "reset"
}

/// Serves the receiver until killed.
///
/// # Errors
/// When the address cannot be bound.
pub async fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let app = Router::new()
        .route("/hook/{n}", post(hook))
        .route("/stats", get(stats))
        .route("/reset", post(reset))
        .with_state(Shared::default());
    let listener = tokio::net::TcpListener::bind(listen).await.context("bind")?;
    // With port 0, `cargo xtask bench` learns the port from this line.
    println!("tengine-bench: listening on {}", listener.local_addr().context("local address")?);
    axum::serve(listener, app).await.context("serve")
}
