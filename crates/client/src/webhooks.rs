//! Verifying webhook deliveries (both signature schemes), with the same code the
//! server signs with.

use chrono::Utc;
use tengine_domain::webhook::{verify_standard, verify_tengine, WebhookSecret};

use crate::models::Event;

/// Why a delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The secret is not a valid webhook secret.
    #[error("invalid secret")]
    Secret,
    /// Neither signature scheme's headers are present.
    #[error("missing signature headers")]
    MissingHeaders,
    /// The signature does not match, or the timestamp is outside the tolerance.
    #[error("signature verification failed: {0}")]
    Invalid(tengine_domain::webhook::VerifyError),
    /// The body is not an event.
    #[error("payload is not a Tengine event: {0}")]
    Payload(String),
}

/// Verifies a delivery and returns its event. `header` looks a header up by its
/// lower-case name. The Standard Webhooks headers are preferred (they carry a signed
/// timestamp, checked against `tolerance_secs`); `X-Tengine-Signature` is the fallback.
///
/// # Errors
/// [`VerifyError`] when the delivery is not authentic.
pub fn verify<'h>(
    payload: &[u8],
    header: impl Fn(&str) -> Option<&'h str>,
    secret: &str,
    tolerance_secs: i64,
) -> Result<Event, VerifyError> {
    let secret: WebhookSecret = secret.parse().map_err(|_| VerifyError::Secret)?;
    match (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
        header("x-tengine-signature"),
    ) {
        (Some(id), Some(ts), Some(sig), _) => {
            verify_standard(&secret, id, ts, payload, sig, Utc::now(), tolerance_secs).map_err(VerifyError::Invalid)?
        }
        (_, _, _, Some(sig)) => verify_tengine(&secret, payload, sig).map_err(VerifyError::Invalid)?,
        _ => return Err(VerifyError::MissingHeaders),
    }
    serde_json::from_slice(payload).map_err(|e| VerifyError::Payload(e.to_string()))
}
