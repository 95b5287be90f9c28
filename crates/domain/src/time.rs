//! The one timestamp format of the API: RFC 3339, UTC, `Z`, microseconds.

use chrono::{DateTime, SecondsFormat, Utc};

/// Formats a timestamp the way every response shows it.
pub fn format(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses an RFC 3339 timestamp with any offset into UTC.
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|d| d.with_timezone(&Utc))
}

/// Truncates to whole microseconds, the precision every store keeps.
pub fn truncate_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    let micros = at.timestamp_micros();
    DateTime::from_timestamp_micros(micros).unwrap_or(at)
}
