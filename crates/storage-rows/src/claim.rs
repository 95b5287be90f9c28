//! Claimed deliveries, paired with their events and webhooks.

use std::collections::HashMap;

use tengine_domain::delivery::Webhook;
use tengine_domain::Event;
use tengine_ports::{DeliveryJob, RepoError};

use crate::{at, narrow, Dialect, EventRow, WebhookRow};

positional_row! {
    /// A delivery just claimed.
    pub struct ClaimRow<D: Dialect> {
        /// The delivery's id.
        pub id: String = "id",
        /// Its event's id, to read the event by.
        pub event_id: String = "event_id",
        /// Its webhook's id, to read the webhook by.
        pub webhook_id: String = "webhook_id",
        attempt_count: D::Int = "attempt_count",
        created_at: D::Timestamp = "created_at",
    }
}

/// A claim turned into work.
#[derive(Debug, Default)]
pub struct Claim {
    /// The deliveries to send, in id order.
    pub jobs: Vec<DeliveryJob>,
    /// The ids of claimed deliveries whose event or webhook no longer exists, in id
    /// order. They can never be sent: the adapter fails them, so they are not claimed
    /// again and again ahead of the deliveries that can.
    pub orphans: Vec<String>,
}

/// Pairs each claimed delivery with its event and webhook (read after the claim, or with it).
/// A delivery whose event or webhook is missing becomes an orphan (logged) instead
/// of failing the whole claim.
///
/// # Errors
/// `RepoError::Other` on a row that does not convert.
pub fn assemble_claim<D: Dialect>(
    mut claimed: Vec<ClaimRow<D>>,
    events: Vec<EventRow<D>>,
    webhooks: Vec<WebhookRow<D>>,
) -> Result<Claim, RepoError> {
    claimed.sort_by(|a, b| a.id.cmp(&b.id));
    let events: HashMap<String, Event> =
        events.into_iter().map(|r| Event::try_from(r).map(|e| (e.id.to_string(), e))).collect::<Result<_, _>>()?;
    let webhooks: HashMap<String, Webhook> =
        webhooks.into_iter().map(|r| Webhook::try_from(r).map(|w| (w.id.to_string(), w))).collect::<Result<_, _>>()?;
    let mut claim = Claim { jobs: Vec::with_capacity(claimed.len()), orphans: Vec::new() };
    for c in claimed {
        match (events.get(&c.event_id), webhooks.get(&c.webhook_id)) {
            (Some(event), Some(webhook)) => claim.jobs.push(DeliveryJob {
                delivery_id: c.id.parse().map_err(RepoError::other)?,
                event: event.clone(),
                webhook: webhook.clone(),
                attempts_so_far: narrow(c.attempt_count)?,
                created_at: at::<D>(c.created_at)?,
            }),
            (_, None) => {
                // Deliveries go with their webhook (a cascade: a foreign key on SQLite, a
                // trigger on PostgreSQL): deleted after the claim, so the delivery is most
                // likely gone as well.
                tracing::info!(delivery = %c.id, webhook = %c.webhook_id, "claimed delivery's webhook was deleted; dropping it");
                claim.orphans.push(c.id);
            }
            (None, Some(_)) => {
                tracing::warn!(delivery = %c.id, event = %c.event_id, "claimed delivery's event no longer exists; failing it");
                claim.orphans.push(c.id);
            }
        }
    }
    Ok(claim)
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use tengine_domain::{AccountId, DeliveryId, EventId, ProjectId, WebhookId};
    use uuid::Uuid;

    use super::*;
    use crate::Native;

    fn event(id: &str, account: &str) -> EventRow<Native> {
        EventRow {
            id: id.to_owned(),
            account_id: account.to_owned(),
            project_id: None,
            event_type: "webhook.test".to_owned(),
            data: "{}".to_owned(),
            created_at: DateTime::UNIX_EPOCH,
        }
    }

    fn webhook(id: &str, account: &str, project: &str) -> WebhookRow<Native> {
        WebhookRow {
            id: id.to_owned(),
            account_id: account.to_owned(),
            project_id: project.to_owned(),
            url: "https://example.com/hook".to_owned(),
            description: None,
            events: "*".to_owned(),
            active: true,
            secret: "sealed".to_owned(),
            previous_secret: None,
            previous_secret_expires_at: None,
            failing_since: None,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
            rate_limit: None,
            ordering: "none".to_owned(),
        }
    }

    fn claimed(event: &str, webhook: &str) -> ClaimRow<Native> {
        ClaimRow {
            id: DeliveryId::from_uuid(Uuid::now_v7()).to_string(),
            event_id: event.to_owned(),
            webhook_id: webhook.to_owned(),
            attempt_count: 2,
            created_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn deliveries_whose_event_or_webhook_vanished_become_orphans_and_the_rest_are_jobs() {
        let account = AccountId::from_uuid(Uuid::now_v7()).to_string();
        let project = ProjectId::from_uuid(Uuid::now_v7()).to_string();
        let [e1, e2] = [(); 2].map(|()| EventId::from_uuid(Uuid::now_v7()).to_string());
        let [w1, w2] = [(); 2].map(|()| WebhookId::from_uuid(Uuid::now_v7()).to_string());
        let rows = vec![claimed(&e1, &w2), claimed(&e2, &w1), claimed(&e1, &w1)];
        let (no_webhook, no_event, whole) = (rows[0].id.clone(), rows[1].id.clone(), rows[2].id.clone());

        let claim = assemble_claim(rows, vec![event(&e1, &account)], vec![webhook(&w1, &account, &project)])
            .expect("a claim with orphans is no error");

        let jobs: Vec<String> = claim.jobs.iter().map(|j| j.delivery_id.to_string()).collect();
        assert_eq!(jobs, [whole]);
        assert_eq!((claim.jobs[0].event.id.to_string(), claim.jobs[0].attempts_so_far), (e1, 2));
        assert_eq!(claim.orphans, [no_webhook, no_event], "in id order");
    }
}
