//! Integrations, their connections, and OAuth codes and tokens: writes inside a
//! transaction, reads on the pool.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use tengine_domain::integration::{AuthCode, Connection, Integration, OAuthToken, RegistrationPolicy};
use tengine_domain::{AccountId, ConnectionId, IntegrationId, Page, PageRequest, PermissionSet, ProjectId};
use tengine_ports::{IntegrationRepository, RepoError, StoredClient};
use tengine_storage_rows::{convert, stored_redirect_uris, CODE_COLUMNS, CONNECTION_COLUMNS, INTEGRATION_COLUMNS};

use crate::error::{affected, map_err};
use crate::rows::Pg;
use crate::PgStore;

type IntegrationRow = tengine_storage_rows::IntegrationRow<Pg>;
type ClientRow = tengine_storage_rows::ClientRow<Pg>;
type ConnectionRow = tengine_storage_rows::ConnectionRow<Pg>;
type CodeRow = tengine_storage_rows::CodeRow<Pg>;
type TokenRow = tengine_storage_rows::TokenRow<Pg>;
type RegistrationRow = tengine_storage_rows::RegistrationRow<Pg>;

/// The permission bit of `admin`, which stands for every other.
const ADMIN_BIT: i16 = 8;

/// Reads an integration of a live project, locking it when `lock` is set.
pub(crate) async fn fetch(
    ex: impl PgExecutor<'_>,
    project: ProjectId,
    id: IntegrationId,
    lock: bool,
) -> Result<Option<Integration>, RepoError> {
    sqlx::query_as::<_, IntegrationRow>(&format!(
        "SELECT {INTEGRATION_COLUMNS} FROM integrations i JOIN projects p ON p.id = i.project_id \
         WHERE i.id = $2 AND i.project_id = $1 AND p.deleted_at IS NULL{}",
        if lock { " FOR UPDATE OF i" } else { "" }
    ))
    .bind(project.to_string())
    .bind(id.to_string())
    .fetch_optional(ex)
    .await
    .map_err(map_err)?
    .map(Integration::try_from)
    .transpose()
}

/// Inserts an integration.
pub(crate) async fn insert(
    ex: impl PgExecutor<'_>,
    i: &Integration,
    secret: Option<[u8; 32]>,
) -> Result<(), RepoError> {
    sqlx::query(
        "INSERT INTO integrations (id, account_id, project_id, name, redirect_uris, permissions, client_type, \
         dynamic, secret_digest, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(i.id.to_string())
    .bind(i.account_id.to_string())
    .bind(i.project_id.to_string())
    .bind(&i.name)
    .bind(stored_redirect_uris(i))
    .bind(i16::from(i.permissions.bits()))
    .bind(i.client_type.as_str())
    .bind(i.dynamic)
    .bind(secret.map(|s| s.to_vec()))
    .bind(i.created_at)
    .bind(i.updated_at)
    .execute(ex)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Writes an integration's mutable fields.
pub(crate) async fn update(ex: impl PgExecutor<'_>, i: &Integration) -> Result<(), RepoError> {
    let done = sqlx::query(
        "UPDATE integrations SET name = $2, redirect_uris = $3, permissions = $4, updated_at = $5 WHERE id = $1",
    )
    .bind(i.id.to_string())
    .bind(&i.name)
    .bind(stored_redirect_uris(i))
    .bind(i16::from(i.permissions.bits()))
    .bind(i.updated_at)
    .execute(ex)
    .await
    .map_err(map_err)?;
    affected(done)
}

/// Replaces a client secret's digest.
pub(crate) async fn set_secret(ex: impl PgExecutor<'_>, id: IntegrationId, secret: [u8; 32]) -> Result<(), RepoError> {
    let done = sqlx::query("UPDATE integrations SET secret_digest = $2 WHERE id = $1")
        .bind(id.to_string())
        .bind(secret.to_vec())
        .execute(ex)
        .await
        .map_err(map_err)?;
    affected(done)
}

/// Deletes an integration; its connections, codes and tokens go with it (cascades).
pub(crate) async fn delete(ex: impl PgExecutor<'_>, project: ProjectId, id: IntegrationId) -> Result<(), RepoError> {
    let done = sqlx::query("DELETE FROM integrations WHERE id = $2 AND project_id = $1")
        .bind(project.to_string())
        .bind(id.to_string())
        .execute(ex)
        .await
        .map_err(map_err)?;
    affected(done)
}

/// The connection columns without the table alias, for `RETURNING`.
fn returning() -> String {
    CONNECTION_COLUMNS.replace("c.", "")
}

/// Revokes live connections of an integration (or one of them), deleting their tokens.
pub(crate) async fn revoke_connections(
    tx: &mut sqlx::PgConnection,
    integration: IntegrationId,
    one: Option<ConnectionId>,
    at: DateTime<Utc>,
) -> Result<Vec<Connection>, RepoError> {
    let rows = sqlx::query_as::<_, ConnectionRow>(&format!(
        "UPDATE oauth_connections SET revoked_at = $3 \
         WHERE integration_id = $1 AND revoked_at IS NULL AND ($2::text IS NULL OR id = $2) RETURNING {}",
        returning()
    ))
    .bind(integration.to_string())
    .bind(one.map(|c| c.to_string()))
    .bind(at)
    .fetch_all(&mut *tx)
    .await
    .map_err(map_err)?;
    let revoked: Vec<Connection> = convert(rows)?;
    for c in &revoked {
        sqlx::query("DELETE FROM oauth_tokens WHERE connection_id = $1")
            .bind(c.id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    Ok(revoked)
}

/// Narrows live connections to `allowed`: an `admin` grant becomes `allowed`, any other
/// keeps what `allowed` still covers; one left with nothing is revoked with its tokens.
pub(crate) async fn narrow_connections(
    tx: &mut sqlx::PgConnection,
    integration: IntegrationId,
    allowed: PermissionSet,
    at: DateTime<Utc>,
) -> Result<Vec<Connection>, RepoError> {
    let revoked = sqlx::query_as::<_, ConnectionRow>(&format!(
        "UPDATE oauth_connections SET revoked_at = $4 \
         WHERE integration_id = $1 AND revoked_at IS NULL AND (permissions & $3) = 0 AND (permissions & $2) = 0 \
         RETURNING {}",
        returning()
    ))
    .bind(integration.to_string())
    .bind(i16::from(allowed.bits()))
    .bind(ADMIN_BIT)
    .bind(at)
    .fetch_all(&mut *tx)
    .await
    .map_err(map_err)?;
    let mut changed: Vec<Connection> = convert(revoked)?;
    for c in &changed {
        sqlx::query("DELETE FROM oauth_tokens WHERE connection_id = $1")
            .bind(c.id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    let narrowed = sqlx::query_as::<_, ConnectionRow>(&format!(
        "UPDATE oauth_connections SET permissions = \
         CASE WHEN (permissions & $3) != 0 THEN $2 ELSE (permissions & $2) END \
         WHERE integration_id = $1 AND revoked_at IS NULL \
         AND permissions != (CASE WHEN (permissions & $3) != 0 THEN $2 ELSE (permissions & $2) END) \
         RETURNING {}",
        returning()
    ))
    .bind(integration.to_string())
    .bind(i16::from(allowed.bits()))
    .bind(ADMIN_BIT)
    .fetch_all(&mut *tx)
    .await
    .map_err(map_err)?;
    changed.extend(convert::<_, Connection>(narrowed)?);
    Ok(changed)
}

/// Reads a connection of `project`.
pub(crate) async fn fetch_connection(
    ex: impl PgExecutor<'_>,
    project: ProjectId,
    id: ConnectionId,
) -> Result<Option<Connection>, RepoError> {
    sqlx::query_as::<_, ConnectionRow>(&format!(
        "SELECT {CONNECTION_COLUMNS} FROM oauth_connections c WHERE c.id = $2 AND c.project_id = $1 FOR UPDATE"
    ))
    .bind(project.to_string())
    .bind(id.to_string())
    .fetch_optional(ex)
    .await
    .map_err(map_err)?
    .map(Connection::try_from)
    .transpose()
}

/// Marks a code used, returning it as it was.
pub(crate) async fn use_code(
    tx: &mut sqlx::PgConnection,
    digest: [u8; 32],
    at: DateTime<Utc>,
) -> Result<Option<AuthCode>, RepoError> {
    let code =
        sqlx::query_as::<_, CodeRow>(&format!("SELECT {CODE_COLUMNS} FROM oauth_codes WHERE digest = $1 FOR UPDATE"))
            .bind(digest.to_vec())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?
            .map(AuthCode::try_from)
            .transpose()?;
    if code.as_ref().is_some_and(|c| c.used_at.is_none()) {
        sqlx::query("UPDATE oauth_codes SET used_at = $2 WHERE digest = $1")
            .bind(digest.to_vec())
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    Ok(code)
}

/// Inserts a connection and notes it on the code that made it.
pub(crate) async fn insert_connection(
    tx: &mut sqlx::PgConnection,
    c: &Connection,
    code: [u8; 32],
) -> Result<(), RepoError> {
    sqlx::query(
        "INSERT INTO oauth_connections (id, account_id, project_id, integration_id, approved_by, permissions, \
         resource, created_at, last_used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)",
    )
    .bind(c.id.to_string())
    .bind(c.account_id.to_string())
    .bind(c.project_id.to_string())
    .bind(c.integration_id.to_string())
    .bind(c.approved_by.to_string())
    .bind(i16::from(c.permissions.bits()))
    .bind(c.resource.as_deref())
    .bind(c.created_at)
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    sqlx::query("UPDATE oauth_codes SET connection_id = $2 WHERE digest = $1")
        .bind(code.to_vec())
        .bind(c.id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// Stores a token.
pub(crate) async fn insert_token(ex: impl PgExecutor<'_>, digest: [u8; 32], t: &OAuthToken) -> Result<(), RepoError> {
    sqlx::query(
        "INSERT INTO oauth_tokens (digest, kind, connection_id, expires_at, spent_at) VALUES ($1, $2, $3, $4, NULL)",
    )
    .bind(digest.to_vec())
    .bind(t.kind.as_str())
    .bind(t.connection_id.to_string())
    .bind(t.expires_at)
    .execute(ex)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// The token with `digest` and its connection, while the integration's project is live.
const FIND_TOKEN: &str = "SELECT t.kind, t.expires_at, t.spent_at, c.id, c.account_id, c.project_id, \
     c.integration_id, c.approved_by, c.permissions, c.resource, c.created_at, c.last_used_at, c.revoked_at \
     FROM oauth_tokens t JOIN oauth_connections c ON c.id = t.connection_id \
     JOIN projects p ON p.id = c.project_id WHERE t.digest = $1 AND p.deleted_at IS NULL";

/// Marks a refresh token spent, returning it as it was.
pub(crate) async fn spend_refresh(
    tx: &mut sqlx::PgConnection,
    digest: [u8; 32],
    at: DateTime<Utc>,
) -> Result<Option<(OAuthToken, Connection)>, RepoError> {
    let found = sqlx::query_as::<_, TokenRow>(&format!("{FIND_TOKEN} FOR UPDATE OF t"))
        .bind(digest.to_vec())
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?
        .map(<(OAuthToken, Connection)>::try_from)
        .transpose()?;
    if found.as_ref().is_some_and(|(t, _)| t.spent_at.is_none()) {
        sqlx::query("UPDATE oauth_tokens SET spent_at = $2 WHERE digest = $1")
            .bind(digest.to_vec())
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    Ok(found)
}

#[async_trait::async_trait]
impl IntegrationRepository for PgStore {
    async fn get_integration(&self, project: ProjectId, id: IntegrationId) -> Result<Option<Integration>, RepoError> {
        fetch(&self.pool, project, id, false).await
    }

    async fn find_client(&self, id: IntegrationId) -> Result<Option<StoredClient>, RepoError> {
        sqlx::query_as::<_, ClientRow>(&format!(
            "SELECT {INTEGRATION_COLUMNS}, i.secret_digest FROM integrations i \
             JOIN projects p ON p.id = i.project_id WHERE i.id = $1 AND p.deleted_at IS NULL"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .map(<(Integration, Option<[u8; 32]>)>::try_from)
        .transpose()
    }

    async fn list_integrations(&self, project: ProjectId, page: PageRequest) -> Result<Page<Integration>, RepoError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM integrations WHERE project_id = $1")
            .bind(project.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        let rows = sqlx::query_as::<_, IntegrationRow>(&format!(
            "SELECT {INTEGRATION_COLUMNS} FROM integrations i WHERE i.project_id = $1 \
             ORDER BY i.created_at DESC, i.id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(project.to_string())
        .bind(i64::from(page.per_page()))
        .bind(i64::try_from(page.offset()).map_err(RepoError::other)?)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(Page::new(convert(rows)?, u64::try_from(count).map_err(RepoError::other)?, page))
    }

    async fn count_dynamic_integrations(&self, project: ProjectId) -> Result<u64, RepoError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM integrations WHERE project_id = $1 AND dynamic")
            .bind(project.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        u64::try_from(count).map_err(RepoError::other)
    }

    async fn list_connections(
        &self,
        integration: IntegrationId,
        page: PageRequest,
    ) -> Result<Page<Connection>, RepoError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM oauth_connections WHERE integration_id = $1")
            .bind(integration.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        let rows = sqlx::query_as::<_, ConnectionRow>(&format!(
            "SELECT {CONNECTION_COLUMNS} FROM oauth_connections c WHERE c.integration_id = $1 \
             ORDER BY c.created_at DESC, c.id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(integration.to_string())
        .bind(i64::from(page.per_page()))
        .bind(i64::try_from(page.offset()).map_err(RepoError::other)?)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(Page::new(convert(rows)?, u64::try_from(count).map_err(RepoError::other)?, page))
    }

    async fn insert_auth_code(&self, digest: [u8; 32], c: &AuthCode) -> Result<(), RepoError> {
        sqlx::query(&format!(
            "INSERT INTO oauth_codes (digest, {CODE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, NULL)"
        ))
        .bind(digest.to_vec())
        .bind(c.integration_id.to_string())
        .bind(c.account_id.to_string())
        .bind(c.project_id.to_string())
        .bind(&c.redirect_uri)
        .bind(&c.code_challenge)
        .bind(i16::from(c.permissions.bits()))
        .bind(c.resource.as_deref())
        .bind(c.approved_by.to_string())
        .bind(c.expires_at)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn find_oauth_token(&self, digest: [u8; 32]) -> Result<Option<(OAuthToken, Connection)>, RepoError> {
        sqlx::query_as::<_, TokenRow>(FIND_TOKEN)
            .bind(digest.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?
            .map(<(OAuthToken, Connection)>::try_from)
            .transpose()
    }

    async fn delete_oauth_token(&self, digest: [u8; 32]) -> Result<bool, RepoError> {
        let done = sqlx::query("DELETE FROM oauth_tokens WHERE digest = $1")
            .bind(digest.to_vec())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn touch_connections(&self, uses: &[(ConnectionId, DateTime<Utc>)]) -> Result<(), RepoError> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        for (id, at) in uses {
            sqlx::query(
                "UPDATE oauth_connections SET last_used_at = $2 WHERE id = $1 \
                 AND (last_used_at IS NULL OR last_used_at < $2)",
            )
            .bind(id.to_string())
            .bind(*at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn registration_policy(&self, project: ProjectId) -> Result<Option<RegistrationPolicy>, RepoError> {
        sqlx::query_as::<_, RegistrationRow>(
            "SELECT enabled, permissions FROM oauth_registration WHERE project_id = $1",
        )
        .bind(project.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?
        .map(RegistrationPolicy::try_from)
        .transpose()
    }

    async fn registration_projects(&self, limit: u32) -> Result<Vec<ProjectId>, RepoError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT r.project_id FROM oauth_registration r JOIN projects p ON p.id = r.project_id \
             WHERE r.enabled AND p.deleted_at IS NULL ORDER BY r.project_id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        ids.into_iter().map(|i| i.parse().map_err(RepoError::other)).collect()
    }

    async fn set_registration_policy(&self, project: ProjectId, policy: &RegistrationPolicy) -> Result<(), RepoError> {
        sqlx::query(
            "INSERT INTO oauth_registration (project_id, enabled, permissions) VALUES ($1, $2, $3) \
             ON CONFLICT (project_id) DO UPDATE SET enabled = excluded.enabled, permissions = excluded.permissions",
        )
        .bind(project.to_string())
        .bind(policy.enabled)
        .bind(i16::from(policy.permissions.bits()))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn project_account(&self, project: ProjectId) -> Result<Option<AccountId>, RepoError> {
        let account: Option<String> =
            sqlx::query_scalar("SELECT account_id FROM projects WHERE id = $1 AND deleted_at IS NULL")
                .bind(project.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        account.map(|a| a.parse()).transpose().map_err(RepoError::other)
    }

    async fn purge_oauth(&self, before: DateTime<Utc>) -> Result<u64, RepoError> {
        let codes = sqlx::query("DELETE FROM oauth_codes WHERE expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        let tokens = sqlx::query("DELETE FROM oauth_tokens WHERE expires_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(codes.rows_affected() + tokens.rows_affected())
    }
}
