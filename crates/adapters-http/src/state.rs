//! The state every handler shares.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tengine_application::Tengine;
use tengine_ports::UsageSink;

/// A readiness check: resolves to `true` when the database answers.
pub type ReadinessCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// Shared, cheaply cloned handler state.
#[derive(Clone)]
pub struct AppState {
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
}
