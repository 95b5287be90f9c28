//! Integrations: OAuth 2.1 clients of a project. An MCP runtime connects through one with
//! the authorization-code flow and PKCE; a person holding `admin` on the project
//! approves, and the grant (a *connection*) yields short-lived access tokens that act
//! like a project-scoped key holding the granted permissions.
//!
//! The rules of the flow live here, pure: redirect-URI registration and matching
//! (RFC 8252 loopback ports), PKCE `S256` (RFC 7636), scopes, resource indicators
//! (RFC 8707) and the shapes of the secrets. Every secret is random and stored only as
//! a SHA-256 digest.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{clean_text, FieldError, ValidationError, Validator};
use crate::ids::{AccountId, ApiKeyId, ConnectionId, IntegrationId, ProjectId};
use crate::permission::{Permission, PermissionSet};

/// How long an authorization code may be exchanged.
pub const CODE_LIFETIME: Duration = Duration::seconds(60);
/// How long an access token authenticates.
pub const ACCESS_LIFETIME: Duration = Duration::hours(1);
/// How long a refresh token may be used (each use issues a new one).
pub const REFRESH_LIFETIME: Duration = Duration::days(30);
/// The prefix of access tokens, for secret scanners.
pub const ACCESS_PREFIX: &str = "tng_oat_";
/// The prefix of refresh tokens.
pub const REFRESH_PREFIX: &str = "tng_ort_";
/// The prefix of authorization codes.
pub const CODE_PREFIX: &str = "tng_oac_";
/// The prefix of client secrets.
pub const CLIENT_SECRET_PREFIX: &str = "tng_ocs_";
/// The most redirect URIs one integration registers.
pub const MAX_REDIRECT_URIS: usize = 10;
/// The most dynamically registered integrations a project keeps (RFC 7591 is
/// unauthenticated: this bounds what an anonymous caller can make).
pub const MAX_DYNAMIC_PER_PROJECT: u64 = 100;
/// The longest redirect URI.
const MAX_URI_LEN: usize = 2_000;

/// Whether a client can keep a secret (RFC 6749 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    /// A native or browser app: no secret, PKCE alone.
    Public,
    /// A server-side app authenticating with its secret.
    Confidential,
}

impl ClientType {
    /// Its wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Confidential => "confidential",
        }
    }

    /// Reads a wire or stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "public" => Some(Self::Public),
            "confidential" => Some(Self::Confidential),
            _ => None,
        }
    }
}

/// A registered redirect URI: absolute, no fragment; `https`, loopback `http`, or a
/// private-use scheme of a native app (`com.example.app:/cb`, RFC 8252 §7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// A value read back from storage.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// The URI as registered.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks a URI to register.
    ///
    /// # Errors
    /// Why the URI cannot be a redirect URI.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if raw.len() > MAX_URI_LEN {
            return Err("must be at most 2000 characters");
        }
        let url = url::Url::parse(raw).map_err(|_| "must be an absolute URI")?;
        if url.fragment().is_some() {
            return Err("must not have a fragment");
        }
        match url.scheme() {
            "https" if url.host().is_some() => {}
            "http" if is_loopback(&url) => {}
            "http" => return Err("http is allowed only for loopback redirects (127.0.0.1, [::1], localhost)"),
            "javascript" | "data" | "file" | "vbscript" | "about" | "blob" | "ws" | "wss" | "https" => {
                return Err("must use https, loopback http or a private-use scheme")
            }
            s if s.contains('.') => {}
            _ => return Err("a private-use scheme must be a reversed domain name (com.example.app)"),
        }
        Ok(Self(raw.to_owned()))
    }

    /// Whether `given` is this URI: exactly, or for a loopback `http` URI with any port
    /// (RFC 8252 §7.3: a native app listens on whatever port it got).
    pub fn matches(&self, given: &str) -> bool {
        if self.0 == given {
            return true;
        }
        let (Ok(mine), Ok(theirs)) = (url::Url::parse(&self.0), url::Url::parse(given)) else { return false };
        mine.scheme() == "http"
            && is_loopback(&mine)
            && theirs.scheme() == "http"
            && mine.host() == theirs.host()
            && mine.path() == theirs.path()
            && mine.query() == theirs.query()
            && theirs.fragment().is_none()
            && theirs.username().is_empty()
            && theirs.password().is_none()
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// An OAuth client of a project. Its `client_id` is its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integration {
    /// Its id, which is also its `client_id`.
    pub id: IntegrationId,
    /// The account.
    pub account_id: AccountId,
    /// The project its tokens reach.
    pub project_id: ProjectId,
    /// What the consent page shows.
    pub name: String,
    /// Where authorization answers may go.
    pub redirect_uris: Vec<RedirectUri>,
    /// The most it may ask for.
    pub permissions: PermissionSet,
    /// Public (PKCE only) or confidential (with a secret).
    pub client_type: ClientType,
    /// Registered by the client itself (RFC 7591) rather than by an admin.
    pub dynamic: bool,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
}

impl Integration {
    /// The registered redirect URI that `given` matches.
    pub fn redirect(&self, given: &str) -> Option<&RedirectUri> {
        self.redirect_uris.iter().find(|r| r.matches(given))
    }

    /// Applies a checked patch; `true` when something changed.
    pub fn apply(&mut self, patch: IntegrationPatch, now: DateTime<Utc>) -> bool {
        let before = self.clone();
        if let Some(name) = patch.name {
            self.name = name;
        }
        if let Some(uris) = patch.redirect_uris {
            self.redirect_uris = uris;
        }
        if let Some(p) = patch.permissions {
            self.permissions = p;
        }
        let changed = *self != before;
        if changed {
            self.updated_at = now;
        }
        changed
    }
}

/// An integration as a client asks to create it.
#[derive(Debug, Clone, Default)]
pub struct IntegrationDraft {
    /// Display name.
    pub name: String,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Permission names.
    pub permissions: Vec<String>,
    /// `public` or `confidential`; `None` is `confidential`.
    pub client_type: Option<String>,
}

/// A checked [`IntegrationDraft`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIntegration {
    /// Display name (trimmed).
    pub name: String,
    /// Redirect URIs.
    pub redirect_uris: Vec<RedirectUri>,
    /// The most it may ask for.
    pub permissions: PermissionSet,
    /// Its client type.
    pub client_type: ClientType,
}

impl NewIntegration {
    /// Checks every field at once.
    ///
    /// # Errors
    /// Each refused field, by its wire name.
    pub fn parse(d: IntegrationDraft) -> Result<Self, ValidationError> {
        let mut v = Validator::new();
        let name = v.check(clean_text("name", &d.name, 1, 100, false));
        let redirect_uris = v.check(redirect_uris(&d.redirect_uris));
        let permissions = v.check(PermissionSet::parse_list("permissions", &d.permissions));
        let client_type = match d.client_type.as_deref() {
            None => Some(ClientType::Confidential),
            Some(s) => {
                let t = ClientType::parse(s);
                if t.is_none() {
                    v.push(FieldError::new("client_type", "must be public or confidential").with_value(clip(s)));
                }
                t
            }
        };
        v.finish()?;
        match (name, redirect_uris, permissions, client_type) {
            (Some(name), Some(redirect_uris), Some(permissions), Some(client_type)) => {
                Ok(Self { name, redirect_uris, permissions, client_type })
            }
            _ => Err(ValidationError::field("body", "is invalid")),
        }
    }
}

/// Changes a client asks for; absent fields stay.
#[derive(Debug, Clone, Default)]
pub struct IntegrationPatchDraft {
    /// New name.
    pub name: Option<String>,
    /// New redirect URIs (replacing the old).
    pub redirect_uris: Option<Vec<String>>,
    /// New permissions (connections holding more are narrowed).
    pub permissions: Option<Vec<String>>,
}

/// A checked [`IntegrationPatchDraft`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IntegrationPatch {
    /// New name.
    pub name: Option<String>,
    /// New redirect URIs.
    pub redirect_uris: Option<Vec<RedirectUri>>,
    /// New permissions.
    pub permissions: Option<PermissionSet>,
}

impl IntegrationPatch {
    /// Checks every field at once.
    ///
    /// # Errors
    /// Each refused field, by its wire name.
    pub fn parse(d: IntegrationPatchDraft) -> Result<Self, ValidationError> {
        let mut v = Validator::new();
        let name = d.name.and_then(|n| v.check(clean_text("name", &n, 1, 100, false)));
        let redirect_uris = d.redirect_uris.and_then(|u| v.check(redirect_uris(&u)));
        let permissions = d.permissions.and_then(|p| v.check(PermissionSet::parse_list("permissions", &p)));
        v.finish()?;
        Ok(Self { name, redirect_uris, permissions })
    }
}

fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Checks a list of redirect URIs: one to [`MAX_REDIRECT_URIS`], no duplicates.
///
/// # Errors
/// The first bad element, as `redirect_uris[i]`.
pub fn redirect_uris(raw: &[String]) -> Result<Vec<RedirectUri>, ValidationError> {
    if raw.is_empty() {
        return Err(ValidationError::field("redirect_uris", "must contain at least one URI"));
    }
    if raw.len() > MAX_REDIRECT_URIS {
        return Err(ValidationError::field("redirect_uris", format!("must contain at most {MAX_REDIRECT_URIS} URIs")));
    }
    let mut out: Vec<RedirectUri> = Vec::with_capacity(raw.len());
    for (i, s) in raw.iter().enumerate() {
        let field = format!("redirect_uris[{i}]");
        let uri = RedirectUri::parse(s).map_err(|r| FieldError::new(field.clone(), r).with_value(clip(s)))?;
        if out.contains(&uri) {
            return Err(FieldError::new(field, "duplicate URI").with_value(clip(s)).into());
        }
        out.push(uri);
    }
    Ok(out)
}

/// A grant: who approved which integration for what. Every token issued from it dies
/// with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Its id.
    pub id: ConnectionId,
    /// The account.
    pub account_id: AccountId,
    /// The project.
    pub project_id: ProjectId,
    /// The integration.
    pub integration_id: IntegrationId,
    /// The key (or the key of the console session) that approved it.
    pub approved_by: ApiKeyId,
    /// What its tokens may do.
    pub permissions: PermissionSet,
    /// The audience its tokens are bound to (RFC 8707), if one was named.
    pub resource: Option<String>,
    /// When approved and first exchanged.
    pub created_at: DateTime<Utc>,
    /// When a token of it last authenticated (updated in batches).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When disconnected.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Whether clients may register themselves with a project (RFC 7591), and the most
/// they may ask for. Off until an admin turns it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationPolicy {
    /// Whether `register` accepts clients for the project.
    pub enabled: bool,
    /// The permissions a registered client may ask for at most.
    pub permissions: PermissionSet,
}

impl Default for RegistrationPolicy {
    fn default() -> Self {
        Self { enabled: false, permissions: [Permission::Read, Permission::Write].into_iter().collect() }
    }
}

/// An approved authorization request waiting to be exchanged, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode {
    /// The integration.
    pub integration_id: IntegrationId,
    /// The account.
    pub account_id: AccountId,
    /// The project.
    pub project_id: ProjectId,
    /// The redirect URI the request named (the token request must name it again).
    pub redirect_uri: String,
    /// The PKCE `S256` challenge.
    pub code_challenge: String,
    /// What the approver granted.
    pub permissions: PermissionSet,
    /// The audience asked for.
    pub resource: Option<String>,
    /// Who approved.
    pub approved_by: ApiKeyId,
    /// When it stops being exchangeable.
    pub expires_at: DateTime<Utc>,
    /// When first exchanged.
    pub used_at: Option<DateTime<Utc>>,
    /// The connection the first exchange made.
    pub connection_id: Option<ConnectionId>,
}

/// An access or refresh token as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Authenticates API and MCP requests.
    Access,
    /// Gets a new access token (and a new refresh token).
    Refresh,
}

impl TokenKind {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }

    /// Reads a stored name.
    pub fn from_stored(s: &str) -> Option<Self> {
        match s {
            "access" => Some(Self::Access),
            "refresh" => Some(Self::Refresh),
            _ => None,
        }
    }
}

/// A stored access or refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthToken {
    /// Access or refresh.
    pub kind: TokenKind,
    /// The connection it belongs to.
    pub connection_id: ConnectionId,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// For a refresh token: when it was used (a second use revokes the connection).
    pub spent_at: Option<DateTime<Utc>>,
}

/// A random OAuth secret (token, code or client secret): the plaintext, never stored.
/// `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthSecret(String);

impl std::fmt::Debug for OAuthSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OAuthSecret(***)")
    }
}

impl OAuthSecret {
    /// A secret with `prefix` made of 24 random bytes.
    pub fn new(prefix: &str, random: &[u8; 24]) -> Self {
        Self(format!("{prefix}{}", B64URL.encode(random)))
    }

    /// The plaintext, for the one answer that hands it out.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// What the store keeps.
    pub fn digest(&self) -> [u8; 32] {
        digest(&self.0)
    }
}

/// The stored digest of a presented secret.
pub fn digest(presented: &str) -> [u8; 32] {
    Sha256::digest(presented.as_bytes()).into()
}

/// Whether a presented secret is the one stored as `stored`, in constant time.
pub fn digest_matches(presented: &str, stored: &[u8; 32]) -> bool {
    digest(presented).ct_eq(stored).into()
}

/// Whether a PKCE `S256` challenge is well formed: 43 base64url characters.
pub fn valid_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `verifier` (RFC 7636 §4.1: 43 to 128 unreserved characters) hashes to
/// `challenge` under `S256`.
pub fn pkce_verifies(verifier: &str, challenge: &str) -> bool {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(unreserved) {
        return false;
    }
    let computed = B64URL.encode(Sha256::digest(verifier.as_bytes()));
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

/// Parses an OAuth `scope` (space-separated permission names); `None` for an empty one.
///
/// # Errors
/// The first unknown name.
pub fn parse_scope(scope: &str) -> Result<Option<PermissionSet>, String> {
    let mut set: Vec<Permission> = Vec::new();
    for word in scope.split(' ').filter(|w| !w.is_empty()) {
        let p: Permission = word.parse().map_err(|()| clip(word))?;
        set.push(p);
    }
    Ok((!set.is_empty()).then(|| set.into_iter().collect()))
}

/// A permission set as an OAuth `scope`.
pub fn scope_of(p: PermissionSet) -> String {
    p.names().join(" ")
}

/// The surface a token may be used on, from its resource indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The REST API (`/api/v1`).
    Api,
    /// The MCP server (`/mcp` or `/mcp/{project_id}`).
    Mcp,
}

impl Audience {
    /// The audience a resource indicator names for a connection to `project`: an
    /// absolute `http(s)` URI whose path is `/api/v1`, `/mcp` or `/mcp/<project>`, with
    /// no fragment (RFC 8707 §2). `None` for anything else.
    pub fn of(resource: &str, project: ProjectId) -> Option<Self> {
        let url = url::Url::parse(resource).ok()?;
        if !matches!(url.scheme(), "http" | "https") || url.fragment().is_some() || url.host().is_none() {
            return None;
        }
        let path = url.path().trim_end_matches('/');
        match path {
            "/api/v1" => Some(Self::Api),
            "/mcp" => Some(Self::Mcp),
            p => (p.strip_prefix("/mcp/") == Some(&project.to_string())).then_some(Self::Mcp),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn redirect_uris_must_be_https_loopback_http_or_a_private_use_scheme() {
        for ok in [
            "https://app.example.com/callback",
            "http://127.0.0.1:8123/cb",
            "http://[::1]/cb",
            "http://localhost:3000/oauth/callback?x=1",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(RedirectUri::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/relative",
            "http://app.example.com/cb",
            "https://app.example.com/cb#frag",
            "javascript:alert(1)",
            "data:text/html,x",
            "myapp:/cb",
            "file:///etc/passwd",
        ] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirects_match_exactly_except_a_loopback_port() {
        let web = RedirectUri::parse("https://app.example.com/cb").unwrap();
        assert!(web.matches("https://app.example.com/cb"));
        assert!(!web.matches("https://app.example.com/cb/"));
        assert!(!web.matches("https://app.example.com:444/cb"));
        assert!(!web.matches("https://app.example.com/cb?x=1"));
        let native = RedirectUri::parse("http://127.0.0.1/callback").unwrap();
        assert!(native.matches("http://127.0.0.1:53123/callback"));
        assert!(!native.matches("http://127.0.0.1:53123/other"));
        assert!(!native.matches("http://localhost:53123/callback"), "the host is not changed");
        assert!(!native.matches("https://127.0.0.1:53123/callback"));
        assert!(!native.matches("http://user@127.0.0.1:53123/callback"));
    }

    #[test]
    fn pkce_s256_verifies_the_rfc_example_and_refuses_others() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(valid_challenge(challenge));
        assert!(pkce_verifies(verifier, challenge));
        assert!(!pkce_verifies("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl", challenge));
        assert!(!pkce_verifies("short", challenge));
        assert!(!pkce_verifies(challenge, challenge), "plain is not S256");
        assert!(!valid_challenge("abc"));
    }

    #[test]
    fn scopes_are_permission_names() {
        assert_eq!(parse_scope("").unwrap(), None);
        let s = parse_scope("read  write").unwrap().unwrap();
        assert_eq!(scope_of(s), "read write");
        assert_eq!(parse_scope("read openid"), Err("openid".to_owned()));
    }

    #[test]
    fn resources_name_the_api_or_this_projects_mcp_server() {
        let p = ProjectId::from_uuid(Uuid::from_u128(7));
        let other = ProjectId::from_uuid(Uuid::from_u128(8));
        assert_eq!(Audience::of("https://t.example/api/v1", p), Some(Audience::Api));
        assert_eq!(Audience::of("http://127.0.0.1:8080/mcp", p), Some(Audience::Mcp));
        assert_eq!(Audience::of(&format!("http://h/mcp/{p}"), p), Some(Audience::Mcp));
        assert_eq!(Audience::of(&format!("http://h/mcp/{other}"), p), None);
        assert_eq!(Audience::of("http://h/other", p), None);
        assert_eq!(Audience::of("http://h/mcp#x", p), None);
        assert_eq!(Audience::of("mcp", p), None);
    }

    #[test]
    fn a_draft_is_checked_field_by_field() {
        let err = NewIntegration::parse(IntegrationDraft {
            name: " ".into(),
            redirect_uris: vec!["http://evil.example/cb".into()],
            permissions: vec!["root".into()],
            client_type: Some("secret".into()),
        })
        .unwrap_err();
        let fields: Vec<_> = err.errors().map(|e| e.field.clone()).collect();
        assert_eq!(fields, ["name", "redirect_uris[0]", "permissions[0]", "client_type"]);
        let ok = NewIntegration::parse(IntegrationDraft {
            name: " Claude ".into(),
            redirect_uris: vec!["https://claude.ai/api/mcp/auth_callback".into()],
            permissions: vec!["read".into(), "write".into()],
            client_type: None,
        })
        .unwrap();
        assert_eq!(ok.name, "Claude");
        assert_eq!(ok.client_type, ClientType::Confidential);
    }

    #[test]
    fn secrets_carry_their_prefix_and_hide_from_debug() {
        let s = OAuthSecret::new(ACCESS_PREFIX, &[7; 24]);
        assert!(s.expose_secret().starts_with("tng_oat_"));
        assert_eq!(format!("{s:?}"), "OAuthSecret(***)");
        assert_eq!(s.digest(), digest(s.expose_secret()));
    }
}
