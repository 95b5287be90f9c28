//! The validated fields of a tool definition, one type each; field errors use the wire
//! names (`name`, `endpoint_path`, `inject_member_identity[1]`).

use std::fmt;
use std::str::FromStr;

use super::template::Template;
use crate::error::{clean_text, FieldError, ValidationError, Validator};

pub use super::request_templates::{BodyTemplate, HeadersTemplate, QueryTemplate};

/// A tool name: `[a-z0-9_-]{1,64}`, unique per project; what the model calls.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ToolName(String);

impl ToolName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A name read back from storage, as it was written under the rules of its day.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }
}

impl FromStr for ToolName {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !ok {
            let shown: String = s.chars().take(80).collect();
            return Err(FieldError::new("name", "must be 1 to 64 characters of a-z, 0-9, _ and -")
                .with_value(shown)
                .into());
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for ToolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the model reads about a tool: 1..=8000 characters after trimming; may span lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolDescription(String);

impl ToolDescription {
    /// The description.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A description read back from storage, as it was written.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }
}

impl FromStr for ToolDescription {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        clean_text("description", s, 1, 8000, true).map(Self)
    }
}

/// The HTTP method of a tool's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl HttpMethod {
    /// The method's name, upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

impl FromStr for HttpMethod {
    type Err = ValidationError;

    /// Accepts any letter case (`get` or `GET`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Get, Self::Post, Self::Put, Self::Patch, Self::Delete]
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                FieldError::new("http_method", "must be one of GET, POST, PUT, PATCH, DELETE")
                    .with_value(s.chars().take(16).collect::<String>())
                    .into()
            })
    }
}

/// The path of a tool's request: starts with `/`, may hold `{variable}` placeholders;
/// literal text is limited to the characters RFC 3986 allows in a path, without `.` or
/// `..` segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointPath {
    raw: String,
    template: Template,
}

impl EndpointPath {
    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The parsed template.
    pub fn template(&self) -> &Template {
        &self.template
    }

    /// A path read back from storage: only its placeholders are parsed again (they are
    /// needed to render it), not the write-time rules on length and characters.
    ///
    /// # Errors
    /// When the stored text is no template at all.
    pub fn from_stored(raw: String) -> Result<Self, ValidationError> {
        let template = Template::parse(&raw).map_err(|r| FieldError::new("endpoint_path", r))?;
        Ok(Self { raw, template })
    }
}

impl FromStr for EndpointPath {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| -> ValidationError {
            FieldError::new("endpoint_path", reason).with_value(s.chars().take(128).collect::<String>()).into()
        };
        if s.len() > 2048 {
            return Err(FieldError::new("endpoint_path", "must be at most 2048 characters").into());
        }
        if !s.starts_with('/') {
            return Err(bad("must start with /"));
        }
        if s.split('/').any(|seg| seg == "." || seg == "..") {
            return Err(bad("must not contain . or .. segments"));
        }
        let template = Template::parse(s).map_err(|r| bad(&r))?;
        for text in template.texts() {
            if let Some(c) = text.chars().find(|&c| !is_path_char(c)) {
                return Err(bad(&format!(
                    "must not contain {c:?} outside a placeholder (the query goes in query_template)"
                )));
            }
            if !percent_escapes_are_complete(text) {
                return Err(bad("has a % not followed by two hex digits"));
            }
        }
        Ok(Self { raw: s.to_owned(), template })
    }
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/%".contains(c)
}

fn percent_escapes_are_complete(text: &str) -> bool {
    let b = text.as_bytes();
    b.iter().enumerate().filter(|(_, &c)| c == b'%').all(|(i, _)| {
        b.get(i + 1).is_some_and(u8::is_ascii_hexdigit) && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    })
}

/// Which member facts a call carries as `X-Tengine-Member-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemberIdentity {
    /// `X-Tengine-Member-Id`.
    pub id: bool,
    /// `X-Tengine-Member-Email`.
    pub email: bool,
    /// `X-Tengine-Member-Roles`.
    pub roles: bool,
}

impl MemberIdentity {
    /// Parses a list of `id`, `email`, `roles` (each at most once).
    ///
    /// # Errors
    /// `inject_member_identity[i]` for an unknown or repeated entry.
    pub fn parse_list<S: AsRef<str>>(items: &[S]) -> Result<Self, ValidationError> {
        let mut out = Self::default();
        let mut v = Validator::new();
        for (i, item) in items.iter().enumerate() {
            let field = format!("inject_member_identity[{i}]");
            let slot = match item.as_ref() {
                "id" => &mut out.id,
                "email" => &mut out.email,
                "roles" => &mut out.roles,
                other => {
                    let shown: String = other.chars().take(32).collect();
                    v.push(FieldError::new(field, "must be one of id, email, roles").with_value(shown));
                    continue;
                }
            };
            if *slot {
                v.push(FieldError::new(field, "is listed twice"));
            }
            *slot = true;
        }
        v.finish().map(|()| out)
    }

    /// A stored list (`id,email`): names a later version no longer knows are skipped.
    pub fn from_stored(stored: &str) -> Self {
        let mut out = Self::default();
        for name in stored.split(',') {
            match name {
                "id" => out.id = true,
                "email" => out.email = true,
                "roles" => out.roles = true,
                _ => {}
            }
        }
        out
    }

    /// The wire names, in the order `id`, `email`, `roles`.
    pub fn names(&self) -> Vec<&'static str> {
        [(self.id, "id"), (self.email, "email"), (self.roles, "roles")]
            .into_iter()
            .filter_map(|(on, n)| on.then_some(n))
            .collect()
    }
}

/// How a call authenticates to the project's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthStrategy {
    /// No credentials.
    #[default]
    None,
    /// `Authorization: Bearer <secret>`.
    StaticBearer,
    /// `X-Tengine-Signature: tng2=<hex HMAC-SHA256>` under the secret (see `signing`).
    HmacSignature,
}

impl AuthStrategy {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::StaticBearer => "static_bearer",
            Self::HmacSignature => "hmac_signature",
        }
    }
}

impl FromStr for AuthStrategy {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::None, Self::StaticBearer, Self::HmacSignature].into_iter().find(|a| a.as_str() == s).ok_or_else(|| {
            FieldError::new("auth_strategy", "must be one of none, static_bearer, hmac_signature")
                .with_value(s.chars().take(32).collect::<String>())
                .into()
        })
    }
}

/// The secret a tool authenticates with (`encrypted_auth_secret` on the wire, write-only):
/// 8..=4096 visible ASCII characters, no spaces. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct ToolSecret(String);

impl ToolSecret {
    /// The secret, to sign with or send.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl FromStr for ToolSecret {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if !(8..=4096).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_graphic()) {
            let reason = "must be 8 to 4096 visible ASCII characters without spaces";
            return Err(FieldError::new("encrypted_auth_secret", reason).into());
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Debug for ToolSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ToolSecret(***)")
    }
}

/// How long a call may take: 1..=30000 ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeoutMs(u32);

impl TimeoutMs {
    /// The most a call may take.
    pub const MAX: u32 = 30_000;
    /// Without a value.
    pub const DEFAULT: TimeoutMs = TimeoutMs(10_000);

    /// Checks a client's value.
    ///
    /// # Errors
    /// `timeout_ms` outside 1..=30000.
    pub fn new(ms: i64) -> Result<Self, ValidationError> {
        u32::try_from(ms).ok().filter(|m| (1..=Self::MAX).contains(m)).map(Self).ok_or_else(|| {
            FieldError::new("timeout_ms", "must be between 1 and 30000").with_value(ms.to_string()).into()
        })
    }

    /// A value read back from storage, kept even if the limit has since changed.
    ///
    /// # Errors
    /// When the stored number is not a positive 32-bit value.
    pub fn from_stored(ms: i64) -> Result<Self, ValidationError> {
        stored_u32("timeout_ms", ms).map(Self)
    }

    /// The milliseconds.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for TimeoutMs {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// How much of an answer is kept: 1..=4 MiB; past it the body is cut and marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MaxResponseBytes(u32);

impl MaxResponseBytes {
    /// The largest limit.
    pub const MAX: u32 = 4 * 1024 * 1024;
    /// Without a value: 256 KiB.
    pub const DEFAULT: MaxResponseBytes = MaxResponseBytes(256 * 1024);

    /// Checks a client's value.
    ///
    /// # Errors
    /// `max_response_bytes` outside 1..=4194304.
    pub fn new(bytes: i64) -> Result<Self, ValidationError> {
        u32::try_from(bytes).ok().filter(|b| (1..=Self::MAX).contains(b)).map(Self).ok_or_else(|| {
            FieldError::new("max_response_bytes", format!("must be between 1 and {}", Self::MAX))
                .with_value(bytes.to_string())
                .into()
        })
    }

    /// A value read back from storage, kept even if the limit has since changed.
    ///
    /// # Errors
    /// When the stored number is not a positive 32-bit value.
    pub fn from_stored(bytes: i64) -> Result<Self, ValidationError> {
        stored_u32("max_response_bytes", bytes).map(Self)
    }

    /// The bytes.
    pub fn get(self) -> usize {
        self.0 as usize
    }
}

impl Default for MaxResponseBytes {
    fn default() -> Self {
        Self::DEFAULT
    }
}

fn stored_u32(field: &str, n: i64) -> Result<u32, ValidationError> {
    u32::try_from(n).ok().filter(|n| *n > 0).ok_or_else(|| FieldError::new(field, "is not a positive integer").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: &ValidationError) -> Vec<&str> {
        e.errors().map(|f| f.field.as_str()).collect()
    }

    #[test]
    fn names_follow_the_reference_pattern() {
        assert!("crm-contacts-get_by_id".parse::<ToolName>().is_ok());
        assert!("a".repeat(64).parse::<ToolName>().is_ok());
        for bad in ["", "Upper", "sp ace", "dot.ted", &"a".repeat(65), "é"] {
            assert!(bad.parse::<ToolName>().is_err(), "{bad}");
        }
    }

    #[test]
    fn methods_strategies_and_bounds_are_checked() {
        assert_eq!("patch".parse::<HttpMethod>(), Ok(HttpMethod::Patch));
        assert!("HEAD".parse::<HttpMethod>().is_err());
        assert_eq!("hmac_signature".parse::<AuthStrategy>(), Ok(AuthStrategy::HmacSignature));
        assert!("basic".parse::<AuthStrategy>().is_err());
        assert!(TimeoutMs::new(30_000).is_ok());
        assert!(TimeoutMs::new(30_001).is_err() && TimeoutMs::new(0).is_err() && TimeoutMs::new(-1).is_err());
        assert!(MaxResponseBytes::new(i64::MAX).is_err());
        assert_eq!(MaxResponseBytes::default().get(), 262_144);
    }

    #[test]
    fn endpoint_paths_are_well_formed() {
        let p: EndpointPath = "/v1/contacts/{id}/notes:search".parse().expect("valid");
        assert_eq!(p.template().vars().count(), 1);
        for bad in ["v1/x", "/a?b=1", "/a#f", "/a b", "/a/../b", "/./a", "/{id", "/a}", "/%zz", "/{x y}", "/ü"] {
            let err = bad.parse::<EndpointPath>().expect_err(bad);
            assert_eq!(fields(&err), ["endpoint_path"], "{bad}");
        }
        assert!("/a/%2F/{x}.json".parse::<EndpointPath>().is_ok());
    }

    #[test]
    fn member_identity_lists_are_checked() {
        let m = MemberIdentity::parse_list(&["email", "id"]).expect("valid");
        assert_eq!(m.names(), ["id", "email"]);
        let err = MemberIdentity::parse_list(&["id", "id", "phone"]).expect_err("invalid");
        assert_eq!(fields(&err), ["inject_member_identity[1]", "inject_member_identity[2]"]);
    }

    #[test]
    fn stored_values_are_read_back_without_the_write_time_rules() {
        assert_eq!(ToolName::from_stored("Old.Name".into()).as_str(), "Old.Name");
        assert_eq!(ToolDescription::from_stored(" padded ".into()).as_str(), " padded ");
        let p = EndpointPath::from_stored("/spaces are old/{id}".into()).expect("a template");
        assert_eq!(p.template().vars().count(), 1);
        assert!(EndpointPath::from_stored("/{open".into()).is_err());
        assert_eq!(MemberIdentity::from_stored("roles,phone,id").names(), ["id", "roles"]);
        assert_eq!(MemberIdentity::from_stored(""), MemberIdentity::default());
        assert_eq!(TimeoutMs::from_stored(60_000).map(TimeoutMs::get), Ok(60_000));
        assert!(TimeoutMs::from_stored(0).is_err() && MaxResponseBytes::from_stored(-1).is_err());
        assert_eq!(MaxResponseBytes::from_stored(8 << 20).map(MaxResponseBytes::get), Ok(8 << 20));
    }

    #[test]
    fn secrets_are_visible_ascii_and_redacted() {
        let s: ToolSecret = "s3cr3t-value".parse().expect("valid");
        assert_eq!(format!("{s:?}"), "ToolSecret(***)");
        for bad in ["short", "with space here", "line\nbreak-1234", "ünïcödé-secret"] {
            let err = bad.parse::<ToolSecret>().expect_err(bad);
            assert!(err.first().value.is_none(), "a secret is never echoed");
        }
    }
}
