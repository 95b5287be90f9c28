//! Calling a tool: from a loaded tool and the model's arguments to the tool result.
//!
//! The MCP layer loads the tool (by project and name) and hands it in with the caller's
//! key and member; here the call is authorised, the sealed secret opened, the request
//! prepared, sent through the [`tengine_ports::ToolCaller`] port and the answer shaped.
//! Whatever the API does, the model gets a [`ToolOutcome`]; only a call that may not be
//! made at all is an error. The secret never appears in either, nor in a log line.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tengine_domain::member::Member;
use tengine_domain::secret_key::{OpenError, SealedSecret};
use tengine_domain::tool::{
    shape_response, CallContext, CallFailure, CallRefused, PrepareError, ShownRequest, Tool, ToolOutcome,
};
use tengine_domain::tool_call::{ToolCallRecord, ToolCallStatus};
use tengine_domain::{Denied, FieldError, Permission, Principal, ProjectId, ToolCallId, ToolId};
use uuid::Uuid;

use crate::{AppError, Tengine};

pub mod log;
pub mod replay;

/// A finished call: what goes back to the model, and what a call log keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCallResult {
    /// The call's id in the call log.
    pub call_id: ToolCallId,
    /// The request's id, sent as `X-Tengine-Request-Id`.
    pub request_id: Uuid,
    /// The tool result (`isError` when the API failed or did not answer).
    pub outcome: ToolOutcome,
    /// The API's HTTP status, when it answered.
    pub upstream_status: Option<u16>,
    /// Why no answer came, when none did.
    pub failure: Option<CallFailure>,
    /// From preparing the request to the shaped answer, by the clock port.
    pub latency: Duration,
    /// Whether this is an earlier call's result, given again to a retry.
    pub replayed: bool,
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
        self.call_tool_showing(who, member, tool, arguments, false).await.map(|(done, _)| done)
    }

    /// Runs the project's tool `tool_id` once with `arguments` typed by a person (the
    /// console's "try it"), like a call through `/mcp` (logged, counted), and says what
    /// was sent, credentials masked.
    ///
    /// # Errors
    /// `Forbidden` without `write` (or for a portal session), `ProjectNotFound`,
    /// `NotFound` for an unknown tool, `Validation` for a disabled tool, one that needs a
    /// member session, or arguments that do not fit (fields named `arguments/...`).
    pub async fn try_tool(
        &self,
        who: &Principal,
        project: ProjectId,
        tool_id: ToolId,
        arguments: &Value,
    ) -> Result<(ToolCallResult, ShownRequest), AppError> {
        who.require(Permission::Write)?;
        who.portal_shows(None)?;
        self.visible_project(who, project).await?;
        let tool = self.deps.store.get_tool(project, tool_id).await?.ok_or(AppError::NotFound(ToolId::KIND))?;
        let refused = |field: &str, reason: &str| AppError::from(FieldError::new(field, reason));
        match self.call_tool_showing(who, None, &tool, arguments, true).await {
            Ok((done, Some(shown))) => Ok((done, shown)),
            Ok((_, None)) => Err(AppError::Internal(tengine_ports::RepoError::other("a tried call kept no request"))),
            Err(CallToolError::Forbidden(d)) => Err(AppError::Forbidden(d)),
            Err(CallToolError::NotFound) => Err(AppError::NotFound(ToolId::KIND)),
            Err(CallToolError::Refused(PrepareError::Refused(CallRefused::Disabled))) => {
                Err(refused("enabled", "the tool is disabled: enable it to try it"))
            }
            Err(CallToolError::Refused(PrepareError::Refused(CallRefused::MemberRequired))) => Err(refused(
                "require_member",
                "the tool needs a member session: call it through /mcp with a member session token",
            )),
            Err(CallToolError::Refused(PrepareError::InvalidArguments(v))) => Err(AppError::Validation(v)),
            Err(CallToolError::Refused(PrepareError::Render(e))) => Err(refused("arguments", &e.to_string())),
            Err(CallToolError::Refused(PrepareError::MissingSecret) | CallToolError::SecretUnavailable(_)) => {
                Err(AppError::Internal(tengine_ports::RepoError::other("the tool's secret could not be opened")))
            }
        }
    }

    /// [`Tengine::call_tool`], keeping what was sent (masked) when `show` is set.
    async fn call_tool_showing(
        &self,
        who: &Principal,
        member: Option<&Member>,
        tool: &Tool,
        arguments: &Value,
        show: bool,
    ) -> Result<(ToolCallResult, Option<ShownRequest>), CallToolError> {
        who.require(Permission::Write)?;
        if tool.account_id != who.account_id || !who.sees(&tool.project_id) {
            return Err(CallToolError::NotFound);
        }
        let started = self.deps.clock.now();
        let call_id = ToolCallId::from_uuid(self.deps.ids.next_uuid());
        let done = self.send_call(call_id, member, tool, arguments, started, show).await;
        let logged = match &done {
            Ok((d, _)) => Some(Logged::Made(d)),
            // A disabled tool does not exist for callers; nothing was tried.
            Err(CallToolError::Refused(PrepareError::Refused(CallRefused::Disabled))) => None,
            Err(CallToolError::Refused(e)) => Some(Logged::Refused(e)),
            Err(_) => None,
        };
        if let Some(logged) = logged {
            let latency = done.as_ref().map(|(d, _)| d.latency).unwrap_or_default();
            self.log_call(who, member, tool, arguments, call_id, started, latency, logged);
        }
        done
    }

    /// Opens the secret, prepares the request, sends it and shapes the answer (and
    /// with `show`, keeps the request as a person may see it).
    async fn send_call(
        &self,
        call_id: ToolCallId,
        member: Option<&Member>,
        tool: &Tool,
        arguments: &Value,
        started: DateTime<Utc>,
        show: bool,
    ) -> Result<(ToolCallResult, Option<ShownRequest>), CallToolError> {
        // Refused before the secret is even opened.
        tool.check_callable(member).map_err(PrepareError::Refused)?;
        let secret = match &tool.auth_secret {
            Some(sealed) => Some(self.deps.keyring.open_tool_secret(tool.id, sealed).map_err(|e| {
                tracing::error!(tool_id = %tool.id, error = %e, "a tool secret does not open");
                CallToolError::SecretUnavailable(e)
            })?),
            None => None,
        };
        let request_id = self.deps.ids.next_uuid();
        let ctx = CallContext { project_id: tool.project_id, request_id, timestamp: started.timestamp(), member };
        let request = tool.prepare_call(arguments, &ctx, secret.as_ref())?;
        let shown = show.then(|| request.shown(secret.as_ref()));
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
        Ok((ToolCallResult { call_id, request_id, outcome, upstream_status, failure, latency, replayed: false }, shown))
    }

    /// Notes a made or refused call in the call log (written by the usage flusher).
    #[allow(clippy::too_many_arguments)]
    fn log_call(
        &self,
        who: &Principal,
        member: Option<&Member>,
        tool: &Tool,
        arguments: &Value,
        id: ToolCallId,
        at: DateTime<Utc>,
        latency: Duration,
        logged: Logged<'_>,
    ) {
        let (status, error, request_id, upstream_status, result) = match logged {
            Logged::Made(d) => {
                let status = if d.outcome.is_error { ToolCallStatus::Failed } else { ToolCallStatus::Succeeded };
                let error = match (d.failure, d.upstream_status) {
                    (Some(f), _) => Some(ToolOutcome::failure(f).text),
                    (None, Some(code)) if d.outcome.is_error => Some(format!("The API answered HTTP {code}.")),
                    _ => None,
                };
                let result = json!({
                    "is_error": d.outcome.is_error,
                    "text": d.outcome.text,
                    "structured_content": d.outcome.structured,
                    "truncated": d.outcome.truncated,
                });
                (status, error, Some(d.request_id), d.upstream_status, Some(result))
            }
            Logged::Refused(e) => (ToolCallStatus::Refused, Some(refusal_text(e)), None, None, None),
        };
        let seal = |part: &str, v: &Value| -> SealedSecret {
            self.deps.keyring.seal_call_payload(id, part, v.to_string().as_bytes(), self.deps.secrets.nonce())
        };
        let (arguments, result) = if tool.log_payloads {
            (Some(seal("arguments", arguments)), result.as_ref().map(|r| seal("result", r)))
        } else {
            (None, None)
        };
        self.calls.note(ToolCallRecord {
            id,
            account_id: tool.account_id,
            project_id: tool.project_id,
            tool_id: tool.id,
            tool_name: tool.name.as_str().to_owned(),
            api_key_id: who.key_id,
            member_id: member.map(|m| m.id.clone()),
            status,
            upstream_status,
            latency_us: u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
            error,
            request_id,
            arguments,
            result,
            created_at: at,
        });
    }
}

/// What the call log records of a call.
enum Logged<'a> {
    /// It was sent (whatever the API did).
    Made(&'a ToolCallResult),
    /// It was refused before anything was sent.
    Refused(&'a PrepareError),
}

/// A refusal in words for the call log: the fields that did not fit, never their values.
fn refusal_text(e: &PrepareError) -> String {
    match e {
        PrepareError::InvalidArguments(v) => {
            let fields: Vec<&str> = v.errors().map(|f| f.field.as_str()).collect();
            format!("invalid arguments: {}", fields.join(", "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
