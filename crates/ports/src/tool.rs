//! Custom tools: reading a project's tools. Writes go through a `Transaction`.

use tengine_domain::secret_key::SealedSecret;
use tengine_domain::{Page, PageRequest, ProjectId, Tool, ToolId};

use crate::RepoError;

/// Reads a project's live (not deleted) tools.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait::async_trait]
pub trait ToolRepository: Send + Sync {
    /// The live tool `id` of `project`.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn get_tool(&self, project: ProjectId, id: ToolId) -> Result<Option<Tool>, RepoError>;

    /// A page of the project's live tools, newest first (ties by id, descending).
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn list_tools(&self, project: ProjectId, page: PageRequest) -> Result<Page<Tool>, RepoError>;

    /// Up to `limit` live tools' stored secrets, of every account, in id order after
    /// `after` (for re-sealing them under a new server key).
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn tool_secrets_after(
        &self,
        after: Option<ToolId>,
        limit: u32,
    ) -> Result<Vec<(ToolId, SealedSecret)>, RepoError>;

    /// Replaces tool `id`'s stored secret with `new` if it is still `old` (so a change
    /// made meanwhile is kept); `false` when it was not.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn replace_tool_secret(&self, id: ToolId, old: &SealedSecret, new: &SealedSecret) -> Result<bool, RepoError>;
}
