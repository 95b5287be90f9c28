//! Idempotency records: claims, stored responses, releases and purging. A claim's
//! write and read share one immediate write transaction, so claims never race.

use chrono::{DateTime, Utc};
use tengine_domain::AccountId;
use tengine_ports::{IdempotencyClaim, IdempotencyRepository, RepoError, StoredResponse};

use crate::error::map_err;
use crate::rows::{headers_json, idempotency_columns, micros, IdempotencyRow};
use crate::SqliteStore;

/// Inserts a fresh claim, or replaces a record that expired (`created_at < ?6`) or
/// whose claim went stale without a response (`locked_at < ?5`).
const CLAIM: &str = "\
INSERT INTO idempotency_keys AS k (account_id, key_hash, fingerprint, created_at, locked_at) \
VALUES (?1, ?2, ?3, ?4, ?4) \
ON CONFLICT (account_id, key_hash) DO UPDATE SET \
    fingerprint = excluded.fingerprint, created_at = excluded.created_at, locked_at = excluded.locked_at, \
    response_status = NULL, response_headers = NULL, response_body = NULL \
WHERE k.created_at < ?6 OR (k.response_status IS NULL AND k.locked_at < ?5)";

const EXISTING: &str =
    concat!("SELECT ", idempotency_columns!(), " FROM idempotency_keys WHERE account_id = ?1 AND key_hash = ?2");

/// Stores the first response only: a late completion of a claim that was taken over
/// does not replace what may already have been replayed.
const COMPLETE: &str = "\
UPDATE idempotency_keys SET response_status = ?3, response_headers = ?4, response_body = ?5 \
WHERE account_id = ?1 AND key_hash = ?2 AND response_status IS NULL";

#[async_trait::async_trait]
impl IdempotencyRepository for SqliteStore {
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
        let mut tx = self.begin_immediate().await?;
        let done = sqlx::query(CLAIM)
            .bind(&account)
            .bind(&key_hash[..])
            .bind(&fingerprint[..])
            .bind(micros(now))
            .bind(micros(stale_before))
            .bind(micros(expired_before))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let claim = if done.rows_affected() == 1 {
            IdempotencyClaim::Claimed
        } else {
            sqlx::query_as::<_, IdempotencyRow>(EXISTING)
                .bind(&account)
                .bind(&key_hash[..])
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?
                .try_into()?
        };
        tx.commit().await.map_err(map_err)?;
        Ok(claim)
    }

    async fn complete_idempotency(
        &self,
        account: AccountId,
        key_hash: [u8; 32],
        response: &StoredResponse,
    ) -> Result<(), RepoError> {
        // No row touched means the record was released, purged or already completed;
        // the caller has its response either way.
        let mut tx = self.begin_immediate().await?;
        sqlx::query(COMPLETE)
            .bind(account.to_string())
            .bind(&key_hash[..])
            .bind(i64::from(response.status))
            .bind(headers_json(&response.headers)?)
            .bind(&response.body[..])
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn release_idempotency(&self, account: AccountId, key_hash: [u8; 32]) -> Result<(), RepoError> {
        let mut tx = self.begin_immediate().await?;
        sqlx::query("DELETE FROM idempotency_keys WHERE account_id = ?1 AND key_hash = ?2 AND response_status IS NULL")
            .bind(account.to_string())
            .bind(&key_hash[..])
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn purge_idempotency(&self, before: DateTime<Utc>) -> Result<u64, RepoError> {
        let mut tx = self.begin_immediate().await?;
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < ?1")
            .bind(micros(before))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(done.rows_affected())
    }
}
