//! Read-side repository traits, one per resource. Method names are unique across the
//! traits, since one store implements them all (and one mock mocks them all).

use chrono::{DateTime, Utc};
use tengine_domain::{
    Account, AccountId, ApiKey, ApiKeyDigest, ApiKeyId, ApiKeySummary, Page, PageRequest, Project, ProjectId,
};

use crate::RepoError;

/// Reads accounts.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait::async_trait]
pub trait AccountRepository: Send + Sync {
    /// The account with `id`.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn get_account(&self, id: AccountId) -> Result<Option<Account>, RepoError>;
}

/// Reads live (not soft-deleted) projects.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait::async_trait]
pub trait ProjectRepository: Send + Sync {
    /// The live project `id` of `account`; `None` if missing, deleted or another account's.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn get_project(&self, account: AccountId, id: ProjectId) -> Result<Option<Project>, RepoError>;

    /// A page of the account's live projects, newest first (created_at, id);
    /// `only` restricts it to one project (for project-scoped keys).
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn list_projects(
        &self,
        account: AccountId,
        only: Option<ProjectId>,
        page: PageRequest,
    ) -> Result<Page<Project>, RepoError>;
}

/// Reads API key records.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait::async_trait]
pub trait ApiKeyRepository: Send + Sync {
    /// The key whose current or previous secret has `digest`, unless its project is
    /// deleted. Revocation and expiry are for the caller to judge.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn find_by_digest(&self, digest: &ApiKeyDigest) -> Result<Option<ApiKey>, RepoError>;

    /// The key `id`, whatever its scope, unless its project is deleted (revoked keys
    /// included).
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn find_api_key_by_id(&self, id: ApiKeyId) -> Result<Option<ApiKey>, RepoError>;

    /// The key `id` of `project` (revoked keys included).
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn get_api_key(&self, project: ProjectId, id: ApiKeyId) -> Result<Option<ApiKey>, RepoError>;

    /// A page of the project's keys, newest first, revoked ones included, as a list
    /// shows them.
    ///
    /// # Errors
    /// `NotFound` when `project` is not a live project of `account` (checked in the
    /// page's own statement); `Unavailable` when the store cannot be reached.
    async fn list_api_keys(
        &self,
        account: AccountId,
        project: ProjectId,
        page: PageRequest,
    ) -> Result<Page<ApiKeySummary>, RepoError>;

    /// Sets `last_used_at` for each key, never moving it backwards.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn touch_last_used(&self, uses: &[(ApiKeyId, DateTime<Utc>)]) -> Result<(), RepoError>;
}
