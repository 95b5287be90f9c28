//! Rows of `tools`, and a tool's values as both databases store them. The JSON fields
//! are stored as text; `inject_member_identity` as comma-separated names.

use serde_json::Value;
use tengine_domain::secret_key::SealedSecret;
use tengine_domain::tool::{
    BodyTemplate, EndpointPath, HeadersTemplate, InputSchema, MaxResponseBytes, MemberIdentity, QueryTemplate,
    TimeoutMs, ToolBaseUrl, ToolDescription,
};
use tengine_domain::{Tool, ToolName};
use tengine_ports::RepoError;

use crate::{at, Dialect};

/// A row of `tools` (live ones: `deleted_at` is not read).
#[derive(sqlx::FromRow)]
pub struct ToolRow<D: Dialect> {
    pub(crate) id: String,
    pub(crate) account_id: String,
    pub(crate) project_id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) input_schema: String,
    pub(crate) base_url: String,
    pub(crate) http_method: String,
    pub(crate) endpoint_path: String,
    pub(crate) headers_template: String,
    pub(crate) query_template: String,
    pub(crate) body_template: Option<String>,
    pub(crate) enabled: bool,
    pub(crate) require_member: bool,
    pub(crate) inject_member_identity: String,
    pub(crate) auth_strategy: String,
    pub(crate) auth_secret: Option<String>,
    pub(crate) timeout_ms: i64,
    pub(crate) max_response_bytes: i64,
    pub(crate) created_at: D::Timestamp,
    pub(crate) updated_at: D::Timestamp,
    pub(crate) log_payloads: bool,
}

/// The values of a tool's columns that are not stored as they are held.
pub struct ToolValues {
    /// `input_schema` as JSON text.
    pub input_schema: String,
    /// `headers_template` as JSON text (an object).
    pub headers_template: String,
    /// `query_template` as JSON text (an object).
    pub query_template: String,
    /// `body_template` as JSON text, or NULL for no body.
    pub body_template: Option<String>,
    /// `inject_member_identity`, comma-separated.
    pub inject_member_identity: String,
    /// `timeout_ms`.
    pub timeout_ms: i64,
    /// `max_response_bytes`.
    pub max_response_bytes: i64,
}

impl ToolValues {
    /// The stored form of `t`'s values.
    pub fn of(t: &Tool) -> Self {
        Self {
            input_schema: t.input_schema.as_json().to_string(),
            headers_template: t.headers_template.to_json().to_string(),
            query_template: t.query_template.to_json().to_string(),
            body_template: t.body_template.as_ref().map(|b| b.as_json().to_string()),
            inject_member_identity: t.inject_member_identity.names().join(","),
            timeout_ms: i64::from(t.timeout_ms.get()),
            max_response_bytes: i64::try_from(t.max_response_bytes.get()).unwrap_or(i64::MAX),
        }
    }
}

fn json(text: &str) -> Result<Value, RepoError> {
    serde_json::from_str(text).map_err(RepoError::other)
}

impl<D: Dialect> TryFrom<ToolRow<D>> for Tool {
    type Error = RepoError;

    fn try_from(row: ToolRow<D>) -> Result<Self, RepoError> {
        // Read back as stored: input rules added later must not make a row unreadable.
        Ok(Tool {
            id: row.id.parse().map_err(RepoError::other)?,
            account_id: row.account_id.parse().map_err(RepoError::other)?,
            project_id: row.project_id.parse().map_err(RepoError::other)?,
            name: ToolName::from_stored(row.name),
            description: ToolDescription::from_stored(row.description),
            input_schema: InputSchema::from_stored(json(&row.input_schema)?),
            base_url: ToolBaseUrl::from_stored(&row.base_url).map_err(RepoError::other)?,
            http_method: row.http_method.parse().map_err(RepoError::other)?,
            endpoint_path: EndpointPath::from_stored(row.endpoint_path).map_err(RepoError::other)?,
            headers_template: HeadersTemplate::from_stored(&json(&row.headers_template)?).map_err(RepoError::other)?,
            query_template: QueryTemplate::from_stored(&json(&row.query_template)?).map_err(RepoError::other)?,
            body_template: row
                .body_template
                .map(|b| json(&b).and_then(|v| BodyTemplate::from_stored(v).map_err(RepoError::other)))
                .transpose()?,
            enabled: row.enabled,
            require_member: row.require_member,
            log_payloads: row.log_payloads,
            inject_member_identity: MemberIdentity::from_stored(&row.inject_member_identity),
            auth_strategy: row.auth_strategy.parse().map_err(RepoError::other)?,
            auth_secret: row.auth_secret.map(SealedSecret::from_stored),
            timeout_ms: TimeoutMs::from_stored(row.timeout_ms).map_err(RepoError::other)?,
            max_response_bytes: MaxResponseBytes::from_stored(row.max_response_bytes).map_err(RepoError::other)?,
            created_at: at::<D>(row.created_at)?,
            updated_at: at::<D>(row.updated_at)?,
        })
    }
}
