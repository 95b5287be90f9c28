//! Rows of deliveries, with their attempts.

use chrono::{DateTime, DurationRound, Utc};
use tengine_domain::delivery::{Attempt, Delivery};
use tengine_domain::WebhookId;
use tengine_ports::RepoError;

use crate::event::event_type;
use crate::{at, narrow, opt_at, Dialect};

positional_row! {
    /// A row of `deliveries`, with its attempts as the row carries them: a JSON array
    /// of `[attempted_at in µs since the epoch, status_code, latency_ms, error,
    /// response_excerpt]`, oldest first (`NULL` before the first), which the completion
    /// appends to, so a page of deliveries reads one table. Not its webhook: every read
    /// of deliveries names the webhook, so the row does not send it again.
    pub struct DeliveryRow<D: Dialect> {
        id: String = "id",
        event_id: String = "event_id",
        event_type: String = "event_type",
        status: String = "status",
        next_attempt_at: Option<D::Timestamp> = "next_attempt_at",
        created_at: D::Timestamp = "created_at",
        attempts: Option<String> = "attempts",
    }
}

/// An attempt as [`DeliveryRow`] carries it.
type AttemptTuple = (i64, Option<i64>, i64, Option<String>, Option<String>);

impl<D: Dialect> DeliveryRow<D> {
    /// The delivery of `webhook` (the one it was read for) with its attempts.
    ///
    /// # Errors
    /// `RepoError::Other` on a row or an attempt that does not convert.
    pub fn into_delivery(self, webhook: WebhookId) -> Result<Delivery, RepoError> {
        let tuples: Vec<AttemptTuple> = match &self.attempts {
            Some(json) => serde_json::from_str(json).map_err(RepoError::other)?,
            None => Vec::new(),
        };
        let attempts = tuples
            .into_iter()
            .map(|(at_us, status_code, latency_ms, error, response_excerpt)| {
                Ok(Attempt {
                    attempted_at: chrono::DateTime::from_timestamp_micros(at_us)
                        .ok_or_else(|| RepoError::other(format!("attempt time out of range: {at_us}")))?,
                    status_code: status_code.map(narrow::<u16>).transpose()?,
                    latency_ms: narrow(latency_ms)?,
                    error,
                    response_excerpt,
                })
            })
            .collect::<Result<Vec<_>, RepoError>>()?;
        Ok(Delivery {
            id: self.id.parse().map_err(RepoError::other)?,
            event_id: self.event_id.parse().map_err(RepoError::other)?,
            event_type: event_type(&self.event_type)?,
            webhook_id: webhook,
            status: self
                .status
                .parse()
                .map_err(|()| RepoError::other(format!("unknown delivery status {:?}", self.status)))?,
            attempts,
            next_attempt_at: opt_at::<D>(self.next_attempt_at)?,
            created_at: at::<D>(self.created_at)?,
        })
    }
}

/// The projects whose webhooks can receive one of `events` (sorted, once each), or
/// `None` when one of them is account-wide, so every webhook of its account can. A
/// fan-out reads only these candidates: its cost follows the webhooks of the events'
/// projects, not of the whole account ([`Webhook::receives`] still decides).
///
/// [`Webhook::receives`]: tengine_domain::delivery::Webhook::receives
pub fn fan_out_projects(events: &[tengine_domain::Event]) -> Option<Vec<String>> {
    if events.iter().any(|e| e.event_type.is_account_wide()) {
        return None;
    }
    let projects: std::collections::BTreeSet<String> =
        events.iter().filter_map(|e| e.project_id).map(|p| p.to_string()).collect();
    Some(projects.into_iter().collect())
}

/// The `webhook.disabled` events to record for a batch: the first announcement of each
/// webhook that `switched_off` says this batch turned off (one already off is not
/// announced again).
pub fn announcements(
    results: &[tengine_ports::AttemptResult],
    switched_off: impl Fn(&str) -> bool,
) -> Vec<tengine_domain::Event> {
    let mut seen = std::collections::BTreeSet::new();
    results
        .iter()
        .filter_map(|r| r.announcement.clone().map(|e| (r.webhook_id.to_string(), e)))
        .filter(|(id, _)| switched_off(id) && seen.insert(id.clone()))
        .map(|(_, e)| e)
        .collect()
}

/// One webhook-hour of attempts, as both adapters add it to `webhook_hourly`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourlyStats {
    /// The webhook.
    pub webhook_id: String,
    /// The hour the attempts were made in (UTC, truncated).
    pub hour: DateTime<Utc>,
    /// Attempts made.
    pub attempts: i64,
    /// Attempts answered 2xx.
    pub succeeded: i64,
    /// Their latencies added up, in milliseconds.
    pub latency_ms_sum: i64,
}

/// The attempts of a batch of results summed per webhook and hour, in (webhook, hour)
/// order: the order rows are locked in, so concurrent batches never deadlock.
pub fn hourly_stats(results: &[tengine_ports::AttemptResult]) -> Vec<HourlyStats> {
    let mut sums: std::collections::BTreeMap<(String, DateTime<Utc>), (i64, i64, i64)> = Default::default();
    for r in results {
        let at = r.attempt.attempted_at;
        // Truncating a real time to the hour cannot overflow.
        let hour = at.duration_trunc(chrono::Duration::hours(1)).unwrap_or(at);
        let sum = sums.entry((r.webhook_id.to_string(), hour)).or_default();
        sum.0 += 1;
        sum.1 += i64::from(r.attempt.status_code.is_some_and(|c| (200..300).contains(&c)));
        sum.2 = sum.2.saturating_add(i64::try_from(r.attempt.latency_ms).unwrap_or(i64::MAX));
    }
    sums.into_iter()
        .map(|((webhook_id, hour), (attempts, succeeded, latency_ms_sum))| HourlyStats {
            webhook_id,
            hour,
            attempts,
            succeeded,
            latency_ms_sum,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use tengine_domain::delivery::DeliveryStatus;
    use tengine_domain::{DeliveryId, WebhookId};
    use tengine_ports::{AttemptResult, WebhookEffect};
    use uuid::Uuid;

    use super::*;

    fn result(webhook: u128, at: &str, code: Option<u16>, latency_ms: u64) -> AttemptResult {
        let at = DateTime::parse_from_rfc3339(at).expect("a time").to_utc();
        AttemptResult {
            delivery_id: DeliveryId::from_uuid(Uuid::from_u128(1)),
            webhook_id: WebhookId::from_uuid(Uuid::from_u128(webhook)),
            attempt: Attempt { attempted_at: at, status_code: code, latency_ms, error: None, response_excerpt: None },
            status: DeliveryStatus::Succeeded,
            next_attempt_at: None,
            webhook_effect: WebhookEffect::Healthy,
            announcement: None,
        }
    }

    fn event(project: Option<u128>, event_type: tengine_domain::EventType) -> tengine_domain::Event {
        tengine_domain::Event {
            id: tengine_domain::EventId::from_uuid(Uuid::now_v7()),
            account_id: tengine_domain::AccountId::from_uuid(Uuid::from_u128(9)),
            project_id: project.map(|p| tengine_domain::ProjectId::from_uuid(Uuid::from_u128(p))),
            event_type,
            data: tengine_domain::event::EventData::from_json("{}".to_owned()).expect("json"),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn a_fan_out_reads_the_webhooks_of_its_events_projects_unless_one_is_account_wide() {
        use tengine_domain::EventType::{ApiKeyCreated, ProjectCreated, ProjectUpdated, UsageLimitExceeded};

        let id = |p: u128| tengine_domain::ProjectId::from_uuid(Uuid::from_u128(p)).to_string();
        let events = [event(Some(2), ProjectUpdated), event(Some(1), ApiKeyCreated), event(Some(2), ApiKeyCreated)];
        assert_eq!(fan_out_projects(&events), Some(vec![id(1), id(2)]), "each project once, sorted");
        // A project's event with no project reaches no webhook: it adds no candidate.
        assert_eq!(fan_out_projects(&[event(None, ProjectUpdated)]), Some(vec![]));
        for wide in [ProjectCreated, UsageLimitExceeded] {
            assert_eq!(fan_out_projects(&[event(Some(1), ProjectUpdated), event(Some(1), wide)]), None);
        }
    }

    #[test]
    fn attempts_are_summed_per_webhook_and_utc_hour_in_lock_order() {
        let stats = hourly_stats(&[
            result(2, "2026-12-06T10:59:59.9+00:00", Some(200), 10),
            result(1, "2026-12-06T11:00:00+01:00", Some(500), 30),
            result(2, "2026-12-06T10:00:00Z", Some(299), 5),
            result(2, "2026-12-06T11:00:00Z", None, 15_000),
        ]);
        let rows: Vec<_> =
            stats.iter().map(|s| (s.hour.to_rfc3339(), s.attempts, s.succeeded, s.latency_ms_sum)).collect();
        assert_eq!(
            rows,
            vec![
                ("2026-12-06T10:00:00+00:00".to_owned(), 1, 0, 30),
                ("2026-12-06T10:00:00+00:00".to_owned(), 2, 2, 15),
                ("2026-12-06T11:00:00+00:00".to_owned(), 1, 0, 15_000),
            ]
        );
        assert!(stats[0].webhook_id < stats[1].webhook_id);
    }

    fn row(attempts: Option<&str>) -> DeliveryRow<crate::Native> {
        DeliveryRow {
            id: DeliveryId::from_uuid(Uuid::from_u128(1)).to_string(),
            event_id: tengine_domain::EventId::from_uuid(Uuid::from_u128(2)).to_string(),
            event_type: "project.updated".to_owned(),
            status: "failed".to_owned(),
            next_attempt_at: None,
            created_at: DateTime::from_timestamp_micros(0).expect("a time"),
            attempts: attempts.map(str::to_owned),
        }
    }

    #[test]
    fn a_rows_attempts_are_read_from_its_json_and_a_malformed_array_is_an_error() {
        let webhook = WebhookId::from_uuid(Uuid::from_u128(3));
        let none = row(None).into_delivery(webhook).expect("none yet");
        assert_eq!((none.webhook_id, none.attempts), (webhook, Vec::new()));
        let two = row(Some("[[1, 503, 7, null, \"busy\"], [2000001, null, 30000, \"timed out\", null]]"));
        let attempts = two.into_delivery(webhook).expect("two").attempts;
        assert_eq!(
            attempts,
            vec![
                Attempt {
                    attempted_at: DateTime::from_timestamp_micros(1).expect("a time"),
                    status_code: Some(503),
                    latency_ms: 7,
                    error: None,
                    response_excerpt: Some("busy".to_owned()),
                },
                Attempt {
                    attempted_at: DateTime::from_timestamp_micros(2_000_001).expect("a time"),
                    status_code: None,
                    latency_ms: 30_000,
                    error: Some("timed out".to_owned()),
                    response_excerpt: None,
                },
            ]
        );
        for bad in [
            "{}",
            "[[1, 200]]",
            "[[1, 70000, 7, null, null]]",
            "[[1, 200, -1, null, null]]",
            "[[9223372036854775807, 200, 7, null, null]]",
            "[[",
        ] {
            assert!(matches!(row(Some(bad)).into_delivery(webhook), Err(RepoError::Other(_))), "{bad} was read");
        }
    }
}
