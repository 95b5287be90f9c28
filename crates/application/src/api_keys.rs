//! API key use cases: list, create, get, update, revoke, rotate.

use chrono::{DateTime, Duration, Utc};
use tengine_domain::{
    ApiKey, ApiKeyId, ApiKeyName, Denied, FieldError, KeyScope, Page, PageRequest, Permission, PermissionSet,
    PlainApiKey, Principal, ProjectId,
};
use tengine_ports::Transaction;

use crate::{AppError, Tengine};

/// A validated request to create a project-scoped key.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// Its name.
    pub name: ApiKeyName,
    /// What it may do.
    pub permissions: PermissionSet,
    /// When it expires; `None` inherits the creating key's expiry.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A partial update of a key: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ApiKeyPatch {
    /// A new name.
    pub name: Option<ApiKeyName>,
    /// New permissions (subject to the escalation rules).
    pub permissions: Option<PermissionSet>,
    /// A new expiry, or `Some(None)` for none (not beyond the caller's own).
    pub expires_at: Option<Option<DateTime<Utc>>>,
}

impl Tengine {
    /// Lists a project's keys (metadata only; revoked keys included).
    ///
    /// # Errors
    /// `Forbidden` without `read`; `ProjectNotFound` if missing or out of scope.
    pub async fn list_api_keys(&self, who: &Principal, project: ProjectId, page: PageRequest) -> Result<Page<ApiKey>, AppError> {
        who.require(Permission::Read)?;
        self.visible_project(who, project).await?;
        Ok(self.deps.store.list_api_keys(project, page).await?)
    }

    /// Creates a key for a project, returning its secret once.
    ///
    /// # Errors
    /// `Forbidden` without `admin` or when granting more than the caller holds;
    /// `Validation` for an expiry in the past or beyond the caller's own.
    pub async fn create_api_key(&self, who: &Principal, project: ProjectId, new: NewApiKey) -> Result<(ApiKey, PlainApiKey), AppError> {
        who.require(Permission::Admin)?;
        if !who.sees(&project) {
            return Err(AppError::ProjectNotFound);
        }
        let now = self.deps.clock.now();
        let expires_at = who.grant(&new.permissions, new.expires_at, now).map_err(|e| match e {
            tengine_domain::GrantError::Denied(d) => AppError::Forbidden(d),
            tengine_domain::GrantError::Invalid(v) => AppError::Validation(v),
        })?;
        let secret = self.deps.secrets.api_key();
        let key = ApiKey {
            id: ApiKeyId::from_uuid(self.deps.ids.next_uuid()),
            account_id: who.account_id,
            scope: KeyScope::Project(project),
            name: new.name,
            permissions: new.permissions,
            prefix: secret.display_prefix().to_owned(),
            digest: secret.digest(),
            previous: None,
            expires_at,
            created_at: now,
            updated_at: now,
            last_used_at: None,
            revoked_at: None,
        };
        let mut tx = self.deps.store.begin().await?;
        tx.lock_project(who.account_id, project).await?.ok_or(AppError::ProjectNotFound)?;
        tx.insert_api_key(&key).await?;
        tx.commit().await?;
        tracing::info!(key_id = %key.id, project_id = %project, prefix = %key.prefix, "API key created");
        Ok((key, secret))
    }

    /// Gets one key's metadata.
    ///
    /// # Errors
    /// `Forbidden` without `read`; `ProjectNotFound`; `NotFound("api_key")`.
    pub async fn get_api_key(&self, who: &Principal, project: ProjectId, id: ApiKeyId) -> Result<ApiKey, AppError> {
        who.require(Permission::Read)?;
        self.visible_project(who, project).await?;
        self.deps.store.get_api_key(project, id).await?.ok_or(AppError::NotFound(ApiKeyId::KIND))
    }

    /// Renames a key or changes its permissions or expiry, within the caller's own.
    ///
    /// # Errors
    /// As for creation, plus `NotFound("api_key")`.
    pub async fn update_api_key(&self, who: &Principal, project: ProjectId, id: ApiKeyId, patch: ApiKeyPatch) -> Result<ApiKey, AppError> {
        who.require(Permission::Admin)?;
        if let Some(p) = patch.permissions.as_ref().and_then(|p| p.iter().find(|p| !who.permissions.allows(*p))) {
            return Err(Denied::CannotGrant(p).into());
        }
        let now = self.deps.clock.now();
        let expires_at = match patch.expires_at {
            None => None,
            Some(Some(at)) => Some(who.grant_expiry(Some(at), now)?),
            Some(None) if who.expires_at.is_some() => {
                return Err(FieldError::new("expires_at", "cannot be cleared by a key that itself expires").into())
            }
            Some(None) => Some(None),
        };
        self.mutate_key(who, project, id, |key| {
            let before = key.clone();
            if let Some(name) = patch.name {
                key.name = name;
            }
            if let Some(perms) = patch.permissions {
                key.permissions = perms;
            }
            if let Some(at) = expires_at {
                key.expires_at = at;
            }
            if *key != before {
                key.updated_at = now;
            }
            Ok(*key != before)
        })
        .await
    }

    /// Revokes a key at once; revoking a revoked key changes nothing.
    ///
    /// # Errors
    /// `Forbidden` without `admin`; `ProjectNotFound`; `NotFound("api_key")`.
    pub async fn revoke_api_key(&self, who: &Principal, project: ProjectId, id: ApiKeyId) -> Result<ApiKey, AppError> {
        who.require(Permission::Admin)?;
        let now = self.deps.clock.now();
        let key = self
            .mutate_key(who, project, id, |key| {
                let fresh = key.revoked_at.is_none();
                if fresh {
                    key.revoked_at = Some(now);
                    key.updated_at = now;
                }
                Ok(fresh)
            })
            .await?;
        tracing::info!(key_id = %id, project_id = %project, "API key revoked");
        Ok(key)
    }

    /// Gives a key a new secret; the old one keeps working for `grace`.
    ///
    /// # Errors
    /// `Forbidden` without `admin`; `ProjectNotFound`; `NotFound("api_key")`;
    /// `Validation` for a revoked key.
    pub async fn rotate_api_key(&self, who: &Principal, project: ProjectId, id: ApiKeyId, grace: Duration) -> Result<(ApiKey, PlainApiKey), AppError> {
        who.require(Permission::Admin)?;
        let now = self.deps.clock.now();
        let secret = self.deps.secrets.api_key();
        let key = self
            .mutate_key(who, project, id, |key| {
                if key.revoked_at.is_some() {
                    return Err(FieldError::new("key_id", "a revoked key cannot be rotated").into());
                }
                key.rotate(&secret, grace, now);
                Ok(true)
            })
            .await?;
        tracing::info!(key_id = %id, project_id = %project, prefix = %key.prefix, "API key rotated");
        Ok((key, secret))
    }

    /// Locks a key of a visible project, applies `change`, and writes it if it says so.
    async fn mutate_key(
        &self,
        who: &Principal,
        project: ProjectId,
        id: ApiKeyId,
        change: impl FnOnce(&mut ApiKey) -> Result<bool, AppError>,
    ) -> Result<ApiKey, AppError> {
        if !who.sees(&project) {
            return Err(AppError::ProjectNotFound);
        }
        let mut tx = self.deps.store.begin().await?;
        tx.lock_project(who.account_id, project).await?.ok_or(AppError::ProjectNotFound)?;
        let mut key = lock_key_of(&mut *tx, project, id).await?;
        if change(&mut key)? {
            tx.update_api_key(&key).await?;
            tx.commit().await?;
        }
        Ok(key)
    }
}

async fn lock_key_of(tx: &mut dyn Transaction, project: ProjectId, id: ApiKeyId) -> Result<ApiKey, AppError> {
    tx.lock_api_key(id)
        .await?
        .filter(|k| k.scope == KeyScope::Project(project))
        .ok_or(AppError::NotFound(ApiKeyId::KIND))
}
