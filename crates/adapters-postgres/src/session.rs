//! Browser sessions, found by the digests of their secrets.

use chrono::{DateTime, Utc};
use tengine_domain::session::{Session, SessionKind};
use tengine_domain::{AccountId, ApiKey, Page, PageRequest, ProjectId, SessionId};
use tengine_ports::{ApiKeyRepository, RepoError, SessionRepository};
use tengine_storage_rows::{convert, SessionValues, SESSION_COLUMNS};

use crate::error::map_err;
use crate::rows::Pg;
use crate::PgStore;

type SessionRow = tengine_storage_rows::SessionRow<Pg>;

#[async_trait::async_trait]
impl SessionRepository for PgStore {
    async fn insert_session(
        &self,
        s: &Session,
        token: Option<[u8; 32]>,
        code: Option<[u8; 32]>,
    ) -> Result<(), RepoError> {
        let v = SessionValues::of(s);
        sqlx::query(
            "INSERT INTO sessions (id, kind, account_id, api_key_id, project_id, permissions, sections, \
             allowed_origins, theme, member, token_digest, code_digest, expires_at, created_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL)",
        )
        .bind(s.id.to_string())
        .bind(s.kind.as_str())
        .bind(s.account_id.to_string())
        .bind(s.key_id.to_string())
        .bind(s.project_id.map(|p| p.to_string()))
        .bind(i16::from(s.permissions.bits()))
        .bind(v.sections)
        .bind(v.allowed_origins)
        .bind(v.theme)
        .bind(v.member)
        .bind(token.map(|t| t.to_vec()))
        .bind(code.map(|c| c.to_vec()))
        .bind(s.expires_at)
        .bind(s.created_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn find_session(&self, token: [u8; 32]) -> Result<Option<(Session, ApiKey)>, RepoError> {
        let row =
            sqlx::query_as::<_, SessionRow>(&format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_digest = $1"))
                .bind(token.as_slice())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        let Some(session) = row.map(Session::try_from).transpose()? else { return Ok(None) };
        // The key as authentication reads it: gone with its project.
        let key = self.find_api_key_by_id(session.key_id).await?;
        Ok(key.map(|k| (session, k)))
    }

    async fn exchange_session_code(
        &self,
        code: [u8; 32],
        token: [u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, RepoError> {
        sqlx::query_as::<_, SessionRow>(&format!(
            "UPDATE sessions SET token_digest = $2, code_digest = NULL \
             WHERE code_digest = $1 AND revoked_at IS NULL AND expires_at > $3 RETURNING {SESSION_COLUMNS}"
        ))
        .bind(code.as_slice())
        .bind(token.as_slice())
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .map(Session::try_from)
        .transpose()
    }

    async fn get_session(&self, id: SessionId) -> Result<Option<Session>, RepoError> {
        sqlx::query_as::<_, SessionRow>(&format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .map(Session::try_from)
            .transpose()
    }

    async fn list_sessions(
        &self,
        project: ProjectId,
        kind: SessionKind,
        page: PageRequest,
    ) -> Result<Page<Session>, RepoError> {
        let project = project.to_string();
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE project_id = $1 AND kind = $2")
            .bind(&project)
            .bind(kind.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        let rows = sqlx::query_as::<_, SessionRow>(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE project_id = $1 AND kind = $2 \
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(&project)
        .bind(kind.as_str())
        .bind(i64::from(page.per_page()))
        .bind(i64::try_from(page.offset()).map_err(RepoError::other)?)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(Page::new(convert(rows)?, u64::try_from(count).map_err(RepoError::other)?, page))
    }

    async fn revoke_session(&self, account: AccountId, id: SessionId, now: DateTime<Utc>) -> Result<bool, RepoError> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $3, code_digest = NULL \
             WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL AND expires_at > $3",
        )
        .bind(account.to_string())
        .bind(id.to_string())
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn purge_sessions(&self, before: DateTime<Utc>) -> Result<u64, RepoError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected())
    }
}
