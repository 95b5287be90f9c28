//! Integration use cases: the OAuth clients of a project, their connections, and the
//! project's dynamic registration policy.
//!
//! Managing integrations takes `webhook` (SPEC: everything under `/integrations`), and
//! like granting a key, a caller may only create or widen an integration to permissions
//! it holds itself; admin holds all. A client secret is shown once and kept as a digest.

use serde_json::{json, Value};
use tengine_domain::integration::{
    scope_of, ClientType, Connection, Integration, IntegrationPatch, NewIntegration, OAuthSecret, RegistrationPolicy,
    CLIENT_SECRET_PREFIX,
};
use tengine_domain::{
    time, ConnectionId, Denied, EventType, FieldError, IntegrationId, Page, PageRequest, Permission, PermissionSet,
    Principal, ProjectId,
};
use tengine_ports::{RepoError, Transaction};

use crate::{AppError, Tengine};

/// An integration as event payloads and answers show it (never its secret).
pub fn integration_data(i: &Integration) -> Value {
    json!({
        "id": i.id.to_string(),
        "project_id": i.project_id.to_string(),
        "name": i.name,
        "client_id": i.id.to_string(),
        "client_type": i.client_type.as_str(),
        "redirect_uris": i.redirect_uris.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "permissions": i.permissions.names(),
        "dynamic": i.dynamic,
        "created_at": time::format(i.created_at),
        "updated_at": time::format(i.updated_at),
    })
}

/// A connection as event payloads show it (never a token).
pub fn connection_data(c: &Connection) -> Value {
    json!({
        "id": c.id.to_string(),
        "integration_id": c.integration_id.to_string(),
        "project_id": c.project_id.to_string(),
        "approved_by": c.approved_by.to_string(),
        "permissions": c.permissions.names(),
        "scope": scope_of(c.permissions),
        "resource": c.resource,
        "created_at": time::format(c.created_at),
        "last_used_at": c.last_used_at.map(time::format),
        "revoked_at": c.revoked_at.map(time::format),
    })
}

/// Succeeds when `who` holds every permission of `wanted`.
fn may_grant(who: &Principal, wanted: PermissionSet) -> Result<(), AppError> {
    match wanted.iter().find(|p| !who.permissions.allows(*p)) {
        Some(p) => Err(Denied::CannotGrant(p).into()),
        None => Ok(()),
    }
}

impl Tengine {
    /// The checks every integration use case starts with: `webhook`, not a portal, and a
    /// project the caller sees.
    fn integrations_scope(&self, who: &Principal, project: ProjectId) -> Result<(), AppError> {
        who.require(Permission::Webhook)?;
        who.portal_shows(None)?;
        if who.sees(&project) {
            Ok(())
        } else {
            Err(AppError::ProjectNotFound)
        }
    }

    /// Opens a transaction holding the project and integration `id` locked.
    async fn lock_integration(
        &self,
        who: &Principal,
        project: ProjectId,
        id: IntegrationId,
    ) -> Result<(Box<dyn Transaction>, Integration), AppError> {
        let mut tx = self.deps.store.begin().await?;
        tx.lock_project(who.account_id, project).await?.ok_or(AppError::ProjectNotFound)?;
        let integration = tx.lock_integration(project, id).await?.ok_or(AppError::NotFound(IntegrationId::KIND))?;
        Ok((tx, integration))
    }

    /// Lists a project's integrations, newest first.
    ///
    /// # Errors
    /// `Forbidden` without `webhook`; `ProjectNotFound`.
    pub async fn list_integrations(
        &self,
        who: &Principal,
        project: ProjectId,
        page: PageRequest,
    ) -> Result<Page<Integration>, AppError> {
        self.integrations_scope(who, project)?;
        self.visible_project(who, project).await?;
        Ok(self.deps.store.list_integrations(project, page).await?)
    }

    /// Gets one integration.
    ///
    /// # Errors
    /// `Forbidden` without `webhook`; `ProjectNotFound`; `NotFound("integration")`.
    pub async fn get_integration(
        &self,
        who: &Principal,
        project: ProjectId,
        id: IntegrationId,
    ) -> Result<Integration, AppError> {
        self.integrations_scope(who, project)?;
        self.visible_project(who, project).await?;
        self.deps.store.get_integration(project, id).await?.ok_or(AppError::NotFound(IntegrationId::KIND))
    }

    /// Creates an integration; a confidential one gets a secret, returned once.
    ///
    /// # Errors
    /// `Forbidden` without `webhook` or for permissions the caller lacks; `ProjectNotFound`.
    pub async fn create_integration(
        &self,
        who: &Principal,
        project: ProjectId,
        new: NewIntegration,
    ) -> Result<(Integration, Option<OAuthSecret>), AppError> {
        self.integrations_scope(who, project)?;
        may_grant(who, new.permissions)?;
        let now = self.deps.clock.now();
        let integration = Integration {
            id: IntegrationId::from_uuid(self.deps.ids.next_uuid()),
            account_id: who.account_id,
            project_id: project,
            name: new.name,
            redirect_uris: new.redirect_uris,
            permissions: new.permissions,
            client_type: new.client_type,
            dynamic: false,
            created_at: now,
            updated_at: now,
        };
        let secret =
            (integration.client_type == ClientType::Confidential).then(|| self.oauth_secret(CLIENT_SECRET_PREFIX));
        let mut tx = self.deps.store.begin().await?;
        tx.lock_project(who.account_id, project).await?.ok_or(AppError::ProjectNotFound)?;
        tx.insert_integration(&integration, secret.as_ref().map(OAuthSecret::digest)).await?;
        tx.commit().await?;
        tracing::info!(integration_id = %integration.id, project_id = %project, "integration created");
        Ok((integration, secret))
    }

    /// Changes an integration. Narrowing its permissions narrows its connections too
    /// (one `integration.updated` each); a connection left with nothing is revoked.
    ///
    /// # Errors
    /// As for `create_integration`, plus `NotFound("integration")`.
    pub async fn update_integration(
        &self,
        who: &Principal,
        project: ProjectId,
        id: IntegrationId,
        patch: IntegrationPatch,
    ) -> Result<Integration, AppError> {
        self.integrations_scope(who, project)?;
        if let Some(p) = patch.permissions {
            may_grant(who, p)?;
        }
        let now = self.deps.clock.now();
        let (mut tx, mut integration) = self.lock_integration(who, project, id).await?;
        let narrowing = patch.permissions.filter(|p| !p.allows(Permission::Admin) && *p != integration.permissions);
        if !integration.apply(patch, now) {
            return Ok(integration);
        }
        tx.update_integration(&integration).await?;
        let data = integration_data(&integration);
        let event =
            self.event(EventType::IntegrationUpdated, who.account_id, Some(project), json!({"integration": data}));
        self.record(&mut *tx, event).await?;
        if let Some(allowed) = narrowing {
            let changed = tx.narrow_connections(id, allowed, now).await?;
            let (revoked, narrowed): (Vec<_>, Vec<_>) = changed.into_iter().partition(|c| c.revoked_at.is_some());
            for c in &narrowed {
                let data = json!({"integration": integration_data(&integration), "connection": connection_data(c)});
                let event = self.event(EventType::IntegrationUpdated, who.account_id, Some(project), data);
                self.record(&mut *tx, event).await?;
            }
            self.disconnected(&mut *tx, &integration, &revoked, "permissions_removed").await?;
        }
        tx.commit().await?;
        self.oauth_tokens.evict_where(|_, (_, c)| c.integration_id == id);
        tracing::info!(integration_id = %id, project_id = %project, "integration updated");
        Ok(integration)
    }

    /// Deletes an integration: every connection is revoked (one
    /// `integration.disconnected` each) and its tokens stop working.
    ///
    /// # Errors
    /// `Forbidden` without `webhook`; `ProjectNotFound`; `NotFound("integration")`.
    pub async fn delete_integration(
        &self,
        who: &Principal,
        project: ProjectId,
        id: IntegrationId,
    ) -> Result<(), AppError> {
        self.integrations_scope(who, project)?;
        let now = self.deps.clock.now();
        let (mut tx, integration) = self.lock_integration(who, project, id).await?;
        let revoked = tx.revoke_connections(id, None, now).await?;
        self.disconnected(&mut *tx, &integration, &revoked, "integration_deleted").await?;
        tx.delete_integration(project, id).await.map_err(|e| match e {
            RepoError::NotFound => AppError::NotFound(IntegrationId::KIND),
            e => e.into(),
        })?;
        tx.commit().await?;
        self.oauth_tokens.evict_where(|_, (_, c)| c.integration_id == id);
        tracing::info!(integration_id = %id, project_id = %project, connections = revoked.len(), "integration deleted");
        Ok(())
    }

    /// Replaces a confidential client's secret (the old one stops working at once).
    ///
    /// # Errors
    /// As for `get_integration`; `Validation` for a public client, which has none.
    pub async fn rotate_client_secret(
        &self,
        who: &Principal,
        project: ProjectId,
        id: IntegrationId,
    ) -> Result<(Integration, OAuthSecret), AppError> {
        self.integrations_scope(who, project)?;
        let secret = self.oauth_secret(CLIENT_SECRET_PREFIX);
        let (mut tx, integration) = self.lock_integration(who, project, id).await?;
        may_grant(who, integration.permissions)?;
        if integration.client_type == ClientType::Public {
            return Err(FieldError::new("client_type", "a public client has no secret to rotate").into());
        }
        tx.set_client_secret(id, secret.digest()).await?;
        let event = self.event(
            EventType::IntegrationUpdated,
            who.account_id,
            Some(project),
            json!({"integration": integration_data(&integration), "change": "secret_rotated"}),
        );
        self.record(&mut *tx, event).await?;
        tx.commit().await?;
        tracing::info!(integration_id = %id, project_id = %project, "client secret rotated");
        Ok((integration, secret))
    }

    /// A page of an integration's connections, newest first.
    ///
    /// # Errors
    /// As for `get_integration`.
    pub async fn list_connections(
        &self,
        who: &Principal,
        project: ProjectId,
        id: IntegrationId,
        page: PageRequest,
    ) -> Result<Page<Connection>, AppError> {
        self.get_integration(who, project, id).await?;
        Ok(self.deps.store.list_connections(id, page).await?)
    }

    /// Disconnects one connection: its tokens stop working at once here and within the
    /// cache's lifetime elsewhere.
    ///
    /// # Errors
    /// As for `get_integration`, plus `NotFound("connection")`.
    pub async fn disconnect(
        &self,
        who: &Principal,
        project: ProjectId,
        id: IntegrationId,
        connection: ConnectionId,
    ) -> Result<(), AppError> {
        self.integrations_scope(who, project)?;
        let now = self.deps.clock.now();
        let (mut tx, integration) = self.lock_integration(who, project, id).await?;
        let found = tx.lock_connection(project, connection).await?;
        if found.is_none_or(|c| c.integration_id != id || c.revoked_at.is_some()) {
            return Err(AppError::NotFound(ConnectionId::KIND));
        }
        let revoked = tx.revoke_connections(id, Some(connection), now).await?;
        self.disconnected(&mut *tx, &integration, &revoked, "disconnected").await?;
        tx.commit().await?;
        self.oauth_tokens.evict_where(|_, (_, c)| c.id == connection);
        tracing::info!(integration_id = %id, connection_id = %connection, "connection revoked");
        Ok(())
    }

    /// Records `integration.disconnected` for each revoked connection.
    pub(crate) async fn disconnected(
        &self,
        tx: &mut dyn Transaction,
        integration: &Integration,
        revoked: &[Connection],
        reason: &str,
    ) -> Result<(), AppError> {
        for c in revoked {
            let data = json!({
                "integration": integration_data(integration),
                "connection": connection_data(c),
                "reason": reason,
            });
            let event =
                self.event(EventType::IntegrationDisconnected, integration.account_id, Some(c.project_id), data);
            self.record(tx, event).await?;
        }
        Ok(())
    }

    /// The project's dynamic client registration policy (off unless set).
    ///
    /// # Errors
    /// `Forbidden` without `webhook`; `ProjectNotFound`.
    pub async fn registration_policy(
        &self,
        who: &Principal,
        project: ProjectId,
    ) -> Result<RegistrationPolicy, AppError> {
        self.integrations_scope(who, project)?;
        self.visible_project(who, project).await?;
        Ok(self.deps.store.registration_policy(project).await?.unwrap_or_default())
    }

    /// Sets the project's dynamic client registration policy.
    ///
    /// # Errors
    /// `Forbidden` without `admin` (anyone may then register clients); `ProjectNotFound`.
    pub async fn set_registration_policy(
        &self,
        who: &Principal,
        project: ProjectId,
        policy: RegistrationPolicy,
    ) -> Result<RegistrationPolicy, AppError> {
        who.require(Permission::Admin)?;
        self.integrations_scope(who, project)?;
        self.visible_project(who, project).await?;
        self.deps.store.set_registration_policy(project, &policy).await?;
        tracing::info!(project_id = %project, enabled = policy.enabled, "dynamic client registration policy set");
        Ok(policy)
    }

    /// A fresh OAuth secret with `prefix`.
    pub(crate) fn oauth_secret(&self, prefix: &str) -> OAuthSecret {
        OAuthSecret::new(prefix, &self.deps.secrets.nonce())
    }
}
