//! Rows of `api_keys`.

use tengine_domain::{ApiKey, ApiKeyDigest, ApiKeyName, KeyScope, PermissionSet, PreviousSecret};
use tengine_ports::RepoError;

use crate::{at, opt_at, Dialect};

positional_row! {
    /// A row of `api_keys`.
    pub struct ApiKeyRow<D: Dialect> {
        id: String = "id",
        account_id: String = "account_id",
        project_id: Option<String> = "project_id",
        name: String = "name",
        permissions: D::SmallInt = "permissions",
        prefix: String = "prefix",
        digest: Vec<u8> = "digest",
        previous_digest: Option<Vec<u8>> = "previous_digest",
        previous_expires_at: Option<D::Timestamp> = "previous_expires_at",
        expires_at: Option<D::Timestamp> = "expires_at",
        created_at: D::Timestamp = "created_at",
        updated_at: D::Timestamp = "updated_at",
        last_used_at: Option<D::Timestamp> = "last_used_at",
        revoked_at: Option<D::Timestamp> = "revoked_at",
    }
}

fn digest(bytes: &[u8]) -> Result<ApiKeyDigest, RepoError> {
    <[u8; 32]>::try_from(bytes).map(ApiKeyDigest::from_bytes).map_err(RepoError::other)
}

impl<D: Dialect> TryFrom<ApiKeyRow<D>> for ApiKey {
    type Error = RepoError;

    fn try_from(row: ApiKeyRow<D>) -> Result<Self, RepoError> {
        let scope = match row.project_id {
            None => KeyScope::Account,
            Some(p) => KeyScope::Project(p.parse().map_err(RepoError::other)?),
        };
        let bits: i64 = row.permissions.into();
        let permissions = u8::try_from(bits)
            .ok()
            .and_then(PermissionSet::from_bits)
            .ok_or_else(|| RepoError::other(format!("invalid permission bits {bits}")))?;
        let previous = match (row.previous_digest, row.previous_expires_at) {
            (Some(d), Some(expires)) => Some(PreviousSecret { digest: digest(&d)?, expires_at: at::<D>(expires)? }),
            (None, None) => None,
            _ => return Err(RepoError::other("previous digest without expiry (or the reverse)")),
        };
        Ok(ApiKey {
            id: row.id.parse().map_err(RepoError::other)?,
            account_id: row.account_id.parse().map_err(RepoError::other)?,
            scope,
            name: ApiKeyName::from_stored(row.name),
            permissions,
            prefix: row.prefix,
            digest: digest(&row.digest)?,
            previous,
            expires_at: opt_at::<D>(row.expires_at)?,
            created_at: at::<D>(row.created_at)?,
            updated_at: at::<D>(row.updated_at)?,
            last_used_at: opt_at::<D>(row.last_used_at)?,
            revoked_at: opt_at::<D>(row.revoked_at)?,
        })
    }
}
