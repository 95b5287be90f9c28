//! `SqliteTransaction`: the ports' `Transaction` over one SQLite write transaction,
//! begun with `BEGIN IMMEDIATE` on the single writer connection, so it never meets a
//! lock upgrade failure ("database is locked") half way.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::Sqlite;
use tengine_domain::delivery::Webhook;
use tengine_domain::integration::{AuthCode, Connection, Integration, OAuthToken};
use tengine_domain::{
    Account, AccountId, ApiKey, ApiKeyId, ConnectionId, DeliveryId, Event, EventId, EventType, IntegrationId,
    PermissionSet, Project, ProjectId, Tool, ToolId, WebhookId,
};
use tengine_ports::{RepoError, Transaction, UnitOfWork};
use tokio::sync::Notify;

use crate::error::map_err;
use crate::{account, api_key, delivery, event, integration, project, tool, webhook, SqliteStore};

/// One open SQLite write transaction; dropping it without `commit` rolls it back.
/// Committing one that created deliveries wakes the store's delivery notifier.
pub struct SqliteTransaction {
    tx: sqlx::Transaction<'static, Sqlite>,
    deliveries: Arc<Notify>,
    created_deliveries: bool,
}

#[async_trait::async_trait]
impl UnitOfWork for SqliteStore {
    async fn begin(&self) -> Result<Box<dyn Transaction>, RepoError> {
        let tx = self.begin_immediate().await?;
        Ok(Box::new(SqliteTransaction { tx, deliveries: Arc::clone(&self.deliveries), created_deliveries: false }))
    }
}

#[async_trait::async_trait]
impl Transaction for SqliteTransaction {
    async fn claim_bootstrap(&mut self) -> Result<bool, RepoError> {
        account::claim_bootstrap(&mut *self.tx).await
    }

    async fn insert_account(&mut self, a: &Account) -> Result<(), RepoError> {
        account::insert(&mut *self.tx, a).await
    }

    async fn insert_project(&mut self, p: &Project) -> Result<(), RepoError> {
        project::insert(&mut *self.tx, std::slice::from_ref(p)).await
    }

    async fn insert_projects(&mut self, ps: &[Project]) -> Result<(), RepoError> {
        project::insert(&mut *self.tx, ps).await
    }

    async fn lock_project(&mut self, account: AccountId, id: ProjectId) -> Result<Option<Project>, RepoError> {
        project::fetch(&mut *self.tx, account, id).await
    }

    async fn update_project(&mut self, p: &Project) -> Result<(), RepoError> {
        project::update(&mut *self.tx, p).await
    }

    async fn delete_project(&mut self, account: AccountId, id: ProjectId, at: DateTime<Utc>) -> Result<(), RepoError> {
        project::delete(&mut *self.tx, account, id, at).await?;
        tool::delete_all(&mut *self.tx, id, at).await
    }

    async fn insert_api_key(&mut self, k: &ApiKey) -> Result<(), RepoError> {
        api_key::insert(&mut *self.tx, k).await
    }

    async fn lock_api_key(&mut self, id: ApiKeyId) -> Result<Option<ApiKey>, RepoError> {
        api_key::fetch(&mut *self.tx, id).await
    }

    async fn update_api_key(&mut self, k: &ApiKey) -> Result<(), RepoError> {
        api_key::update(&mut *self.tx, k).await
    }

    async fn append_event(&mut self, e: &Event) -> Result<usize, RepoError> {
        self.append_events(std::slice::from_ref(e)).await
    }

    async fn append_events(&mut self, es: &[Event]) -> Result<usize, RepoError> {
        let created = event::append(&mut self.tx, es).await?;
        self.created_deliveries |= created > 0;
        Ok(created)
    }

    async fn insert_delivery(
        &mut self,
        id: DeliveryId,
        event: EventId,
        webhook: WebhookId,
        at: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        delivery::insert(&mut *self.tx, id, event, webhook, at).await?;
        self.created_deliveries = true;
        Ok(())
    }

    async fn take_failed_deliveries(
        &mut self,
        webhook: WebhookId,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        at: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(DeliveryId, EventId)>, RepoError> {
        delivery::take_failed(&mut *self.tx, webhook, since, until, at, limit).await
    }

    async fn insert_webhook(&mut self, w: &Webhook) -> Result<(), RepoError> {
        webhook::insert(&mut *self.tx, w).await
    }

    async fn lock_webhook(&mut self, project: ProjectId, id: WebhookId) -> Result<Option<Webhook>, RepoError> {
        webhook::fetch(&mut *self.tx, project, id).await
    }

    async fn update_webhook(&mut self, w: &Webhook) -> Result<(), RepoError> {
        webhook::update(&mut self.tx, w).await
    }

    async fn delete_webhook(&mut self, project: ProjectId, id: WebhookId) -> Result<(), RepoError> {
        webhook::delete(&mut *self.tx, project, id).await
    }

    async fn insert_tool(&mut self, t: &Tool) -> Result<(), RepoError> {
        tool::insert(&mut *self.tx, t).await
    }

    async fn lock_tool(&mut self, project: ProjectId, id: ToolId) -> Result<Option<Tool>, RepoError> {
        tool::fetch(&mut *self.tx, project, id).await
    }

    async fn update_tool(&mut self, t: &Tool) -> Result<(), RepoError> {
        tool::update(&mut *self.tx, t).await
    }

    async fn delete_tool(&mut self, project: ProjectId, id: ToolId, at: DateTime<Utc>) -> Result<(), RepoError> {
        tool::delete(&mut *self.tx, project, id, at).await
    }

    async fn claim_usage_alert(
        &mut self,
        account: AccountId,
        kind: EventType,
        window_start: DateTime<Utc>,
    ) -> Result<bool, RepoError> {
        event::claim_alert(&mut *self.tx, account, kind, window_start).await
    }

    async fn insert_integration(&mut self, i: &Integration, secret: Option<[u8; 32]>) -> Result<(), RepoError> {
        integration::insert(&mut *self.tx, i, secret).await
    }

    async fn lock_integration(
        &mut self,
        project: ProjectId,
        id: IntegrationId,
    ) -> Result<Option<Integration>, RepoError> {
        integration::fetch(&mut *self.tx, project, id).await
    }

    async fn update_integration(&mut self, i: &Integration) -> Result<(), RepoError> {
        integration::update(&mut *self.tx, i).await
    }

    async fn set_client_secret(&mut self, id: IntegrationId, secret: [u8; 32]) -> Result<(), RepoError> {
        integration::set_secret(&mut *self.tx, id, secret).await
    }

    async fn delete_integration(&mut self, project: ProjectId, id: IntegrationId) -> Result<(), RepoError> {
        integration::delete(&mut *self.tx, project, id).await
    }

    async fn revoke_connections(
        &mut self,
        id: IntegrationId,
        one: Option<ConnectionId>,
        at: DateTime<Utc>,
    ) -> Result<Vec<Connection>, RepoError> {
        integration::revoke_connections(&mut self.tx, id, one, at).await
    }

    async fn narrow_connections(
        &mut self,
        id: IntegrationId,
        allowed: PermissionSet,
        at: DateTime<Utc>,
    ) -> Result<Vec<Connection>, RepoError> {
        integration::narrow_connections(&mut self.tx, id, allowed, at).await
    }

    async fn lock_connection(&mut self, project: ProjectId, id: ConnectionId) -> Result<Option<Connection>, RepoError> {
        integration::fetch_connection(&mut *self.tx, project, id).await
    }

    async fn use_auth_code(&mut self, digest: [u8; 32], at: DateTime<Utc>) -> Result<Option<AuthCode>, RepoError> {
        integration::use_code(&mut self.tx, digest, at).await
    }

    async fn insert_connection(&mut self, c: &Connection, code: [u8; 32]) -> Result<(), RepoError> {
        integration::insert_connection(&mut self.tx, c, code).await
    }

    async fn insert_oauth_token(&mut self, digest: [u8; 32], t: &OAuthToken) -> Result<(), RepoError> {
        integration::insert_token(&mut *self.tx, digest, t).await
    }

    async fn spend_refresh_token(
        &mut self,
        digest: [u8; 32],
        at: DateTime<Utc>,
    ) -> Result<Option<(OAuthToken, Connection)>, RepoError> {
        integration::spend_refresh(&mut self.tx, digest, at).await
    }

    async fn commit(self: Box<Self>) -> Result<(), RepoError> {
        self.tx.commit().await.map_err(map_err)?;
        if self.created_deliveries {
            // Stores a permit if no worker is waiting, so the next wait returns at once.
            self.deliveries.notify_one();
        }
        Ok(())
    }
}
