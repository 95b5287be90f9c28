//! Response bodies of the integrations routes.

use serde::Serialize;
use tengine_domain::integration::{scope_of, Connection, Integration, OAuthSecret, RegistrationPolicy};
use tengine_domain::time;
use utoipa::ToSchema;

use crate::doc::schemas::PermissionName;

/// An integration (an OAuth client of the project); `client_secret` only on create and
/// rotate-secret of a confidential client.
#[derive(Serialize, ToSchema)]
#[schema(
    as = Integration,
    example = json!({
        "id": "int_2cqkZT3bC5dE7fG9hJ1kL3",
        "project_id": "proj_2cqkZJ8Xf3vTqW1bN0aYhE",
        "name": "Claude Desktop",
        "client_id": "int_2cqkZT3bC5dE7fG9hJ1kL3",
        "client_type": "public",
        "redirect_uris": ["http://127.0.0.1/callback"],
        "permissions": ["read", "write"],
        "dynamic": false,
        "created_at": "2026-11-28T12:00:00Z",
        "updated_at": "2026-11-28T12:00:00Z"
    })
)]
pub struct IntegrationBody {
    /// The integration's id.
    #[schema(pattern = r"^int_[0-9A-Za-z]{22}$")]
    pub(crate) id: String,
    /// The project its tokens reach.
    #[schema(pattern = r"^proj_[0-9A-Za-z]{22}$")]
    pub(crate) project_id: String,
    /// What the consent page shows.
    pub(crate) name: String,
    /// The OAuth `client_id` (the same as `id`).
    #[schema(pattern = r"^int_[0-9A-Za-z]{22}$")]
    pub(crate) client_id: String,
    /// `public` (PKCE only) or `confidential` (authenticates with its secret).
    #[schema(value_type = String, pattern = "^(public|confidential)$")]
    pub(crate) client_type: &'static str,
    /// Where authorization answers may be sent (loopback `http` redirects match any port).
    pub(crate) redirect_uris: Vec<String>,
    /// The most the integration may ask for.
    #[schema(value_type = Vec<PermissionName>)]
    pub(crate) permissions: Vec<&'static str>,
    /// Registered by the client itself (RFC 7591) rather than by an admin.
    pub(crate) dynamic: bool,
    /// The client secret. Present only in the create and rotate-secret responses of a
    /// confidential client.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, pattern = r"^tng_ocs_[0-9A-Za-z_-]{32}$")]
    pub(crate) client_secret: Option<String>,
    /// When it was created.
    #[schema(format = DateTime)]
    pub(crate) created_at: String,
    /// When it was last changed.
    #[schema(format = DateTime)]
    pub(crate) updated_at: String,
}

impl IntegrationBody {
    pub(crate) fn new(i: Integration, secret: Option<&OAuthSecret>) -> Self {
        Self {
            id: i.id.to_string(),
            project_id: i.project_id.to_string(),
            name: i.name,
            client_id: i.id.to_string(),
            client_type: i.client_type.as_str(),
            redirect_uris: i.redirect_uris.iter().map(|r| r.as_str().to_owned()).collect(),
            permissions: i.permissions.names(),
            dynamic: i.dynamic,
            client_secret: secret.map(|s| s.expose_secret().to_owned()),
            created_at: time::format(i.created_at),
            updated_at: time::format(i.updated_at),
        }
    }
}

/// A connection: one grant of the integration, and every token issued from it.
#[derive(Serialize, ToSchema)]
#[schema(as = IntegrationConnection)]
pub struct ConnectionBody {
    /// The connection's id.
    #[schema(pattern = r"^conn_[0-9A-Za-z]{22}$")]
    pub(crate) id: String,
    /// The integration.
    #[schema(pattern = r"^int_[0-9A-Za-z]{22}$")]
    pub(crate) integration_id: String,
    /// The project.
    #[schema(pattern = r"^proj_[0-9A-Za-z]{22}$")]
    pub(crate) project_id: String,
    /// The key (or the key of the console session) that approved it.
    #[schema(pattern = r"^key_[0-9A-Za-z]{22}$")]
    pub(crate) approved_by: String,
    /// What its tokens may do.
    #[schema(value_type = Vec<PermissionName>)]
    pub(crate) permissions: Vec<&'static str>,
    /// The same as an OAuth `scope`.
    pub(crate) scope: String,
    /// The audience its tokens are bound to (RFC 8707), or null.
    #[schema(required = true)]
    pub(crate) resource: Option<String>,
    /// When it was approved.
    #[schema(format = DateTime)]
    pub(crate) created_at: String,
    /// When a token of it last authenticated (written at most once a minute), or null.
    #[schema(format = DateTime, required = true)]
    pub(crate) last_used_at: Option<String>,
    /// When it was disconnected, or null while live.
    #[schema(format = DateTime, required = true)]
    pub(crate) revoked_at: Option<String>,
}

impl From<Connection> for ConnectionBody {
    fn from(c: Connection) -> Self {
        Self {
            id: c.id.to_string(),
            integration_id: c.integration_id.to_string(),
            project_id: c.project_id.to_string(),
            approved_by: c.approved_by.to_string(),
            permissions: c.permissions.names(),
            scope: scope_of(c.permissions),
            resource: c.resource,
            created_at: time::format(c.created_at),
            last_used_at: c.last_used_at.map(time::format),
            revoked_at: c.revoked_at.map(time::format),
        }
    }
}

/// Whether clients may register themselves with the project (RFC 7591).
#[derive(Serialize, ToSchema)]
#[schema(as = ClientRegistrationPolicy, example = json!({"enabled": true, "permissions": ["read", "write"]}))]
pub struct RegistrationPolicyBody {
    /// Whether `POST /oauth/projects/{project_id}/register` accepts clients.
    pub(crate) enabled: bool,
    /// The most a registered client may ask for.
    #[schema(value_type = Vec<PermissionName>)]
    pub(crate) permissions: Vec<&'static str>,
}

impl From<RegistrationPolicy> for RegistrationPolicyBody {
    fn from(p: RegistrationPolicy) -> Self {
        Self { enabled: p.enabled, permissions: p.permissions.names() }
    }
}
