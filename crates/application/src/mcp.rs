//! The MCP server's use cases: which tools a project's `tools/list` shows, and the
//! `tools/call` that loads a tool by name and runs it through [`Tengine::call_tool`].
//!
//! Disabled tools do not exist for MCP: they are not listed, and calling one answers
//! exactly like calling a name no tool has.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tengine_domain::idempotency::{fingerprint, IdempotencyKey};
use tengine_domain::member::Member;
use tengine_domain::tool::{CallRefused, PrepareError, Tool};
use tengine_domain::{FieldError, PageRequest, Permission, Principal, ProjectId};

use crate::tool_cache::ProjectTools;
use crate::tool_calls::replay::{self, RetryKey};
use crate::tool_calls::{CallToolError, ToolCallResult};
use crate::{Answer, AppError, Begun, Guarded, IdempotentRequest, Tengine};

/// The header an account-wide key names its project with.
pub const PROJECT_HEADER: &str = "X-Tengine-Project-Id";

/// Why an MCP `tools/call` was not made; the API was not called.
#[derive(Debug, thiserror::Error)]
pub enum McpCallError {
    /// As for any use case: `Forbidden` (calling needs `write`), `ProjectNotFound`,
    /// `Unavailable`, `Internal`.
    #[error(transparent)]
    App(#[from] AppError),
    /// No enabled tool of the project has this name.
    #[error("unknown tool: {0}")]
    UnknownTool(String),
    /// The arguments do not fit the input schema, a template could not be rendered
    /// safely, or the tool needs a member session.
    #[error(transparent)]
    Refused(PrepareError),
    /// The tool's stored secret does not open under the server keys.
    #[error("the tool's secret could not be opened")]
    SecretUnavailable,
}

impl Tengine {
    /// The project an MCP request works in: a project key's own, or for an account-wide
    /// key the one `requested` by [`PROJECT_HEADER`]. Whether it exists is checked by
    /// the use cases themselves.
    ///
    /// # Errors
    /// `ProjectNotFound` when a project key names another project; `Validation` naming
    /// the header when an account-wide key names none.
    pub fn mcp_project(&self, who: &Principal, requested: Option<ProjectId>) -> Result<ProjectId, AppError> {
        match (who.scope.project(), requested) {
            (Some(own), Some(named)) if own != named => Err(AppError::ProjectNotFound),
            (Some(own), _) => Ok(own),
            (None, Some(named)) => Ok(named),
            (None, None) => {
                Err(FieldError::new(PROJECT_HEADER, "is required with an account-wide key: it names the project")
                    .into())
            }
        }
    }

    /// The project's enabled tools, by name: what `tools/list` shows.
    ///
    /// # Errors
    /// `Forbidden` without `read`; `ProjectNotFound`; `Unavailable`.
    pub async fn mcp_tools(&self, who: &Principal, project: ProjectId) -> Result<Vec<Arc<Tool>>, AppError> {
        who.require(Permission::Read)?;
        who.portal_shows(None)?;
        Ok(self.project_tools(who, project).await?.tools.clone())
    }

    /// The live project's enabled tools, from the cache when read less than a second
    /// ago; the scope check of every MCP use case.
    async fn project_tools(&self, who: &Principal, project: ProjectId) -> Result<Arc<ProjectTools>, AppError> {
        if !who.sees(&project) {
            return Err(AppError::ProjectNotFound);
        }
        let now = self.deps.clock.now();
        if let Some(hit) = self.tools.get(&project, now) {
            // Another account's project is as absent as a missing one.
            return if hit.account_id == who.account_id { Ok(hit) } else { Err(AppError::ProjectNotFound) };
        }
        let generation = self.tools.generation();
        let live = self.visible_project(who, project).await?;
        let mut tools = Vec::new();
        let mut page = PageRequest::new(1, PageRequest::MAX_PER_PAGE);
        loop {
            let got = self.deps.store.list_tools(project, page.clone()).await?;
            let more = got.has_next() && !got.items.is_empty();
            tools.extend(got.items.into_iter().filter(|t| t.enabled).map(Arc::new));
            if !more {
                break;
            }
            page = PageRequest::new(page.page().saturating_add(1), PageRequest::MAX_PER_PAGE);
        }
        tools.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
        let read = Arc::new(ProjectTools { account_id: live.account_id, tools });
        self.tools.put(project, Arc::clone(&read), now, generation);
        Ok(read)
    }

    /// Calls the project's enabled tool `name` for `who` (and the `member` of a member
    /// session) with the model's `arguments`. A call with a `retry` key seen before
    /// (for the same tool and arguments) gets the first result, `replayed`.
    ///
    /// # Errors
    /// See [`McpCallError`]; an API that fails or does not answer is an `Ok` with an
    /// `isError` outcome. A retry key used for another call is `IdempotencyKeyReused`,
    /// one whose first call still runs elsewhere `IdempotencyKeyInUse`.
    pub async fn mcp_call(
        &self,
        who: &Principal,
        member: Option<&Member>,
        project: ProjectId,
        name: &str,
        arguments: &serde_json::Value,
        retry: Option<&RetryKey>,
    ) -> Result<ToolCallResult, McpCallError> {
        who.require(Permission::Write).map_err(AppError::from)?;
        who.portal_shows(None).map_err(AppError::from)?;
        let unknown = || McpCallError::UnknownTool(name.chars().take(64).collect());
        let tools = self.project_tools(who, project).await?;
        let tool = tools.get(name).ok_or_else(unknown)?;
        let call = || async {
            self.call_tool(who, member, tool, arguments).await.map_err(|e| match e {
                CallToolError::Forbidden(d) => AppError::Forbidden(d).into(),
                CallToolError::NotFound | CallToolError::Refused(PrepareError::Refused(CallRefused::Disabled)) => {
                    unknown()
                }
                CallToolError::Refused(e) => McpCallError::Refused(e),
                CallToolError::SecretUnavailable(_) => McpCallError::SecretUnavailable,
            })
        };
        let fingerprint = fingerprint("MCP tools/call", name, arguments.to_string().as_bytes());
        match retry {
            None => call().await,
            Some(RetryKey::Session { session, request }) => {
                let key = format!("{project}\n{session}\n{request}");
                let now = self.deps.clock.now();
                let slot = self.recent.slot(&key, fingerprint, now).ok_or(AppError::IdempotencyKeyReused)?;
                let ran = AtomicBool::new(false);
                let first = slot.cell.get_or_try_init(|| {
                    ran.store(true, Ordering::Relaxed);
                    call()
                });
                match first.await {
                    Ok(done) if ran.load(Ordering::Relaxed) => {
                        self.recent.charge(&key, replay::size_of(done), now);
                        Ok(done.clone())
                    }
                    Ok(done) => Ok(ToolCallResult { replayed: true, ..done.clone() }),
                    Err(e) => {
                        self.recent.forget(&key);
                        Err(e)
                    }
                }
            }
            Some(RetryKey::Client(raw)) => {
                let valid =
                    !raw.is_empty() && raw.len() <= 255 && raw.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
                if !valid {
                    let e = FieldError::new("_meta.idempotency_key", "must be 1 to 255 printable ASCII characters");
                    return Err(AppError::from(e).into());
                }
                let req = IdempotentRequest { key: IdempotencyKey::for_tool_call(&project, raw), fingerprint };
                match self.begin_idempotent(who, &Guarded::ToolCall { project }, &req).await? {
                    Begun::Replay(answer) => replay::decode(&answer.body).ok_or_else(|| {
                        AppError::Internal(tengine_ports::RepoError::other("a kept tool result does not read back"))
                            .into()
                    }),
                    Begun::Fresh(claim) => {
                        let done = call().await;
                        let kept = done.as_ref().ok().map(|d| Answer {
                            status: 200,
                            headers: Vec::new(),
                            body: replay::encode(d),
                        });
                        self.finish_idempotent(claim, kept.as_ref()).await;
                        done
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
