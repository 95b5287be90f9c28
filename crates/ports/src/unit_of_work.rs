//! Transactions: every write goes through one, so related changes (and, later, the
//! events they cause) commit or vanish together.

use chrono::{DateTime, Utc};
use tengine_domain::delivery::Webhook;
use tengine_domain::integration::{AuthCode, Connection, Integration, OAuthToken};
use tengine_domain::{
    Account, AccountId, ApiKey, ApiKeyId, ConnectionId, DeliveryId, Event, EventId, EventType, IntegrationId,
    PermissionSet, Project, ProjectId, Tool, ToolId, WebhookId,
};

use crate::RepoError;

/// Opens transactions.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait::async_trait]
pub trait UnitOfWork: Send + Sync {
    /// Starts a transaction; dropping it without `commit` rolls it back.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn begin(&self) -> Result<Box<dyn Transaction>, RepoError>;
}

/// One open transaction. Reads through it see its own writes and lock what they read.
///
/// After any error the transaction is spoiled (PostgreSQL refuses further statements):
/// drop it, which rolls it back.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait::async_trait]
pub trait Transaction: Send {
    /// Marks the store as bootstrapped; `false` if someone already did.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn claim_bootstrap(&mut self) -> Result<bool, RepoError>;

    /// Inserts an account.
    ///
    /// # Errors
    /// `Conflict` if the id exists.
    async fn insert_account(&mut self, account: &Account) -> Result<(), RepoError>;

    /// Inserts a project.
    ///
    /// # Errors
    /// `Conflict` if the id exists.
    async fn insert_project(&mut self, project: &Project) -> Result<(), RepoError>;

    /// Inserts several projects, in one statement where the backend can (the group
    /// commit of concurrent creates).
    ///
    /// # Errors
    /// `Conflict` if an id exists.
    async fn insert_projects(&mut self, projects: &[Project]) -> Result<(), RepoError> {
        for project in projects {
            self.insert_project(project).await?;
        }
        Ok(())
    }

    /// Reads a live project of `account` and locks it until the end of the transaction.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn lock_project(&mut self, account: AccountId, id: ProjectId) -> Result<Option<Project>, RepoError>;

    /// Writes a project's name, description and `updated_at`.
    ///
    /// # Errors
    /// `NotFound` if the project is missing or deleted.
    async fn update_project(&mut self, project: &Project) -> Result<(), RepoError>;

    /// Soft-deletes a live project at `at`, and its live tools with it.
    ///
    /// # Errors
    /// `NotFound` if the project is missing, deleted or another account's.
    async fn delete_project(&mut self, account: AccountId, id: ProjectId, at: DateTime<Utc>) -> Result<(), RepoError>;

    /// Inserts a key record.
    ///
    /// # Errors
    /// `Conflict` if the id or a digest exists.
    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<(), RepoError>;

    /// Reads any key by id (revoked ones included) and locks it until the end of the
    /// transaction; callers check account and scope.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn lock_api_key(&mut self, id: ApiKeyId) -> Result<Option<ApiKey>, RepoError>;

    /// Writes every mutable field of a key (name, permissions, secret digests, prefix,
    /// expiry, revocation, `updated_at`).
    ///
    /// # Errors
    /// `NotFound` if the key does not exist.
    async fn update_api_key(&mut self, key: &ApiKey) -> Result<(), RepoError>;

    /// Appends an event to the outbox (and the project's event log) and creates one
    /// pending delivery, due now, for every webhook that receives it
    /// ([`Webhook::receives`]: active, of the event's account, of a live project, and
    /// subscribed; `webhook.test` never fans out). Workers are woken on commit.
    /// Returns the number of deliveries created.
    ///
    /// # Errors
    /// `Conflict` if the id exists.
    async fn append_event(&mut self, event: &Event) -> Result<usize, RepoError>;

    /// [`append_event`](Self::append_event) for several events, in one statement per
    /// table where the backend can. Returns the number of deliveries created.
    ///
    /// # Errors
    /// `Conflict` if an id exists.
    async fn append_events(&mut self, events: &[Event]) -> Result<usize, RepoError> {
        let mut deliveries = 0;
        for event in events {
            deliveries += self.append_event(event).await?;
        }
        Ok(deliveries)
    }

    /// [`update_project`](Self::update_project) then
    /// [`append_events`](Self::append_events): a project's change and the events that
    /// say so, which a backend may write in one statement. Returns the number of
    /// deliveries created.
    ///
    /// # Errors
    /// `NotFound` if the project is missing or deleted (and nothing is appended);
    /// `Conflict` if an event id exists.
    async fn update_project_and_append(&mut self, project: &Project, events: &[Event]) -> Result<usize, RepoError> {
        self.update_project(project).await?;
        self.append_events(events).await
    }

    /// Creates a pending delivery, due now, of a stored event to one webhook (test
    /// events and redeliveries), waking workers on commit.
    ///
    /// # Errors
    /// `Conflict` if the id exists; `NotFound` if the event or webhook does not.
    async fn insert_delivery(
        &mut self,
        id: DeliveryId,
        event: EventId,
        webhook: WebhookId,
        at: DateTime<Utc>,
    ) -> Result<(), RepoError>;

    /// Marks recovered at `at` up to `limit` deliveries of `webhook` that ended `failed`,
    /// were created in `[since, until)` and were never recovered, oldest first; returns
    /// their ids and events (the caller creates one new delivery for each).
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn take_failed_deliveries(
        &mut self,
        webhook: WebhookId,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        at: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(DeliveryId, EventId)>, RepoError>;

    /// Inserts a webhook.
    ///
    /// # Errors
    /// `Conflict` if the id exists.
    async fn insert_webhook(&mut self, webhook: &Webhook) -> Result<(), RepoError>;

    /// Reads a webhook of `project` and locks it until the end of the transaction.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn lock_webhook(&mut self, project: ProjectId, id: WebhookId) -> Result<Option<Webhook>, RepoError>;

    /// Writes every mutable field of a webhook (url, description, events, active,
    /// secrets, failing_since, updated_at).
    ///
    /// # Errors
    /// `NotFound` if it does not exist.
    async fn update_webhook(&mut self, webhook: &Webhook) -> Result<(), RepoError>;

    /// Deletes a webhook and its deliveries.
    ///
    /// # Errors
    /// `NotFound` if it does not exist in `project`.
    async fn delete_webhook(&mut self, project: ProjectId, id: WebhookId) -> Result<(), RepoError>;

    /// Inserts a tool.
    ///
    /// # Errors
    /// `Conflict` if a live tool of the project has its name (or the id exists).
    async fn insert_tool(&mut self, tool: &Tool) -> Result<(), RepoError>;

    /// Reads a live tool of `project` and locks it until the end of the transaction.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn lock_tool(&mut self, project: ProjectId, id: ToolId) -> Result<Option<Tool>, RepoError>;

    /// Writes every mutable field of a live tool (all but its ids and `created_at`).
    ///
    /// # Errors
    /// `NotFound` if it does not exist or is deleted; `Conflict` if another live tool of
    /// the project has the new name.
    async fn update_tool(&mut self, tool: &Tool) -> Result<(), RepoError>;

    /// Soft-deletes a live tool of `project` at `at`: it is no longer read or listed,
    /// and its name is free again.
    ///
    /// # Errors
    /// `NotFound` if it does not exist in `project` or is already deleted.
    async fn delete_tool(&mut self, project: ProjectId, id: ToolId, at: DateTime<Utc>) -> Result<(), RepoError>;

    /// Records that the usage alert `kind` was sent for `account` in the hour window
    /// starting at `window_start`; `false` if it already was (by any instance).
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn claim_usage_alert(
        &mut self,
        account: AccountId,
        kind: EventType,
        window_start: DateTime<Utc>,
    ) -> Result<bool, RepoError>;

    /// Inserts an integration with its client secret's digest (confidential clients).
    ///
    /// # Errors
    /// `Conflict` if the id exists.
    async fn insert_integration(
        &mut self,
        integration: &Integration,
        secret: Option<[u8; 32]>,
    ) -> Result<(), RepoError>;

    /// Reads an integration of `project` and locks it until the end of the transaction.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn lock_integration(
        &mut self,
        project: ProjectId,
        id: IntegrationId,
    ) -> Result<Option<Integration>, RepoError>;

    /// Writes an integration's name, redirect URIs, permissions and `updated_at`.
    ///
    /// # Errors
    /// `NotFound` if it does not exist.
    async fn update_integration(&mut self, integration: &Integration) -> Result<(), RepoError>;

    /// Replaces an integration's client secret digest.
    ///
    /// # Errors
    /// `NotFound` if it does not exist.
    async fn set_client_secret(&mut self, id: IntegrationId, secret: [u8; 32]) -> Result<(), RepoError>;

    /// Deletes an integration with its connections, codes and tokens.
    ///
    /// # Errors
    /// `NotFound` if it does not exist in `project`.
    async fn delete_integration(&mut self, project: ProjectId, id: IntegrationId) -> Result<(), RepoError>;

    /// Revokes the integration's live connections (only `one`, when given) and deletes
    /// their tokens; returns the connections revoked, as they now are.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn revoke_connections(
        &mut self,
        integration: IntegrationId,
        one: Option<ConnectionId>,
        at: DateTime<Utc>,
    ) -> Result<Vec<Connection>, RepoError>;

    /// Narrows the integration's live connections to `allowed`: an `admin` grant becomes
    /// `allowed`, any other keeps what `allowed` still covers, and one left with nothing
    /// is revoked at `at` with its tokens. Returns those changed, as they now are.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn narrow_connections(
        &mut self,
        integration: IntegrationId,
        allowed: PermissionSet,
        at: DateTime<Utc>,
    ) -> Result<Vec<Connection>, RepoError>;

    /// Reads a connection of `project` and locks it.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn lock_connection(&mut self, project: ProjectId, id: ConnectionId) -> Result<Option<Connection>, RepoError>;

    /// Marks the code with `digest` used at `at` (if it was not) and returns it as it was
    /// before: `used_at` set means this is a second use.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn use_auth_code(&mut self, digest: [u8; 32], at: DateTime<Utc>) -> Result<Option<AuthCode>, RepoError>;

    /// Inserts a connection made by exchanging the code with `code` digest, and notes it
    /// on the code (so a second use of the code can revoke it).
    ///
    /// # Errors
    /// `Conflict` if the id exists.
    async fn insert_connection(&mut self, connection: &Connection, code: [u8; 32]) -> Result<(), RepoError>;

    /// Stores a token under its digest.
    ///
    /// # Errors
    /// `Conflict` on a duplicate digest.
    async fn insert_oauth_token(&mut self, digest: [u8; 32], token: &OAuthToken) -> Result<(), RepoError>;

    /// Marks the refresh token with `digest` spent at `at` (if it was not) and returns
    /// it as it was before, with its connection (`spent_at` set means a reuse).
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn spend_refresh_token(
        &mut self,
        digest: [u8; 32],
        at: DateTime<Utc>,
    ) -> Result<Option<(OAuthToken, Connection)>, RepoError>;

    /// Commits every write of the transaction.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached; nothing is then written.
    async fn commit(self: Box<Self>) -> Result<(), RepoError>;
}
