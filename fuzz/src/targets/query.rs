//! Query strings: `Query::parse` with arbitrary raw queries (never panics; refuses
//! exactly unknown and repeated names, with a 422 envelope), then `.page()` and
//! `PageRequest::parse`, checked against a reference reading of `page` and `per_page`.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use proptest::prelude::*;
use tengine_adapters_http::extract::Query;
use tengine_domain::PageRequest;

use crate::{run, Budget};

/// The names the list routes accept.
const PAGED: [&str; 2] = ["page", "per_page"];
/// The names the event log accepts.
const EVENTS: [&str; 3] = ["page", "per_page", "type"];

/// The reference for one paging value: an optional `+` and ASCII digits, in range.
fn reference_int(raw: Option<&str>, default: u32, max: u32) -> Option<u32> {
    let Some(raw) = raw else { return Some(default) };
    let digits = raw.strip_prefix('+').unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let trimmed = digits.trim_start_matches('0');
    if trimmed.len() > 10 {
        return None;
    }
    let v: u64 = if trimmed.is_empty() { 0 } else { trimmed.parse().ok()? };
    (1..=u64::from(max)).contains(&v).then(|| u32::try_from(v).ok()).flatten()
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,3}",
        "[+-]?[0-9]{1,12}",
        Just("4294967295".to_owned()),
        Just("4294967296".to_owned()),
        Just("0".to_owned()),
        Just("100".to_owned()),
        Just("101".to_owned()),
        Just("1.0".to_owned()),
        Just(" 1".to_owned()),
        Just("0x10".to_owned()),
        Just("%31".to_owned()),
        Just("1%00".to_owned()),
        Just("%ZZ".to_owned()),
        Just("%FF%FE".to_owned()),
        "\\PC{0,8}",
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(vec!["page", "per_page", "type"]).prop_map(str::to_owned),
        1 => Just("pa%67e".to_owned()),
        1 => Just("Page".to_owned()),
        1 => "[a-z_\\[\\]%+]{0,8}",
        1 => "\\PC{0,6}",
    ]
}

/// A raw query: any text, or pairs of likely names and values with odd separators.
fn raw_query() -> impl Strategy<Value = Option<String>> {
    let pair = (name(), proptest::option::weighted(0.9, value()))
        .prop_map(|(n, v)| v.map_or_else(|| n.clone(), |v| format!("{n}={v}")));
    let sep = proptest::sample::select(vec!["&", "&", "&", ";", "&&", "="]);
    let structured = proptest::collection::vec((pair, sep), 0..5)
        .prop_map(|pairs| pairs.into_iter().map(|(p, s)| format!("{p}{s}")).collect::<String>());
    proptest::option::weighted(0.95, prop_oneof![3 => structured, 1 => any::<String>()])
}

fn check(raw: Option<&str>, allowed: &[&str]) -> Result<(), TestCaseError> {
    let decoded: Result<Vec<(String, String)>, _> = serde_urlencoded::from_str(raw.unwrap_or(""));
    let parsed = Query::parse(raw, allowed);
    let Ok(pairs) = decoded else {
        prop_assert!(parsed.is_err(), "an undecodable query was accepted: {:?}", raw);
        return Ok(());
    };
    let unknown = pairs.iter().any(|(n, _)| !allowed.contains(&n.as_str()));
    let repeated = pairs.iter().enumerate().any(|(i, (n, _))| pairs[..i].iter().any(|(m, _)| m == n));
    match parsed {
        Err(e) => {
            prop_assert!(unknown || repeated, "a valid query was refused: {:?}", raw);
            let res = e.into_response();
            prop_assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        }
        Ok(query) => {
            prop_assert!(!unknown && !repeated, "an invalid query was accepted: {:?}", raw);
            let get = |n: &str| pairs.iter().find(|(m, _)| m == n).map(|(_, v)| v.as_str());
            let expected = (reference_int(get("page"), 1, u32::MAX), reference_int(get("per_page"), 20, 100));
            match query.page() {
                Ok(p) => {
                    prop_assert_eq!((Some(p.page()), Some(p.per_page())), expected, "{:?}", raw);
                    prop_assert_eq!(p.offset(), u64::from(p.page() - 1) * u64::from(p.per_page()));
                }
                Err(e) => {
                    prop_assert!(expected.0.is_none() || expected.1.is_none(), "valid paging refused: {:?}", raw);
                    prop_assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
                }
            }
        }
    }
    Ok(())
}

/// Runs the target.
pub fn fuzz(budget: Budget) -> u64 {
    let direct = (proptest::option::of(value()), proptest::option::of(value()));
    run("query", budget, (raw_query(), direct), |(raw, (page, per_page))| {
        check(raw.as_deref(), &PAGED)?;
        check(raw.as_deref(), &EVENTS)?;
        let parsed = PageRequest::parse(page.as_deref(), per_page.as_deref());
        let expected = (reference_int(page.as_deref(), 1, u32::MAX), reference_int(per_page.as_deref(), 20, 100));
        match parsed {
            Ok(p) => prop_assert_eq!((Some(p.page()), Some(p.per_page())), expected),
            Err(e) => {
                prop_assert!(expected.0.is_none() || expected.1.is_none());
                let count = e.errors().count();
                let bad = usize::from(expected.0.is_none()) + usize::from(expected.1.is_none());
                prop_assert_eq!(count, bad, "one error per bad value");
            }
        }
        Ok(())
    })
}
