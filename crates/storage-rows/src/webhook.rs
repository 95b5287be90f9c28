//! Rows of `webhooks`.

use tengine_domain::delivery::{EventFilter, PreviousWebhookSecret, Webhook, WebhookSummary, WebhookUrl};
use tengine_domain::secret_key::SealedSecret;
use tengine_ports::RepoError;

use crate::{at, opt_at, Dialect};

positional_row! {
    /// A row of `webhooks`.
    pub struct WebhookRow<D: Dialect> {
        pub(crate) id: String = "id",
        pub(crate) account_id: String = "account_id",
        pub(crate) project_id: String = "project_id",
        pub(crate) url: String = "url",
        pub(crate) description: Option<String> = "description",
        pub(crate) events: String = "events",
        pub(crate) active: bool = "active",
        pub(crate) secret: String = "secret",
        pub(crate) previous_secret: Option<String> = "previous_secret",
        pub(crate) previous_secret_expires_at: Option<D::Timestamp> = "previous_secret_expires_at",
        pub(crate) failing_since: Option<D::Timestamp> = "failing_since",
        pub(crate) created_at: D::Timestamp = "created_at",
        pub(crate) updated_at: D::Timestamp = "updated_at",
        pub(crate) rate_limit: Option<i64> = "rate_limit",
        pub(crate) ordering: String = "ordering",
    }
}

/// The columns of [`WebhookSummaryRow`], in order.
pub const WEBHOOK_SUMMARY_COLUMNS: &str = "id, project_id, url, description, events, active, failing_since, \
     created_at, updated_at, rate_limit, ordering";

positional_row! {
    /// What a page of webhooks reads of a row of `webhooks`: no account, no sealed secrets.
    pub struct WebhookSummaryRow<D: Dialect> {
        id: String = "id",
        project_id: String = "project_id",
        url: String = "url",
        description: Option<String> = "description",
        events: String = "events",
        active: bool = "active",
        failing_since: Option<D::Timestamp> = "failing_since",
        created_at: D::Timestamp = "created_at",
        updated_at: D::Timestamp = "updated_at",
        rate_limit: Option<i64> = "rate_limit",
        ordering: String = "ordering",
    }
}

/// A subscription as stored: wire names, comma-separated, or `*`.
pub fn event_filter(events: &EventFilter) -> String {
    events.names().join(",")
}

impl<D: Dialect> TryFrom<WebhookRow<D>> for Webhook {
    type Error = RepoError;

    fn try_from(row: WebhookRow<D>) -> Result<Self, RepoError> {
        let previous_secret = match (row.previous_secret, row.previous_secret_expires_at) {
            (Some(s), Some(expires)) => {
                Some(PreviousWebhookSecret { secret: SealedSecret::from_stored(s), expires_at: at::<D>(expires)? })
            }
            (None, None) => None,
            _ => return Err(RepoError::other("previous webhook secret without expiry (or the reverse)")),
        };
        Ok(Webhook {
            id: row.id.parse().map_err(RepoError::other)?,
            account_id: row.account_id.parse().map_err(RepoError::other)?,
            project_id: row.project_id.parse().map_err(RepoError::other)?,
            url: WebhookUrl::from_stored(row.url),
            description: row.description,
            events: events(&row.events)?,
            active: row.active,
            secret: SealedSecret::from_stored(row.secret),
            previous_secret,
            failing_since: opt_at::<D>(row.failing_since)?,
            created_at: at::<D>(row.created_at)?,
            updated_at: at::<D>(row.updated_at)?,
            rate_limit: rate_limit(row.rate_limit)?,
            ordering: row.ordering.parse().map_err(RepoError::other)?,
        })
    }
}

impl<D: Dialect> TryFrom<WebhookSummaryRow<D>> for WebhookSummary {
    type Error = RepoError;

    fn try_from(row: WebhookSummaryRow<D>) -> Result<Self, RepoError> {
        Ok(WebhookSummary {
            id: row.id.parse().map_err(RepoError::other)?,
            project_id: row.project_id.parse().map_err(RepoError::other)?,
            url: WebhookUrl::from_stored(row.url),
            description: row.description,
            events: events(&row.events)?,
            active: row.active,
            failing_since: opt_at::<D>(row.failing_since)?,
            created_at: at::<D>(row.created_at)?,
            updated_at: at::<D>(row.updated_at)?,
            rate_limit: rate_limit(row.rate_limit)?,
            ordering: row.ordering.parse().map_err(RepoError::other)?,
        })
    }
}

/// A stored subscription read back.
fn events(stored: &str) -> Result<EventFilter, RepoError> {
    let names: Vec<&str> = stored.split(',').collect();
    EventFilter::parse_list(&names).map_err(RepoError::other)
}

fn rate_limit(stored: Option<i64>) -> Result<Option<u32>, RepoError> {
    stored.map(u32::try_from).transpose().map_err(RepoError::other)
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use tengine_domain::delivery::DeliveryOrder;
    use tengine_domain::{EventType, ProjectId, WebhookId};
    use uuid::Uuid;

    use super::*;
    use crate::Native;

    fn row(events: &str, rate_limit: Option<i64>, ordering: &str) -> WebhookSummaryRow<Native> {
        WebhookSummaryRow {
            id: WebhookId::from_uuid(Uuid::from_u128(1)).to_string(),
            project_id: ProjectId::from_uuid(Uuid::from_u128(2)).to_string(),
            url: "https://example.com/hook".to_owned(),
            description: None,
            events: events.to_owned(),
            active: true,
            failing_since: None,
            created_at: DateTime::from_timestamp_micros(1).expect("a time"),
            updated_at: DateTime::from_timestamp_micros(2).expect("a time"),
            rate_limit,
            ordering: ordering.to_owned(),
        }
    }

    #[test]
    fn a_summary_row_reads_its_subscription_limit_and_order_and_refuses_bad_ones() {
        let read = WebhookSummary::try_from(row("project.created,project.updated", Some(50), "per_project"))
            .expect("a webhook");
        assert_eq!(read.events, EventFilter::Only(vec![EventType::ProjectCreated, EventType::ProjectUpdated]));
        assert_eq!((read.rate_limit, read.ordering), (Some(50), DeliveryOrder::PerProject));
        assert_eq!(WebhookSummary::try_from(row("*", None, "none")).expect("all").events, EventFilter::All);
        for bad in [row("no.such_event", None, "none"), row("*", Some(-1), "none"), row("*", None, "sideways")] {
            assert!(matches!(WebhookSummary::try_from(bad), Err(RepoError::Other(_))));
        }
    }
}
