//! Parsing of every id type: never panics, accepts exactly `prefix` + 22 base62 digits
//! whose value fits in 128 bits (an independent reference decodes them), round-trips
//! through `Display`, and never takes one kind of id for another.

use std::fmt::Display;
use std::str::FromStr;

use proptest::prelude::*;
use tengine_domain::{AccountId, ApiKeyId, DeliveryId, EventId, IntegrationId, ProjectId, WebhookId};
use uuid::Uuid;

use super::BASE62;
use crate::{run, Budget};

/// Every id prefix.
pub const PREFIXES: [&str; 7] = ["acct_", "proj_", "key_", "wh_", "evt_", "del_", "int_"];

/// The reference: the 128-bit value of `s` if it is `prefix` + 22 base62 digits.
pub fn reference(prefix: &str, s: &str) -> Option<u128> {
    let digits = s.strip_prefix(prefix)?.as_bytes();
    if digits.len() != 22 {
        return None;
    }
    digits.iter().try_fold(0u128, |acc, d| {
        let v = BASE62.iter().position(|b| b == d)?;
        acc.checked_mul(62)?.checked_add(u128::try_from(v).ok()?)
    })
}

fn check<T>(prefix: &str, input: &str) -> Result<(), TestCaseError>
where
    T: FromStr + Display + Copy,
    T::Err: std::fmt::Debug,
{
    let parsed = input.parse::<T>();
    let expected = reference(prefix, input);
    prop_assert_eq!(parsed.is_ok(), expected.is_some(), "{} {:?}", prefix, input);
    if let Ok(id) = parsed {
        prop_assert_eq!(id.to_string(), input, "display round-trips");
    }
    Ok(())
}

fn check_all(input: &str) -> Result<(), TestCaseError> {
    check::<AccountId>("acct_", input)?;
    check::<ProjectId>("proj_", input)?;
    check::<ApiKeyId>("key_", input)?;
    check::<WebhookId>("wh_", input)?;
    check::<EventId>("evt_", input)?;
    check::<DeliveryId>("del_", input)?;
    check::<IntegrationId>("int_", input)
}

/// A candidate id: any text, a prefix with 22-ish near-base62 characters, or a real id of
/// some kind with an edit.
fn candidate() -> impl Strategy<Value = String> {
    let prefix = proptest::sample::select(PREFIXES.to_vec());
    let body = prop_oneof![
        4 => "[0-9A-Za-z]{22}",
        1 => "[0-9A-Za-z]{20,24}",
        1 => "[0-9A-Za-z_\\-+/= é]{22}",
        1 => "[6-9a-z][0-9A-Za-z]{21}",
        1 => Just("7n42DGM5Tflk9n8mt7Fhc7".to_owned()),
        1 => Just("7n42DGM5Tflk9n8mt7Fhc8".to_owned()),
    ];
    let real = (any::<u128>(), 0usize..7).prop_map(|(v, kind)| match kind {
        0 => AccountId::from_uuid(Uuid::from_u128(v)).to_string(),
        1 => ProjectId::from_uuid(Uuid::from_u128(v)).to_string(),
        2 => ApiKeyId::from_uuid(Uuid::from_u128(v)).to_string(),
        3 => WebhookId::from_uuid(Uuid::from_u128(v)).to_string(),
        4 => EventId::from_uuid(Uuid::from_u128(v)).to_string(),
        5 => DeliveryId::from_uuid(Uuid::from_u128(v)).to_string(),
        _ => IntegrationId::from_uuid(Uuid::from_u128(v)).to_string(),
    });
    prop_oneof![
        1 => any::<String>(),
        3 => (prefix, body).prop_map(|(p, b)| format!("{p}{b}")),
        3 => real.clone(),
        2 => (real, any::<usize>(), any::<char>()).prop_map(|(s, i, c)| {
            let mut chars: Vec<char> = s.chars().collect();
            let i = i % chars.len();
            chars[i] = c;
            chars.into_iter().collect()
        }),
    ]
}

/// Runs the target.
pub fn fuzz(budget: Budget) -> u64 {
    run("ids", budget, candidate(), |input| check_all(&input))
}
