//! Projects' public keys for member assertions, and the assertion ids already used.

use chrono::{DateTime, Utc};
use tengine_domain::member_session::SigningKey;
use tengine_domain::{Page, PageRequest, ProjectId, SigningKeyId};

use crate::RepoError;

/// Stores signing keys and claims assertion ids.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait::async_trait]
pub trait SigningKeyRepository: Send + Sync {
    /// Stores a key.
    ///
    /// # Errors
    /// `Conflict` when the project already has a key with this `kid`; `Unavailable`.
    async fn insert_signing_key(&self, key: &SigningKey) -> Result<(), RepoError>;

    /// A page of the project's keys, newest first.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn list_signing_keys(&self, project: ProjectId, page: PageRequest) -> Result<Page<SigningKey>, RepoError>;

    /// The project's key `id`.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn get_signing_key(&self, project: ProjectId, id: SigningKeyId) -> Result<Option<SigningKey>, RepoError>;

    /// The project's key named `kid`.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn find_signing_key(&self, project: ProjectId, kid: &str) -> Result<Option<SigningKey>, RepoError>;

    /// Deletes the project's key `id`; `false` when there was none.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn delete_signing_key(&self, project: ProjectId, id: SigningKeyId) -> Result<bool, RepoError>;

    /// Records that `jti` was used in `project` until `expires_at`; `false` when it was
    /// already (atomically, across instances).
    ///
    /// # Errors
    /// `Unavailable`.
    async fn claim_assertion_jti(
        &self,
        project: ProjectId,
        jti: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, RepoError>;

    /// Forgets assertion ids that expired before `before`.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn purge_assertion_jtis(&self, before: DateTime<Utc>) -> Result<u64, RepoError>;
}
