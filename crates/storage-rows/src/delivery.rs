//! Rows of deliveries and their attempts.

use std::collections::HashMap;

use chrono::{DateTime, DurationRound, Utc};
use tengine_domain::delivery::{Attempt, Delivery};
use tengine_ports::RepoError;

use crate::event::event_type;
use crate::{at, narrow, opt_at, Dialect};

positional_row! {
    /// A row of `deliveries` (its attempts are read separately).
    pub struct DeliveryRow<D: Dialect> {
        /// The delivery's id, to read its attempts by.
        pub id: String = "id",
        event_id: String = "event_id",
        webhook_id: String = "webhook_id",
        event_type: String = "event_type",
        status: String = "status",
        next_attempt_at: Option<D::Timestamp> = "next_attempt_at",
        created_at: D::Timestamp = "created_at",
    }
}

impl<D: Dialect> DeliveryRow<D> {
    /// The delivery, with `attempts` (oldest first).
    ///
    /// # Errors
    /// `RepoError::Other` on a row that does not convert.
    pub fn into_delivery(self, attempts: Vec<Attempt>) -> Result<Delivery, RepoError> {
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
            next_attempt_at: opt_at::<D>(self.next_attempt_at)?,
            created_at: at::<D>(self.created_at)?,
        })
    }
}

/// A delivery row of a list page with its attempts, read in the page's statement as a
/// JSON array of `[attempted_at in µs since the epoch, status_code, latency_ms, error,
/// response_excerpt]`, oldest first (`NULL` for none): one statement per page instead of
/// the page and then its attempts.
pub struct DeliveryPageRow<D: Dialect> {
    row: DeliveryRow<D>,
    attempts: Option<String>,
}

impl<'r, D: Dialect, R: sqlx::Row> sqlx::FromRow<'r, R> for DeliveryPageRow<D>
where
    usize: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<D::Timestamp>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    D::Timestamp: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let mut next = 0;
        let delivery = DeliveryRow::read_at(row, &mut next)?;
        Ok(Self { row: delivery, attempts: crate::column(row, &mut next, "attempts")? })
    }
}

/// An attempt as [`DeliveryPageRow`] carries it.
type AttemptTuple = (i64, Option<i64>, i64, Option<String>, Option<String>);

impl<D: Dialect> DeliveryPageRow<D> {
    /// The delivery with its attempts.
    ///
    /// # Errors
    /// `RepoError::Other` on a row or an attempt that does not convert.
    pub fn into_delivery(self) -> Result<Delivery, RepoError> {
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
        self.row.into_delivery(attempts)
    }
}

/// A row of `delivery_attempts`.
#[derive(sqlx::FromRow)]
pub struct AttemptRow<D: Dialect> {
    delivery_id: String,
    attempted_at: D::Timestamp,
    status_code: Option<D::Int>,
    latency_ms: i64,
    error: Option<String>,
    response_excerpt: Option<String>,
}

impl<D: Dialect> TryFrom<AttemptRow<D>> for Attempt {
    type Error = RepoError;

    fn try_from(row: AttemptRow<D>) -> Result<Self, RepoError> {
        Ok(Attempt {
            attempted_at: at::<D>(row.attempted_at)?,
            status_code: row.status_code.map(narrow::<u16>).transpose()?,
            latency_ms: narrow(row.latency_ms)?,
            error: row.error,
            response_excerpt: row.response_excerpt,
        })
    }
}

/// Attempt rows, read in order of delivery then number, grouped by delivery id.
///
/// # Errors
/// `RepoError::Other` on a row that does not convert.
pub fn attempts_by_delivery<D: Dialect>(rows: Vec<AttemptRow<D>>) -> Result<HashMap<String, Vec<Attempt>>, RepoError> {
    let mut by_delivery: HashMap<String, Vec<Attempt>> = HashMap::new();
    for row in rows {
        let id = row.delivery_id.clone();
        by_delivery.entry(id).or_default().push(Attempt::try_from(row)?);
    }
    Ok(by_delivery)
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
}
