//! Rows of deliveries and their attempts.

use std::collections::HashMap;

use tengine_domain::delivery::{Attempt, Delivery};
use tengine_ports::RepoError;

use crate::event::event_type;
use crate::{at, narrow, opt_at, Dialect};

/// A row of `deliveries` (its attempts are read separately).
#[derive(sqlx::FromRow)]
pub struct DeliveryRow<D: Dialect> {
    /// The delivery's id, to read its attempts by.
    pub id: String,
    event_id: String,
    webhook_id: String,
    event_type: String,
    status: String,
    next_attempt_at: Option<D::Timestamp>,
    created_at: D::Timestamp,
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
#[derive(sqlx::FromRow)]
pub struct DeliveryPageRow<D: Dialect> {
    #[sqlx(flatten)]
    row: DeliveryRow<D>,
    attempts: Option<String>,
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
