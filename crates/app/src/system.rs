//! The system adapters of the small ports: wall clock, UUIDv7 ids, OS randomness.

use chrono::{DateTime, Utc};
use rand::distributions::{Alphanumeric, DistString};
use rand::rngs::OsRng;
use rand::RngCore;
use tengine_domain::api_key::RANDOM_LEN;
use tengine_domain::webhook::WebhookSecret;
use tengine_domain::{time, PlainApiKey};
use tengine_ports::{Clock, IdGenerator, SecretGenerator};
use uuid::Uuid;

/// The wall clock, truncated to microseconds.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        time::truncate_micros(Utc::now())
    }
}

/// Time-ordered UUIDv7 ids.
pub struct UuidV7Ids;

impl IdGenerator for UuidV7Ids {
    fn next_uuid(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// Keys from the operating system's CSPRNG.
pub struct OsSecrets;

impl SecretGenerator for OsSecrets {
    fn api_key(&self) -> PlainApiKey {
        let random = Alphanumeric.sample_string(&mut OsRng, RANDOM_LEN);
        // Alphanumeric is exactly the base62 alphabet, so this cannot fail.
        PlainApiKey::from_random(&random).unwrap_or_else(|_| unreachable!("alphanumeric is base62"))
    }

    fn webhook_secret(&self) -> WebhookSecret {
        let mut bytes = [0u8; 24];
        OsRng.fill_bytes(&mut bytes);
        WebhookSecret::from_random(&bytes)
    }

    fn nonce(&self) -> tengine_domain::secret_key::Nonce {
        let mut nonce = [0u8; 24];
        OsRng.fill_bytes(&mut nonce);
        nonce
    }
}
