//! Sessions a key opens for a browser: the console's sign-in session, and a portal
//! session an admin opens for one project to embed in their own site.
//!
//! A session is a transport for its key, never more: it acts as the key (narrowed, for a
//! portal, to one project and some permissions) and dies with it. Tokens are random and
//! stored only as SHA-256 digests.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::error::{FieldError, ValidationError, Validator};
use crate::ids::{AccountId, ApiKeyId, ProjectId, SessionId};
use crate::permission::{Permission, PermissionSet};

/// How long a console session lives (it ends sooner with its key).
pub const CONSOLE_LIFETIME: Duration = Duration::hours(8);

/// The longest portal session.
pub const MAX_PORTAL_LIFETIME_SECS: i64 = 86_400;

/// The shortest portal session.
pub const MIN_PORTAL_LIFETIME_SECS: i64 = 60;

/// The most origins one portal session may be framed by.
pub const MAX_ORIGINS: usize = 16;

/// Which kind of browser session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// The console, signed in with a key.
    Console,
    /// An embeddable portal for one project.
    Portal,
    /// An MCP session for one member of a project (`/mcp` only).
    Member,
}

impl SessionKind {
    /// Its wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Console => "console",
            Self::Portal => "portal",
            Self::Member => "member",
        }
    }

    /// The prefix of its bearer tokens.
    pub fn token_prefix(self) -> &'static str {
        match self {
            Self::Console => "tng_cs_",
            Self::Portal => "tng_ps_",
            Self::Member => crate::member_session::TOKEN_PREFIX,
        }
    }

    /// Reads a stored name.
    pub fn from_stored(s: &str) -> Option<Self> {
        match s {
            "console" => Some(Self::Console),
            "portal" => Some(Self::Portal),
            "member" => Some(Self::Member),
            _ => None,
        }
    }
}

/// A part of a project a portal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PortalSection {
    /// API keys.
    Keys,
    /// Webhooks.
    Webhooks,
    /// Webhook deliveries.
    Deliveries,
    /// Usage analytics.
    Usage,
}

impl PortalSection {
    /// Every section, in display order.
    pub const ALL: [Self; 4] = [Self::Keys, Self::Webhooks, Self::Deliveries, Self::Usage];

    /// Its wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keys => "keys",
            Self::Webhooks => "webhooks",
            Self::Deliveries => "deliveries",
            Self::Usage => "usage",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Parses a stored comma-separated list, skipping unknown names.
    pub fn from_stored(s: &str) -> Vec<Self> {
        s.split(',').filter_map(Self::parse).collect()
    }
}

/// A portal's look: a few CSS values, each checked so it can go into a stylesheet as is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortalTheme {
    /// Accent colour (`#rgb` or `#rrggbb`).
    pub accent: Option<String>,
    /// Background colour.
    pub background: Option<String>,
    /// Text colour.
    pub text: Option<String>,
    /// Corner radius (`0px` to `99px`).
    pub radius: Option<String>,
}

fn is_hex_colour(s: &str) -> bool {
    s.strip_prefix('#').is_some_and(|h| matches!(h.len(), 3 | 6) && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_radius(s: &str) -> bool {
    s.strip_suffix("px").is_some_and(|n| (1..=2).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
}

impl PortalTheme {
    fn check(&self, v: &mut Validator) {
        for (field, value) in [("accent", &self.accent), ("background", &self.background), ("text", &self.text)] {
            if value.as_deref().is_some_and(|c| !is_hex_colour(c)) {
                v.push(FieldError::new(format!("theme.{field}"), "must be a colour like #1a2b3c or #abc"));
            }
        }
        if self.radius.as_deref().is_some_and(|r| !is_radius(r)) {
            v.push(FieldError::new("theme.radius", "must be a length like 6px (0px to 99px)"));
        }
    }
}

/// An origin a portal may be framed by: `https://host[:port]` (or `http` for loopback
/// development), nothing after.
fn parse_origin(field: &str, raw: &str) -> Result<String, FieldError> {
    let bad = || {
        FieldError::new(field, "must be an origin like https://app.example.com")
            .with_value(raw.chars().take(128).collect::<String>())
    };
    let (scheme, rest) = raw.split_once("://").ok_or_else(bad)?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p))
            if !h.is_empty() && !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') =>
        {
            (h, Some(p.parse::<u16>().map_err(|_| bad())?))
        }
        _ => (rest, None),
    };
    let host = host.to_ascii_lowercase();
    let plain = !host.is_empty()
        && host.len() <= 253
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && !host.starts_with(['.', '-'])
        && !host.ends_with(['.', '-']);
    let loopback = matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]");
    let scheme = scheme.to_ascii_lowercase();
    let scheme_ok = scheme == "https" || (scheme == "http" && loopback);
    if !scheme_ok || !(plain || host == "[::1]") || port == Some(0) {
        return Err(bad());
    }
    Ok(match port {
        Some(p) => format!("{scheme}://{host}:{p}"),
        None => format!("{scheme}://{host}"),
    })
}

/// A portal session as an admin asked for it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPortalSession {
    /// What the portal may do (at most `read`, `write`, `webhook`; never `admin`).
    pub permissions: PermissionSet,
    /// What it shows.
    pub sections: Vec<PortalSection>,
    /// How long it lives.
    pub lifetime: Duration,
    /// Who may frame it.
    pub allowed_origins: Vec<String>,
    /// Its look.
    pub theme: Option<PortalTheme>,
}

impl NewPortalSession {
    /// Checks a request, naming every refused field.
    ///
    /// # Errors
    /// A `ValidationError` for each bad field.
    pub fn parse(
        permissions: &[String],
        sections: Option<&[String]>,
        lifetime_secs: Option<i64>,
        allowed_origins: &[String],
        theme: Option<PortalTheme>,
    ) -> Result<Self, ValidationError> {
        let mut v = Validator::new();
        let perms = v.check(PermissionSet::parse_list("permissions", permissions));
        if perms.is_some_and(|p| p.iter().any(|x| x == Permission::Admin)) {
            v.push(FieldError::new("permissions", "a portal cannot hold admin"));
        }
        let mut parsed = Vec::new();
        match sections {
            None => parsed.extend(PortalSection::ALL),
            Some([]) => v.push(FieldError::new("sections", "must name at least one section")),
            Some(list) => {
                for (i, s) in list.iter().enumerate() {
                    match PortalSection::parse(s) {
                        Some(x) if !parsed.contains(&x) => parsed.push(x),
                        Some(_) => v.push(FieldError::new(format!("sections[{i}]"), "duplicate section")),
                        None => v.push(
                            FieldError::new(
                                format!("sections[{i}]"),
                                "must be one of keys, webhooks, deliveries, usage",
                            )
                            .with_value(s.chars().take(64).collect::<String>()),
                        ),
                    }
                }
            }
        }
        let secs = lifetime_secs.unwrap_or(3_600);
        if !(MIN_PORTAL_LIFETIME_SECS..=MAX_PORTAL_LIFETIME_SECS).contains(&secs) {
            v.push(FieldError::new("lifetime_secs", "must be between 60 and 86400"));
        }
        if allowed_origins.len() > MAX_ORIGINS {
            v.push(FieldError::new("allowed_origins", format!("must hold at most {MAX_ORIGINS} origins")));
        }
        let origins: Vec<String> = allowed_origins
            .iter()
            .enumerate()
            .filter_map(|(i, o)| {
                v.check(parse_origin(&format!("allowed_origins[{i}]"), o).map_err(ValidationError::from))
            })
            .collect();
        if let Some(t) = &theme {
            t.check(&mut v);
        }
        v.finish()?;
        parsed.sort();
        Ok(Self {
            permissions: perms.unwrap_or_else(|| PermissionSet::from_iter([Permission::Read])),
            sections: parsed,
            lifetime: Duration::seconds(secs),
            allowed_origins: origins,
            theme,
        })
    }
}

/// A browser session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its id.
    pub id: SessionId,
    /// Console or portal.
    pub kind: SessionKind,
    /// The key's account.
    pub account_id: AccountId,
    /// The key that opened it (the session acts as this key).
    pub key_id: ApiKeyId,
    /// The one project a portal shows (a console session: the key's own, if any).
    pub project_id: Option<ProjectId>,
    /// What the session may do, within what its key may.
    pub permissions: PermissionSet,
    /// What a portal shows (empty for the console).
    pub sections: Vec<PortalSection>,
    /// Origins that may frame a portal.
    pub allowed_origins: Vec<String>,
    /// A portal's look.
    pub theme: Option<PortalTheme>,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it was revoked (or a console session signed out).
    pub revoked_at: Option<DateTime<Utc>>,
    /// Whether a portal's one-time code was already exchanged.
    pub exchanged: bool,
    /// The member of a member session.
    pub member: Option<crate::member::Member>,
}

impl Session {
    /// Whether it is still usable at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// A session's secret (a bearer token or a portal's one-time code): the plaintext,
/// never stored. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionSecret(String);

impl std::fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionSecret(***)")
    }
}

impl SessionSecret {
    /// A secret with `prefix` made of 24 random bytes.
    pub fn new(prefix: &str, random: &[u8; 24]) -> Self {
        Self(format!("{prefix}{}", B64URL.encode(random)))
    }

    /// Wraps a secret a client presented (any text: an unknown one simply finds nothing).
    pub fn presented(s: &str) -> Self {
        Self(s.to_owned())
    }

    /// The plaintext, for the one answer that hands it out.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// What the store keeps and looks up.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }
}

/// The prefix of a portal's one-time code.
pub const CODE_PREFIX: &str = "psc_";

/// The session a principal acts through, as `GET /me` tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRef {
    /// Console or portal.
    pub kind: SessionKind,
    /// The session.
    pub id: SessionId,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
    /// What a portal shows.
    pub sections: Vec<PortalSection>,
    /// The member of a member session.
    pub member: Option<crate::member::Member>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_portal_request_is_checked_field_by_field() {
        let ok = NewPortalSession::parse(
            &strings(&["read", "webhook"]),
            Some(&strings(&["usage", "keys"])),
            Some(600),
            &strings(&["https://app.example.com", "http://localhost:3000"]),
            Some(PortalTheme { accent: Some("#0af".into()), radius: Some("6px".into()), ..Default::default() }),
        )
        .expect("valid");
        assert_eq!(ok.sections, vec![PortalSection::Keys, PortalSection::Usage]);
        assert_eq!(ok.allowed_origins, strings(&["https://app.example.com", "http://localhost:3000"]));
        let err = NewPortalSession::parse(
            &strings(&["admin"]),
            Some(&strings(&["keys", "keys", "billing"])),
            Some(86_401),
            &strings(&["http://evil.example.com", "https://a.example.com/path", "javascript:alert(1)"]),
            Some(PortalTheme { accent: Some("red;}body{".into()), radius: Some("1em".into()), ..Default::default() }),
        )
        .expect_err("invalid");
        let fields: Vec<&str> = err.errors().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "permissions",
                "sections[1]",
                "sections[2]",
                "lifetime_secs",
                "allowed_origins[0]",
                "allowed_origins[1]",
                "allowed_origins[2]",
                "theme.accent",
                "theme.radius"
            ]
        );
    }

    #[test]
    fn secrets_are_prefixed_random_and_stored_as_digests() {
        let a = SessionSecret::new("tng_cs_", &[7; 24]);
        assert!(a.expose_secret().starts_with("tng_cs_") && a.expose_secret().len() == 7 + 32);
        assert_eq!(a.digest(), SessionSecret::presented(a.expose_secret()).digest());
        assert_ne!(a.digest(), SessionSecret::new("tng_cs_", &[8; 24]).digest());
        assert_eq!(format!("{a:?}"), "SessionSecret(***)");
    }
}
