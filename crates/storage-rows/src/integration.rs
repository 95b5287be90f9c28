//! Rows of `integrations`, `oauth_connections`, `oauth_codes` and `oauth_tokens`.

use tengine_domain::integration::{
    AuthCode, ClientType, Connection, Integration, OAuthToken, RedirectUri, RegistrationPolicy, TokenKind,
};
use tengine_domain::PermissionSet;
use tengine_ports::RepoError;

use crate::{at, narrow, opt_at, Dialect};

/// The columns of [`IntegrationRow`], in order (for a table aliased `i`).
pub const INTEGRATION_COLUMNS: &str = "i.id, i.account_id, i.project_id, i.name, i.redirect_uris, i.permissions, \
     i.client_type, i.dynamic, i.created_at, i.updated_at";

/// The columns of [`ConnectionRow`], in order (for a table aliased `c`).
pub const CONNECTION_COLUMNS: &str = "c.id, c.account_id, c.project_id, c.integration_id, c.approved_by, \
     c.permissions, c.resource, c.created_at, c.last_used_at, c.revoked_at";

/// The columns of [`CodeRow`], in order.
pub const CODE_COLUMNS: &str = "integration_id, account_id, project_id, redirect_uri, code_challenge, permissions, \
     resource, approved_by, expires_at, used_at, connection_id";

/// A row of `integrations`.
#[derive(sqlx::FromRow)]
pub struct IntegrationRow<D: Dialect> {
    id: String,
    account_id: String,
    project_id: String,
    name: String,
    redirect_uris: String,
    permissions: D::SmallInt,
    client_type: String,
    dynamic: bool,
    created_at: D::Timestamp,
    updated_at: D::Timestamp,
}

/// Stored permission bits read back.
fn permissions(bits: impl Into<i64>) -> Result<PermissionSet, RepoError> {
    PermissionSet::from_bits(narrow::<u8>(bits)?).ok_or_else(|| RepoError::Other("bad permission bits".into()))
}

/// An integration's redirect URIs as stored: one per line.
pub fn stored_redirect_uris(i: &Integration) -> String {
    i.redirect_uris.iter().map(RedirectUri::as_str).collect::<Vec<_>>().join("\n")
}

impl<D: Dialect> TryFrom<IntegrationRow<D>> for Integration {
    type Error = RepoError;

    fn try_from(row: IntegrationRow<D>) -> Result<Self, RepoError> {
        Ok(Integration {
            id: row.id.parse().map_err(RepoError::other)?,
            account_id: row.account_id.parse().map_err(RepoError::other)?,
            project_id: row.project_id.parse().map_err(RepoError::other)?,
            name: row.name,
            redirect_uris: row.redirect_uris.lines().map(|l| RedirectUri::from_stored(l.to_owned())).collect(),
            permissions: permissions(row.permissions)?,
            client_type: ClientType::parse(&row.client_type)
                .ok_or_else(|| RepoError::Other("bad client type".into()))?,
            dynamic: row.dynamic,
            created_at: at::<D>(row.created_at)?,
            updated_at: at::<D>(row.updated_at)?,
        })
    }
}

/// A row of `integrations` with its secret digest.
#[derive(sqlx::FromRow)]
pub struct ClientRow<D: Dialect> {
    #[sqlx(flatten)]
    integration: IntegrationRow<D>,
    secret_digest: Option<Vec<u8>>,
}

impl<D: Dialect> TryFrom<ClientRow<D>> for (Integration, Option<[u8; 32]>) {
    type Error = RepoError;

    fn try_from(row: ClientRow<D>) -> Result<Self, RepoError> {
        let secret =
            row.secret_digest.map(|d| <[u8; 32]>::try_from(d.as_slice()).map_err(RepoError::other)).transpose()?;
        Ok((Integration::try_from(row.integration)?, secret))
    }
}

/// A row of `oauth_connections`.
#[derive(sqlx::FromRow)]
pub struct ConnectionRow<D: Dialect> {
    id: String,
    account_id: String,
    project_id: String,
    integration_id: String,
    approved_by: String,
    permissions: D::SmallInt,
    resource: Option<String>,
    created_at: D::Timestamp,
    last_used_at: Option<D::Timestamp>,
    revoked_at: Option<D::Timestamp>,
}

impl<D: Dialect> TryFrom<ConnectionRow<D>> for Connection {
    type Error = RepoError;

    fn try_from(row: ConnectionRow<D>) -> Result<Self, RepoError> {
        Ok(Connection {
            id: row.id.parse().map_err(RepoError::other)?,
            account_id: row.account_id.parse().map_err(RepoError::other)?,
            project_id: row.project_id.parse().map_err(RepoError::other)?,
            integration_id: row.integration_id.parse().map_err(RepoError::other)?,
            approved_by: row.approved_by.parse().map_err(RepoError::other)?,
            permissions: permissions(row.permissions)?,
            resource: row.resource,
            created_at: at::<D>(row.created_at)?,
            last_used_at: opt_at::<D>(row.last_used_at)?,
            revoked_at: opt_at::<D>(row.revoked_at)?,
        })
    }
}

/// A row of `oauth_codes`.
#[derive(sqlx::FromRow)]
pub struct CodeRow<D: Dialect> {
    integration_id: String,
    account_id: String,
    project_id: String,
    redirect_uri: String,
    code_challenge: String,
    permissions: D::SmallInt,
    resource: Option<String>,
    approved_by: String,
    expires_at: D::Timestamp,
    used_at: Option<D::Timestamp>,
    connection_id: Option<String>,
}

impl<D: Dialect> TryFrom<CodeRow<D>> for AuthCode {
    type Error = RepoError;

    fn try_from(row: CodeRow<D>) -> Result<Self, RepoError> {
        Ok(AuthCode {
            integration_id: row.integration_id.parse().map_err(RepoError::other)?,
            account_id: row.account_id.parse().map_err(RepoError::other)?,
            project_id: row.project_id.parse().map_err(RepoError::other)?,
            redirect_uri: row.redirect_uri,
            code_challenge: row.code_challenge,
            permissions: permissions(row.permissions)?,
            resource: row.resource,
            approved_by: row.approved_by.parse().map_err(RepoError::other)?,
            expires_at: at::<D>(row.expires_at)?,
            used_at: opt_at::<D>(row.used_at)?,
            connection_id: row.connection_id.map(|c| c.parse()).transpose().map_err(RepoError::other)?,
        })
    }
}

/// A row of `oauth_tokens` joined with its connection.
#[derive(sqlx::FromRow)]
pub struct TokenRow<D: Dialect> {
    kind: String,
    expires_at: D::Timestamp,
    spent_at: Option<D::Timestamp>,
    #[sqlx(flatten)]
    connection: ConnectionRow<D>,
}

impl<D: Dialect> TryFrom<TokenRow<D>> for (OAuthToken, Connection) {
    type Error = RepoError;

    fn try_from(row: TokenRow<D>) -> Result<Self, RepoError> {
        let connection = Connection::try_from(row.connection)?;
        let token = OAuthToken {
            kind: TokenKind::from_stored(&row.kind).ok_or_else(|| RepoError::Other("bad token kind".into()))?,
            connection_id: connection.id,
            expires_at: at::<D>(row.expires_at)?,
            spent_at: opt_at::<D>(row.spent_at)?,
        };
        Ok((token, connection))
    }
}

/// A row of `oauth_registration`.
#[derive(sqlx::FromRow)]
pub struct RegistrationRow<D: Dialect> {
    enabled: bool,
    permissions: D::SmallInt,
}

impl<D: Dialect> TryFrom<RegistrationRow<D>> for RegistrationPolicy {
    type Error = RepoError;

    fn try_from(row: RegistrationRow<D>) -> Result<Self, RepoError> {
        Ok(RegistrationPolicy { enabled: row.enabled, permissions: permissions(row.permissions)? })
    }
}
