//! Reading the tool call log: what `/mcp` calls did, per project.

use serde_json::Value;
use tengine_domain::tool_call::{ToolCallFilter, ToolCallRecord};
use tengine_domain::{Page, PageRequest, Permission, Principal, ProjectId, ToolCallId};

use crate::{AppError, Tengine};

/// A logged call with its payloads opened (present only for tools with `log_payloads`).
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedCall {
    /// The record.
    pub record: ToolCallRecord,
    /// The arguments the model sent.
    pub arguments: Option<Value>,
    /// The tool result the model got.
    pub result: Option<Value>,
}

impl Tengine {
    /// A page of the project's logged calls, newest first.
    ///
    /// # Errors
    /// `Forbidden` without `read`; `ProjectNotFound`; `Unavailable`.
    pub async fn list_tool_calls(
        &self,
        who: &Principal,
        project: ProjectId,
        filter: &ToolCallFilter,
        page: PageRequest,
    ) -> Result<Page<LoggedCall>, AppError> {
        who.require(Permission::Read)?;
        who.portal_shows(None)?;
        self.visible_project(who, project).await?;
        let got = self.deps.store.list_tool_calls(project, filter, page).await?;
        Ok(got.map(|r| self.opened(r)))
    }

    /// The project's logged call `id`.
    ///
    /// # Errors
    /// `Forbidden` without `read`; `ProjectNotFound`; `NotFound`; `Unavailable`.
    pub async fn get_tool_call(
        &self,
        who: &Principal,
        project: ProjectId,
        id: ToolCallId,
    ) -> Result<LoggedCall, AppError> {
        who.require(Permission::Read)?;
        who.portal_shows(None)?;
        self.visible_project(who, project).await?;
        let record = self.deps.store.get_tool_call(project, id).await?.ok_or(AppError::NotFound(ToolCallId::KIND))?;
        Ok(self.opened(record))
    }

    /// Opens a record's sealed payloads; one that does not open (sealed under a key no
    /// longer configured) reads as absent, and the log says so.
    fn opened(&self, record: ToolCallRecord) -> LoggedCall {
        let open = |part: &str, sealed: Option<&tengine_domain::secret_key::SealedSecret>| {
            let sealed = sealed?;
            match self.deps.keyring.open_call_payload(record.id, part, sealed) {
                Ok(bytes) => serde_json::from_slice(&bytes).ok(),
                Err(e) => {
                    tracing::warn!(call_id = %record.id, error = %e, "a logged call's payload does not open");
                    None
                }
            }
        };
        let arguments = open("arguments", record.arguments.as_ref());
        let result = open("result", record.result.as_ref());
        LoggedCall { record, arguments, result }
    }
}
