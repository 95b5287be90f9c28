//! API keys: the secret format, its checksum and digest, and the stored key record.
//!
//! A key is `tng_` + 40 base62 characters + a 6-character base62 CRC-32 of the first
//! 44 bytes, so typos are refused without a lookup and scanners can spot leaks. Only a
//! SHA-256 digest is ever stored.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::base62;
use crate::error::{clean_text, ValidationError};
use crate::ids::{AccountId, ApiKeyId, ProjectId};
use crate::permission::PermissionSet;

/// The fixed start of every key.
pub const KEY_PREFIX: &str = "tng_";
/// Length of the random part.
pub const RANDOM_LEN: usize = 40;
/// Length of the checksum.
pub const CHECKSUM_LEN: usize = 6;
/// Total length of a key.
pub const KEY_LEN: usize = KEY_PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;
/// How many leading characters are shown in lists.
pub const DISPLAY_PREFIX_LEN: usize = 12;

/// Why a string is not a well-formed key; deliberately vague on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    /// Wrong length or prefix, or a character outside base62.
    #[error("malformed API key")]
    Malformed,
    /// Well-formed, but the checksum does not match (a typo or a forged key).
    #[error("API key checksum mismatch")]
    BadChecksum,
}

/// A full API key secret. It exists only to be shown once; `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainApiKey(String);

fn checksum(first: &str) -> String {
    base62::encode_fixed(u128::from(crc32fast::hash(first.as_bytes())), CHECKSUM_LEN)
}

impl PlainApiKey {
    /// Builds a key from its 40 random base62 characters (made by a secret generator).
    ///
    /// # Errors
    /// `Malformed` when `random` is not 40 base62 characters.
    pub fn from_random(random: &str) -> Result<Self, KeyFormatError> {
        if random.len() != RANDOM_LEN || !random.bytes().all(|b| base62::digit(b).is_some()) {
            return Err(KeyFormatError::Malformed);
        }
        let head = format!("{KEY_PREFIX}{random}");
        let sum = checksum(&head);
        Ok(Self(head + &sum))
    }

    /// The secret itself, for the one response that shows it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The first 12 characters, safe to list and log.
    pub fn display_prefix(&self) -> &str {
        &self.0[..DISPLAY_PREFIX_LEN]
    }

    /// The digest that the store keeps instead of the key.
    pub fn digest(&self) -> ApiKeyDigest {
        ApiKeyDigest(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl FromStr for PlainApiKey {
    type Err = KeyFormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != KEY_LEN || !s.is_ascii() || !s.starts_with(KEY_PREFIX) {
            return Err(KeyFormatError::Malformed);
        }
        let (head, sum) = s.split_at(KEY_PREFIX.len() + RANDOM_LEN);
        if !head[KEY_PREFIX.len()..].bytes().chain(sum.bytes()).all(|b| base62::digit(b).is_some()) {
            return Err(KeyFormatError::Malformed);
        }
        if checksum(head) != sum {
            return Err(KeyFormatError::BadChecksum);
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Debug for PlainApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainApiKey(tng_***)")
    }
}

/// SHA-256 of a key; compared in constant time.
#[derive(Clone, Copy, Eq)]
pub struct ApiKeyDigest([u8; 32]);

impl ApiKeyDigest {
    /// Wraps stored digest bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw bytes, for storage.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for ApiKeyDigest {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::hash::Hash for ApiKeyDigest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for ApiKeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeyDigest(***)")
    }
}

/// A key's display name: 1..=100 characters after trimming, no control or format characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyName(String);

impl ApiKeyName {
    /// A value read back from storage, as it was validated when written: rules added
    /// since (such as refusing format characters) must not make stored rows unreadable.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    /// The trimmed name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, moved out (a response body takes it without a copy).
    pub fn into_string(self) -> String {
        self.0
    }
}

impl FromStr for ApiKeyName {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        clean_text("name", s, 1, 100, false).map(Self)
    }
}

/// What a key can reach: its whole account, or one project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyScope {
    /// Every project of the account (CLI and bootstrap keys).
    Account,
    /// Only this project.
    Project(ProjectId),
}

impl KeyScope {
    /// The project, for a project-scoped key.
    pub fn project(&self) -> Option<ProjectId> {
        match self {
            KeyScope::Account => None,
            KeyScope::Project(p) => Some(*p),
        }
    }
}

/// The secret a key had before its last rotation, accepted until `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreviousSecret {
    /// Digest of the old secret.
    pub digest: ApiKeyDigest,
    /// When the old secret stops working.
    pub expires_at: DateTime<Utc>,
}

/// A stored API key record (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The key's id.
    pub id: ApiKeyId,
    /// The owning account.
    pub account_id: AccountId,
    /// What it can reach.
    pub scope: KeyScope,
    /// Its display name.
    pub name: ApiKeyName,
    /// What it may do.
    pub permissions: PermissionSet,
    /// The first 12 characters of the current secret.
    pub prefix: String,
    /// Digest of the current secret.
    pub digest: ApiKeyDigest,
    /// The pre-rotation secret, while its grace period lasts.
    pub previous: Option<PreviousSecret>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was last used (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What a list of keys shows of each: the record without its digests, the previous
/// secret's expiry and `updated_at`, which a page never returns (so a page neither reads
/// nor carries them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeySummary {
    /// The key's id.
    pub id: ApiKeyId,
    /// What it can reach.
    pub scope: KeyScope,
    /// Its display name.
    pub name: ApiKeyName,
    /// What it may do.
    pub permissions: PermissionSet,
    /// The first 12 characters of the current secret.
    pub prefix: String,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeySummary {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id,
            scope: k.scope,
            name: k.name,
            permissions: k.permissions,
            prefix: k.prefix,
            expires_at: k.expires_at,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

impl ApiKey {
    /// Whether the key is expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }

    /// Whether `digest` opens this key at `now`: current secret, or the previous one
    /// within its grace period; never when revoked or expired.
    pub fn accepts(&self, digest: &ApiKeyDigest, now: DateTime<Utc>) -> bool {
        if self.revoked_at.is_some() || self.is_expired(now) {
            return false;
        }
        self.digest == *digest || self.previous.is_some_and(|p| p.digest == *digest && p.expires_at > now)
    }

    /// Replaces the secret; the old one keeps working for `grace` (none if zero).
    pub fn rotate(&mut self, new: &PlainApiKey, grace: chrono::Duration, now: DateTime<Utc>) {
        self.previous =
            (grace > chrono::Duration::zero()).then(|| PreviousSecret { digest: self.digest, expires_at: now + grace });
        self.digest = new.digest();
        self.prefix = new.display_prefix().to_owned();
        self.updated_at = now;
    }
}

/// Validates a grace period for rotation: 0..=604800 seconds (one week).
///
/// # Errors
/// A `VALIDATION_ERROR` on `grace_period_seconds`.
pub fn grace_period(seconds: i64) -> Result<chrono::Duration, ValidationError> {
    if !(0..=604_800).contains(&seconds) {
        return Err(crate::error::FieldError::new("grace_period_seconds", "must be between 0 and 604800")
            .with_value(seconds.to_string())
            .into());
    }
    Ok(chrono::Duration::seconds(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const RANDOM: &str = "0123456789ABCDEFGHIJabcdefghijKLMNOPQRST";

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let key = PlainApiKey::from_random(RANDOM).unwrap();
        let s = key.expose_secret();
        assert_eq!(s.len(), 50);
        assert!(s.starts_with("tng_0123456789"));
        let expected = base62::encode_fixed(u128::from(crc32fast::hash(&s.as_bytes()[..44])), 6);
        assert_eq!(&s[44..], expected);
        assert_eq!(key.display_prefix(), "tng_01234567");
        assert_eq!(s.parse::<PlainApiKey>(), Ok(key.clone()));
    }

    #[test]
    fn checksum_matches_a_vector_computed_with_zlib() {
        // Python: zlib.crc32(b"tng_" + b"0" * 40), written in base62.
        let key = PlainApiKey::from_random(&"0".repeat(40)).unwrap();
        assert_eq!(key.expose_secret(), "tng_00000000000000000000000000000000000000002XzGTS");
    }

    #[test]
    fn a_single_typo_is_caught_by_the_checksum() {
        let s = PlainApiKey::from_random(RANDOM).unwrap().expose_secret().to_owned();
        let mut typo = s.clone().into_bytes();
        typo[10] = if typo[10] == b'x' { b'y' } else { b'x' };
        assert_eq!(String::from_utf8(typo).unwrap().parse::<PlainApiKey>(), Err(KeyFormatError::BadChecksum));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = PlainApiKey::from_random(RANDOM).unwrap();
        assert!(!format!("{key:?}").contains(RANDOM));
        assert_eq!(format!("{:?}", key.digest()), "ApiKeyDigest(***)");
    }

    #[test]
    fn rotation_keeps_the_old_secret_only_for_the_grace_period() {
        let now = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        let old = PlainApiKey::from_random(RANDOM).unwrap();
        let new = PlainApiKey::from_random(&"z".repeat(40)).unwrap();
        let mut key = ApiKey {
            id: ApiKeyId::from_uuid(uuid::Uuid::from_u128(1)),
            account_id: AccountId::from_uuid(uuid::Uuid::from_u128(2)),
            scope: KeyScope::Account,
            name: "k".parse().unwrap(),
            permissions: PermissionSet::all(),
            prefix: old.display_prefix().into(),
            digest: old.digest(),
            previous: None,
            expires_at: None,
            created_at: now,
            updated_at: now,
            last_used_at: None,
            revoked_at: None,
        };
        key.rotate(&new, chrono::Duration::seconds(60), now);
        assert!(key.accepts(&new.digest(), now));
        assert!(key.accepts(&old.digest(), now + chrono::Duration::seconds(59)));
        assert!(!key.accepts(&old.digest(), now + chrono::Duration::seconds(60)));
        key.rotate(&old, chrono::Duration::zero(), now);
        assert!(!key.accepts(&new.digest(), now));
        key.revoked_at = Some(now);
        assert!(!key.accepts(&old.digest(), now));
    }

    proptest! {
        #[test]
        fn every_generated_key_parses_back(random in "[0-9A-Za-z]{40}") {
            let key = PlainApiKey::from_random(&random).unwrap();
            prop_assert_eq!(key.expose_secret().parse::<PlainApiKey>(), Ok(key.clone()));
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(s in "\\PC{0,60}") {
            let _ = s.parse::<PlainApiKey>();
        }

        #[test]
        fn any_single_substitution_is_refused(random in "[0-9A-Za-z]{40}", pos in 4usize..50, c in "[0-9A-Za-z]") {
            let key = PlainApiKey::from_random(&random).unwrap();
            let mut bytes = key.expose_secret().as_bytes().to_vec();
            let c = c.as_bytes()[0];
            prop_assume!(bytes[pos] != c);
            bytes[pos] = c;
            let typo = String::from_utf8(bytes).unwrap();
            prop_assert!(typo.parse::<PlainApiKey>().is_err());
        }
    }
}
