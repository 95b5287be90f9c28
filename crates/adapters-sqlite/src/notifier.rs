//! Wake-ups for delivery workers in this process: a commit that created deliveries
//! signals the store's [`Notify`].

use std::sync::Arc;

use tengine_ports::DeliveryNotifier;
use tokio::sync::Notify;

/// Resolves `wait` after a commit of the store it came from created deliveries (see
/// `SqliteStore::delivery_notifier`).
#[derive(Debug, Clone)]
pub struct SqliteDeliveryNotifier {
    notify: Arc<Notify>,
}

impl SqliteDeliveryNotifier {
    pub(crate) fn new(notify: Arc<Notify>) -> Self {
        SqliteDeliveryNotifier { notify }
    }
}

#[async_trait::async_trait]
impl DeliveryNotifier for SqliteDeliveryNotifier {
    async fn wait(&self) {
        // A commit while nobody waited left a permit, which this takes at once.
        self.notify.notified().await;
    }
}
