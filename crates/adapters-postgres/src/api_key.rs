//! API key records: lookup by digest, listing, last-use stamps and writes.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use tengine_domain::{AccountId, ApiKey, ApiKeyDigest, ApiKeyId, ApiKeySummary, Page, PageRequest, ProjectId};
use tengine_ports::{ApiKeyRepository, RepoError};

use crate::error::{affected, map_err};
use crate::list::List;
use crate::rows::{api_key_columns, ApiKeyRow, ApiKeySummaryRow, Guard, API_KEY_SUMMARY_COLUMNS};
use crate::PgStore;

/// Reads any key by id and locks it.
pub(crate) async fn lock(ex: impl PgExecutor<'_>, id: ApiKeyId) -> Result<Option<ApiKey>, RepoError> {
    sqlx::query_as::<_, ApiKeyRow>(concat!("SELECT ", api_key_columns!(), " FROM api_keys WHERE id = $1 FOR UPDATE"))
        .bind(id.to_string())
        .fetch_optional(ex)
        .await
        .map_err(map_err)?
        .map(ApiKey::try_from)
        .transpose()
}

/// Inserts a key record; `Conflict` on a duplicate id or digest.
pub(crate) async fn insert(ex: impl PgExecutor<'_>, k: &ApiKey) -> Result<(), RepoError> {
    sqlx::query(concat!(
        "INSERT INTO api_keys (",
        api_key_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(k.id.to_string())
    .bind(k.account_id.to_string())
    .bind(k.scope.project().map(|p| p.to_string()))
    .bind(k.name.as_str())
    .bind(i16::from(k.permissions.bits()))
    .bind(&k.prefix)
    .bind(k.digest.as_bytes().as_slice())
    .bind(k.previous.as_ref().map(|p| p.digest.as_bytes().to_vec()))
    .bind(k.previous.as_ref().map(|p| p.expires_at))
    .bind(k.expires_at)
    .bind(k.created_at)
    .bind(k.updated_at)
    .bind(k.last_used_at)
    .bind(k.revoked_at)
    .execute(ex)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Writes every mutable field of a key (not `last_used_at`, which only moves forward).
pub(crate) async fn update(ex: impl PgExecutor<'_>, k: &ApiKey) -> Result<(), RepoError> {
    let done = sqlx::query(
        "UPDATE api_keys SET name = $2, permissions = $3, prefix = $4, digest = $5, \
         previous_digest = $6, previous_expires_at = $7, expires_at = $8, updated_at = $9, revoked_at = $10 \
         WHERE id = $1",
    )
    .bind(k.id.to_string())
    .bind(k.name.as_str())
    .bind(i16::from(k.permissions.bits()))
    .bind(&k.prefix)
    .bind(k.digest.as_bytes().as_slice())
    .bind(k.previous.as_ref().map(|p| p.digest.as_bytes().to_vec()))
    .bind(k.previous.as_ref().map(|p| p.expires_at))
    .bind(k.expires_at)
    .bind(k.updated_at)
    .bind(k.revoked_at)
    .execute(ex)
    .await
    .map_err(map_err)?;
    affected(done)
}

#[async_trait::async_trait]
impl ApiKeyRepository for PgStore {
    async fn find_by_digest(&self, digest: &ApiKeyDigest) -> Result<Option<ApiKey>, RepoError> {
        // Two index lookups rather than one OR, which could not use both unique indexes;
        // the left join keeps account-wide keys (no project) and drops deleted projects'.
        let mut conn = self.kept.acquire(&self.pool).await?;
        let row = sqlx::query_as::<_, ApiKeyRow>(concat!(
            "SELECT ",
            api_key_columns!(),
            " FROM (SELECT m.* FROM ( \
                 SELECT 0 AS rank, k.* FROM api_keys k WHERE k.digest = $1 \
                 UNION ALL SELECT 1 AS rank, k.* FROM api_keys k WHERE k.previous_digest = $1) m \
               LEFT JOIN projects p ON p.id = m.project_id \
               WHERE p.deleted_at IS NULL \
               ORDER BY m.rank LIMIT 1) found"
        ))
        .bind(digest.as_bytes().as_slice())
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?;
        conn.keep();
        row.map(ApiKey::try_from).transpose()
    }

    async fn find_api_key_by_id(&self, id: ApiKeyId) -> Result<Option<ApiKey>, RepoError> {
        sqlx::query_as::<_, ApiKeyRow>(concat!(
            "SELECT ",
            api_key_columns!(),
            " FROM (SELECT k.* FROM api_keys k LEFT JOIN projects p ON p.id = k.project_id \
               WHERE k.id = $1 AND p.deleted_at IS NULL) found"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .map(ApiKey::try_from)
        .transpose()
    }

    async fn get_api_key(&self, project: ProjectId, id: ApiKeyId) -> Result<Option<ApiKey>, RepoError> {
        sqlx::query_as::<_, ApiKeyRow>(concat!(
            // By primary key, then the project (see `project::SELECT_LIVE`).
            "WITH k AS MATERIALIZED (SELECT ",
            api_key_columns!(),
            " FROM api_keys WHERE id = $2) SELECT * FROM k WHERE project_id = $1"
        ))
        .bind(project.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.pool)
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
            scope: "project_id = $1",
            binds: &[Some(project.as_str()), Some(account.as_str())],
            counter: Some(format!("api_keys:{project}")),
            guard: Some(Guard::Project),
        };
        list.read::<ApiKeySummaryRow>(self, page).await?.try_map(ApiKeySummary::try_from)
    }

    async fn touch_last_used(&self, uses: &[(ApiKeyId, DateTime<Utc>)]) -> Result<(), RepoError> {
        if uses.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = uses.iter().map(|(id, _)| id.to_string()).collect();
        let ats: Vec<DateTime<Utc>> = uses.iter().map(|(_, at)| *at).collect();
        // One statement for the whole batch; duplicates collapse to their latest use.
        sqlx::query(
            "UPDATE api_keys k SET last_used_at = GREATEST(k.last_used_at, u.at) \
             FROM (SELECT id, MAX(at) AS at FROM UNNEST($1::text[], $2::timestamptz[]) AS t(id, at) GROUP BY id) u \
             WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)",
        )
        .bind(&ids)
        .bind(&ats)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }
}
