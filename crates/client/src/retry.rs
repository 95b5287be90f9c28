//! The retry rule of `docs/sdk-retries.md`, shared by the three SDKs: what is retried, and
//! how long to wait before each retry.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Retries after the first attempt, unless the caller says otherwise.
pub(crate) const DEFAULT_MAX_RETRIES: u32 = 3;
/// The first backoff.
pub(crate) const DEFAULT_BASE_DELAY: Duration = Duration::from_millis(500);
/// The longest wait; a longer `Retry-After` fails the call at once.
pub(crate) const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(60);
/// Statuses worth asking again.
pub(crate) const RETRYABLE_STATUSES: [u16; 4] = [429, 502, 503, 504];

/// Backoff settings of one client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    pub(crate) base: Duration,
    pub(crate) cap: Duration,
}

impl Policy {
    /// The wait before retry number `retry` (1-based), given the answer's `Retry-After`
    /// and a uniform random `unit` in [0, 1); `None` when `Retry-After` exceeds the cap,
    /// so the caller gets the error now instead of a sleep longer than it allowed.
    pub(crate) fn wait(&self, retry: u32, retry_after: Option<Duration>, unit: f64) -> Option<Duration> {
        if retry_after.is_some_and(|ra| ra > self.cap) {
            return None;
        }
        let exp = self.base.saturating_mul(2u32.saturating_pow(retry.saturating_sub(1))).min(self.cap);
        // Equal jitter: a uniform value in [b/2, b].
        let jittered = exp.mul_f64(0.5 + unit.clamp(0.0, 1.0) / 2.0);
        Some(retry_after.map_or(jittered, |ra| ra.max(jittered)))
    }
}

/// `Retry-After` as a wait: delta-seconds or an HTTP-date (0 when past); `None` when
/// absent or unparsable.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::try_from_secs_f64(secs).ok()).flatten();
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let ms = (when.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds();
    Some(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    const POLICY: Policy = Policy { base: Duration::from_millis(100), cap: Duration::from_secs(1) };

    fn ra(v: &str) -> Option<Duration> {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(v).expect("header"));
        retry_after(&h)
    }

    #[test]
    fn backoff_doubles_within_equal_jitter_and_stops_at_the_cap() {
        assert_eq!(POLICY.wait(1, None, 0.0), Some(Duration::from_millis(50)));
        assert_eq!(POLICY.wait(1, None, 1.0), Some(Duration::from_millis(100)));
        assert_eq!(POLICY.wait(3, None, 1.0), Some(Duration::from_millis(400)));
        assert_eq!(POLICY.wait(30, None, 1.0), Some(Duration::from_secs(1)));
    }

    #[test]
    fn retry_after_is_a_lower_bound_and_beyond_the_cap_gives_up() {
        assert_eq!(POLICY.wait(1, Some(Duration::ZERO), 1.0), Some(Duration::from_millis(100)));
        assert_eq!(POLICY.wait(1, Some(Duration::from_millis(700)), 1.0), Some(Duration::from_millis(700)));
        assert_eq!(POLICY.wait(1, Some(Duration::from_secs(2)), 1.0), None);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(ra("3"), Some(Duration::from_secs(3)));
        assert_eq!(ra("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(ra("-1"), None);
        assert_eq!(ra("soon"), None);
        assert_eq!(ra("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
        let ahead = (chrono::Utc::now() + chrono::Duration::seconds(30)).format("%a, %d %b %Y %H:%M:%S GMT");
        let wait = ra(&ahead.to_string()).expect("a date");
        assert!(wait > Duration::from_secs(28) && wait <= Duration::from_secs(30), "{wait:?}");
    }
}
