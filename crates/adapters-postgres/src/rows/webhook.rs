//! Rows of webhooks, deliveries, their attempts and events.

use chrono::{DateTime, Utc};
use tengine_domain::delivery::{Attempt, Delivery, EventFilter, PreviousWebhookSecret, Webhook};
use tengine_domain::secret_key::SealedSecret;
use tengine_domain::{Event, EventType};
use tengine_ports::RepoError;

/// A row of `webhooks`.
#[derive(sqlx::FromRow)]
pub(crate) struct WebhookRow {
    id: String,
    account_id: String,
    project_id: String,
    url: String,
    description: Option<String>,
    events: String,
    active: bool,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_expires_at: Option<DateTime<Utc>>,
    failing_since: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A subscription as stored: wire names, comma-separated, or `*`.
pub(crate) fn event_filter(events: &EventFilter) -> String {
    events.names().join(",")
}

impl TryFrom<WebhookRow> for Webhook {
    type Error = RepoError;

    fn try_from(row: WebhookRow) -> Result<Self, RepoError> {
        let names: Vec<&str> = row.events.split(',').collect();
        let previous_secret = match (row.previous_secret, row.previous_secret_expires_at) {
            (Some(s), Some(expires_at)) => {
                Some(PreviousWebhookSecret { secret: SealedSecret::from_stored(s), expires_at })
            }
            (None, None) => None,
            _ => return Err(RepoError::other("previous webhook secret without expiry (or the reverse)")),
        };
        Ok(Webhook {
            id: row.id.parse().map_err(RepoError::other)?,
            account_id: row.account_id.parse().map_err(RepoError::other)?,
            project_id: row.project_id.parse().map_err(RepoError::other)?,
            url: row.url.parse().map_err(RepoError::other)?,
            description: row.description,
            events: EventFilter::parse_list(&names).map_err(RepoError::other)?,
            active: row.active,
            secret: SealedSecret::from_stored(row.secret),
            previous_secret,
            failing_since: row.failing_since,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A row of `events`.
#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    id: String,
    account_id: String,
    project_id: Option<String>,
    #[sqlx(rename = "type")]
    event_type: String,
    data: String,
    created_at: DateTime<Utc>,
}

/// An event type as stored.
fn event_type(name: &str) -> Result<EventType, RepoError> {
    name.parse().map_err(|()| RepoError::other(format!("unknown event type {name:?}")))
}

impl TryFrom<EventRow> for Event {
    type Error = RepoError;

    fn try_from(row: EventRow) -> Result<Self, RepoError> {
        Ok(Event {
            id: row.id.parse().map_err(RepoError::other)?,
            account_id: row.account_id.parse().map_err(RepoError::other)?,
            project_id: row.project_id.map(|p| p.parse()).transpose().map_err(RepoError::other)?,
            event_type: event_type(&row.event_type)?,
            data: serde_json::from_str(&row.data).map_err(RepoError::other)?,
            created_at: row.created_at,
        })
    }
}

/// A row of `deliveries` (its attempts are read separately).
#[derive(sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    pub(crate) id: String,
    event_id: String,
    webhook_id: String,
    event_type: String,
    status: String,
    next_attempt_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl DeliveryRow {
    /// The delivery, with `attempts` (oldest first).
    pub(crate) fn into_delivery(self, attempts: Vec<Attempt>) -> Result<Delivery, RepoError> {
        Ok(Delivery {
            id: self.id.parse().map_err(RepoError::other)?,
            event_id: self.event_id.parse().map_err(RepoError::other)?,
            event_type: event_type(&self.event_type)?,
            webhook_id: self.webhook_id.parse().map_err(RepoError::other)?,
            status: self
                .status
                .parse()
                .map_err(|()| RepoError::other(format!("unknown delivery status {:?}", self.status)))?,
            attempts,
            next_attempt_at: self.next_attempt_at,
            created_at: self.created_at,
        })
    }
}

/// A row of `delivery_attempts`.
#[derive(sqlx::FromRow)]
pub(crate) struct AttemptRow {
    pub(crate) delivery_id: String,
    attempted_at: DateTime<Utc>,
    status_code: Option<i32>,
    latency_ms: i64,
    error: Option<String>,
    response_excerpt: Option<String>,
}

impl TryFrom<AttemptRow> for Attempt {
    type Error = RepoError;

    fn try_from(row: AttemptRow) -> Result<Self, RepoError> {
        Ok(Attempt {
            attempted_at: row.attempted_at,
            status_code: row.status_code.map(u16::try_from).transpose().map_err(RepoError::other)?,
            latency_ms: u64::try_from(row.latency_ms).map_err(RepoError::other)?,
            error: row.error,
            response_excerpt: row.response_excerpt,
        })
    }
}

/// A delivery just claimed.
#[derive(sqlx::FromRow)]
pub(crate) struct ClaimRow {
    pub(crate) id: String,
    pub(crate) event_id: String,
    pub(crate) webhook_id: String,
    pub(crate) attempt_count: i32,
    pub(crate) created_at: DateTime<Utc>,
}
