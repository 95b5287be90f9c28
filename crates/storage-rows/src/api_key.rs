//! Rows of `api_keys`.

use tengine_domain::{ApiKey, ApiKeyDigest, ApiKeyName, ApiKeySummary, KeyScope, PermissionSet, PreviousSecret};
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

/// The columns of [`ApiKeySummaryRow`], in order.
pub const API_KEY_SUMMARY_COLUMNS: &str =
    "id, project_id, name, permissions, prefix, expires_at, created_at, last_used_at, revoked_at";

positional_row! {
    /// What a page of keys reads of a row of `api_keys`: no digests, no `updated_at`.
    pub struct ApiKeySummaryRow<D: Dialect> {
        id: String = "id",
        project_id: Option<String> = "project_id",
        name: String = "name",
        permissions: D::SmallInt = "permissions",
        prefix: String = "prefix",
        expires_at: Option<D::Timestamp> = "expires_at",
        created_at: D::Timestamp = "created_at",
        last_used_at: Option<D::Timestamp> = "last_used_at",
        revoked_at: Option<D::Timestamp> = "revoked_at",
    }
}

fn digest(bytes: &[u8]) -> Result<ApiKeyDigest, RepoError> {
    <[u8; 32]>::try_from(bytes).map(ApiKeyDigest::from_bytes).map_err(RepoError::other)
}

fn scope(project_id: Option<String>) -> Result<KeyScope, RepoError> {
    match project_id {
        None => Ok(KeyScope::Account),
        Some(p) => Ok(KeyScope::Project(p.parse().map_err(RepoError::other)?)),
    }
}

fn permissions(stored: impl Into<i64>) -> Result<PermissionSet, RepoError> {
    let bits: i64 = stored.into();
    u8::try_from(bits)
        .ok()
        .and_then(PermissionSet::from_bits)
        .ok_or_else(|| RepoError::other(format!("invalid permission bits {bits}")))
}

impl<D: Dialect> TryFrom<ApiKeyRow<D>> for ApiKey {
    type Error = RepoError;

    fn try_from(row: ApiKeyRow<D>) -> Result<Self, RepoError> {
        let previous = match (row.previous_digest, row.previous_expires_at) {
            (Some(d), Some(expires)) => Some(PreviousSecret { digest: digest(&d)?, expires_at: at::<D>(expires)? }),
            (None, None) => None,
            _ => return Err(RepoError::other("previous digest without expiry (or the reverse)")),
        };
        Ok(ApiKey {
            id: row.id.parse().map_err(RepoError::other)?,
            account_id: row.account_id.parse().map_err(RepoError::other)?,
            scope: scope(row.project_id)?,
            name: ApiKeyName::from_stored(row.name),
            permissions: permissions(row.permissions)?,
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

impl<D: Dialect> TryFrom<ApiKeySummaryRow<D>> for ApiKeySummary {
    type Error = RepoError;

    fn try_from(row: ApiKeySummaryRow<D>) -> Result<Self, RepoError> {
        Ok(ApiKeySummary {
            id: row.id.parse().map_err(RepoError::other)?,
            scope: scope(row.project_id)?,
            name: ApiKeyName::from_stored(row.name),
            permissions: permissions(row.permissions)?,
            prefix: row.prefix,
            expires_at: opt_at::<D>(row.expires_at)?,
            created_at: at::<D>(row.created_at)?,
            last_used_at: opt_at::<D>(row.last_used_at)?,
            revoked_at: opt_at::<D>(row.revoked_at)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use tengine_domain::{ApiKeyId, ProjectId};
    use uuid::Uuid;

    use super::*;
    use crate::Native;

    fn row(project_id: Option<String>, permissions: i16) -> ApiKeySummaryRow<Native> {
        let at = DateTime::from_timestamp_micros(1).expect("a time");
        ApiKeySummaryRow {
            id: ApiKeyId::from_uuid(Uuid::from_u128(1)).to_string(),
            project_id,
            name: "Production".to_owned(),
            permissions,
            prefix: "tng_7Hk2pQ9x".to_owned(),
            expires_at: None,
            created_at: at,
            last_used_at: Some(at),
            revoked_at: None,
        }
    }

    #[test]
    fn a_summary_row_reads_its_scope_and_permissions_and_refuses_bad_ones() {
        let project = ProjectId::from_uuid(Uuid::from_u128(2));
        let read = ApiKeySummary::try_from(row(Some(project.to_string()), 0b11)).expect("a key");
        assert_eq!(read.scope, KeyScope::Project(project));
        assert_eq!(read.permissions.bits(), 0b11);
        assert_eq!(ApiKeySummary::try_from(row(None, 0b1)).expect("an account key").scope, KeyScope::Account);
        for bad in
            [row(Some("proj_nope".to_owned()), 1), row(None, 0), row(None, 0b1_0000), row(None, 256), row(None, -1)]
        {
            assert!(matches!(ApiKeySummary::try_from(bad), Err(RepoError::Other(_))));
        }
    }
}
