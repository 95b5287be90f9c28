//! The call log's response objects.

use serde::Serialize;
use serde_json::Value;
use tengine_application::LoggedCall;
use tengine_domain::time;
use utoipa::ToSchema;

use crate::doc::schemas::ToolCallStatusName;

/// One tool call made (or refused) through `/mcp`.
#[derive(Serialize, ToSchema)]
#[schema(
    as = ToolCall,
    example = json!({
        "id": "call_2cqkZW4cD6eF8gH0jK2lM4",
        "project_id": "proj_2cqkZJ8Xf3vTqW1bN0aYhE",
        "tool_id": "tool_2cqkZV3bC5dE7fG9hJ1kL3",
        "tool_name": "crm-contacts-get_by_id",
        "api_key_id": "key_2cqkZKq0Rz9dLm4sTb6uVw",
        "member_id": "user-42",
        "status": "succeeded",
        "upstream_status": 200,
        "latency_ms": 41.5,
        "error": null,
        "request_id": "0b7e3c5a-2f49-4d8e-9a51-6c0d2e1f7a93",
        "arguments": null,
        "result": null,
        "created_at": "2026-11-28T12:00:00Z"
    })
)]
pub struct ToolCallBody {
    /// The call's id.
    #[schema(pattern = r"^call_[0-9A-Za-z]{22}$")]
    id: String,
    /// The project.
    project_id: String,
    /// The tool called.
    tool_id: String,
    /// The tool's name when it was called.
    tool_name: String,
    /// The key that called (for a member session, the key that issued it).
    api_key_id: String,
    /// The member of a member session, or null.
    #[schema(required = true)]
    member_id: Option<String>,
    /// What became of it.
    #[schema(value_type = ToolCallStatusName)]
    status: &'static str,
    /// The API's HTTP status, or null when it did not answer or nothing was sent.
    #[schema(required = true)]
    upstream_status: Option<u16>,
    /// From preparing the request to the shaped answer, in milliseconds.
    latency_ms: f64,
    /// What went wrong, or null. Never holds a secret or an argument's value.
    #[schema(required = true)]
    error: Option<String>,
    /// The `X-Tengine-Request-Id` the API got, or null when nothing was sent.
    #[schema(required = true, pattern = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    request_id: Option<String>,
    /// The model's arguments, kept only when the tool has `log_payloads` (else null).
    #[schema(value_type = Option<Object>, required = true)]
    arguments: Option<Value>,
    /// The tool result the model got (`is_error`, `text`, `structured_content`,
    /// `truncated`), kept only when the tool has `log_payloads` (else null).
    #[schema(value_type = Option<Object>, required = true)]
    result: Option<Value>,
    /// When the call was made.
    #[schema(format = DateTime)]
    created_at: String,
}

impl From<LoggedCall> for ToolCallBody {
    fn from(c: LoggedCall) -> Self {
        let r = c.record;
        Self {
            id: r.id.to_string(),
            project_id: r.project_id.to_string(),
            tool_id: r.tool_id.to_string(),
            tool_name: r.tool_name,
            api_key_id: r.api_key_id.to_string(),
            member_id: r.member_id.map(|m| m.as_str().to_owned()),
            status: r.status.as_str(),
            upstream_status: r.upstream_status,
            latency_ms: (r.latency_us as f64 / 10.0).round() / 100.0,
            error: r.error,
            request_id: r.request_id.map(|u| u.to_string()),
            arguments: c.arguments,
            result: c.result,
            created_at: time::format(r.created_at),
        }
    }
}
