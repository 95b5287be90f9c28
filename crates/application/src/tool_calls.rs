//! Calling a tool: from a loaded tool and the model's arguments to the tool result.
//!
//! The MCP layer loads the tool (by project and name) and hands it in with the caller's
//! key and member; here the call is authorised, the sealed secret opened, the request
//! prepared, sent through the [`tengine_ports::ToolCaller`] port and the answer shaped.
//! Whatever the API does, the model gets a [`ToolOutcome`]; only a call that may not be
//! made at all is an error. The secret never appears in either, nor in a log line.

use std::time::Duration;

use serde_json::Value;
use tengine_domain::member::Member;
use tengine_domain::secret_key::OpenError;
use tengine_domain::tool::{shape_response, CallContext, CallFailure, PrepareError, Tool, ToolOutcome};
use tengine_domain::{Denied, Permission, Principal};
use uuid::Uuid;

use crate::Tengine;

/// A finished call: what goes back to the model, and what a call log keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCallResult {
    /// The call's id, sent as `X-Tengine-Request-Id`.
    pub request_id: Uuid,
    /// The tool result (`isError` when the API failed or did not answer).
    pub outcome: ToolOutcome,
    /// The API's HTTP status, when it answered.
    pub upstream_status: Option<u16>,
    /// Why no answer came, when none did.
    pub failure: Option<CallFailure>,
    /// From preparing the request to the shaped answer, by the clock port.
    pub latency: Duration,
}

/// Why a tool call was not made; the API was not called.
#[derive(Debug, thiserror::Error)]
pub enum CallToolError {
    /// The key may not call tools (`write`).
    #[error("forbidden: {0}")]
    Forbidden(#[from] Denied),
    /// The tool is not one the key can see (another account or project).
    #[error("tool not found")]
    NotFound,
    /// Disabled, no member session for a `require_member` tool, arguments that do not
    /// fit the input schema, or a template they cannot render safely.
    #[error(transparent)]
    Refused(#[from] PrepareError),
    /// The stored secret does not open under the configured server keys (a 500: the
    /// cause goes to the log, it names a key id at most).
    #[error("the tool's secret could not be opened")]
    SecretUnavailable(#[source] OpenError),
}

impl Tengine {
    /// Calls `tool` for `who` (and the `member` of a member session) with the model's
    /// `arguments` (`null` counts as `{}`).
    ///
    /// # Errors
    /// See [`CallToolError`]: in each case nothing was sent. An API that fails, times
    /// out or sits at a refused address gives `Ok` with an `isError` outcome.
    pub async fn call_tool(
        &self,
        who: &Principal,
        member: Option<&Member>,
        tool: &Tool,
        arguments: &Value,
    ) -> Result<ToolCallResult, CallToolError> {
        who.require(Permission::Write)?;
        if tool.account_id != who.account_id || !who.sees(&tool.project_id) {
            return Err(CallToolError::NotFound);
        }
        // Refused before the secret is even opened.
        tool.check_callable(member).map_err(PrepareError::Refused)?;
        let secret = match &tool.auth_secret {
            Some(sealed) => Some(self.deps.keyring.open_tool_secret(tool.id, sealed).map_err(|e| {
                tracing::error!(tool_id = %tool.id, error = %e, "a tool secret does not open");
                CallToolError::SecretUnavailable(e)
            })?),
            None => None,
        };
        let started = self.deps.clock.now();
        let request_id = self.deps.ids.next_uuid();
        let ctx = CallContext { project_id: tool.project_id, request_id, timestamp: started.timestamp(), member };
        let request = tool.prepare_call(arguments, &ctx, secret.as_ref())?;
        let (outcome, upstream_status, failure) = match self.deps.tool_caller.call(&request).await {
            Ok(answer) => {
                let content_type = answer.content_type.as_deref();
                let shaped =
                    shape_response(answer.status, content_type, &answer.body, tool.max_response_bytes, secret.as_ref());
                (shaped, Some(answer.status), None)
            }
            Err(f) => {
                tracing::debug!(tool_id = %tool.id, %request_id, failure = ?f, "a tool call got no answer");
                (ToolOutcome::failure(f), None, Some(f))
            }
        };
        let latency = (self.deps.clock.now() - started).to_std().unwrap_or_default();
        Ok(ToolCallResult { request_id, outcome, upstream_status, failure, latency })
    }
}

#[cfg(test)]
mod tests;
