//! Projects' signing keys for member assertions, and used assertion ids.

use chrono::{DateTime, Utc};
use tengine_domain::member_session::SigningKey;
use tengine_domain::{Page, PageRequest, ProjectId, SigningKeyId};
use tengine_ports::{RepoError, SigningKeyRepository};
use tengine_storage_rows::{convert, stored_public_key, SIGNING_KEY_COLUMNS};

use crate::error::map_err;
use crate::rows::Pg;
use crate::PgStore;

type SigningKeyRow = tengine_storage_rows::SigningKeyRow<Pg>;

#[async_trait::async_trait]
impl SigningKeyRepository for PgStore {
    async fn insert_signing_key(&self, k: &SigningKey) -> Result<(), RepoError> {
        let (format, text) = stored_public_key(&k.key);
        sqlx::query(&format!(
            "INSERT INTO signing_keys ({SIGNING_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(k.id.to_string())
        .bind(k.account_id.to_string())
        .bind(k.project_id.to_string())
        .bind(&k.kid)
        .bind(k.alg.as_str())
        .bind(format)
        .bind(text)
        .bind(k.created_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn list_signing_keys(&self, project: ProjectId, page: PageRequest) -> Result<Page<SigningKey>, RepoError> {
        let project = project.to_string();
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM signing_keys WHERE project_id = $1")
            .bind(&project)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        let rows = sqlx::query_as::<_, SigningKeyRow>(&format!(
            "SELECT {SIGNING_KEY_COLUMNS} FROM signing_keys WHERE project_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(&project)
        .bind(i64::from(page.per_page()))
        .bind(i64::try_from(page.offset()).map_err(RepoError::other)?)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(Page::new(convert(rows)?, u64::try_from(count).map_err(RepoError::other)?, page))
    }

    async fn get_signing_key(&self, project: ProjectId, id: SigningKeyId) -> Result<Option<SigningKey>, RepoError> {
        sqlx::query_as::<_, SigningKeyRow>(&format!(
            "SELECT {SIGNING_KEY_COLUMNS} FROM signing_keys WHERE project_id = $1 AND id = $2"
        ))
        .bind(project.to_string())
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .map(SigningKey::try_from)
        .transpose()
    }

    async fn find_signing_key(&self, project: ProjectId, kid: &str) -> Result<Option<SigningKey>, RepoError> {
        sqlx::query_as::<_, SigningKeyRow>(&format!(
            "SELECT {SIGNING_KEY_COLUMNS} FROM signing_keys WHERE project_id = $1 AND kid = $2"
        ))
        .bind(project.to_string())
        .bind(kid)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .map(SigningKey::try_from)
        .transpose()
    }

    async fn delete_signing_key(&self, project: ProjectId, id: SigningKeyId) -> Result<bool, RepoError> {
        let done = sqlx::query("DELETE FROM signing_keys WHERE project_id = $1 AND id = $2")
            .bind(project.to_string())
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn claim_assertion_jti(
        &self,
        project: ProjectId,
        jti: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, RepoError> {
        let done = sqlx::query(
            "INSERT INTO assertion_jtis (project_id, jti, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (project_id, jti) DO NOTHING",
        )
        .bind(project.to_string())
        .bind(jti)
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn purge_assertion_jtis(&self, before: DateTime<Utc>) -> Result<u64, RepoError> {
        let done = sqlx::query("DELETE FROM assertion_jtis WHERE expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}
