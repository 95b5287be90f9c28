//! Rows of `sessions`, and a session's values as both databases store them.

use serde_json::{json, Value};
use tengine_domain::session::{PortalSection, PortalTheme, Session, SessionKind};
use tengine_domain::{Member, MemberEmail, MemberRole, PermissionSet};
use tengine_ports::RepoError;

use crate::{at, opt_at, Dialect};

/// The columns of [`SessionRow`], in order.
pub const SESSION_COLUMNS: &str = "id, kind, account_id, api_key_id, project_id, permissions, sections, \
     allowed_origins, theme, member, expires_at, created_at, revoked_at, code_digest IS NULL AS exchanged";

/// A row of `sessions`.
#[derive(sqlx::FromRow)]
pub struct SessionRow<D: Dialect> {
    id: String,
    kind: String,
    account_id: String,
    api_key_id: String,
    project_id: Option<String>,
    permissions: D::SmallInt,
    sections: String,
    allowed_origins: String,
    theme: Option<String>,
    member: Option<String>,
    expires_at: D::Timestamp,
    created_at: D::Timestamp,
    revoked_at: Option<D::Timestamp>,
    exchanged: bool,
}

/// A session's text columns as stored: sections, origins, theme.
pub struct SessionValues {
    /// Comma-separated section names.
    pub sections: String,
    /// Newline-separated origins.
    pub allowed_origins: String,
    /// The theme as JSON text.
    pub theme: Option<String>,
    /// The member as JSON text.
    pub member: Option<String>,
}

impl SessionValues {
    /// The stored form of `s`'s values.
    pub fn of(s: &Session) -> Self {
        Self {
            sections: s.sections.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(","),
            allowed_origins: s.allowed_origins.join("\n"),
            theme: s.theme.as_ref().map(|t| {
                json!({"accent": t.accent, "background": t.background, "text": t.text, "radius": t.radius}).to_string()
            }),
            member: s.member.as_ref().map(|m| {
                let roles: Vec<&str> = m.roles.iter().map(MemberRole::as_str).collect();
                json!({"id": m.id.as_str(), "email": m.email.as_ref().map(MemberEmail::as_str), "roles": roles})
                    .to_string()
            }),
        }
    }
}

fn theme(text: &str) -> Result<PortalTheme, RepoError> {
    let v: Value = serde_json::from_str(text).map_err(RepoError::other)?;
    let field = |name: &str| v[name].as_str().map(str::to_owned);
    Ok(PortalTheme {
        accent: field("accent"),
        background: field("background"),
        text: field("text"),
        radius: field("radius"),
    })
}

fn member(text: &str) -> Result<Member, RepoError> {
    let v: Value = serde_json::from_str(text).map_err(RepoError::other)?;
    let roles: Vec<&str> =
        v["roles"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    Member::parse(v["id"].as_str().unwrap_or_default(), v["email"].as_str(), &roles).map_err(RepoError::other)
}

impl<D: Dialect> TryFrom<SessionRow<D>> for Session {
    type Error = RepoError;

    fn try_from(row: SessionRow<D>) -> Result<Self, RepoError> {
        let bits = u8::try_from(row.permissions.into()).map_err(RepoError::other)?;
        Ok(Session {
            id: row.id.parse().map_err(RepoError::other)?,
            kind: SessionKind::from_stored(&row.kind).ok_or_else(|| RepoError::other("unknown session kind"))?,
            account_id: row.account_id.parse().map_err(RepoError::other)?,
            key_id: row.api_key_id.parse().map_err(RepoError::other)?,
            project_id: row.project_id.map(|p| p.parse().map_err(RepoError::other)).transpose()?,
            permissions: PermissionSet::from_bits(bits).ok_or_else(|| RepoError::other("bad permission bits"))?,
            sections: PortalSection::from_stored(&row.sections),
            allowed_origins: row.allowed_origins.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect(),
            theme: row.theme.as_deref().map(theme).transpose()?,
            expires_at: at::<D>(row.expires_at)?,
            created_at: at::<D>(row.created_at)?,
            revoked_at: opt_at::<D>(row.revoked_at)?,
            exchanged: row.exchanged,
            member: row.member.as_deref().map(member).transpose()?,
        })
    }
}
