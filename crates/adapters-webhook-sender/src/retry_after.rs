//! Parsing a receiver's `Retry-After`: delta-seconds or an HTTP date (RFC 9110 §10.2.3),
//! the latter in any of the three formats of RFC 9110 §5.6.7.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds to wait according to a `Retry-After` value received at `now`; a date in the
/// past gives 0. `None` when the value is neither form.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<i64> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Only digits, so the only failure is overflow: "a very long time".
        return Some(value.parse::<i64>().unwrap_or(i64::MAX));
    }
    let at = parse_http_date(value)?;
    let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Some(at.saturating_sub(now).max(0))
}

/// Unix seconds of an HTTP date: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`),
/// RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) or asctime (`Sun Nov  6 08:49:37 1994`).
fn parse_http_date(text: &str) -> Option<i64> {
    let (year, month, day, clock) = match text.split_once(',') {
        Some((_weekday, rest)) => match rest.split_whitespace().collect::<Vec<_>>()[..] {
            [day, month, year, clock, "GMT"] => (year.parse().ok()?, month, day, clock),
            [date, clock, "GMT"] => {
                let mut parts = date.split('-');
                let (day, month, yy) = (parts.next()?, parts.next()?, parts.next()?);
                if parts.next().is_some() || yy.len() != 2 {
                    return None;
                }
                let yy: i64 = yy.parse().ok()?;
                // Two-digit years: the convention of most HTTP implementations.
                (if yy < 70 { 2000 + yy } else { 1900 + yy }, month, day, clock)
            }
            _ => return None,
        },
        None => match text.split_whitespace().collect::<Vec<_>>()[..] {
            [_weekday, month, day, clock, year] => (year.parse().ok()?, month, day, clock),
            _ => return None,
        },
    };
    let month = month_number(month)?;
    let day: u32 = digits(day)?;
    let mut clock = clock.split(':');
    let (h, m, s) = (clock.next()?, clock.next()?, clock.next()?);
    if clock.next().is_some() {
        return None;
    }
    let (h, m, s): (u32, u32, u32) = (digits(h)?, digits(m)?, digits(s)?);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let seconds_of_day = i64::from(h * 3600 + m * 60 + s);
    Some(days_from_civil(year, month, day) * 86_400 + seconds_of_day)
}

fn digits(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn month_number(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let index = MONTHS.iter().position(|m| *m == name)?;
    u32::try_from(index + 1).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// 1994-11-06T08:49:37Z, the RFC's example date.
    const EXAMPLE: u64 = 784_111_777;

    fn at(unix: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(unix)
    }

    #[test]
    fn delta_seconds_are_taken_as_they_are() {
        assert_eq!(parse_retry_after("7", at(EXAMPLE)), Some(7));
        assert_eq!(parse_retry_after(" 120 ", at(EXAMPLE)), Some(120));
        assert_eq!(parse_retry_after("0", at(EXAMPLE)), Some(0));
        assert_eq!(parse_retry_after("99999999999999999999999", at(EXAMPLE)), Some(i64::MAX));
    }

    #[test]
    fn all_three_date_formats_give_seconds_from_now() {
        let now = at(EXAMPLE - 30);
        for date in ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"] {
            assert_eq!(parse_retry_after(date, now), Some(30), "{date}");
        }
    }

    #[test]
    fn a_date_in_the_past_means_no_wait() {
        let value = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(parse_retry_after(value, at(EXAMPLE + 3600)), Some(0));
    }

    #[test]
    fn dates_are_converted_exactly() {
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("Tue, 29 Feb 2028 23:59:59 GMT"), Some(1_835_481_599));
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
    }

    #[test]
    fn nonsense_is_not_a_retry_after() {
        for value in [
            "",
            "-5",
            "1.5",
            "soon",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
        ] {
            assert_eq!(parse_retry_after(value, at(EXAMPLE)), None, "{value:?}");
        }
    }
}
