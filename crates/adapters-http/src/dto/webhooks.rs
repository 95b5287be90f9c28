//! Response bodies of the webhooks routes.

use crate::doc::schemas::{DeliveryStatusName, EventSubscription};
use serde::Serialize;
use tengine_domain::delivery::Webhook;
use tengine_domain::time;
use tengine_domain::webhook::WebhookSecret;
use utoipa::ToSchema;

/// A webhook as the API shows it; `secret` only on create and rotate-secret.
#[derive(Serialize, ToSchema)]
#[schema(
    as = Webhook,
    example = json!({
        "id": "wh_2cqkZQ4dE6fG8hJ0kL2mN4",
        "project_id": "proj_2cqkZJ8Xf3vTqW1bN0aYhE",
        "url": "https://your-app.com/webhook",
        "description": null,
        "events": ["project.created", "api_key.created"],
        "active": true,
        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "created_at": "2026-11-28T12:00:00Z",
        "updated_at": "2026-11-28T12:00:00Z"
    })
)]
pub struct WebhookBody {
    /// The webhook's id.
    #[schema(pattern = r"^wh_[0-9A-Za-z]{22}$")]
    pub(crate) id: String,
    /// The project it belongs to.
    #[schema(pattern = r"^proj_[0-9A-Za-z]{22}$")]
    pub(crate) project_id: String,
    /// Where deliveries are POSTed: an absolute http(s) URL as it was given (it may hold
    /// characters a strict RFC 3986 URI would percent-encode).
    #[schema(max_length = 2048)]
    pub(crate) url: String,
    /// A description, or null.
    #[schema(max_length = 1000, required = true)]
    pub(crate) description: Option<String>,
    /// The subscribed event types, or `["*"]` for all.
    #[schema(value_type = EventSubscription)]
    pub(crate) events: Vec<&'static str>,
    /// Whether deliveries are made (set false after 5 days of failures, or a 410 answer).
    pub(crate) active: bool,
    /// When its deliveries started failing with no success since, or null when healthy
    /// (a disabled webhook with this set was disabled by its failures).
    #[schema(format = DateTime, required = true)]
    pub(crate) failing_since: Option<String>,
    /// The signing secret. Present only in the create and rotate-secret responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, min_length = 8, max_length = 256)]
    pub(crate) secret: Option<String>,
    /// When it was created.
    #[schema(format = DateTime)]
    pub(crate) created_at: String,
    /// When it was last changed.
    #[schema(format = DateTime)]
    pub(crate) updated_at: String,
}

impl WebhookBody {
    pub(crate) fn new(w: Webhook, secret: Option<&WebhookSecret>) -> Self {
        Self {
            id: w.id.to_string(),
            project_id: w.project_id.to_string(),
            url: w.url.as_str().to_owned(),
            description: w.description,
            events: w.events.names(),
            active: w.active,
            failing_since: w.failing_since.map(time::format),
            secret: secret.map(|s| s.expose_secret().to_owned()),
            created_at: time::format(w.created_at),
            updated_at: time::format(w.updated_at),
        }
    }
}

/// The test event and its queued delivery.
#[derive(Serialize, ToSchema)]
#[schema(as = WebhookTest)]
pub struct TestBody {
    /// The `webhook.test` event.
    #[schema(pattern = r"^evt_[0-9A-Za-z]{22}$")]
    pub(crate) event_id: String,
    /// Its delivery to this webhook (see `listDeliveries`).
    #[schema(pattern = r"^del_[0-9A-Za-z]{22}$")]
    pub(crate) delivery_id: String,
    /// Always `pending`: the delivery is sent in the background.
    #[schema(value_type = DeliveryStatusName, example = "pending")]
    pub(crate) status: &'static str,
}
