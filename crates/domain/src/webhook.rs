//! Webhook secrets and signatures: the reference's `X-Tengine-Signature` and the
//! Standard Webhooks scheme. Pure functions, shared with the SDKs.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{FieldError, ValidationError};

type HmacSha256 = Hmac<Sha256>;

/// The prefix of generated (and Standard Webhooks) secrets.
pub const SECRET_PREFIX: &str = "whsec_";

/// A webhook signing secret: 8..=256 characters; `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// A generated secret: `whsec_` + base64 of 24 random bytes.
    pub fn from_random(bytes: &[u8; 24]) -> Self {
        Self(format!("{SECRET_PREFIX}{}", B64.encode(bytes)))
    }

    /// The secret itself, for the one response that shows it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The HMAC key of the Standard Webhooks scheme: the base64-decoded part after
    /// `whsec_` when the secret has that form, else the secret's UTF-8 bytes.
    pub fn standard_key(&self) -> Vec<u8> {
        self.0
            .strip_prefix(SECRET_PREFIX)
            .and_then(|b| B64.decode(b).ok())
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| self.0.as_bytes().to_vec())
    }
}

impl FromStr for WebhookSecret {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let len = s.chars().count();
        if !(8..=256).contains(&len) {
            return Err(FieldError::new("secret", "must be between 8 and 256 characters").into());
        }
        if s.chars().any(char::is_control) {
            return Err(FieldError::new("secret", "must not contain control characters").into());
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

fn mac(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    // HMAC takes keys of any length; this cannot fail.
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("hmac accepts any key"));
    for p in parts {
        m.update(p);
    }
    m
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`, the reference's `X-Tengine-Signature`.
pub fn tengine_signature(secret: &WebhookSecret, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(mac(secret.0.as_bytes(), &[body]).finalize().into_bytes()))
}

/// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, a Standard Webhooks
/// signature.
pub fn standard_signature(secret: &WebhookSecret, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    let m = mac(&secret.standard_key(), &[msg_id.as_bytes(), b".", ts.as_bytes(), b".", body]);
    format!("v1,{}", B64.encode(m.finalize().into_bytes()))
}

/// The signature headers of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signatures {
    /// `X-Tengine-Signature`: one `sha256=` value per secret, comma-separated.
    pub tengine: String,
    /// `webhook-signature`: one `v1,` value per secret, space-separated.
    pub standard: String,
}

/// Signs `body` under every secret in `secrets` (the newest first, as after a rotation).
pub fn sign(secrets: &[&WebhookSecret], msg_id: &str, at: DateTime<Utc>, body: &[u8]) -> Signatures {
    let ts = at.timestamp();
    Signatures {
        tengine: secrets.iter().map(|s| tengine_signature(s, body)).collect::<Vec<_>>().join(","),
        standard: secrets.iter().map(|s| standard_signature(s, msg_id, ts, body)).collect::<Vec<_>>().join(" "),
    }
}

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No value in the header matches.
    #[error("no matching signature")]
    NoMatch,
    /// The timestamp is too far from now (a replay, or a skewed clock).
    #[error("timestamp outside the tolerance")]
    Stale,
    /// The header or timestamp is malformed.
    #[error("malformed signature header")]
    Malformed,
}

/// Checks an `X-Tengine-Signature` header (any of its comma-separated values) in
/// constant time.
///
/// # Errors
/// `NoMatch` or `Malformed`.
pub fn verify_tengine(secret: &WebhookSecret, body: &[u8], header: &str) -> Result<(), VerifyError> {
    let mut any = false;
    for value in header.split(',').map(str::trim) {
        let Some(hex_sig) = value.strip_prefix("sha256=") else { continue };
        let Ok(sig) = hex::decode(hex_sig) else { continue };
        any = true;
        if mac(secret.0.as_bytes(), &[body]).verify_slice(&sig).is_ok() {
            return Ok(());
        }
    }
    Err(if any { VerifyError::NoMatch } else { VerifyError::Malformed })
}

/// Checks Standard Webhooks headers: the timestamp within `tolerance_secs` of `now`
/// and any `v1,` signature matching, in constant time.
///
/// # Errors
/// `Stale`, `NoMatch` or `Malformed`.
pub fn verify_standard(
    secret: &WebhookSecret,
    msg_id: &str,
    timestamp: &str,
    body: &[u8],
    header: &str,
    now: DateTime<Utc>,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let ts: i64 = timestamp.trim().parse().map_err(|_| VerifyError::Malformed)?;
    if (now.timestamp() - ts).abs() > tolerance_secs {
        return Err(VerifyError::Stale);
    }
    let signed = [msg_id.as_bytes(), b".", timestamp.trim().as_bytes(), b".", body];
    for value in header.split(' ') {
        let Some(b64) = value.strip_prefix("v1,") else { continue };
        let Ok(sig) = B64.decode(b64) else { continue };
        if mac(&secret.standard_key(), &signed).verify_slice(&sig).is_ok() {
            return Ok(());
        }
    }
    Err(VerifyError::NoMatch)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tengine_signature_matches_a_known_hmac() {
        // Python: hmac.new(b"webhook_secret", b'{"a":1}', hashlib.sha256).hexdigest()
        let s: WebhookSecret = "webhook_secret".parse().unwrap();
        assert_eq!(
            tengine_signature(&s, br#"{"a":1}"#),
            "sha256=390d371f721d967964b2b8ada6efc07cc89a9d3334685e93cb109b020050c535"
        );
    }

    #[test]
    fn standard_signature_matches_the_specs_example() {
        // The example of the Standard Webhooks specification.
        let s: WebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".parse().unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            standard_signature(&s, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn plain_secrets_sign_with_their_bytes_and_whsec_ones_with_the_decoded_key() {
        let plain: WebhookSecret = "webhook_secret".parse().unwrap();
        assert_eq!(plain.standard_key(), b"webhook_secret");
        let generated = WebhookSecret::from_random(&[7; 24]);
        assert!(generated.expose_secret().starts_with("whsec_"));
        assert_eq!(generated.standard_key(), vec![7; 24]);
    }

    #[test]
    fn dual_signatures_verify_under_either_secret() {
        let old: WebhookSecret = "old-secret-1".parse().unwrap();
        let new = WebhookSecret::from_random(&[9; 24]);
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let sigs = sign(&[&new, &old], "evt_1", at, b"{}");
        assert_eq!(sigs.tengine.split(',').count(), 2);
        for s in [&new, &old] {
            verify_tengine(s, b"{}", &sigs.tengine).unwrap();
            verify_standard(s, "evt_1", "1800000000", b"{}", &sigs.standard, at, 300).unwrap();
        }
        let stranger: WebhookSecret = "another-secret".parse().unwrap();
        assert_eq!(verify_tengine(&stranger, b"{}", &sigs.tengine), Err(VerifyError::NoMatch));
        assert_eq!(verify_tengine(&new, b"{ }", &sigs.tengine), Err(VerifyError::NoMatch));
        let later = at + chrono::Duration::seconds(301);
        assert_eq!(
            verify_standard(&new, "evt_1", "1800000000", b"{}", &sigs.standard, later, 300),
            Err(VerifyError::Stale)
        );
    }

    #[test]
    fn secrets_are_bounded_and_redacted() {
        assert!("short".parse::<WebhookSecret>().is_err());
        assert!("x".repeat(257).parse::<WebhookSecret>().is_err());
        let s: WebhookSecret = "a-long-enough-secret".parse().unwrap();
        assert_eq!(format!("{s:?}"), "WebhookSecret(***)");
    }
}
