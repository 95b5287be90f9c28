//! Idempotency records: atomic claims, stored responses, releases and purging.

use chrono::{DateTime, Utc};
use tengine_domain::AccountId;
use tengine_ports::{IdempotencyClaim, IdempotencyRepository, RepoError, StoredResponse};

use crate::error::map_err;
use crate::rows::{headers_json, idempotency_columns, IdempotencyRow};
use crate::PgStore;

/// Inserts a fresh claim, or replaces a record that expired (`created_at < $6`) or
/// whose claim went stale without a response (`locked_at < $5`). A concurrent claim
/// of the same key waits for the row lock and re-checks the condition on the row it
/// left, so exactly one of them writes.
const CLAIM: &str = "\
INSERT INTO idempotency_keys AS k (account_id, key_hash, fingerprint, created_at, locked_at) \
VALUES ($1, $2, $3, $4, $4) \
ON CONFLICT (account_id, key_hash) DO UPDATE SET \
    fingerprint = EXCLUDED.fingerprint, created_at = EXCLUDED.created_at, locked_at = EXCLUDED.locked_at, \
    response_status = NULL, response_headers = NULL, response_body = NULL \
WHERE k.created_at < $6 OR (k.response_status IS NULL AND k.locked_at < $5)";

const EXISTING: &str =
    concat!("SELECT ", idempotency_columns!(), " FROM idempotency_keys WHERE account_id = $1 AND key_hash = $2");

/// Stores the first response only: a late completion of a claim that was taken over
/// does not replace what may already have been replayed.
const COMPLETE: &str = "\
UPDATE idempotency_keys SET response_status = $3, response_headers = $4, response_body = $5 \
WHERE account_id = $1 AND key_hash = $2 AND response_status IS NULL";

/// Claim attempts before giving up: the row that blocked the insert can vanish
/// (released or purged) before it is read, and then the next attempt inserts.
const CLAIM_ATTEMPTS: usize = 2;

#[async_trait::async_trait]
impl IdempotencyRepository for PgStore {
    async fn claim_idempotency(
        &self,
        account: AccountId,
        key_hash: [u8; 32],
        fingerprint: [u8; 32],
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
        expired_before: DateTime<Utc>,
    ) -> Result<IdempotencyClaim, RepoError> {
        let account = account.to_string();
        for _ in 0..CLAIM_ATTEMPTS {
            let done = sqlx::query(CLAIM)
                .bind(&account)
                .bind(&key_hash[..])
                .bind(&fingerprint[..])
                .bind(now)
                .bind(stale_before)
                .bind(expired_before)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            if done.rows_affected() == 1 {
                return Ok(IdempotencyClaim::Claimed);
            }
            // A new statement, so a new snapshot: it sees the row that blocked ours.
            let existing = sqlx::query_as::<_, IdempotencyRow>(EXISTING)
                .bind(&account)
                .bind(&key_hash[..])
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
            if let Some(row) = existing {
                return row.try_into();
            }
        }
        Err(RepoError::Unavailable("an idempotency key kept changing during the claim".into()))
    }

    async fn complete_idempotency(
        &self,
        account: AccountId,
        key_hash: [u8; 32],
        response: &StoredResponse,
    ) -> Result<(), RepoError> {
        // No row touched means the record was released, purged or already completed;
        // the caller has its response either way.
        sqlx::query(COMPLETE)
            .bind(account.to_string())
            .bind(&key_hash[..])
            .bind(i32::from(response.status))
            .bind(headers_json(&response.headers)?)
            .bind(&response.body[..])
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn release_idempotency(&self, account: AccountId, key_hash: [u8; 32]) -> Result<(), RepoError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE account_id = $1 AND key_hash = $2 AND response_status IS NULL")
            .bind(account.to_string())
            .bind(&key_hash[..])
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn purge_idempotency(&self, before: DateTime<Utc>) -> Result<u64, RepoError> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}
