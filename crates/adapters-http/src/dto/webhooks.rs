//! Response bodies of the webhooks routes.

use super::DeliveryBody;
use crate::doc::schemas::{DeliveryStatusName, EventSubscription};
use serde::Serialize;
use tengine_domain::delivery::WebhookSummary;
use tengine_domain::time::{self, Stamp};
use tengine_domain::webhook::WebhookSecret;
use tengine_domain::{ProjectId, WebhookId};
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
    #[schema(value_type = String, pattern = r"^wh_[0-9A-Za-z]{22}$")]
    pub(crate) id: WebhookId,
    /// The project it belongs to.
    #[schema(value_type = String, pattern = r"^proj_[0-9A-Za-z]{22}$")]
    pub(crate) project_id: ProjectId,
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
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub(crate) failing_since: Option<Stamp>,
    /// The signing secret. Present only in the create and rotate-secret responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, min_length = 8, max_length = 256)]
    pub(crate) secret: Option<String>,
    /// When it was created.
    #[schema(value_type = String, format = DateTime)]
    pub(crate) created_at: Stamp,
    /// When it was last changed.
    #[schema(value_type = String, format = DateTime)]
    pub(crate) updated_at: Stamp,
    /// At most this many deliveries per second, or null for no limit.
    #[schema(required = true, minimum = 1, maximum = 10000)]
    pub(crate) rate_limit: Option<u32>,
    /// `per_project` (one at a time, in creation order) or `none`.
    #[schema(pattern = "^(none|per_project)$")]
    pub(crate) ordering: &'static str,
}

impl WebhookBody {
    pub(crate) fn new(w: impl Into<WebhookSummary>, secret: Option<&WebhookSecret>) -> Self {
        let w = w.into();
        Self {
            id: w.id,
            project_id: w.project_id,
            url: w.url.into_string(),
            description: w.description,
            events: w.events.names(),
            active: w.active,
            failing_since: w.failing_since.map(Stamp),
            secret: secret.map(|s| s.expose_secret().to_owned()),
            created_at: Stamp(w.created_at),
            updated_at: Stamp(w.updated_at),
            rate_limit: w.rate_limit,
            ordering: w.ordering.as_str(),
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

/// Why and when a webhook was switched off.
#[derive(Serialize, ToSchema)]
#[schema(as = WebhookDisabled)]
pub struct DisabledBody {
    /// `gone` (its receiver answered 410), `failing` (every delivery failed for 5 days)
    /// or `manual` (set `active: false`).
    #[schema(pattern = "^(gone|failing|manual)$")]
    reason: &'static str,
    /// When.
    #[schema(format = DateTime)]
    at: String,
}

/// A webhook's health: its attempts over the last 24 hours (from hourly rollups, so the
/// first hour counts whole), its newest delivery, and why it is off, if it is.
#[derive(Serialize, ToSchema)]
#[schema(
    as = WebhookHealth,
    example = json!({
        "webhook_id": "wh_2cqkZR4bK7mN9pQ2sT5vWx",
        "active": true,
        "failing_since": null,
        "disabled": null,
        "since": "2026-11-27T12:00:00Z",
        "attempts": 120,
        "succeeded": 118,
        "failed": 2,
        "success_rate": 0.9833,
        "latency_ms_avg": 84,
        "last_delivery": null
    })
)]
pub struct WebhookHealthBody {
    /// The webhook.
    #[schema(pattern = r"^wh_[0-9A-Za-z]{22}$")]
    webhook_id: String,
    /// Whether deliveries are made.
    active: bool,
    /// When its deliveries started failing with no success since, or null.
    #[schema(format = DateTime, required = true)]
    failing_since: Option<String>,
    /// Why and when it was switched off; null while it is on.
    #[schema(required = true)]
    disabled: Option<DisabledBody>,
    /// Where the 24-hour window starts.
    #[schema(format = DateTime)]
    since: String,
    /// Attempts in the window.
    attempts: u64,
    /// Attempts the receiver answered 2xx.
    succeeded: u64,
    /// The other attempts (non-2xx answers, timeouts, refused connections).
    failed: u64,
    /// `succeeded / attempts`, or null without attempts.
    #[schema(required = true, minimum = 0.0, maximum = 1.0)]
    success_rate: Option<f64>,
    /// The attempts' mean latency in milliseconds, or null without attempts.
    #[schema(required = true)]
    latency_ms_avg: Option<u64>,
    /// Its newest delivery with its attempts, or null.
    #[schema(required = true, value_type = Option<DeliveryBody>)]
    last_delivery: Option<DeliveryBody>,
}

impl From<tengine_application::WebhookHealth> for WebhookHealthBody {
    fn from(h: tengine_application::WebhookHealth) -> Self {
        let stats = h.stats;
        Self {
            webhook_id: h.webhook.id.to_string(),
            active: h.webhook.active,
            failing_since: h.webhook.failing_since.map(time::format),
            disabled: h.disabled.map(|(reason, at)| DisabledBody { reason: reason.as_str(), at: time::format(at) }),
            since: time::format(h.since),
            attempts: stats.attempts,
            succeeded: stats.succeeded,
            failed: stats.attempts.saturating_sub(stats.succeeded),
            // Four decimals are plenty for a rate, and keep the JSON short.
            success_rate: stats.success_rate().map(|r| (r * 10_000.0).round() / 10_000.0),
            latency_ms_avg: stats.latency_ms_avg(),
            last_delivery: h.last_delivery.map(DeliveryBody::from),
        }
    }
}
