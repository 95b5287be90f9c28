//! Response bodies of the events routes.

use crate::doc::schemas::EventTypeName;
use serde::Serialize;
use tengine_domain::event::{EventData, EventEnvelope};
use tengine_domain::time::Stamp;
use tengine_domain::{Event, EventId};
use utoipa::ToSchema;

/// An event of the log, in the delivery envelope's shape.
#[derive(Serialize, ToSchema)]
#[schema(
    as = Event,
    example = json!({
        "id": "evt_2cqkZW0aB2cD4eF6gH8iJ0",
        "type": "project.created",
        "data": {"id": "proj_2cqkZJ8Xf3vTqW1bN0aYhE", "name": "My Project"},
        "created_at": "2026-11-28T12:00:00Z",
        "api_version": "v1"
    })
)]
pub struct EventBody {
    /// The event's id (also `webhook-id` on deliveries).
    #[schema(value_type = String, pattern = r"^evt_[0-9A-Za-z]{22}$")]
    pub(crate) id: EventId,
    /// The event's type.
    #[serde(rename = "type")]
    #[schema(value_type = EventTypeName)]
    pub(crate) kind: &'static str,
    /// The event's payload (the resource it is about); never a key or webhook secret.
    #[schema(value_type = Object)]
    pub(crate) data: EventData,
    /// When it happened.
    #[schema(value_type = String, format = DateTime)]
    pub(crate) created_at: Stamp,
    /// The API version of the payload.
    #[schema(example = "v1")]
    pub(crate) api_version: &'static str,
}

impl From<Event> for EventBody {
    fn from(e: Event) -> Self {
        let EventEnvelope { id, kind, data, created_at, api_version } = EventEnvelope::from(e);
        Self { id, kind, data, created_at, api_version }
    }
}
