//! The API's resources as typed models: the structs are generated from
//! `docs/openapi.json` into `models/generated.rs` (`cargo xtask sdk-models`); pages, query
//! parameters and the names this crate used before generation are written here.

#[rustfmt::skip]
mod generated;

pub use generated::*;
use serde::{Deserialize, Serialize};

/// One attempt of a delivery (the former name of [`DeliveryAttempt`]).
pub type Attempt = DeliveryAttempt;
/// Counters of one analytics bucket, or the totals (the former name of [`UsageCounts`]).
pub type UsageBucket = UsageCounts;
/// The answer of `POST .../test` (the former name of [`WebhookTest`]).
pub type TestDelivery = WebhookTest;
/// `POST /projects`.
pub type CreateProject = CreateProjectRequest;
/// `PATCH /projects/{id}`: `None` leaves a field alone; `Some(None)` clears the description.
pub type UpdateProject = UpdateProjectRequest;
/// `POST /projects/{id}/api-keys`.
pub type CreateApiKey = CreateApiKeyRequest;
/// `PATCH /projects/{id}/api-keys/{key_id}`.
pub type UpdateApiKey = UpdateApiKeyRequest;
/// `POST /projects/{id}/webhooks` (with an optional `rate_limit` and `ordering`).
pub type CreateWebhook = CreateWebhookRequest;
/// `PATCH /projects/{id}/webhooks/{wid}`: `None` leaves a field alone; `Some(None)` clears
/// the description or lifts the `rate_limit`.
pub type UpdateWebhook = UpdateWebhookRequest;
/// `POST /projects/{id}/tools`.
pub type CreateTool = CreateToolRequest;
/// `PATCH /projects/{id}/tools/{tool_id}`.
pub type UpdateTool = UpdateToolRequest;

/// `POST /projects/{id}/integrations`.
pub type CreateIntegration = CreateIntegrationRequest;
/// `PATCH /projects/{id}/integrations/{integration_id}`.
pub type UpdateIntegration = UpdateIntegrationRequest;

/// A page of a list: `{"data": [...], "pagination": {...}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    /// The items, newest first.
    pub data: Vec<T>,
    /// Where this page is.
    pub pagination: Pagination,
    /// Since when the list is complete (`X-Tengine-Retained-Since`, sent by the event and
    /// delivery lists): what finished before may have been purged. `None` on other lists.
    #[serde(skip)]
    pub retained_since: Option<chrono::DateTime<chrono::Utc>>,
}

impl<T> Page<T> {
    /// Whether more items lie beyond this page in its direction: the server's `has_more`,
    /// or for a server that does not send it, whether the pages so far are short of the total.
    pub fn has_next(&self) -> bool {
        let p = &self.pagination;
        p.has_more.unwrap_or_else(|| {
            p.page.is_some_and(|n| u64::from(n) * u64::from(p.per_page) < p.total) && !self.data.is_empty()
        })
    }
}

/// Where a cursor page starts: after or before an item of the list, by its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor<'a> {
    /// The items after this one, in list order (older ones): `starting_after`.
    After(&'a str),
    /// The items before this one (newer ones), still in list order: `ending_before`.
    Before(&'a str),
}

/// The items of a list that pages by cursor: their id is the cursor.
pub trait Listed {
    /// The item's id.
    fn id(&self) -> &str;
}

macro_rules! listed {
    ($($t:ty),+) => {$(
        impl Listed for $t {
            fn id(&self) -> &str {
                &self.id
            }
        }
    )+};
}
listed!(Project, ApiKey, Webhook, Delivery, Event);

/// Query of `GET /analytics` (the account overview).
#[derive(Debug, Clone, Default)]
pub struct OverviewQuery {
    /// RFC 3339 or `YYYY-MM-DD`; default 7 days before `end_date`.
    pub start_date: Option<String>,
    /// RFC 3339 or `YYYY-MM-DD`; default now.
    pub end_date: Option<String>,
    /// How many of the busiest projects (and failing webhooks) to list, 1..=100.
    pub limit: Option<u32>,
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
    /// Only the requests made with this integration's OAuth tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration_id: Option<String>,
}
