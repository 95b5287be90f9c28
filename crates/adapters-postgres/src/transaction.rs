//! `PgTransaction`: the ports' `Transaction` over one PostgreSQL transaction.

use chrono::{DateTime, Utc};
use sqlx::Postgres;
use tengine_domain::delivery::Webhook;
use tengine_domain::integration::{AuthCode, Connection, Integration, OAuthToken};
use tengine_domain::{
    Account, AccountId, ApiKey, ApiKeyId, ConnectionId, DeliveryId, Event, EventId, EventType, IntegrationId,
    PermissionSet, Project, ProjectId, Tool, ToolId, WebhookId,
};
use tengine_ports::{RepoError, Transaction, UnitOfWork};

use crate::error::map_err;
use crate::{account, api_key, delivery, event, integration, project, tool, webhook, PgStore};

/// One open PostgreSQL transaction; dropping it without `commit` rolls it back. When it
/// creates deliveries it also queues a `NOTIFY`, which PostgreSQL sends on commit.
pub struct PgTransaction {
    tx: sqlx::Transaction<'static, Postgres>,
}

#[async_trait::async_trait]
impl UnitOfWork for PgStore {
    async fn begin(&self) -> Result<Box<dyn Transaction>, RepoError> {
        let tx = self.pool.begin().await.map_err(map_err)?;
        Ok(Box::new(PgTransaction { tx }))
    }
}

#[async_trait::async_trait]
impl Transaction for PgTransaction {
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
        project::fetch(&mut *self.tx, account, id, true).await
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
        api_key::lock(&mut *self.tx, id).await
    }

    async fn update_api_key(&mut self, k: &ApiKey) -> Result<(), RepoError> {
        api_key::update(&mut *self.tx, k).await
    }

    async fn append_event(&mut self, e: &Event) -> Result<usize, RepoError> {
        delivery::append_and_fan_out(&mut self.tx, std::slice::from_ref(e)).await
    }

    async fn append_events(&mut self, es: &[Event]) -> Result<usize, RepoError> {
        delivery::append_and_fan_out(&mut self.tx, es).await
    }

    async fn update_project_and_append(&mut self, p: &Project, es: &[Event]) -> Result<usize, RepoError> {
        delivery::update_append_and_fan_out(&mut self.tx, p, es).await
    }

    async fn insert_delivery(
        &mut self,
        id: DeliveryId,
        event: EventId,
        webhook: WebhookId,
        at: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        delivery::insert(&mut self.tx, id, event, webhook, at).await
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
        webhook::fetch(&mut *self.tx, project, id, true).await
    }

    async fn update_webhook(&mut self, w: &Webhook) -> Result<(), RepoError> {
        webhook::update(&mut *self.tx, w).await
    }

    async fn delete_webhook(&mut self, project: ProjectId, id: WebhookId) -> Result<(), RepoError> {
        webhook::delete(&mut *self.tx, project, id).await
    }

    async fn insert_tool(&mut self, t: &Tool) -> Result<(), RepoError> {
        tool::insert(&mut *self.tx, t).await
    }

    async fn lock_tool(&mut self, project: ProjectId, id: ToolId) -> Result<Option<Tool>, RepoError> {
        tool::fetch(&mut *self.tx, project, id, true).await
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
        integration::fetch(&mut *self.tx, project, id, true).await
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
        self.tx.commit().await.map_err(map_err)
    }
}
