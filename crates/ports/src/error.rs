//! The one error type of every storage port.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The row to change does not exist (or is soft-deleted).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; the string names the rule.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A list's cursor (`starting_after` / `ending_before`, named here) is not an item
    /// of that list.
    #[error("unknown cursor: {0}")]
    UnknownCursor(&'static str),
    /// The store cannot be reached right now; the caller may retry.
    #[error("store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Anything else: a bug or corrupt data. Never shown to clients.
    #[error("store error")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl RepoError {
    /// Wraps an unexpected error (corrupt row, broken invariant).
    pub fn other(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        RepoError::Other(e.into())
    }
}
