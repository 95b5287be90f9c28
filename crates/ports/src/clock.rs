//! Time and randomness, injected so the core stays deterministic under test.

use chrono::{DateTime, Utc};
use tengine_domain::PlainApiKey;
use uuid::Uuid;

/// The current time.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, truncated to microseconds (what every store keeps).
    fn now(&self) -> DateTime<Utc>;
}

/// Fresh ids.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait IdGenerator: Send + Sync {
    /// A new time-ordered UUID (v7).
    fn next_uuid(&self) -> Uuid;
}

/// Fresh secrets from a cryptographically secure source.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait SecretGenerator: Send + Sync {
    /// A new random API key.
    fn api_key(&self) -> PlainApiKey;

    /// A new random webhook secret (`whsec_` + base64 of 24 bytes).
    fn webhook_secret(&self) -> tengine_domain::webhook::WebhookSecret;

    /// A fresh random nonce for sealing a secret.
    fn nonce(&self) -> tengine_domain::secret_key::Nonce;
}
