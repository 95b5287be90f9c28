//! Wake-ups for delivery workers on every instance: transactions that create
//! deliveries `NOTIFY` on commit, and [`PgDeliveryNotifier`] `LISTEN`s.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tengine_ports::{DeliveryNotifier, RepoError};
use tokio::sync::Mutex;

use crate::delivery::CHANNEL;
use crate::error::map_err;

/// How long `wait` pauses after the listener fails, so the worker polls meanwhile.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Listens for committed deliveries on a dedicated connection of the pool (which it
/// keeps, so size the pool one larger). A lost connection is reopened on the next wait;
/// notifications sent while it was down are lost, so workers still poll now and then.
#[derive(Debug)]
pub struct PgDeliveryNotifier {
    listener: Mutex<PgListener>,
}

impl PgDeliveryNotifier {
    /// Starts listening on a connection taken from `pool`.
    ///
    /// # Errors
    /// `Unavailable` when the server cannot be reached.
    pub async fn listen(pool: &PgPool) -> Result<PgDeliveryNotifier, RepoError> {
        let mut listener = PgListener::connect_with(pool).await.map_err(map_err)?;
        listener.listen(CHANNEL).await.map_err(map_err)?;
        Ok(PgDeliveryNotifier { listener: Mutex::new(listener) })
    }
}

#[async_trait::async_trait]
impl DeliveryNotifier for PgDeliveryNotifier {
    async fn wait(&self) {
        let mut listener = self.listener.lock().await;
        // `recv` reconnects (and listens again) by itself; it fails only when that fails.
        if let Err(e) = listener.recv().await {
            tracing::warn!(error = %e, "delivery notifications unavailable; polling");
            drop(listener);
            tokio::time::sleep(RETRY_AFTER).await;
        }
    }
}
