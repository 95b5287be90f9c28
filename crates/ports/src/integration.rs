//! Integrations (OAuth clients of a project), their connections, and the codes and
//! tokens the authorization server issues. Secrets are found by their SHA-256 digests.

use chrono::{DateTime, Utc};
use tengine_domain::integration::{AuthCode, Connection, Integration, OAuthToken, RegistrationPolicy};
use tengine_domain::{AccountId, ConnectionId, IntegrationId, Page, PageRequest, ProjectId};

use crate::RepoError;

/// An integration with its client secret's digest (confidential clients).
pub type StoredClient = (Integration, Option<[u8; 32]>);

/// Reads and the writes that need no transaction.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait::async_trait]
pub trait IntegrationRepository: Send + Sync {
    /// Integration `id` of `project`.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn get_integration(&self, project: ProjectId, id: IntegrationId) -> Result<Option<Integration>, RepoError>;

    /// The integration a `client_id` names, with its secret's digest, when its project
    /// is live.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn find_client(&self, id: IntegrationId) -> Result<Option<StoredClient>, RepoError>;

    /// A page of the project's integrations, newest first.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn list_integrations(&self, project: ProjectId, page: PageRequest) -> Result<Page<Integration>, RepoError>;

    /// How many dynamically registered integrations the project has.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn count_dynamic_integrations(&self, project: ProjectId) -> Result<u64, RepoError>;

    /// A page of an integration's connections (live and revoked), newest first.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn list_connections(
        &self,
        integration: IntegrationId,
        page: PageRequest,
    ) -> Result<Page<Connection>, RepoError>;

    /// Stores an approved authorization request under its code's digest.
    ///
    /// # Errors
    /// `Conflict` on a duplicate digest; `Unavailable`.
    async fn insert_auth_code(&self, digest: [u8; 32], code: &AuthCode) -> Result<(), RepoError>;

    /// The token with `digest` and its connection, while the integration and project
    /// exist (revoked connections and expired tokens are returned: the caller decides).
    ///
    /// # Errors
    /// `Unavailable`.
    async fn find_oauth_token(&self, digest: [u8; 32]) -> Result<Option<(OAuthToken, Connection)>, RepoError>;

    /// Deletes one token; whether it existed.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn delete_oauth_token(&self, digest: [u8; 32]) -> Result<bool, RepoError>;

    /// Records when connections were last used (batched by the flusher).
    ///
    /// # Errors
    /// `Unavailable`.
    async fn touch_connections(&self, uses: &[(ConnectionId, DateTime<Utc>)]) -> Result<(), RepoError>;

    /// The project's dynamic registration policy (`None`: never set, so off).
    ///
    /// # Errors
    /// `Unavailable`.
    async fn registration_policy(&self, project: ProjectId) -> Result<Option<RegistrationPolicy>, RepoError>;

    /// Up to `limit` live projects whose registration policy is on (server-wide, any
    /// account): where a registration that names no project may go.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn registration_projects(&self, limit: u32) -> Result<Vec<ProjectId>, RepoError>;

    /// Sets the project's dynamic registration policy.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn set_registration_policy(&self, project: ProjectId, policy: &RegistrationPolicy) -> Result<(), RepoError>;

    /// The account of live project `project` (registration has no caller to scope by).
    ///
    /// # Errors
    /// `Unavailable`.
    async fn project_account(&self, project: ProjectId) -> Result<Option<AccountId>, RepoError>;

    /// Deletes codes and tokens that expired before `before`; how many went.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn purge_oauth(&self, before: DateTime<Utc>) -> Result<u64, RepoError>;
}
