//! Browser sessions: the console's sign-in sessions and projects' portal sessions.

use chrono::{DateTime, Utc};
use tengine_domain::session::{Session, SessionKind};
use tengine_domain::{AccountId, ApiKey, Page, PageRequest, ProjectId, SessionId};

use crate::RepoError;

/// Stores sessions by the digests of their secrets.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait::async_trait]
pub trait SessionRepository: Send + Sync {
    /// Stores a new session, found later by `token` (its bearer token's digest) or, for a
    /// portal not yet opened, by `code` (its one-time code's digest).
    ///
    /// # Errors
    /// `Conflict` on a duplicate id or digest; `Unavailable`.
    async fn insert_session(
        &self,
        session: &Session,
        token: Option<[u8; 32]>,
        code: Option<[u8; 32]>,
    ) -> Result<(), RepoError>;

    /// The session whose bearer token has digest `token`, with its key (absent when the
    /// key's project was deleted). Revoked and expired ones are returned too: the caller
    /// decides.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn find_session(&self, token: [u8; 32]) -> Result<Option<(Session, ApiKey)>, RepoError>;

    /// Exchanges a live portal session's one-time `code` for its bearer `token`, once:
    /// the code is cleared. `None` when no live session has that code.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn exchange_session_code(
        &self,
        code: [u8; 32],
        token: [u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, RepoError>;

    /// Session `id`, live or not.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn get_session(&self, id: SessionId) -> Result<Option<Session>, RepoError>;

    /// A page of the project's sessions of `kind`, newest first.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn list_sessions(
        &self,
        project: ProjectId,
        kind: SessionKind,
        page: PageRequest,
    ) -> Result<Page<Session>, RepoError>;

    /// Revokes session `id` of `account` at `now`; `false` when there is no such live one.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn revoke_session(&self, account: AccountId, id: SessionId, now: DateTime<Utc>) -> Result<bool, RepoError>;

    /// Deletes sessions that ended before `before`; how many went.
    ///
    /// # Errors
    /// `Unavailable`.
    async fn purge_sessions(&self, before: DateTime<Utc>) -> Result<u64, RepoError>;
}
