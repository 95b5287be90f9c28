//! A short-lived cache of each project's enabled tools (with their compiled input
//! schemas), so an MCP `tools/call` or `tools/list` costs no store read and no schema
//! compile.
//!
//! As with the key cache, entries live at most [`TTL`](crate::ttl_cache::TTL): a tool created, changed or
//! deleted (or a project deleted) by another instance shows here within that time.
//! Changes made through this instance evict at once, and a read that raced an eviction
//! is not kept.

use std::sync::Arc;

use tengine_domain::tool::Tool;
use tengine_domain::{AccountId, ProjectId};

use crate::ttl_cache::TtlCache;

/// Projects cached beyond this count are dropped wholesale.
const MAX_PROJECTS: usize = 10_000;

/// A live project's enabled tools, sorted by name.
#[derive(Debug)]
pub struct ProjectTools {
    /// The project's account, checked against the caller's on every hit.
    pub account_id: AccountId,
    /// Enabled tools, sorted by name.
    pub tools: Vec<Arc<Tool>>,
}

impl ProjectTools {
    /// The enabled tool called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Tool>> {
        self.tools.binary_search_by(|t| t.name.as_str().cmp(name)).ok().and_then(|i| self.tools.get(i))
    }
}

/// Enabled tools by project.
pub type ToolCache = TtlCache<ProjectId, ProjectTools>;

impl Default for ToolCache {
    fn default() -> Self {
        Self::new(MAX_PROJECTS)
    }
}

impl ToolCache {
    /// Forgets a project's tools (they changed, or the project went).
    pub fn evict(&self, project: ProjectId) {
        self.evict_where(|p, _| *p == project);
    }
}
