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
