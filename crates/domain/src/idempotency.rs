//! Idempotency keys: validation, request fingerprints, record lookup hashes, and the
//! encryption of stored responses under a key derived from the Idempotency-Key value
//! itself, so a stored response (which may carry a secret) is useless to someone who
//! reads the database without the client's key.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::error::{FieldError, ValidationError};
use crate::ids::AccountId;

/// How long a key's response is replayed.
pub const RETENTION: chrono::Duration = chrono::Duration::hours(24);

/// A client's `Idempotency-Key`: 1..=255 visible ASCII characters. `Debug` is redacted:
/// the value decrypts the stored response.
#[derive(Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl std::fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdempotencyKey(***)")
    }
}

impl std::str::FromStr for IdempotencyKey {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.len() > 255 {
            return Err(FieldError::new("Idempotency-Key", "must be 1 to 255 characters").into());
        }
        if !s.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err(FieldError::new("Idempotency-Key", "must be printable ASCII").into());
        }
        Ok(Self(s.to_owned()))
    }
}

/// The server's key for idempotency lookups (see `Keyring::lookup_key`): without it, a
/// stolen database cannot be searched for short Idempotency-Key values.
#[derive(Clone, PartialEq, Eq)]
pub struct LookupKey([u8; 32]);

impl LookupKey {
    /// The key made of `bytes`.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl std::fmt::Debug for LookupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LookupKey(***)")
    }
}

impl IdempotencyKey {
    /// The key of an MCP `tools/call` carrying `_meta.idempotency_key` in `project`. The
    /// newline keeps it apart from every `Idempotency-Key` header value (printable
    /// ASCII), so the two never meet in the account's records.
    pub fn for_tool_call(project: &crate::ids::ProjectId, client_key: &str) -> Self {
        Self(format!("mcp tools/call\n{project}\n{client_key}"))
    }

    /// What the store looks records up by: HMAC-SHA256 under the server's lookup key of
    /// the account and the key value.
    pub fn lookup_hash(&self, key: &LookupKey, account: &AccountId) -> [u8; 32] {
        // HMAC takes keys of any length; this cannot fail.
        let mut h =
            <Hmac<Sha256> as Mac>::new_from_slice(&key.0).unwrap_or_else(|_| unreachable!("hmac accepts any key"));
        h.update(account.to_string().as_bytes());
        h.update(&[0]);
        h.update(self.0.as_bytes());
        h.finalize().into_bytes().into()
    }

    fn cipher(&self, account: &AccountId) -> ChaCha20Poly1305 {
        let hk = Hkdf::<Sha256>::new(Some(account.to_string().as_bytes()), self.0.as_bytes());
        let mut okm = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit; this cannot fail.
        let _ = hk.expand(b"tengine idempotency response v1", &mut okm);
        ChaCha20Poly1305::new(Key::from_slice(&okm))
    }

    /// Encrypts a stored response; `nonce` must be fresh random bytes. Output:
    /// nonce || ciphertext.
    pub fn seal(&self, account: &AccountId, nonce: [u8; 12], plaintext: &[u8]) -> Vec<u8> {
        let mut out = nonce.to_vec();
        // Encryption into a Vec only fails for absurd lengths, which bodies are not.
        out.extend(self.cipher(account).encrypt(Nonce::from_slice(&nonce), plaintext).unwrap_or_default());
        out
    }

    /// Decrypts what [`IdempotencyKey::seal`] made; `None` if it was tampered with or
    /// the key differs.
    pub fn open(&self, account: &AccountId, sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, ct) = sealed.split_at_checked(12)?;
        self.cipher(account).decrypt(Nonce::from_slice(nonce), ct).ok()
    }
}

/// The fingerprint of a request: method, path and body; a reuse with another request
/// is `IDEMPOTENCY_KEY_REUSED`.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [method.as_bytes(), b"\0", path.as_bytes(), b"\0", body] {
        h.update(part);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> AccountId {
        AccountId::from_uuid(uuid::Uuid::from_u128(1))
    }

    #[test]
    fn keys_are_bounded_and_printable() {
        assert!("".parse::<IdempotencyKey>().is_err());
        assert!("x".repeat(256).parse::<IdempotencyKey>().is_err());
        assert!("bad\nkey".parse::<IdempotencyKey>().is_err());
        assert!("0b8a6a5e-5b1e-4a55-9d8e-3e2f0c1a2b3c".parse::<IdempotencyKey>().is_ok());
    }

    #[test]
    fn sealed_responses_open_only_with_the_same_key_and_account() {
        let k: IdempotencyKey = "key-1".parse().unwrap();
        let sealed = k.seal(&account(), [7; 12], b"{\"key\":\"tng_secret\"}");
        assert!(!sealed.windows(10).any(|w| w == b"tng_secret"));
        assert_eq!(k.open(&account(), &sealed).as_deref(), Some(&b"{\"key\":\"tng_secret\"}"[..]));
        let other: IdempotencyKey = "key-2".parse().unwrap();
        assert_eq!(other.open(&account(), &sealed), None);
        assert_eq!(k.open(&AccountId::from_uuid(uuid::Uuid::from_u128(2)), &sealed), None);
        let mut tampered = sealed.clone();
        tampered[15] ^= 1;
        assert_eq!(k.open(&account(), &tampered), None);
    }

    #[test]
    fn lookup_hashes_are_per_account_and_server_key_and_fingerprints_per_request() {
        let k: IdempotencyKey = "key-1".parse().unwrap();
        let lk = LookupKey::new([1; 32]);
        assert_ne!(k.lookup_hash(&lk, &account()), k.lookup_hash(&lk, &AccountId::from_uuid(uuid::Uuid::from_u128(2))));
        // Without the server's key, the hash of a short key cannot be recomputed.
        assert_ne!(k.lookup_hash(&lk, &account()), k.lookup_hash(&LookupKey::new([2; 32]), &account()));
        let mut plain = Sha256::new();
        plain.update(format!("{}\0key-1", account()).as_bytes());
        assert_ne!(k.lookup_hash(&lk, &account()), <[u8; 32]>::from(plain.finalize()));
        assert_ne!(fingerprint("POST", "/a", b"{}"), fingerprint("POST", "/b", b"{}"));
        assert_ne!(fingerprint("POST", "/a", b"{}"), fingerprint("POST", "/a", b"{ }"));
    }
}
