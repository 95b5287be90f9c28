//! Idempotency records: at most one execution per (account, Idempotency-Key) for 24
//! hours, and the response to replay.

use chrono::{DateTime, Utc};
use tengine_domain::AccountId;

use crate::RepoError;

/// A response kept for replay; `body` is sealed (see `tengine_domain::idempotency`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The status code.
    pub status: u16,
    /// Headers to replay (content type, location).
    pub headers: Vec<(String, String)>,
    /// The sealed body.
    pub body: Vec<u8>,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// This caller owns the key now and must complete or release it.
    Claimed,
    /// Another request with the same key ran or runs; its fingerprint and, once it
    /// finished, its response.
    Existing {
        /// The first request's fingerprint.
        fingerprint: [u8; 32],
        /// Its response, or `None` while it is still running.
        response: Option<StoredResponse>,
    },
}

/// Stores idempotency records.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait::async_trait]
pub trait IdempotencyRepository: Send + Sync {
    /// Claims `key_hash` for `account` unless a live record exists. A record that is
    /// still running but whose lock passed `stale_before` (its instance died) is taken
    /// over; expired records (older than `expired_before`) count as absent.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn claim_idempotency(
        &self,
        account: AccountId,
        key_hash: [u8; 32],
        fingerprint: [u8; 32],
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
        expired_before: DateTime<Utc>,
    ) -> Result<IdempotencyClaim, RepoError>;

    /// Stores the response of a claimed key.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn complete_idempotency(
        &self,
        account: AccountId,
        key_hash: [u8; 32],
        response: &StoredResponse,
    ) -> Result<(), RepoError>;

    /// Drops a claimed key without a response (the request failed with a 5xx), so a
    /// retry runs again.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn release_idempotency(&self, account: AccountId, key_hash: [u8; 32]) -> Result<(), RepoError>;

    /// Deletes records created before `before`.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn purge_idempotency(&self, before: DateTime<Utc>) -> Result<u64, RepoError>;
}
