//! Wake-ups for delivery workers on every instance: transactions that create
//! deliveries `NOTIFY` on commit, and [`PgDeliveryNotifier`] `LISTEN`s.
//!
//! The listener runs in its own task on its own one-connection pool: `PgListener`
//! reconnects inside `recv`, and dropping that future midway (as a `select!` would)
//! can hand a still-listening connection back to its pool, where a later query fails on
//! the notification it receives. Here nothing cancels `recv`, and no query shares its
//! pool. Workers wait on a `Notify`, which is cancel-safe.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::PgPool;
use tengine_ports::{DeliveryNotifier, RepoError};
use tokio::sync::Notify;

use crate::delivery::CHANNEL;
use crate::error::map_err;

/// How long the listener pauses after a failure before it reconnects.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Wakes the local delivery worker when any instance commits deliveries. Notifications
/// sent while the listener is reconnecting are lost, so workers still poll now and then.
#[derive(Debug, Clone)]
pub struct PgDeliveryNotifier {
    wake: Arc<Notify>,
}

impl PgDeliveryNotifier {
    /// Starts listening on a dedicated connection to the database of `pool`.
    ///
    /// # Errors
    /// `Unavailable` when the server cannot be reached.
    pub async fn listen(pool: &PgPool) -> Result<PgDeliveryNotifier, RepoError> {
        let own = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(pool.connect_options().as_ref().clone())
            .await
            .map_err(map_err)?;
        let mut listener = PgListener::connect_with(&own).await.map_err(map_err)?;
        listener.listen(CHANNEL).await.map_err(map_err)?;
        let wake = Arc::new(Notify::new());
        let signal = wake.clone();
        tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(_) => signal.notify_one(),
                    Err(e) => {
                        tracing::warn!(error = %e, "delivery notifications unavailable; workers poll meanwhile");
                        // Wake the worker so it polls, then retry (recv reconnects).
                        signal.notify_one();
                        tokio::time::sleep(RETRY_AFTER).await;
                    }
                }
            }
        });
        Ok(PgDeliveryNotifier { wake })
    }
}

#[async_trait::async_trait]
impl DeliveryNotifier for PgDeliveryNotifier {
    async fn wait(&self) {
        self.wake.notified().await;
    }
}
