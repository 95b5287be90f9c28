//! The server key and what it protects at rest: webhook and tool secrets sealed with
//! XChaCha20-Poly1305 (the key's id stored next to each ciphertext), and the key that
//! idempotency lookups are HMACed under. Pure: nonces come in as arguments.
//!
//! A key ring holds the current key, which seals, and previous keys, which still open
//! what they sealed until `tengine secrets rotate` has re-sealed it under the current one.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::idempotency::LookupKey;
use crate::ids::{ToolCallId, ToolId, WebhookId};
use crate::tool::fields::ToolSecret;
use crate::webhook::WebhookSecret;

/// What a sealed value starts with; anything else in the column is a plaintext secret
/// written by a version before encryption at rest.
const SEALED_PREFIX: &str = "tengine-sealed:v1:";

/// A nonce for [`Keyring::seal`]: 24 fresh random bytes (XChaCha20's extended nonce makes
/// random nonces safe for any number of messages).
pub type Nonce = [u8; 24];

fn hmac(key: &[u8], label: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length; this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("hmac accepts any key"));
    m.update(label);
    m.finalize().into_bytes().into()
}

/// Why a server key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a secret key must be 32 random bytes in standard base64 (make one with `openssl rand -base64 32`)")]
pub struct KeyFormatError;

/// A server key: 32 random bytes. `Debug` shows only its id.
#[derive(Clone)]
pub struct ServerKey {
    bytes: [u8; 32],
    id: KeyId,
}

impl ServerKey {
    /// The key made of `bytes`.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut id = [0u8; 8];
        id.copy_from_slice(&hmac(&bytes, b"tengine key id v1")[..8]);
        Self { bytes, id: KeyId(id) }
    }

    /// Its id: derived from the key, so every instance holding it agrees.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The key in standard base64, as `TENGINE_SECRET_KEY` takes it.
    pub fn to_base64(&self) -> String {
        B64.encode(self.bytes)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        // Sub-keys per use, so the AEAD key is never also an HMAC key.
        XChaCha20Poly1305::new(&hmac(&self.bytes, b"tengine webhook secret v1").into())
    }
}

impl FromStr for ServerKey {
    type Err = KeyFormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = B64.decode(s.trim()).map_err(|_| KeyFormatError)?;
        Ok(Self::from_bytes(bytes.try_into().map_err(|_| KeyFormatError)?))
    }
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerKey({})", self.id)
    }
}

/// A key's id: the first 8 bytes of an HMAC of a fixed label under it, in hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; 8]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// A webhook or tool secret as stored: sealed under a key of the ring, or, from a database
/// older than encryption at rest, plaintext.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret(String);

impl SealedSecret {
    /// Wraps what the store holds; nothing is checked until [`Keyring::open`].
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// What the store keeps.
    pub fn as_stored(&self) -> &str {
        &self.0
    }

    /// The id of the key that sealed it; `None` for a plaintext secret.
    pub fn key_id(&self) -> Option<&str> {
        self.0.strip_prefix(SEALED_PREFIX).and_then(|rest| rest.split_once(':')).map(|(id, _)| id)
    }
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.key_id() {
            Some(id) => write!(f, "SealedSecret({id})"),
            None => f.write_str("SealedSecret(plaintext)"),
        }
    }
}

/// Why a stored secret could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Sealed under a key the ring does not hold (configure it in
    /// `TENGINE_SECRET_KEYS_PREVIOUS`).
    #[error("sealed under key {0}, which is not configured")]
    UnknownKey(String),
    /// Not a well-formed sealed value, or altered, or sealed for another webhook.
    #[error("the sealed secret is malformed or was altered")]
    Corrupt,
}

/// The current key and the previous ones still accepted for reading.
#[derive(Debug, Clone)]
pub struct Keyring {
    current: ServerKey,
    previous: Vec<ServerKey>,
}

impl Keyring {
    /// A ring that seals under `current` and also opens what `previous` sealed.
    pub fn new(current: ServerKey, previous: Vec<ServerKey>) -> Self {
        Self { current, previous }
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> KeyId {
        self.current.id()
    }

    /// The key idempotency lookups are HMACed under, derived from the current key.
    pub fn lookup_key(&self) -> LookupKey {
        LookupKey::new(hmac(&self.current.bytes, b"tengine idempotency lookup v1"))
    }

    /// Seals `secret` of webhook `id` under the current key; the webhook id is bound as
    /// associated data, so a sealed value copied onto another webhook does not open.
    pub fn seal(&self, id: WebhookId, secret: &WebhookSecret, nonce: Nonce) -> SealedSecret {
        self.seal_bytes(WEBHOOK_LABEL, &id.to_string(), secret.expose_secret().as_bytes(), nonce)
    }

    /// Opens what [`Keyring::seal`] made for webhook `id` with any key of the ring; a
    /// plaintext secret from an older database is returned as it is.
    ///
    /// # Errors
    /// `UnknownKey` when no key of the ring has that id; `Corrupt` when the value is
    /// malformed, altered, or belongs to another webhook.
    pub fn open(&self, id: WebhookId, sealed: &SealedSecret) -> Result<WebhookSecret, OpenError> {
        if !sealed.0.starts_with(SEALED_PREFIX) {
            return sealed.0.parse().map_err(|_| OpenError::Corrupt);
        }
        let plain = self.open_bytes(WEBHOOK_LABEL, &id.to_string(), sealed)?;
        String::from_utf8(plain).map_err(|_| OpenError::Corrupt)?.parse().map_err(|_| OpenError::Corrupt)
    }

    /// Seals a tool's `encrypted_auth_secret` under the current key, bound to tool `id`.
    pub fn seal_tool_secret(&self, id: ToolId, secret: &ToolSecret, nonce: Nonce) -> SealedSecret {
        self.seal_bytes(TOOL_LABEL, &id.to_string(), secret.expose_secret().as_bytes(), nonce)
    }

    /// Opens what [`Keyring::seal_tool_secret`] made for tool `id` (tools never stored
    /// plaintext secrets, so a value that is not sealed is corrupt).
    ///
    /// # Errors
    /// `UnknownKey` when no key of the ring has that id; `Corrupt` otherwise.
    pub fn open_tool_secret(&self, id: ToolId, sealed: &SealedSecret) -> Result<ToolSecret, OpenError> {
        let plain = self.open_bytes(TOOL_LABEL, &id.to_string(), sealed)?;
        String::from_utf8(plain).map_err(|_| OpenError::Corrupt)?.parse().map_err(|_| OpenError::Corrupt)
    }

    /// Seals one part (`arguments` or `result`) of logged call `id` for the call log.
    pub fn seal_call_payload(&self, id: ToolCallId, part: &str, payload: &[u8], nonce: Nonce) -> SealedSecret {
        self.seal_bytes(CALL_LABEL, &format!("{id}/{part}"), payload, nonce)
    }

    /// Opens what [`Keyring::seal_call_payload`] made for that call and part.
    ///
    /// # Errors
    /// `UnknownKey` when no key of the ring has that id; `Corrupt` otherwise.
    pub fn open_call_payload(&self, id: ToolCallId, part: &str, sealed: &SealedSecret) -> Result<Vec<u8>, OpenError> {
        self.open_bytes(CALL_LABEL, &format!("{id}/{part}"), sealed)
    }

    fn seal_bytes(&self, label: &str, id: &str, msg: &[u8], nonce: Nonce) -> SealedSecret {
        let kid = self.current.id().to_string();
        let aad = associated_data(label, &kid, id);
        // Encryption into a Vec fails only for absurd lengths; secrets are a few KiB at most.
        let ct =
            self.current.cipher().encrypt(XNonce::from_slice(&nonce), Payload { msg, aad: &aad }).unwrap_or_default();
        let mut blob = nonce.to_vec();
        blob.extend(ct);
        SealedSecret(format!("{SEALED_PREFIX}{kid}:{}", B64URL.encode(blob)))
    }

    fn open_bytes(&self, label: &str, id: &str, sealed: &SealedSecret) -> Result<Vec<u8>, OpenError> {
        let rest = sealed.0.strip_prefix(SEALED_PREFIX).ok_or(OpenError::Corrupt)?;
        let (kid, blob) = rest.split_once(':').ok_or(OpenError::Corrupt)?;
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id().to_string() == kid)
            .ok_or_else(|| OpenError::UnknownKey(kid.to_owned()))?;
        let blob = B64URL.decode(blob).map_err(|_| OpenError::Corrupt)?;
        let (nonce, ct) = blob.split_at_checked(24).ok_or(OpenError::Corrupt)?;
        let aad = associated_data(label, kid, id);
        key.cipher().decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: &aad }).map_err(|_| OpenError::Corrupt)
    }

    /// Whether `sealed` should be sealed again: it is plaintext or under an older key.
    pub fn is_stale(&self, sealed: &SealedSecret) -> bool {
        sealed.key_id() != Some(self.current.id().to_string().as_str())
    }
}

/// What a webhook secret's associated data starts with (unchanged since v1).
const WEBHOOK_LABEL: &str = "tengine webhook secret v1";
/// What a tool secret's associated data starts with.
const TOOL_LABEL: &str = "tengine tool secret v1";
/// What a logged call's sealed arguments and result bind as associated data.
const CALL_LABEL: &str = "tengine tool call payload v1";

fn associated_data(label: &str, kid: &str, id: &str) -> Vec<u8> {
    format!("{label}\0{kid}\0{id}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> ServerKey {
        ServerKey::from_bytes([b; 32])
    }

    fn hook(n: u128) -> WebhookId {
        WebhookId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn secret() -> WebhookSecret {
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".parse().unwrap()
    }

    #[test]
    fn keys_are_32_bytes_of_standard_base64_and_their_ids_agree() {
        let k: ServerKey = B64.encode([9u8; 32]).parse().unwrap();
        assert_eq!(k.id(), key(9).id());
        assert_eq!(k.to_base64().parse::<ServerKey>().unwrap().id(), k.id());
        assert_ne!(key(1).id(), key(2).id());
        assert_eq!(B64.encode([9u8; 31]).parse::<ServerKey>().unwrap_err(), KeyFormatError);
        assert!("not base64!".parse::<ServerKey>().is_err());
        assert!(KeyFormatError.to_string().contains("openssl rand -base64 32"));
        assert!(!format!("{k:?}").contains(&k.to_base64()));
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_webhook_under_a_known_key() {
        let ring = Keyring::new(key(1), vec![]);
        let sealed = ring.seal(hook(1), &secret(), [7; 24]);
        assert!(!sealed.as_stored().contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
        assert_eq!(sealed.key_id(), Some(key(1).id().to_string().as_str()));
        assert_eq!(ring.open(hook(1), &sealed), Ok(secret()));
        assert_eq!(ring.open(hook(2), &sealed), Err(OpenError::Corrupt));
        let stranger = Keyring::new(key(2), vec![]);
        assert_eq!(stranger.open(hook(1), &sealed), Err(OpenError::UnknownKey(key(1).id().to_string())));
    }

    #[test]
    fn a_tampered_ciphertext_or_key_id_does_not_open() {
        let ring = Keyring::new(key(1), vec![key(2)]);
        let sealed = ring.seal(hook(1), &secret(), [7; 24]).as_stored().to_owned();
        let mut flipped = sealed.clone().into_bytes();
        let last = flipped.len() - 3;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = SealedSecret::from_stored(String::from_utf8(flipped).unwrap());
        assert_eq!(ring.open(hook(1), &flipped), Err(OpenError::Corrupt));
        // Claiming another key of the ring sealed it fails authentication too.
        let relabelled = sealed.replace(&key(1).id().to_string(), &key(2).id().to_string());
        assert_eq!(ring.open(hook(1), &SealedSecret::from_stored(relabelled)), Err(OpenError::Corrupt));
        let unknown = sealed.replace(&key(1).id().to_string(), "0000000000000000");
        assert!(matches!(ring.open(hook(1), &SealedSecret::from_stored(unknown)), Err(OpenError::UnknownKey(_))));
        let truncated = SealedSecret::from_stored(format!("{SEALED_PREFIX}{}:AAAA", key(1).id()));
        assert_eq!(ring.open(hook(1), &truncated), Err(OpenError::Corrupt));
    }

    #[test]
    fn previous_keys_open_until_resealed_and_plaintext_still_reads() {
        let old = Keyring::new(key(1), vec![]);
        let sealed = old.seal(hook(1), &secret(), [7; 24]);
        let rotated = Keyring::new(key(2), vec![key(1)]);
        assert_eq!(rotated.open(hook(1), &sealed), Ok(secret()));
        assert!(rotated.is_stale(&sealed));
        let resealed = rotated.seal(hook(1), &secret(), [8; 24]);
        assert!(!rotated.is_stale(&resealed));
        assert_eq!(Keyring::new(key(2), vec![]).open(hook(1), &resealed), Ok(secret()));
        let legacy = SealedSecret::from_stored(secret().expose_secret().to_owned());
        assert_eq!(rotated.open(hook(1), &legacy), Ok(secret()));
        assert!(rotated.is_stale(&legacy));
    }

    #[test]
    fn a_tool_secret_opens_only_for_its_tool_and_never_as_a_webhook_secret() {
        let ring = Keyring::new(key(1), vec![]);
        let tool = |n| ToolId::from_uuid(uuid::Uuid::from_u128(n));
        let s: ToolSecret = "tool-secret-0123456789".parse().unwrap();
        let sealed = ring.seal_tool_secret(tool(1), &s, [7; 24]);
        assert!(!sealed.as_stored().contains("tool-secret"));
        assert_eq!(ring.open_tool_secret(tool(1), &sealed), Ok(s));
        assert_eq!(ring.open_tool_secret(tool(2), &sealed), Err(OpenError::Corrupt));
        // Same uuid, other kind: the label and the id prefix both differ.
        assert_eq!(ring.open(hook(1), &sealed), Err(OpenError::Corrupt));
        let plaintext = SealedSecret::from_stored("tool-secret-0123456789".into());
        assert_eq!(ring.open_tool_secret(tool(1), &plaintext), Err(OpenError::Corrupt));
    }

    #[test]
    fn lookup_keys_differ_per_server_key() {
        assert_ne!(Keyring::new(key(1), vec![]).lookup_key(), Keyring::new(key(2), vec![]).lookup_key());
    }
}
