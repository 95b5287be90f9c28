//! Response bodies of the tools routes.

use serde::Serialize;
use serde_json::Value;
use tengine_domain::{time, Tool};
use utoipa::ToSchema;

use crate::doc::schemas::{ToolAuthStrategy, ToolHttpMethod, ToolMemberIdentity};

/// A tool as the API shows it: every field but the secret, which is write-only;
/// `has_auth_secret` says whether one is stored.
#[derive(Serialize, ToSchema)]
#[schema(
    as = Tool,
    example = json!({
        "id": "tool_2cqkZV3bC5dE7fG9hJ1kL3",
        "project_id": "proj_2cqkZJ8Xf3vTqW1bN0aYhE",
        "name": "crm-contacts-get_by_id",
        "description": "Looks up a CRM contact by id.",
        "input_schema": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
        "base_url": "https://api.example.com",
        "http_method": "GET",
        "endpoint_path": "/v1/contacts/{id}",
        "headers_template": {},
        "query_template": {},
        "body_template": null,
        "enabled": true,
        "require_member": false,
        "log_payloads": false,
        "inject_member_identity": [],
        "auth_strategy": "static_bearer",
        "has_auth_secret": true,
        "timeout_ms": 10000,
        "max_response_bytes": 262_144,
        "created_at": "2026-11-28T12:00:00Z",
        "updated_at": "2026-11-28T12:00:00Z"
    })
)]
pub struct ToolBody {
    /// The tool's id.
    #[schema(pattern = r"^tool_[0-9A-Za-z]{22}$")]
    id: String,
    /// The project it belongs to.
    #[schema(pattern = r"^proj_[0-9A-Za-z]{22}$")]
    project_id: String,
    /// What the model calls it; unique in the project.
    #[schema(pattern = r"^[a-z0-9_-]{1,64}$")]
    name: String,
    /// What the model reads.
    description: String,
    /// The arguments' JSON Schema, as written.
    #[schema(value_type = Object)]
    input_schema: Value,
    /// The API's origin.
    base_url: String,
    /// The request's method.
    #[schema(value_type = ToolHttpMethod)]
    http_method: &'static str,
    /// The request's path template.
    endpoint_path: String,
    /// Header names to templates.
    #[schema(value_type = BTreeMap<String, String>)]
    headers_template: Value,
    /// Query parameter names to templates.
    #[schema(value_type = BTreeMap<String, String>)]
    query_template: Value,
    /// The body template, or null for no body.
    #[schema(value_type = Option<Object>, required = true)]
    body_template: Option<Value>,
    /// Whether models see and may call it.
    enabled: bool,
    /// Whether a call needs a member session.
    require_member: bool,
    /// Whether the call log keeps each call's arguments and result (encrypted).
    log_payloads: bool,
    /// Member facts sent as headers.
    #[schema(value_type = Vec<ToolMemberIdentity>)]
    inject_member_identity: Vec<&'static str>,
    /// How calls authenticate.
    #[schema(value_type = ToolAuthStrategy)]
    auth_strategy: &'static str,
    /// Whether a secret is stored (it is never returned).
    has_auth_secret: bool,
    /// The call's time limit in milliseconds.
    timeout_ms: u32,
    /// How much of an answer is kept, in bytes.
    max_response_bytes: u64,
    /// When it was created.
    #[schema(format = DateTime)]
    created_at: String,
    /// When it was last changed.
    #[schema(format = DateTime)]
    updated_at: String,
}

impl From<Tool> for ToolBody {
    fn from(t: Tool) -> Self {
        Self {
            id: t.id.to_string(),
            project_id: t.project_id.to_string(),
            name: t.name.as_str().to_owned(),
            description: t.description.as_str().to_owned(),
            input_schema: t.input_schema.as_json().clone(),
            base_url: t.base_url.as_str().to_owned(),
            http_method: t.http_method.as_str(),
            endpoint_path: t.endpoint_path.as_str().to_owned(),
            headers_template: t.headers_template.to_json(),
            query_template: t.query_template.to_json(),
            body_template: t.body_template.map(|b| b.as_json().clone()),
            enabled: t.enabled,
            require_member: t.require_member,
            log_payloads: t.log_payloads,
            inject_member_identity: t.inject_member_identity.names(),
            auth_strategy: t.auth_strategy.as_str(),
            has_auth_secret: t.auth_secret.is_some(),
            timeout_ms: t.timeout_ms.get(),
            max_response_bytes: t.max_response_bytes.get() as u64,
            created_at: time::format(t.created_at),
            updated_at: time::format(t.updated_at),
        }
    }
}
