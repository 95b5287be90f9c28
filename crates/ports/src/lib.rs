//! The ports of Tengine's hexagon: what the use cases need from storage, time,
//! randomness and the network. Adapters implement them; `mocks` adds mockall mocks for unit tests.

pub mod clock;
pub mod error;
pub mod idempotency;
pub mod integration;
pub mod rate_limit;
pub mod repository;
pub mod session;
pub mod signing_key;
pub mod tool;
pub mod tool_call;
pub mod tool_caller;
pub mod unit_of_work;
pub mod usage;
pub mod webhook;

pub use clock::{Clock, IdGenerator, SecretGenerator};
pub use error::RepoError;
pub use idempotency::{IdempotencyClaim, IdempotencyRepository, StoredResponse};
pub use integration::{IntegrationRepository, StoredClient};
pub use rate_limit::{RateCounterRepository, RateDecision, RateDelta, RateLimiter};
pub use repository::{AccountRepository, ApiKeyRepository, ProjectRepository};
pub use session::SessionRepository;
pub use signing_key::SigningKeyRepository;
pub use tool::ToolRepository;
pub use tool_call::ToolCallRepository;
pub use tool_caller::{ToolCaller, UpstreamAnswer};
pub use unit_of_work::{Transaction, UnitOfWork};
pub use usage::{UsageDelta, UsageRecord, UsageRepository, UsageSink};
pub use webhook::{
    AttemptResult, DeliveryJob, DeliveryNotifier, DeliveryQueue, OutboundRequest, OutboundResponse,
    StoredWebhookSecrets, WebhookEffect, WebhookRepository, WebhookSender, WebhookStats,
};

#[cfg(feature = "mocks")]
pub use clock::{MockClock, MockIdGenerator, MockSecretGenerator};
#[cfg(feature = "mocks")]
pub use integration::MockIntegrationRepository;
#[cfg(feature = "mocks")]
pub use rate_limit::{MockRateCounterRepository, MockRateLimiter};
#[cfg(feature = "mocks")]
pub use repository::{MockAccountRepository, MockApiKeyRepository, MockProjectRepository};
#[cfg(feature = "mocks")]
pub use session::MockSessionRepository;
#[cfg(feature = "mocks")]
pub use signing_key::MockSigningKeyRepository;
#[cfg(feature = "mocks")]
pub use tool::MockToolRepository;
#[cfg(feature = "mocks")]
pub use tool_call::MockToolCallRepository;
#[cfg(feature = "mocks")]
pub use tool_caller::MockToolCaller;
#[cfg(feature = "mocks")]
pub use unit_of_work::{MockTransaction, MockUnitOfWork};
#[cfg(feature = "mocks")]
pub use usage::{MockUsageRepository, MockUsageSink};
#[cfg(feature = "mocks")]
pub use webhook::{MockDeliveryQueue, MockWebhookRepository, MockWebhookSender};

/// Every storage port at once: what a storage adapter provides.
pub trait Store:
    AccountRepository
    + ProjectRepository
    + ApiKeyRepository
    + UsageRepository
    + RateCounterRepository
    + WebhookRepository
    + DeliveryQueue
    + IdempotencyRepository
    + ToolRepository
    + ToolCallRepository
    + SessionRepository
    + SigningKeyRepository
    + IntegrationRepository
    + UnitOfWork
{
}

impl<T> Store for T where
    T: AccountRepository
        + ProjectRepository
        + ApiKeyRepository
        + UsageRepository
        + RateCounterRepository
        + WebhookRepository
        + DeliveryQueue
        + IdempotencyRepository
        + ToolRepository
        + ToolCallRepository
        + SessionRepository
        + SigningKeyRepository
        + IntegrationRepository
        + UnitOfWork
{
}

#[cfg(feature = "mocks")]
mod mock_store {
    use chrono::{DateTime, Utc};
    use tengine_domain::delivery::{Delivery, Webhook};
    use tengine_domain::usage::UsageCounts;
    use tengine_domain::{
        Account, AccountId, ApiKey, ApiKeyDigest, ApiKeyId, DeliveryId, Event, EventType, Page, PageRequest, Project,
        ProjectId, Tool, ToolId, WebhookId,
    };

    use crate::{
        AccountRepository, ApiKeyRepository, AttemptResult, DeliveryJob, DeliveryQueue, IdempotencyClaim,
        IdempotencyRepository, ProjectRepository, RateCounterRepository, RateDelta, RepoError, SessionRepository,
        SigningKeyRepository, StoredResponse, StoredWebhookSecrets, ToolCallRepository, ToolRepository, Transaction,
        UnitOfWork, UsageDelta, UsageRepository, WebhookRepository,
    };

    mockall::mock! {
        /// A mock of every storage port at once, for application unit tests.
        pub Store {}

        #[async_trait::async_trait]
        impl AccountRepository for Store {
            async fn get_account(&self, id: AccountId) -> Result<Option<Account>, RepoError>;
        }

        #[async_trait::async_trait]
        impl ProjectRepository for Store {
            async fn get_project(&self, account: AccountId, id: ProjectId) -> Result<Option<Project>, RepoError>;
            async fn list_projects(&self, account: AccountId, only: Option<ProjectId>, page: PageRequest) -> Result<Page<Project>, RepoError>;
        }

        #[async_trait::async_trait]
        impl ApiKeyRepository for Store {
            async fn find_by_digest(&self, digest: &ApiKeyDigest) -> Result<Option<ApiKey>, RepoError>;
            async fn find_api_key_by_id(&self, id: ApiKeyId) -> Result<Option<ApiKey>, RepoError>;
            async fn get_api_key(&self, project: ProjectId, id: ApiKeyId) -> Result<Option<ApiKey>, RepoError>;
            async fn list_api_keys(&self, account: AccountId, project: ProjectId, page: PageRequest) -> Result<Page<tengine_domain::ApiKeySummary>, RepoError>;
            async fn touch_last_used(&self, uses: &[(ApiKeyId, DateTime<Utc>)]) -> Result<(), RepoError>;
        }

        #[async_trait::async_trait]
        impl UsageRepository for Store {
            async fn add_usage(&self, deltas: &[UsageDelta]) -> Result<(), RepoError>;
            async fn usage_by_hour(&self, project: ProjectId, key: Option<tengine_domain::usage::UsageSubject>, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<(DateTime<Utc>, UsageCounts)>, RepoError>;
            async fn usage_by_project(&self, account: AccountId, project: Option<ProjectId>, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<tengine_domain::usage::ProjectTotals>, RepoError>;
        }

        #[async_trait::async_trait]
        impl RateCounterRepository for Store {
            async fn sync_rate_counters(&self, deltas: &[RateDelta]) -> Result<Vec<(u64, u64)>, RepoError>;
            async fn admit_one(&self, account: AccountId, window_start: DateTime<Utc>, pending: u64, carried: u64, limit: u64) -> Result<(bool, u64), RepoError>;
            async fn purge_rate_windows(&self, before: DateTime<Utc>) -> Result<(), RepoError>;
        }

        #[async_trait::async_trait]
        impl WebhookRepository for Store {
            async fn get_webhook(&self, project: ProjectId, id: WebhookId) -> Result<Option<Webhook>, RepoError>;
            async fn list_webhooks(&self, account: AccountId, project: ProjectId, page: PageRequest) -> Result<Page<tengine_domain::delivery::WebhookSummary>, RepoError>;
            async fn failing_webhooks(&self, account: AccountId, project: Option<ProjectId>, limit: u32) -> Result<Vec<Webhook>, RepoError>;
            async fn list_deliveries(&self, account: AccountId, project: ProjectId, webhook: WebhookId, page: PageRequest) -> Result<Page<Delivery>, RepoError>;
            async fn get_delivery(&self, webhook: WebhookId, id: DeliveryId) -> Result<Option<Delivery>, RepoError>;
            async fn webhook_stats(&self, webhook: WebhookId, since: DateTime<Utc>) -> Result<crate::webhook::WebhookStats, RepoError>;
            async fn list_events(&self, account: AccountId, project: ProjectId, kind: Option<EventType>, page: PageRequest) -> Result<Page<Event>, RepoError>;
            async fn webhook_secrets_after(&self, after: Option<WebhookId>, limit: u32) -> Result<Vec<StoredWebhookSecrets>, RepoError>;
            async fn replace_webhook_secrets(&self, old: &StoredWebhookSecrets, new: &StoredWebhookSecrets) -> Result<bool, RepoError>;
        }

        #[async_trait::async_trait]
        impl DeliveryQueue for Store {
            async fn claim_due(&self, worker: &str, now: DateTime<Utc>, lease: std::time::Duration, limit: usize) -> Result<Vec<DeliveryJob>, RepoError>;
            async fn complete(&self, results: &[AttemptResult]) -> Result<(), RepoError>;
            async fn release(&self, worker: &str) -> Result<(), RepoError>;
            async fn pending_deliveries(&self) -> Result<u64, RepoError>;
            async fn next_due(&self) -> Result<Option<DateTime<Utc>>, RepoError>;
            async fn purge_delivered(&self, before: DateTime<Utc>, limit: u32) -> Result<crate::webhook::Purged, RepoError>;
            async fn take_send_budget(&self, webhook: WebhookId, window: DateTime<Utc>, limit: u32, want: u32) -> Result<u32, RepoError>;
            async fn postpone(&self, worker: &str, ids: &[DeliveryId], until: DateTime<Utc>) -> Result<(), RepoError>;
        }

        #[async_trait::async_trait]
        impl IdempotencyRepository for Store {
            async fn claim_idempotency(&self, account: AccountId, key_hash: [u8; 32], fingerprint: [u8; 32], now: DateTime<Utc>, stale_before: DateTime<Utc>, expired_before: DateTime<Utc>) -> Result<IdempotencyClaim, RepoError>;
            async fn complete_idempotency(&self, account: AccountId, key_hash: [u8; 32], response: &StoredResponse) -> Result<(), RepoError>;
            async fn release_idempotency(&self, account: AccountId, key_hash: [u8; 32]) -> Result<(), RepoError>;
            async fn purge_idempotency(&self, before: DateTime<Utc>) -> Result<u64, RepoError>;
        }

        #[async_trait::async_trait]
        impl ToolRepository for Store {
            async fn get_tool(&self, project: ProjectId, id: ToolId) -> Result<Option<Tool>, RepoError>;
            async fn list_tools(&self, project: ProjectId, page: PageRequest) -> Result<Page<Tool>, RepoError>;
            async fn tool_secrets_after(&self, after: Option<ToolId>, limit: u32) -> Result<Vec<(ToolId, tengine_domain::secret_key::SealedSecret)>, RepoError>;
            async fn replace_tool_secret(&self, id: ToolId, old: &tengine_domain::secret_key::SealedSecret, new: &tengine_domain::secret_key::SealedSecret) -> Result<bool, RepoError>;
        }

        #[async_trait::async_trait]
        impl ToolCallRepository for Store {
            async fn insert_tool_calls(&self, calls: &[tengine_domain::tool_call::ToolCallRecord]) -> Result<(), RepoError>;
            async fn add_tool_usage(&self, deltas: &[tengine_domain::tool_call::ToolUsageDelta]) -> Result<(), RepoError>;
            async fn list_tool_calls(&self, project: ProjectId, filter: &tengine_domain::tool_call::ToolCallFilter, page: PageRequest) -> Result<Page<tengine_domain::tool_call::ToolCallRecord>, RepoError>;
            async fn get_tool_call(&self, project: ProjectId, id: tengine_domain::ToolCallId) -> Result<Option<tengine_domain::tool_call::ToolCallRecord>, RepoError>;
            async fn tool_usage_by_hour(&self, project: ProjectId, filter: &tengine_domain::tool_call::ToolUsageFilter, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<(DateTime<Utc>, UsageCounts)>, RepoError>;
            async fn purge_tool_calls(&self, before: DateTime<Utc>) -> Result<u64, RepoError>;
        }

        #[async_trait::async_trait]
        impl SessionRepository for Store {
            async fn insert_session(&self, session: &tengine_domain::session::Session, token: Option<[u8; 32]>, code: Option<[u8; 32]>) -> Result<(), RepoError>;
            async fn find_session(&self, token: [u8; 32]) -> Result<Option<(tengine_domain::session::Session, ApiKey)>, RepoError>;
            async fn exchange_session_code(&self, code: [u8; 32], token: [u8; 32], now: DateTime<Utc>) -> Result<Option<tengine_domain::session::Session>, RepoError>;
            async fn get_session(&self, id: tengine_domain::SessionId) -> Result<Option<tengine_domain::session::Session>, RepoError>;
            async fn list_sessions(&self, project: ProjectId, kind: tengine_domain::session::SessionKind, page: PageRequest) -> Result<Page<tengine_domain::session::Session>, RepoError>;
            async fn revoke_session(&self, account: AccountId, id: tengine_domain::SessionId, now: DateTime<Utc>) -> Result<bool, RepoError>;
            async fn purge_sessions(&self, before: DateTime<Utc>) -> Result<u64, RepoError>;
        }

        #[async_trait::async_trait]
        impl SigningKeyRepository for Store {
            async fn insert_signing_key(&self, key: &tengine_domain::member_session::SigningKey) -> Result<(), RepoError>;
            async fn list_signing_keys(&self, project: ProjectId, page: PageRequest) -> Result<Page<tengine_domain::member_session::SigningKey>, RepoError>;
            async fn get_signing_key(&self, project: ProjectId, id: tengine_domain::SigningKeyId) -> Result<Option<tengine_domain::member_session::SigningKey>, RepoError>;
            async fn find_signing_key(&self, project: ProjectId, kid: &str) -> Result<Option<tengine_domain::member_session::SigningKey>, RepoError>;
            async fn delete_signing_key(&self, project: ProjectId, id: tengine_domain::SigningKeyId) -> Result<bool, RepoError>;
            async fn claim_assertion_jti(&self, project: ProjectId, jti: &str, expires_at: DateTime<Utc>) -> Result<bool, RepoError>;
            async fn purge_assertion_jtis(&self, before: DateTime<Utc>) -> Result<u64, RepoError>;
        }

        #[async_trait::async_trait]
        impl crate::IntegrationRepository for Store {
            async fn get_integration(&self, project: ProjectId, id: tengine_domain::IntegrationId) -> Result<Option<tengine_domain::integration::Integration>, RepoError>;
            async fn find_client(&self, id: tengine_domain::IntegrationId) -> Result<Option<crate::integration::StoredClient>, RepoError>;
            async fn list_integrations(&self, project: ProjectId, page: PageRequest) -> Result<Page<tengine_domain::integration::Integration>, RepoError>;
            async fn count_dynamic_integrations(&self, project: ProjectId) -> Result<u64, RepoError>;
            async fn list_connections(&self, integration: tengine_domain::IntegrationId, page: PageRequest) -> Result<Page<tengine_domain::integration::Connection>, RepoError>;
            async fn insert_auth_code(&self, digest: [u8; 32], code: &tengine_domain::integration::AuthCode) -> Result<(), RepoError>;
            async fn find_oauth_token(&self, digest: [u8; 32]) -> Result<Option<(tengine_domain::integration::OAuthToken, tengine_domain::integration::Connection)>, RepoError>;
            async fn delete_oauth_token(&self, digest: [u8; 32]) -> Result<bool, RepoError>;
            async fn touch_connections(&self, uses: &[(tengine_domain::ConnectionId, DateTime<Utc>)]) -> Result<(), RepoError>;
            async fn registration_policy(&self, project: ProjectId) -> Result<Option<tengine_domain::integration::RegistrationPolicy>, RepoError>;
            async fn registration_projects(&self, limit: u32) -> Result<Vec<ProjectId>, RepoError>;
            async fn set_registration_policy(&self, project: ProjectId, policy: &tengine_domain::integration::RegistrationPolicy) -> Result<(), RepoError>;
            async fn project_account(&self, project: ProjectId) -> Result<Option<AccountId>, RepoError>;
            async fn purge_oauth(&self, before: DateTime<Utc>) -> Result<u64, RepoError>;
        }

        #[async_trait::async_trait]
        impl UnitOfWork for Store {
            async fn begin(&self) -> Result<Box<dyn Transaction>, RepoError>;
        }
    }
}

#[cfg(feature = "mocks")]
pub use mock_store::MockStore;
