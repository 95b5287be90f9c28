//! The ports of Tengine's hexagon: what the use cases need from storage, time and
//! randomness. Adapters implement them; `mocks` adds mockall mocks for unit tests.

pub mod clock;
pub mod error;
pub mod repository;
pub mod unit_of_work;

pub use clock::{Clock, IdGenerator, SecretGenerator};
pub use error::RepoError;
pub use repository::{AccountRepository, ApiKeyRepository, ProjectRepository};
pub use unit_of_work::{Transaction, UnitOfWork};

#[cfg(feature = "mocks")]
pub use clock::{MockClock, MockIdGenerator, MockSecretGenerator};
#[cfg(feature = "mocks")]
pub use repository::{MockAccountRepository, MockApiKeyRepository, MockProjectRepository};
#[cfg(feature = "mocks")]
pub use unit_of_work::{MockTransaction, MockUnitOfWork};

/// Every storage port at once: what a storage adapter provides.
pub trait Store: AccountRepository + ProjectRepository + ApiKeyRepository + UnitOfWork {}

impl<T: AccountRepository + ProjectRepository + ApiKeyRepository + UnitOfWork> Store for T {}

#[cfg(feature = "mocks")]
mod mock_store {
    use chrono::{DateTime, Utc};
    use tengine_domain::{Account, AccountId, ApiKey, ApiKeyDigest, ApiKeyId, Page, PageRequest, Project, ProjectId};

    use crate::{AccountRepository, ApiKeyRepository, ProjectRepository, RepoError, Transaction, UnitOfWork};

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
            async fn get_api_key(&self, project: ProjectId, id: ApiKeyId) -> Result<Option<ApiKey>, RepoError>;
            async fn list_api_keys(&self, project: ProjectId, page: PageRequest) -> Result<Page<ApiKey>, RepoError>;
            async fn touch_last_used(&self, uses: &[(ApiKeyId, DateTime<Utc>)]) -> Result<(), RepoError>;
        }

        #[async_trait::async_trait]
        impl UnitOfWork for Store {
            async fn begin(&self) -> Result<Box<dyn Transaction>, RepoError>;
        }
    }
}

#[cfg(feature = "mocks")]
pub use mock_store::MockStore;
