//! `GET /me` and the browser sessions' response objects.

use serde::Serialize;
use tengine_application::Me;
use tengine_domain::session::{PortalTheme, Session, SessionKind};
use tengine_domain::{time, KeyScope};
use utoipa::ToSchema;

/// A portal's look, as CSS values.
#[derive(Serialize, serde::Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
#[schema(as = PortalTheme)]
pub struct ThemeBody {
    /// Accent colour (`#rgb` or `#rrggbb`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")]
    pub accent: Option<String>,
    /// Background colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")]
    pub background: Option<String>,
    /// Text colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")]
    pub text: Option<String>,
    /// Corner radius, `0px` to `99px`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9]{1,2}px$")]
    pub radius: Option<String>,
}

impl From<ThemeBody> for PortalTheme {
    fn from(t: ThemeBody) -> Self {
        PortalTheme { accent: t.accent, background: t.background, text: t.text, radius: t.radius }
    }
}

impl From<&PortalTheme> for ThemeBody {
    fn from(t: &PortalTheme) -> Self {
        ThemeBody {
            accent: t.accent.clone(),
            background: t.background.clone(),
            text: t.text.clone(),
            radius: t.radius.clone(),
        }
    }
}

/// The session a caller acts through.
#[derive(Serialize, ToSchema)]
#[schema(as = MeSession)]
pub struct MeSessionBody {
    /// `console` or `portal`.
    #[schema(pattern = "^(console|portal)$")]
    kind: &'static str,
    /// When it ends.
    #[schema(format = DateTime)]
    expires_at: String,
    /// What a portal shows (empty for the console).
    sections: Vec<&'static str>,
}

/// Who is calling: the key behind the request and what it may do.
#[derive(Serialize, ToSchema)]
#[schema(as = Me)]
pub struct MeBody {
    /// The key's id (a session's key).
    key_id: String,
    /// The key's display prefix.
    prefix: String,
    /// The key's account.
    account_id: String,
    /// `account` or `project`.
    #[schema(pattern = "^(account|project)$")]
    scope: &'static str,
    /// The one project a project-scoped caller sees, else null.
    #[schema(required = true)]
    project_id: Option<String>,
    /// What the caller may do.
    permissions: Vec<&'static str>,
    /// When the caller's key (or portal session) expires, or null.
    #[schema(required = true, format = DateTime)]
    expires_at: Option<String>,
    /// The account's plan.
    plan: &'static str,
    /// Requests per hour, or null for unlimited.
    #[schema(required = true)]
    limit: Option<u32>,
    /// The browser session the caller acts through, or null for an API key.
    #[schema(required = true)]
    session: Option<MeSessionBody>,
}

impl From<Me> for MeBody {
    fn from(me: Me) -> Self {
        let p = me.principal;
        let (scope, project_id) = match p.scope {
            KeyScope::Account => ("account", None),
            KeyScope::Project(id) => ("project", Some(id.to_string())),
        };
        Self {
            key_id: p.key_id.to_string(),
            prefix: me.prefix,
            account_id: p.account_id.to_string(),
            scope,
            project_id,
            permissions: p.permissions.names(),
            expires_at: p.expires_at.map(time::format),
            plan: me.plan.name(),
            limit: me.plan.requests_per_hour(),
            session: p.session.map(|s| MeSessionBody {
                kind: s.kind.as_str(),
                expires_at: time::format(s.expires_at),
                sections: s.sections.iter().map(|x| x.as_str()).collect(),
            }),
        }
    }
}

/// A console sign-in: the bearer token that stands for the key in the browser.
#[derive(Serialize, ToSchema)]
#[schema(as = ConsoleSession)]
pub struct ConsoleSessionBody {
    /// The bearer token (`tng_cs_...`), shown in this answer only.
    pub(crate) token: String,
    /// When it ends (sooner if the key is revoked or expires).
    #[schema(format = DateTime)]
    pub(crate) expires_at: String,
}

/// A portal session.
#[derive(Serialize, ToSchema)]
#[schema(as = PortalSession)]
pub struct PortalSessionBody {
    /// Its id.
    #[schema(pattern = r"^ps_[0-9A-Za-z]{22}$")]
    id: String,
    /// The project it shows.
    project_id: String,
    /// The one-time URL to open in an iframe (create answer only): the code rides in the
    /// fragment, which browsers never send to servers.
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    /// `active`, `revoked` or `expired`.
    #[schema(pattern = "^(active|revoked|expired)$")]
    status: &'static str,
    /// Whether the URL was opened (its code exchanged).
    opened: bool,
    /// What the portal may do.
    permissions: Vec<&'static str>,
    /// What it shows.
    sections: Vec<&'static str>,
    /// Origins that may frame it.
    allowed_origins: Vec<String>,
    /// Its look.
    #[schema(required = true)]
    theme: Option<ThemeBody>,
    /// When it ends.
    #[schema(format = DateTime)]
    expires_at: String,
    /// When it was created.
    #[schema(format = DateTime)]
    created_at: String,
}

impl PortalSessionBody {
    /// The session as of `now`, with its URL when just created.
    pub(crate) fn new(s: &Session, url: Option<String>, now: chrono::DateTime<chrono::Utc>) -> Self {
        let status = match (s.revoked_at, s.is_live(now)) {
            (Some(_), _) => "revoked",
            (None, true) => "active",
            (None, false) => "expired",
        };
        debug_assert_eq!(s.kind, SessionKind::Portal);
        Self {
            id: s.id.to_string(),
            project_id: s.project_id.map(|p| p.to_string()).unwrap_or_default(),
            url,
            status,
            opened: s.exchanged,
            permissions: s.permissions.names(),
            sections: s.sections.iter().map(|x| x.as_str()).collect(),
            allowed_origins: s.allowed_origins.clone(),
            theme: s.theme.as_ref().map(ThemeBody::from),
            expires_at: time::format(s.expires_at),
            created_at: time::format(s.created_at),
        }
    }
}

/// An opened portal: its bearer token and what to show.
#[derive(Serialize, ToSchema)]
#[schema(as = PortalExchange)]
pub struct PortalExchangeBody {
    /// The bearer token (`tng_ps_...`) for `/api/v1`, acting for that project only.
    pub(crate) token: String,
    /// When it ends.
    #[schema(format = DateTime)]
    pub(crate) expires_at: String,
    /// The project.
    pub(crate) project_id: String,
    /// What to show.
    pub(crate) sections: Vec<&'static str>,
    /// What it may do.
    pub(crate) permissions: Vec<&'static str>,
    /// Its look.
    #[schema(required = true)]
    pub(crate) theme: Option<ThemeBody>,
}
