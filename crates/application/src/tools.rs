//! Custom tool use cases: list, get, create, update, delete. The secret a tool
//! authenticates with is sealed with the server key on the way in and never leaves
//! again: not in an answer, an event or a log line.

use serde_json::{json, Value};
use tengine_domain::{
    time, EventType, FieldError, NewTool, Page, PageRequest, Permission, Principal, ProjectId, Tool, ToolDraft, ToolId,
    ToolPatch, ToolPatchDraft, ValidationError,
};
use tengine_ports::RepoError;

use crate::{AppError, Tengine};

/// A tool as event payloads show it: every field but the secret, and whether it has one.
pub fn tool_data(t: &Tool) -> Value {
    json!({
        "id": t.id.to_string(),
        "project_id": t.project_id.to_string(),
        "name": t.name.as_str(),
        "description": t.description.as_str(),
        "input_schema": t.input_schema.as_json(),
        "base_url": t.base_url.as_str(),
        "http_method": t.http_method.as_str(),
        "endpoint_path": t.endpoint_path.as_str(),
        "headers_template": t.headers_template.to_json(),
        "query_template": t.query_template.to_json(),
        "body_template": t.body_template.as_ref().map(|b| b.as_json()),
        "enabled": t.enabled,
        "require_member": t.require_member,
        "log_payloads": t.log_payloads,
        "inject_member_identity": t.inject_member_identity.names(),
        "auth_strategy": t.auth_strategy.as_str(),
        "has_auth_secret": t.auth_secret.is_some(),
        "timeout_ms": t.timeout_ms.get(),
        "max_response_bytes": t.max_response_bytes.get(),
        "created_at": time::format(t.created_at),
        "updated_at": time::format(t.updated_at),
    })
}

/// A name taken by another live tool of the project: the store's uniqueness rule.
fn name_taken(e: RepoError) -> AppError {
    match e {
        RepoError::Conflict(_) => FieldError::new("name", "already used in this project").into(),
        e => e.into(),
    }
}

impl Tengine {
    /// Accepts plain `http` base URLs (the `TENGINE_TOOLS_ALLOW_PRIVATE=true` mode, for
    /// tests and local development); off by default.
    #[must_use]
    pub fn with_tools_allow_private(mut self, allow: bool) -> Self {
        self.tools_allow_private = allow;
        self
    }

    /// Checks a client's tool definition, every field at once. Separate from
    /// `create_tool` so that, as for every body, validation answers before the
    /// permission checks and before an `Idempotency-Key` is claimed.
    ///
    /// # Errors
    /// Each refused field, by its wire name.
    pub fn tool_definition(&self, draft: ToolDraft) -> Result<NewTool, ValidationError> {
        NewTool::parse(draft, self.tools_allow_private)
    }

    /// Checks a client's changes to a tool, every field at once (the rules between
    /// fields are checked by `update_tool`, against the stored tool).
    ///
    /// # Errors
    /// Each refused field, by its wire name.
    pub fn tool_changes(&self, draft: ToolPatchDraft) -> Result<ToolPatch, ValidationError> {
        ToolPatch::parse(draft, self.tools_allow_private)
    }

    /// Lists a project's tools, newest first.
    ///
    /// # Errors
    /// `Forbidden` without `read`; `ProjectNotFound`.
    pub async fn list_tools(
        &self,
        who: &Principal,
        project: ProjectId,
        page: PageRequest,
    ) -> Result<Page<Tool>, AppError> {
        who.require(Permission::Read)?;
        who.portal_shows(None)?;
        self.visible_project(who, project).await?;
        Ok(self.deps.store.list_tools(project, page).await?)
    }

    /// Gets one tool.
    ///
    /// # Errors
    /// `Forbidden` without `read`; `ProjectNotFound`; `NotFound("tool")`.
    pub async fn get_tool(&self, who: &Principal, project: ProjectId, id: ToolId) -> Result<Tool, AppError> {
        who.require(Permission::Read)?;
        who.portal_shows(None)?;
        self.visible_project(who, project).await?;
        self.deps.store.get_tool(project, id).await?.ok_or(AppError::NotFound(ToolId::KIND))
    }

    /// Creates a tool from a checked definition, sealing its secret.
    ///
    /// # Errors
    /// `Forbidden` without `admin`; `ProjectNotFound`; `Validation` on `name` when
    /// another tool of the project has it.
    pub async fn create_tool(&self, who: &Principal, project: ProjectId, new: NewTool) -> Result<Tool, AppError> {
        who.require(Permission::Admin)?;
        who.portal_shows(None)?;
        if !who.sees(&project) {
            return Err(AppError::ProjectNotFound);
        }
        let id = ToolId::from_uuid(self.deps.ids.next_uuid());
        let nonce = self.deps.secrets.nonce();
        let seal = |s: &_| self.deps.keyring.seal_tool_secret(id, s, nonce);
        let tool = Tool::new(id, who.account_id, project, new, seal, self.deps.clock.now());
        let mut tx = self.deps.store.begin().await?;
        tx.lock_project(who.account_id, project).await?.ok_or(AppError::ProjectNotFound)?;
        tx.insert_tool(&tool).await.map_err(name_taken)?;
        let event = self.event(EventType::ToolCreated, who.account_id, Some(project), tool_data(&tool));
        self.record(&mut *tx, event).await?;
        tx.commit().await?;
        tracing::info!(tool_id = %tool.id, project_id = %project, name = %tool.name, "tool created");
        self.tools_changed(project);
        Ok(tool)
    }

    /// Changes a tool; a patch that changes nothing writes nothing (no event either). A
    /// new secret is sealed; `auth_strategy: none` drops the stored one.
    ///
    /// # Errors
    /// As for `create_tool`, plus `NotFound("tool")`; `Validation` for a change that
    /// breaks a rule between fields (a GET with a body, a strategy without a secret).
    pub async fn update_tool(
        &self,
        who: &Principal,
        project: ProjectId,
        id: ToolId,
        patch: ToolPatch,
    ) -> Result<Tool, AppError> {
        who.require(Permission::Admin)?;
        who.portal_shows(None)?;
        if !who.sees(&project) {
            return Err(AppError::ProjectNotFound);
        }
        let nonce = self.deps.secrets.nonce();
        let mut tx = self.deps.store.begin().await?;
        tx.lock_project(who.account_id, project).await?.ok_or(AppError::ProjectNotFound)?;
        let mut tool = tx.lock_tool(project, id).await?.ok_or(AppError::NotFound(ToolId::KIND))?;
        let seal = |s: &_| self.deps.keyring.seal_tool_secret(id, s, nonce);
        if tool.apply(patch, seal, self.deps.clock.now())? {
            tx.update_tool(&tool).await.map_err(|e| match e {
                RepoError::NotFound => AppError::NotFound(ToolId::KIND),
                e => name_taken(e),
            })?;
            let event = self.event(EventType::ToolUpdated, who.account_id, Some(project), tool_data(&tool));
            self.record(&mut *tx, event).await?;
            tx.commit().await?;
            tracing::info!(tool_id = %id, project_id = %project, "tool updated");
            self.tools_changed(project);
        }
        Ok(tool)
    }

    /// Deletes a tool: models no longer see it and its name is free again.
    ///
    /// # Errors
    /// `Forbidden` without `admin`; `ProjectNotFound`; `NotFound("tool")`.
    pub async fn delete_tool(&self, who: &Principal, project: ProjectId, id: ToolId) -> Result<(), AppError> {
        who.require(Permission::Admin)?;
        who.portal_shows(None)?;
        if !who.sees(&project) {
            return Err(AppError::ProjectNotFound);
        }
        let mut tx = self.deps.store.begin().await?;
        tx.lock_project(who.account_id, project).await?.ok_or(AppError::ProjectNotFound)?;
        let tool = tx.lock_tool(project, id).await?.ok_or(AppError::NotFound(ToolId::KIND))?;
        tx.delete_tool(project, id, self.deps.clock.now()).await.map_err(|e| match e {
            RepoError::NotFound => AppError::NotFound(ToolId::KIND),
            e => e.into(),
        })?;
        let event = self.event(EventType::ToolDeleted, who.account_id, Some(project), tool_data(&tool));
        self.record(&mut *tx, event).await?;
        tx.commit().await?;
        tracing::info!(tool_id = %id, project_id = %project, "tool deleted");
        self.tools_changed(project);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
