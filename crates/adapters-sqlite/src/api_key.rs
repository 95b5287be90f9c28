//! API key records: lookup by digest, listing, last-use stamps and writes.

use chrono::{DateTime, Utc};
use sqlx::SqliteExecutor;
use tengine_domain::{AccountId, ApiKey, ApiKeyDigest, ApiKeyId, ApiKeySummary, Page, PageRequest, ProjectId};
use tengine_ports::{ApiKeyRepository, RepoError};

use crate::error::{affected, map_err};
use crate::list::List;
use crate::rows::{api_key_columns, micros, opt_micros, ApiKeyRow, ApiKeySummaryRow, Guard, API_KEY_SUMMARY_COLUMNS};
use crate::SqliteStore;

/// Reads any key by id (a lock inside an immediate transaction).
pub(crate) async fn fetch(ex: impl SqliteExecutor<'_>, id: ApiKeyId) -> Result<Option<ApiKey>, RepoError> {
    sqlx::query_as::<_, ApiKeyRow>(concat!("SELECT ", api_key_columns!(), " FROM api_keys WHERE id = ?1"))
        .bind(id.to_string())
        .fetch_optional(ex)
        .await
        .map_err(map_err)?
        .map(ApiKey::try_from)
        .transpose()
}

/// Inserts a key record; `Conflict` on a duplicate id or digest.
pub(crate) async fn insert(ex: impl SqliteExecutor<'_>, k: &ApiKey) -> Result<(), RepoError> {
    sqlx::query(concat!(
        "INSERT INTO api_keys (",
        api_key_columns!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
    ))
    .bind(k.id.to_string())
    .bind(k.account_id.to_string())
    .bind(k.scope.project().map(|p| p.to_string()))
    .bind(k.name.as_str())
    .bind(i64::from(k.permissions.bits()))
    .bind(&k.prefix)
    .bind(k.digest.as_bytes().to_vec())
    .bind(k.previous.as_ref().map(|p| p.digest.as_bytes().to_vec()))
    .bind(k.previous.as_ref().map(|p| micros(p.expires_at)))
    .bind(opt_micros(k.expires_at))
    .bind(micros(k.created_at))
    .bind(micros(k.updated_at))
    .bind(opt_micros(k.last_used_at))
    .bind(opt_micros(k.revoked_at))
    .execute(ex)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Writes every mutable field of a key (not `last_used_at`, which only moves forward).
pub(crate) async fn update(ex: impl SqliteExecutor<'_>, k: &ApiKey) -> Result<(), RepoError> {
    let done = sqlx::query(
        "UPDATE api_keys SET name = ?2, permissions = ?3, prefix = ?4, digest = ?5, \
         previous_digest = ?6, previous_expires_at = ?7, expires_at = ?8, updated_at = ?9, revoked_at = ?10 \
         WHERE id = ?1",
    )
    .bind(k.id.to_string())
    .bind(k.name.as_str())
    .bind(i64::from(k.permissions.bits()))
    .bind(&k.prefix)
    .bind(k.digest.as_bytes().to_vec())
    .bind(k.previous.as_ref().map(|p| p.digest.as_bytes().to_vec()))
    .bind(k.previous.as_ref().map(|p| micros(p.expires_at)))
    .bind(opt_micros(k.expires_at))
    .bind(micros(k.updated_at))
    .bind(opt_micros(k.revoked_at))
    .execute(ex)
    .await
    .map_err(map_err)?;
    affected(done)
}

#[async_trait::async_trait]
impl ApiKeyRepository for SqliteStore {
    async fn find_by_digest(&self, digest: &ApiKeyDigest) -> Result<Option<ApiKey>, RepoError> {
        // Two index lookups rather than one OR, which could not use both unique indexes;
        // the left join keeps account-wide keys (no project) and drops deleted projects'.
        let row = sqlx::query_as::<_, ApiKeyRow>(concat!(
            "SELECT ",
            api_key_columns!(),
            " FROM (SELECT m.* FROM ( \
                 SELECT 0 AS rank, k.* FROM api_keys k WHERE k.digest = ?1 \
                 UNION ALL SELECT 1 AS rank, k.* FROM api_keys k WHERE k.previous_digest = ?1) m \
               LEFT JOIN projects p ON p.id = m.project_id \
               WHERE p.deleted_at IS NULL \
               ORDER BY m.rank LIMIT 1) found"
        ))
        .bind(digest.as_bytes().to_vec())
        .fetch_optional(&self.reader)
        .await
        .map_err(map_err)?;
        row.map(ApiKey::try_from).transpose()
    }

    async fn find_api_key_by_id(&self, id: ApiKeyId) -> Result<Option<ApiKey>, RepoError> {
        sqlx::query_as::<_, ApiKeyRow>(concat!(
            "SELECT ",
            api_key_columns!(),
            " FROM (SELECT k.* FROM api_keys k LEFT JOIN projects p ON p.id = k.project_id \
               WHERE k.id = ?1 AND p.deleted_at IS NULL) found"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await
        .map_err(map_err)?
        .map(ApiKey::try_from)
        .transpose()
    }

    async fn get_api_key(&self, project: ProjectId, id: ApiKeyId) -> Result<Option<ApiKey>, RepoError> {
        sqlx::query_as::<_, ApiKeyRow>(concat!(
            "SELECT ",
            api_key_columns!(),
            " FROM api_keys WHERE project_id = ?1 AND id = ?2"
        ))
        .bind(project.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await
        .map_err(map_err)?
        .map(ApiKey::try_from)
        .transpose()
    }

    async fn list_api_keys(
        &self,
        account: AccountId,
        project: ProjectId,
        page: PageRequest,
    ) -> Result<Page<ApiKeySummary>, RepoError> {
        let (project, account) = (project.to_string(), account.to_string());
        let list = List {
            table: "api_keys",
            columns: API_KEY_SUMMARY_COLUMNS,
            scope: "project_id = ?1",
            binds: &[Some(project.as_str()), Some(account.as_str())],
            counter: Some(format!("api_keys:{project}")),
            guard: Some(Guard::Project),
        };
        list.fetch::<ApiKeySummaryRow>(&self.reader, page).await?.try_map(ApiKeySummary::try_from)
    }

    async fn touch_last_used(&self, uses: &[(ApiKeyId, DateTime<Utc>)]) -> Result<(), RepoError> {
        if uses.is_empty() {
            return Ok(());
        }
        // One write transaction for the batch; each row only ever moves forward.
        let mut tx = self.begin_immediate().await?;
        for (id, at) in uses {
            sqlx::query(
                "UPDATE api_keys SET last_used_at = ?2 \
                 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)",
            )
            .bind(id.to_string())
            .bind(micros(*at))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }
}
