//! `PlainApiKey::from_str` on arbitrary strings and on mutated valid keys: it never
//! panics, and accepts exactly the keys an independent reference accepts (`tng_`, 40
//! base62 characters, the 6-digit base62 CRC-32 of the first 44 bytes).

use proptest::prelude::*;
use tengine_domain::PlainApiKey;

use super::BASE62;
use crate::{run, Budget};

/// The reference: what SPEC section 2 says a key is.
pub fn is_well_formed(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.len() != 50 || !s.starts_with("tng_") || !bytes[4..].iter().all(|b| BASE62.contains(b)) {
        return false;
    }
    let mut crc = u64::from(crc32fast::hash(&bytes[..44]));
    let mut sum = [b'0'; 6];
    for digit in sum.iter_mut().rev() {
        *digit = BASE62[usize::try_from(crc % 62).unwrap_or(0)];
        crc /= 62;
    }
    bytes[44..] == sum
}

/// An edit of a string.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Replace the character at (index mod length).
    Replace(usize, char),
    /// Insert a character.
    Insert(usize, char),
    /// Remove a character.
    Remove(usize),
    /// Swap two characters.
    Swap(usize, usize),
    /// Flip the case of a character.
    FlipCase(usize),
    /// Keep only a prefix.
    Truncate(usize),
    /// Add text at the end.
    Append(String),
}

fn apply(s: &str, edit: &Edit) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
    match edit {
        Edit::Replace(i, c) if !chars.is_empty() => {
            let i = at(*i, chars.len());
            chars[i] = *c;
        }
        Edit::Insert(i, c) => chars.insert(at(*i, chars.len() + 1), *c),
        Edit::Remove(i) if !chars.is_empty() => {
            chars.remove(at(*i, chars.len()));
        }
        Edit::Swap(i, j) if !chars.is_empty() => {
            let (i, j) = (at(*i, chars.len()), at(*j, chars.len()));
            chars.swap(i, j);
        }
        Edit::FlipCase(i) if !chars.is_empty() => {
            let i = at(*i, chars.len());
            let c = chars[i];
            chars[i] = if c.is_ascii_lowercase() { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() };
        }
        Edit::Truncate(n) => chars.truncate(*n),
        Edit::Append(tail) => chars.extend(tail.chars()),
        _ => {}
    }
    chars.into_iter().collect()
}

fn near_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::sample::select(BASE62.to_vec()).prop_map(char::from),
        1 => any::<char>(),
        1 => proptest::sample::select(vec!['_', '-', ' ', '\0', '\n', 'é', 'ｔ', '\u{200b}']),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), near_char()).prop_map(|(i, c)| Edit::Replace(i, c)),
        (any::<usize>(), near_char()).prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<usize>().prop_map(Edit::Remove),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Edit::Swap(i, j)),
        any::<usize>().prop_map(Edit::FlipCase),
        (0usize..60).prop_map(Edit::Truncate),
        "\\PC{0,4}".prop_map(Edit::Append),
    ]
}

/// 40 random base62 characters.
pub fn random_part() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(BASE62.to_vec()), 40)
        .prop_map(|v| String::from_utf8(v).unwrap_or_default())
}

/// A candidate key: arbitrary text, a valid key, or a valid key with a few edits.
#[derive(Debug, Clone)]
pub enum Candidate {
    /// Any text.
    Text(String),
    /// A valid key with edits.
    Edited(String, Vec<Edit>),
}

fn candidate() -> impl Strategy<Value = Candidate> {
    let valid =
        random_part().prop_map(|r| PlainApiKey::from_random(&r).map(|k| k.expose_secret().to_owned()).unwrap_or(r));
    prop_oneof![
        1 => any::<String>().prop_map(Candidate::Text),
        1 => "tng_[0-9A-Za-z]{40,47}".prop_map(Candidate::Text),
        4 => (valid, proptest::collection::vec(edit(), 0..4)).prop_map(|(k, e)| Candidate::Edited(k, e)),
    ]
}

/// Runs the target.
pub fn fuzz(budget: Budget) -> u64 {
    run("api_key", budget, candidate(), |c| {
        let (input, original, edits) = match &c {
            Candidate::Text(s) => (s.clone(), None, 0),
            Candidate::Edited(k, edits) => (edits.iter().fold(k.clone(), |s, e| apply(&s, e)), Some(k), edits.len()),
        };
        let parsed = input.parse::<PlainApiKey>();
        prop_assert_eq!(parsed.is_ok(), is_well_formed(&input), "input {:?}", input);
        if let Ok(key) = parsed {
            prop_assert_eq!(key.expose_secret(), input.as_str());
            prop_assert_eq!(key.display_prefix(), &input[..12]);
            prop_assert_eq!(format!("{key:?}"), "PlainApiKey(tng_***)");
        }
        // CRC-32 catches every single-character substitution (a burst of at most 8 bits).
        if let (Some(original), 1) = (original, edits) {
            if input.len() == original.len() && input != *original && input.starts_with("tng_") {
                let differing = input.chars().zip(original.chars()).filter(|(a, b)| a != b).count();
                if differing == 1 {
                    prop_assert!(input.parse::<PlainApiKey>().is_err(), "a one-character typo passed: {:?}", input);
                }
            }
        }
        Ok(())
    })
}
