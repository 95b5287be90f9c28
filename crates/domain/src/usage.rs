//! Usage analytics: time buckets, query ranges, and the fixed latency histogram that
//! hourly rollups keep.

use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};

use crate::error::{FieldError, ValidationError, Validator};

/// Upper bounds (ms, inclusive) of the latency histogram's buckets; a last bucket
/// holds everything slower. Fixed forever: rollups store counts per position.
pub const LATENCY_BOUNDS_MS: [u32; 15] = [1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 1_000, 2_000, 5_000, 10_000, 30_000];

/// Number of histogram buckets (the bounds plus one overflow bucket).
pub const HISTOGRAM_LEN: usize = LATENCY_BOUNDS_MS.len() + 1;

/// The most buckets one analytics query may ask for.
pub const MAX_BUCKETS: u64 = 10_000;

/// The histogram position of a latency.
pub fn histogram_index(latency_ms: u32) -> usize {
    LATENCY_BOUNDS_MS.iter().position(|b| latency_ms <= *b).unwrap_or(LATENCY_BOUNDS_MS.len())
}

/// Who made a counted request: a key, or the tokens of an integration (OAuth client).
/// Stored as the id's text, so one rollup column holds both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UsageSubject {
    /// An API key (or a session acting as it).
    Key(crate::ApiKeyId),
    /// An integration's access tokens.
    Integration(crate::IntegrationId),
}

impl std::fmt::Display for UsageSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Key(k) => k.fmt(f),
            Self::Integration(i) => i.fmt(f),
        }
    }
}

impl From<crate::ApiKeyId> for UsageSubject {
    fn from(k: crate::ApiKeyId) -> Self {
        Self::Key(k)
    }
}

/// One live project's request counts over a range: a row of the account overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectTotals {
    /// The project.
    pub project_id: crate::ProjectId,
    /// Its name now.
    pub name: String,
    /// Requests made with its keys.
    pub requests: u64,
    /// Of which answered with an error status.
    pub errors: u64,
    /// Of which refused by the rate limit.
    pub rate_limited: u64,
}

/// Counters for one bucket (or a total): what a rollup row holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageCounts {
    /// Requests counted.
    pub requests: u64,
    /// Responses with status >= 400 other than 429.
    pub errors: u64,
    /// 429 responses.
    pub rate_limited: u64,
    /// Sum of latencies in microseconds.
    pub latency_sum_us: u64,
    /// Requests per latency bucket ([`LATENCY_BOUNDS_MS`]).
    pub histogram: [u64; HISTOGRAM_LEN],
}

impl Default for UsageCounts {
    fn default() -> Self {
        Self { requests: 0, errors: 0, rate_limited: 0, latency_sum_us: 0, histogram: [0; HISTOGRAM_LEN] }
    }
}

impl UsageCounts {
    /// Counts one request.
    pub fn record(&mut self, status: u16, latency_us: u64) {
        self.requests += 1;
        if status == 429 {
            self.rate_limited += 1;
        } else if status >= 400 {
            self.errors += 1;
        }
        self.latency_sum_us += latency_us;
        let ms = u32::try_from(latency_us.div_ceil(1_000)).unwrap_or(u32::MAX);
        self.histogram[histogram_index(ms)] += 1;
    }

    /// Counts one tool call: an error unless it succeeded; never rate-limited (a
    /// refused request never reaches a tool).
    pub fn record_call(&mut self, is_error: bool, latency_us: u64) {
        self.record(if is_error { 500 } else { 200 }, latency_us);
    }

    /// Adds another set of counters into this one.
    pub fn merge(&mut self, other: &UsageCounts) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.rate_limited += other.rate_limited;
        self.latency_sum_us += other.latency_sum_us;
        for (a, b) in self.histogram.iter_mut().zip(other.histogram.iter()) {
            *a += b;
        }
    }

    /// Mean latency in milliseconds (0 without requests).
    pub fn avg_latency_ms(&self) -> f64 {
        if self.requests == 0 {
            return 0.0;
        }
        (self.latency_sum_us as f64 / self.requests as f64 / 1_000.0 * 100.0).round() / 100.0
    }

    /// The 95th percentile latency in ms: the upper bound of the histogram bucket that
    /// holds it (an estimate never below the truth). The overflow bucket reports twice
    /// the last bound. 0 without requests.
    pub fn p95_latency_ms(&self) -> f64 {
        let total: u64 = self.histogram.iter().sum();
        if total == 0 {
            return 0.0;
        }
        let rank = (total * 95).div_ceil(100);
        let mut seen = 0;
        for (i, n) in self.histogram.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return f64::from(
                    LATENCY_BOUNDS_MS.get(i).copied().unwrap_or(LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.len() - 1] * 2),
                );
            }
        }
        0.0
    }
}

/// The size of an analytics bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// One hour.
    Hour,
    /// One UTC day.
    Day,
    /// One ISO week, starting Monday 00:00 UTC.
    Week,
    /// One calendar month in UTC.
    Month,
}

impl Granularity {
    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Granularity::Hour => "hour",
            Granularity::Day => "day",
            Granularity::Week => "week",
            Granularity::Month => "month",
        }
    }

    /// The start of the bucket that contains `t`.
    pub fn floor(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let day = t.date_naive();
        let midnight = |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default());
        match self {
            Granularity::Hour => midnight(day) + Duration::hours(i64::from(t.hour())),
            Granularity::Day => midnight(day),
            Granularity::Week => midnight(
                // The first week of the calendar starts at its first day.
                day.checked_sub_signed(Duration::days(i64::from(day.weekday().num_days_from_monday())))
                    .unwrap_or(NaiveDate::MIN),
            ),
            Granularity::Month => midnight(day.with_day(1).unwrap_or(day)),
        }
    }

    /// The start of the bucket after the one starting at `start`; the end of time
    /// (`DateTime::<Utc>::MAX_UTC`) when that is past the calendar's last day.
    pub fn next(&self, start: DateTime<Utc>) -> DateTime<Utc> {
        let next = match self {
            Granularity::Hour => start.checked_add_signed(Duration::hours(1)),
            Granularity::Day => start.checked_add_signed(Duration::days(1)),
            Granularity::Week => start.checked_add_signed(Duration::weeks(1)),
            Granularity::Month => {
                let d = start.date_naive();
                let (y, m) = if d.month() == 12 { (d.year() + 1, 1) } else { (d.year(), d.month() + 1) };
                NaiveDate::from_ymd_opt(y, m, 1)
                    .and_then(|first| first.and_hms_opt(0, 0, 0))
                    .map(|t| Utc.from_utc_datetime(&t))
            }
        };
        next.unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// A cheap lower bound of the buckets overlapping `[start, end)`, to refuse huge
    /// ranges without walking them.
    fn at_least(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> u64 {
        let hours = u64::try_from((end - start).num_hours()).unwrap_or(0);
        match self {
            Granularity::Hour => hours,
            Granularity::Day => hours / 24,
            Granularity::Week => hours / (24 * 7),
            Granularity::Month => hours / (24 * 31),
        }
    }
}

impl FromStr for Granularity {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hour" => Ok(Granularity::Hour),
            "day" => Ok(Granularity::Day),
            "week" => Ok(Granularity::Week),
            "month" => Ok(Granularity::Month),
            _ => Err(FieldError::new("granularity", "must be one of hour, day, week, month")
                .with_value(s.chars().take(32).collect::<String>())
                .into()),
        }
    }
}

/// A validated analytics query range `[start, end)` and its granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnalyticsRange {
    /// Inclusive start.
    pub start: DateTime<Utc>,
    /// Exclusive end.
    pub end: DateTime<Utc>,
    /// Bucket size.
    pub granularity: Granularity,
}

/// Parses a date parameter: RFC 3339, or `YYYY-MM-DD` (start of that day, or with
/// `end_of_day` the start of the next).
fn parse_date(field: &str, raw: &str, end_of_day: bool) -> Result<DateTime<Utc>, ValidationError> {
    if let Some(t) = crate::time::parse(raw) {
        return Ok(t);
    }
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        let d = if end_of_day { d.succ_opt().unwrap_or(d) } else { d };
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(Utc.from_utc_datetime(&t));
        }
    }
    Err(FieldError::new(field, "must be an RFC 3339 timestamp or a YYYY-MM-DD date")
        .with_value(raw.chars().take(64).collect::<String>())
        .into())
}

impl AnalyticsRange {
    /// Default span when `start_date` is omitted.
    pub const DEFAULT_SPAN_DAYS: i64 = 7;

    /// Parses the query parameters; omitted dates default to the last 7 days before
    /// `now`, an omitted granularity to `day`.
    ///
    /// # Errors
    /// A `VALIDATION_ERROR` for unparseable values, `start >= end`, or more than
    /// [`MAX_BUCKETS`] buckets.
    pub fn parse(
        start: Option<&str>,
        end: Option<&str>,
        granularity: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self, ValidationError> {
        let mut v = Validator::new();
        let granularity = v.check(granularity.map_or(Ok(Granularity::Day), str::parse));
        let end = v.check(end.map_or(Ok(now), |raw| parse_date("end_date", raw, true)));
        let start = v.check(start.map_or_else(
            || {
                let end = end.unwrap_or(now);
                Ok(end.checked_sub_signed(Duration::days(Self::DEFAULT_SPAN_DAYS)).unwrap_or(DateTime::<Utc>::MIN_UTC))
            },
            |raw| parse_date("start_date", raw, false),
        ));
        v.finish()?;
        let (Some(start), Some(end), Some(granularity)) = (start, end, granularity) else {
            return Err(ValidationError::field("start_date", "is invalid"));
        };
        if start >= end {
            return Err(FieldError::new("start_date", "must be before end_date")
                .with_value(crate::time::format(start))
                .into());
        }
        let range = Self { start, end, granularity };
        if granularity.at_least(start, end) > MAX_BUCKETS || range.bucket_starts().nth(MAX_BUCKETS as usize).is_some() {
            return Err(FieldError::new(
                "granularity",
                format!(
                    "the range has more than {MAX_BUCKETS} {} buckets; narrow it or use a coarser granularity",
                    granularity.as_str()
                ),
            )
            .into());
        }
        Ok(range)
    }

    /// The start of every bucket overlapping `[start, end)`, in order.
    pub fn bucket_starts(&self) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        std::iter::successors(Some(self.granularity.floor(self.start)), |b| Some(self.granularity.next(*b)))
            .take_while(|b| *b < self.end)
    }

    /// The hours whose rollups can fall into this range's buckets: `[floor(start), end)`.
    pub fn hour_span(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (self.granularity.floor(self.start), self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        crate::time::parse(s).unwrap()
    }

    fn day(d: NaiveDate) -> String {
        d.format("%Y-%m-%d").to_string()
    }

    #[test]
    fn ranges_at_the_ends_of_the_calendar_do_not_overflow() {
        // Found by the analytics fuzz target: a week bucket ending past the calendar's last
        // day panicked (`DateTime + TimeDelta` overflowed), as did the default start before
        // its first day; month buckets there never ended and read as too many.
        let now = t("2026-06-01T00:00:00Z");
        let last = NaiveDate::MAX;
        let start = day(last - Duration::days(2));
        for g in ["hour", "day", "week", "month"] {
            let r = AnalyticsRange::parse(Some(&start), Some(&day(last)), Some(g), now).unwrap();
            let buckets: Vec<_> = r.bucket_starts().collect();
            assert!(!buckets.is_empty() && buckets.len() <= 48, "{g}: {}", buckets.len());
            assert!(buckets.iter().all(|b| *b < r.end));
        }
        let r = AnalyticsRange::parse(None, Some(&day(NaiveDate::MIN)), Some("week"), now).unwrap();
        assert_eq!(r.start, DateTime::<Utc>::MIN_UTC);
        assert_eq!(r.bucket_starts().count(), 1);
        assert_eq!(Granularity::Month.next(t("2026-12-01T00:00:00Z")), t("2027-01-01T00:00:00Z"));
        assert_eq!(Granularity::Week.next(DateTime::<Utc>::MAX_UTC), DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        // 2026-11-28 is a Saturday.
        assert_eq!(Granularity::Week.floor(t("2026-11-28T13:00:00Z")), t("2026-11-23T00:00:00Z"));
        assert_eq!(Granularity::Week.floor(t("2026-11-23T00:00:00Z")), t("2026-11-23T00:00:00Z"));
        assert_eq!(Granularity::Month.floor(t("2024-02-29T23:59:59Z")), t("2024-02-01T00:00:00Z"));
        assert_eq!(Granularity::Month.next(t("2024-02-01T00:00:00Z")), t("2024-03-01T00:00:00Z"));
        assert_eq!(Granularity::Month.next(t("2026-12-01T00:00:00Z")), t("2027-01-01T00:00:00Z"));
        assert_eq!(Granularity::Hour.floor(t("2026-11-28T13:59:59.9Z")), t("2026-11-28T13:00:00Z"));
    }

    #[test]
    fn plain_end_dates_mean_the_end_of_that_day() {
        let r = AnalyticsRange::parse(Some("2026-01-01"), Some("2026-01-31"), Some("day"), t("2026-06-01T00:00:00Z"))
            .unwrap();
        assert_eq!(r.end, t("2026-02-01T00:00:00Z"));
        assert_eq!(r.bucket_starts().count(), 31);
    }

    #[test]
    fn every_overlapping_bucket_is_listed() {
        let r = AnalyticsRange::parse(
            Some("2026-01-01T10:30:00Z"),
            Some("2026-01-01T12:00:00Z"),
            Some("hour"),
            t("2026-06-01T00:00:00Z"),
        )
        .unwrap();
        assert_eq!(r.bucket_starts().collect::<Vec<_>>(), vec![t("2026-01-01T10:00:00Z"), t("2026-01-01T11:00:00Z")]);
        let months =
            AnalyticsRange::parse(Some("2024-01-15"), Some("2024-03-01"), Some("month"), t("2026-06-01T00:00:00Z"))
                .unwrap();
        assert_eq!(months.bucket_starts().count(), 3);
    }

    #[test]
    fn defaults_are_the_last_seven_days_by_day() {
        let now = t("2026-11-28T13:00:00Z");
        let r = AnalyticsRange::parse(None, None, None, now).unwrap();
        assert_eq!((r.start, r.end, r.granularity), (t("2026-11-21T13:00:00Z"), now, Granularity::Day));
        assert_eq!(r.bucket_starts().count(), 8);
    }

    #[test]
    fn bad_ranges_are_refused() {
        let now = t("2026-11-28T13:00:00Z");
        assert!(AnalyticsRange::parse(Some("2026-01-02"), Some("2026-01-01"), None, now).is_err());
        assert!(AnalyticsRange::parse(Some("2026-01-01T00:00:00Z"), Some("2026-01-01T00:00:00Z"), None, now).is_err());
        assert!(AnalyticsRange::parse(Some("yesterday"), None, None, now).is_err());
        assert!(AnalyticsRange::parse(None, None, Some("minute"), now).is_err());
        assert!(
            AnalyticsRange::parse(Some("2020-01-01"), Some("2026-01-01"), Some("hour"), now).is_err(),
            "52k buckets"
        );
        assert!(
            AnalyticsRange::parse(Some("1300-01-01"), Some("2100-01-01"), Some("month"), now).is_ok(),
            "9,600 months"
        );
        assert!(AnalyticsRange::parse(Some("0001-01-01"), Some("9999-12-31"), Some("month"), now).is_err());
        assert!(AnalyticsRange::parse(Some("0001-01-01"), Some("9999-12-31"), Some("week"), now).is_err());
    }

    #[test]
    fn counts_classify_statuses_and_estimate_p95() {
        let mut c = UsageCounts::default();
        for _ in 0..95 {
            c.record(200, 3_000);
        }
        for _ in 0..5 {
            c.record(429, 400_000);
        }
        c.record(404, 1_000);
        assert_eq!((c.requests, c.errors, c.rate_limited), (101, 1, 5));
        assert_eq!(c.p95_latency_ms(), 5.0);
        assert!(c.avg_latency_ms() > 3.0);
        assert_eq!(UsageCounts::default().p95_latency_ms(), 0.0);
    }
}
