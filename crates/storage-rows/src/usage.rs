//! Hourly usage rows.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Row, Type};
use tengine_domain::usage::{UsageCounts, HISTOGRAM_LEN};
use tengine_ports::RepoError;

use crate::{at, Dialect};

/// The names of the histogram columns `h0..h15`, in bucket order.
pub fn histogram_columns() -> &'static [String; HISTOGRAM_LEN] {
    static NAMES: LazyLock<[String; HISTOGRAM_LEN]> = LazyLock::new(|| std::array::from_fn(|i| format!("h{i}")));
    &NAMES
}

/// One hour of summed `usage_hourly` rows.
pub struct UsageRow<D: Dialect> {
    hour: D::Timestamp,
    requests: i64,
    errors: i64,
    rate_limited: i64,
    latency_sum_us: i64,
    histogram: [i64; HISTOGRAM_LEN],
}

// By hand: the derive cannot read the histogram's columns into an array.
impl<'r, R: Row, D: Dialect> sqlx::FromRow<'r, R> for UsageRow<D>
where
    &'r str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    D::Timestamp: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let mut histogram = [0; HISTOGRAM_LEN];
        for (slot, name) in histogram.iter_mut().zip(histogram_columns()) {
            *slot = row.try_get(name.as_str())?;
        }
        Ok(UsageRow {
            hour: row.try_get("hour")?,
            requests: row.try_get("requests")?,
            errors: row.try_get("errors")?,
            rate_limited: row.try_get("rate_limited")?,
            latency_sum_us: row.try_get("latency_sum_us")?,
            histogram,
        })
    }
}

impl<D: Dialect> UsageRow<D> {
    /// The hour and its counters.
    ///
    /// # Errors
    /// `RepoError::Other` on a negative counter or a bad hour.
    pub fn into_counts(self) -> Result<(DateTime<Utc>, UsageCounts), RepoError> {
        let count = |n: i64| u64::try_from(n).map_err(RepoError::other);
        let mut histogram = [0; HISTOGRAM_LEN];
        for (slot, n) in histogram.iter_mut().zip(self.histogram) {
            *slot = count(n)?;
        }
        let counts = UsageCounts {
            requests: count(self.requests)?,
            errors: count(self.errors)?,
            rate_limited: count(self.rate_limited)?,
            latency_sum_us: count(self.latency_sum_us)?,
            histogram,
        };
        Ok((at::<D>(self.hour)?, counts))
    }
}
