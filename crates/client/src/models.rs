//! The API's resources as typed models.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A page of a list: `{"data": [...], "pagination": {...}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    /// The items, newest first.
    pub data: Vec<T>,
    /// Where this page is.
    pub pagination: Pagination,
}

impl<T> Page<T> {
    /// Whether another page follows.
    pub fn has_next(&self) -> bool {
        u64::from(self.pagination.page) * u64::from(self.pagination.per_page) < self.pagination.total
    }
}

/// Paging of a list answer.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Pagination {
    /// The 1-based page.
    pub page: u32,
    /// Items per page.
    pub per_page: u32,
    /// Items in all pages.
    pub total: u64,
}

/// A project.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Project {
    /// `proj_...`
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// An API key's metadata (and, after create or rotate, its secret).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ApiKey {
    /// `key_...`
    pub id: String,
    /// Its project.
    pub project_id: Option<String>,
    /// Its name.
    pub name: String,
    /// `read`, `write`, `webhook`, `admin`.
    pub permissions: Vec<String>,
    /// The first 12 characters of the secret.
    pub prefix: String,
    /// The secret: only in create and rotate answers.
    #[serde(default)]
    pub key: Option<String>,
    /// When it expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A webhook endpoint (and, after create or rotate-secret, its secret).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Webhook {
    /// `wh_...`
    pub id: String,
    /// Its project.
    pub project_id: String,
    /// Where deliveries go.
    pub url: String,
    /// A description.
    pub description: Option<String>,
    /// Subscribed event types, or `["*"]`.
    pub events: Vec<String>,
    /// Whether deliveries are made.
    pub active: bool,
    /// The signing secret: only in create and rotate-secret answers.
    #[serde(default)]
    pub secret: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// One attempt of a delivery.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Attempt {
    /// When it was made.
    pub attempted_at: DateTime<Utc>,
    /// The receiver's status.
    pub status_code: Option<u16>,
    /// How long it took.
    pub latency_ms: u64,
    /// What went wrong.
    pub error: Option<String>,
    /// The first 1 KiB of the answer.
    pub response_excerpt: Option<String>,
}

/// One event's delivery to one webhook.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Delivery {
    /// `del_...`
    pub id: String,
    /// The event.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// Attempts, oldest first.
    pub attempts: Vec<Attempt>,
    /// When the next attempt is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// An event, as delivered and as listed in the event log.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Event {
    /// `evt_...`
    pub id: String,
    /// Its type, e.g. `api_key.created`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The payload.
    pub data: Value,
    /// When it happened.
    pub created_at: DateTime<Utc>,
    /// The envelope version.
    #[serde(default)]
    pub api_version: Option<String>,
}

/// The answer of `POST .../test`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct TestDelivery {
    /// The test event.
    pub event_id: String,
    /// Its delivery.
    pub delivery_id: String,
    /// `pending`.
    pub status: String,
}

/// Counters of one analytics bucket (or the totals).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct UsageBucket {
    /// The bucket's start (absent in totals).
    #[serde(default)]
    pub timestamp: Option<DateTime<Utc>>,
    /// Requests.
    pub requests: u64,
    /// Responses >= 400 other than 429.
    pub errors: u64,
    /// 429 responses.
    pub rate_limited: u64,
    /// Mean latency.
    pub avg_latency_ms: f64,
    /// 95th percentile latency (histogram upper bound).
    pub p95_latency_ms: f64,
}

/// An analytics answer.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Analytics {
    /// The project.
    pub project_id: String,
    /// Start of the range.
    pub start_date: DateTime<Utc>,
    /// End of the range (exclusive).
    pub end_date: DateTime<Utc>,
    /// `hour`, `day`, `week` or `month`.
    pub granularity: String,
    /// Sums over the range.
    pub totals: UsageBucket,
    /// Every bucket, in order.
    pub data: Vec<UsageBucket>,
}

/// `POST /projects`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateProject {
    /// 1..=100 characters.
    pub name: String,
    /// Up to 1000 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `PATCH /projects/{id}`: `None` leaves a field alone; `Some(None)` clears the description.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpdateProject {
    /// A new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new description, or `Some(None)` to clear it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Option<String>>,
}

/// `POST /projects/{id}/api-keys`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateApiKey {
    /// 1..=100 characters.
    pub name: String,
    /// A non-empty subset of `read`, `write`, `webhook`, `admin`.
    pub permissions: Vec<String>,
    /// When it expires (omitted: the creating key's expiry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// `PATCH /projects/{id}/api-keys/{key_id}`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpdateApiKey {
    /// A new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New permissions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// A new expiry, or `Some(None)` for none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Option<DateTime<Utc>>>,
}

/// `POST /projects/{id}/webhooks`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateWebhook {
    /// An absolute http(s) URL.
    pub url: String,
    /// Event types, or `["*"]`.
    pub events: Vec<String>,
    /// A secret (8..=256 characters); generated when omitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// A description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `PATCH /projects/{id}/webhooks/{wid}`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpdateWebhook {
    /// A new URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A new subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    /// Enable or disable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// A new description, or `Some(None)` to clear it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Option<String>>,
}

/// Query of `GET /projects/{id}/analytics`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AnalyticsQuery {
    /// RFC 3339 or `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD` (a plain date means the end of that day).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    /// `hour`, `day`, `week` or `month`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub granularity: Option<String>,
    /// Only this key's usage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<String>,
}
