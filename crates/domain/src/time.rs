//! The one timestamp format of the API: RFC 3339, UTC, `Z`, microseconds.

use std::fmt;

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};

/// Formats a timestamp the way every response shows it.
pub fn format(at: DateTime<Utc>) -> String {
    Stamp(at).to_string()
}

/// A timestamp that displays as [`format`] writes it, without allocating: a response
/// body serializes it straight into its buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp(pub DateTime<Utc>);

/// Serialized as its text, written without a `String`.
impl serde::Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written digit by digit into a fixed buffer for years 0 to 9999 (every item of
        // every page has one to four timestamps); chrono's general formatter for the rest
        // and for leap seconds, and the test below holds the two to the same text.
        let at = self.0;
        let nanos = at.nanosecond();
        let year = match u32::try_from(at.year()) {
            Ok(year) if year <= 9999 && nanos < 1_000_000_000 => year,
            _ => return f.write_str(&at.to_rfc3339_opts(SecondsFormat::Micros, true)),
        };
        let mut out = *b"0000-00-00T00:00:00.000000Z";
        digits(&mut out[0..4], year);
        digits(&mut out[5..7], at.month());
        digits(&mut out[8..10], at.day());
        digits(&mut out[11..13], at.hour());
        digits(&mut out[14..16], at.minute());
        digits(&mut out[17..19], at.second());
        digits(&mut out[20..26], nanos / 1_000);
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

/// Writes `n`'s last `slot.len()` decimal digits into `slot`, zero-padded.
fn digits(slot: &mut [u8], mut n: u32) {
    for b in slot.iter_mut().rev() {
        // `n % 10` is below 10, so the cast cannot truncate.
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_edges_format_as_chrono_does() {
        let chrono = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Micros, true);
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .map(|n| n.and_utc());
        let edges = [
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            DateTime::UNIX_EPOCH,
            parse("0000-01-01T00:00:00Z").unwrap(),
            parse("9999-12-31T23:59:59.999999999Z").unwrap(),
            parse("2026-12-06T15:40:55.000001Z").unwrap(),
            leap.unwrap(),
        ];
        for at in edges {
            assert_eq!(format(at), chrono(at), "{at:?}");
        }
        assert_eq!(format(DateTime::UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
    }

    proptest! {
        #[test]
        fn formats_as_chrono_does(micros in -62_000_000_000_000_000i64..300_000_000_000_000_000, nanos in 0u32..1_000) {
            let at = DateTime::from_timestamp_micros(micros).unwrap() + chrono::Duration::nanoseconds(i64::from(nanos));
            prop_assert_eq!(format(at), at.to_rfc3339_opts(SecondsFormat::Micros, true));
            // A body writes the same text through `Serialize`.
            prop_assert_eq!(serde_json::to_value(Stamp(at)).expect("serializes"), serde_json::Value::String(format(at)));
        }
    }
}
