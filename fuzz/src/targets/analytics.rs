//! `AnalyticsRange::parse` with arbitrary and date-shaped parameters (extreme and signed
//! years, offsets, impossible days): never panics; an accepted range is non-empty, has
//! the asked granularity and at most 10,000 ordered buckets that cover it.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use tengine_domain::usage::{AnalyticsRange, MAX_BUCKETS};

use crate::{run, Budget};

fn year() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        4 => (1970i32..2100).prop_map(|y| format!("{y:04}")),
        1 => proptest::sample::select(vec![0i32, 1, 9999]).prop_map(|y| format!("{y:04}")),
        1 => proptest::sample::select(vec![-262_144i32, -262_143, -262_142, -1, 10_000, 262_142, 262_143, 262_144])
            .prop_map(|y| format!("{y:+}")),
        1 => any::<i32>().prop_map(|y| format!("{y:+}")),
    ]
}

/// A date-shaped string: plain, RFC 3339 with an offset or fraction, or garbage.
fn date() -> impl Strategy<Value = String> {
    let day = (year(), 0u32..14, 0u32..33);
    let time = (0u32..25, 0u32..61, 0u32..61, proptest::option::of("[0-9]{1,12}"));
    let offset = prop_oneof![
        Just("Z".to_owned()),
        Just("z".to_owned()),
        (proptest::sample::select(vec!['+', '-']), 0u32..25, 0u32..61)
            .prop_map(|(s, h, m)| format!("{s}{h:02}:{m:02}")),
    ];
    prop_oneof![
        3 => day.clone().prop_map(|(y, m, d)| format!("{y}-{m:02}-{d:02}")),
        3 => (day, time, offset).prop_map(|((y, mo, d), (h, mi, s, frac), off)| {
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{off}")
        }),
        1 => "\\PC{0,24}",
    ]
}

fn granularity() -> impl Strategy<Value = Option<String>> {
    proptest::option::weighted(
        0.8,
        prop_oneof![
            4 => proptest::sample::select(vec!["hour", "day", "week", "month"]).prop_map(str::to_owned),
            1 => "\\PC{0,6}",
        ],
    )
}

/// Runs the target.
pub fn fuzz(budget: Budget) -> u64 {
    let now = (0i64..7_258_118_400).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap_or_default());
    let params = (proptest::option::weighted(0.8, date()), proptest::option::weighted(0.8, date()), granularity(), now);
    run(
        "analytics",
        budget,
        params,
        |(start, end, granularity, now): (Option<String>, Option<String>, Option<String>, DateTime<Utc>)| {
            let parsed = AnalyticsRange::parse(start.as_deref(), end.as_deref(), granularity.as_deref(), now);
            let Ok(range) = parsed else { return Ok(()) };
            prop_assert!(range.start < range.end);
            prop_assert_eq!(range.granularity.as_str(), granularity.as_deref().unwrap_or("day"));
            if end.is_none() {
                prop_assert_eq!(range.end, now);
            }
            if start.is_none() {
                let week_before = range.end.checked_sub_signed(Duration::days(AnalyticsRange::DEFAULT_SPAN_DAYS));
                prop_assert_eq!(range.start, week_before.unwrap_or(DateTime::<Utc>::MIN_UTC));
            }
            let buckets: Vec<DateTime<Utc>> = range.bucket_starts().collect();
            prop_assert!(!buckets.is_empty() && buckets.len() <= MAX_BUCKETS as usize, "{} buckets", buckets.len());
            prop_assert!(buckets[0] <= range.start, "the first bucket covers the start");
            prop_assert!(buckets.windows(2).all(|w| w[0] < w[1]), "buckets are ordered");
            prop_assert!(buckets.iter().all(|b| *b < range.end));
            let (from, to) = range.hour_span();
            prop_assert!(from <= range.start && to == range.end);
            Ok(())
        },
    )
}
