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
