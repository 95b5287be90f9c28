//! The state every handler shares.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tengine_application::Tengine;
use tengine_ports::UsageSink;

/// A readiness check: resolves to `true` when the database answers.
pub type ReadinessCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// Shared handler state: one `Arc`, since axum clones it for every layer and handler
/// of every request (one atomic increment instead of a dozen).
#[derive(Clone)]
pub struct AppState(Arc<AppStateParts>);

impl AppState {
    /// Wraps the parts.
    pub fn new(parts: AppStateParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppStateParts;

    fn deref(&self) -> &AppStateParts {
        &self.0
    }
}

/// What handlers share.
pub struct AppStateParts {
    /// The use cases.
    pub tengine: Tengine,
    /// Answers `/readyz`.
    pub ready: ReadinessCheck,
    /// Where usage records go (a non-blocking buffer).
    pub usage: Arc<dyn UsageSink>,
    /// Whether usage is recorded and rate limits applied (off only for benchmarks).
    pub metering: bool,
    /// Renders the Prometheus text of `/metrics`.
    pub metrics: Arc<dyn Fn() -> String + Send + Sync>,
    /// Ends live event streams when the server stops.
    pub streams: StreamGate,
}

/// Ends live streams (`events/stream`) when the server stops: a graceful shutdown waits
/// for open responses, and a stream would otherwise never end. Clones share one gate.
#[derive(Clone)]
pub struct StreamGate(tokio::sync::watch::Sender<bool>);

impl Default for StreamGate {
    fn default() -> Self {
        Self(tokio::sync::watch::channel(false).0)
    }
}

impl StreamGate {
    /// Ends every stream, and any opened later at once.
    pub fn close(&self) {
        self.0.send_replace(true);
    }

    /// Resolves when the gate closes.
    pub async fn closed(&self) {
        let mut rx = self.0.subscribe();
        // The sender lives in `self`, so the channel cannot close under us.
        let _ = rx.wait_for(|closed| *closed).await;
    }
}
