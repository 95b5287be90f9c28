//! Response bodies of the deliveries routes.

use crate::doc::schemas::{DeliveryStatusName, EventTypeName};
use serde::Serialize;
use tengine_domain::delivery::Delivery;
use tengine_domain::time::Stamp;
use tengine_domain::{DeliveryId, EventId};
use utoipa::ToSchema;

/// One attempt to deliver.
#[derive(Serialize, ToSchema)]
#[schema(as = DeliveryAttempt)]
pub struct AttemptBody {
    /// When it was made.
    #[schema(value_type = String, format = DateTime)]
    pub(crate) attempted_at: Stamp,
    /// The receiver's status code, or null when no response arrived.
    #[schema(required = true, minimum = 100, maximum = 599)]
    pub(crate) status_code: Option<u16>,
    /// How long it took.
    pub(crate) latency_ms: u64,
    /// Why it failed without a response (timeout, refused address, ...), or null.
    #[schema(required = true)]
    pub(crate) error: Option<String>,
    /// The first 1 KiB of the response body, or null.
    #[schema(required = true)]
    pub(crate) response_excerpt: Option<String>,
}

/// A delivery with its attempts.
#[derive(Serialize, ToSchema)]
#[schema(as = Delivery)]
pub struct DeliveryBody {
    /// The delivery's id.
    #[schema(value_type = String, pattern = r"^del_[0-9A-Za-z]{22}$")]
    pub(crate) id: DeliveryId,
    /// The event delivered.
    #[schema(value_type = String, pattern = r"^evt_[0-9A-Za-z]{22}$")]
    pub(crate) event_id: EventId,
    /// The event's type.
    #[schema(value_type = EventTypeName)]
    pub(crate) event_type: &'static str,
    /// Where it stands.
    #[schema(value_type = DeliveryStatusName)]
    pub(crate) status: &'static str,
    /// Every attempt so far, oldest first.
    pub(crate) attempts: Vec<AttemptBody>,
    /// When the next attempt is due, or null when none is.
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub(crate) next_attempt_at: Option<Stamp>,
    /// When it was created.
    #[schema(value_type = String, format = DateTime)]
    pub(crate) created_at: Stamp,
}

impl From<Delivery> for DeliveryBody {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type.as_str(),
            status: d.status.as_str(),
            attempts: d
                .attempts
                .into_iter()
                .map(|a| AttemptBody {
                    attempted_at: Stamp(a.attempted_at),
                    status_code: a.status_code,
                    latency_ms: a.latency_ms,
                    error: a.error,
                    response_excerpt: a.response_excerpt,
                })
                .collect(),
            next_attempt_at: d.next_attempt_at.map(Stamp),
            created_at: Stamp(d.created_at),
        }
    }
}
