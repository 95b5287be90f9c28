//! Custom tools: a project's own HTTP endpoint, described for a model and called through
//! Tengine's MCP server. Field names follow TengineAI's public documentation.
//!
//! This module holds the definition and its write-time rules; `schema` checks
//! arguments, `template` renders the request, `call` assembles it, `signing` signs it
//! and `response` turns the answer into a tool result.

pub mod base_url;
pub mod call;
pub mod fields;
pub mod request_templates;
pub mod response;
pub mod schema;
pub mod signing;
pub mod template;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use base_url::ToolBaseUrl;
pub use call::{CallContext, CallRefused, OutboundRequest, PrepareError, ShownRequest};
pub use fields::{
    AuthStrategy, BodyTemplate, EndpointPath, HeadersTemplate, HttpMethod, MaxResponseBytes, MemberIdentity,
    QueryTemplate, TimeoutMs, ToolDescription, ToolName, ToolSecret,
};
pub use response::{shape_response, CallFailure, ToolOutcome};
pub use schema::InputSchema;

use crate::error::{FieldError, ValidationError, Validator};
use crate::ids::{AccountId, ProjectId, ToolId};
use crate::secret_key::SealedSecret;

/// A tool of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    /// Its id.
    pub id: ToolId,
    /// The owning account.
    pub account_id: AccountId,
    /// The project it belongs to.
    pub project_id: ProjectId,
    /// What the model calls it; unique per project.
    pub name: ToolName,
    /// What the model reads.
    pub description: ToolDescription,
    /// The arguments' schema.
    pub input_schema: InputSchema,
    /// The API's origin.
    pub base_url: ToolBaseUrl,
    /// The request's method.
    pub http_method: HttpMethod,
    /// The request's path template.
    pub endpoint_path: EndpointPath,
    /// Header templates.
    pub headers_template: HeadersTemplate,
    /// Query parameter templates.
    pub query_template: QueryTemplate,
    /// The body template; no body when absent.
    pub body_template: Option<BodyTemplate>,
    /// Whether models see and may call it.
    pub enabled: bool,
    /// Whether a call needs a member session.
    pub require_member: bool,
    /// Whether the call log keeps each call's arguments and result (sealed).
    pub log_payloads: bool,
    /// Which member facts go out as headers.
    pub inject_member_identity: MemberIdentity,
    /// How calls authenticate.
    pub auth_strategy: AuthStrategy,
    /// The secret, sealed; present exactly when `auth_strategy` is not `none`.
    pub auth_secret: Option<SealedSecret>,
    /// The call's time limit.
    pub timeout_ms: TimeoutMs,
    /// How much of an answer is kept.
    pub max_response_bytes: MaxResponseBytes,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A tool definition as a client sent it, before any check. JSON fields are `Value`s;
/// an absent optional field takes its default.
#[derive(Debug, Clone, Default)]
pub struct ToolDraft {
    /// `name`.
    pub name: String,
    /// `description`.
    pub description: String,
    /// `input_schema`.
    pub input_schema: Value,
    /// `base_url`.
    pub base_url: String,
    /// `http_method`.
    pub http_method: String,
    /// `endpoint_path`.
    pub endpoint_path: String,
    /// `headers_template` (`null` or absent: none).
    pub headers_template: Option<Value>,
    /// `query_template` (`null` or absent: none).
    pub query_template: Option<Value>,
    /// `body_template` (`null` or absent: no body).
    pub body_template: Option<Value>,
    /// `enabled` (default `true`).
    pub enabled: Option<bool>,
    /// `require_member` (default `false`).
    pub require_member: Option<bool>,
    /// `log_payloads` (default `false`).
    pub log_payloads: Option<bool>,
    /// `inject_member_identity` (default none).
    pub inject_member_identity: Option<Vec<String>>,
    /// `auth_strategy` (default `none`).
    pub auth_strategy: Option<String>,
    /// `encrypted_auth_secret`: the plaintext secret, write-only.
    pub encrypted_auth_secret: Option<String>,
    /// `timeout_ms` (default 10000).
    pub timeout_ms: Option<i64>,
    /// `max_response_bytes` (default 262144).
    pub max_response_bytes: Option<i64>,
}

/// A checked tool definition, ready to be stored once its secret is sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTool {
    /// See [`Tool::name`].
    pub name: ToolName,
    /// See [`Tool::description`].
    pub description: ToolDescription,
    /// See [`Tool::input_schema`].
    pub input_schema: InputSchema,
    /// See [`Tool::base_url`].
    pub base_url: ToolBaseUrl,
    /// See [`Tool::http_method`].
    pub http_method: HttpMethod,
    /// See [`Tool::endpoint_path`].
    pub endpoint_path: EndpointPath,
    /// See [`Tool::headers_template`].
    pub headers_template: HeadersTemplate,
    /// See [`Tool::query_template`].
    pub query_template: QueryTemplate,
    /// See [`Tool::body_template`].
    pub body_template: Option<BodyTemplate>,
    /// See [`Tool::enabled`].
    pub enabled: bool,
    /// See [`Tool::require_member`].
    pub require_member: bool,
    /// See [`Tool::log_payloads`].
    pub log_payloads: bool,
    /// See [`Tool::inject_member_identity`].
    pub inject_member_identity: MemberIdentity,
    /// See [`Tool::auth_strategy`].
    pub auth_strategy: AuthStrategy,
    /// The secret in plaintext; present exactly when `auth_strategy` is not `none`.
    pub auth_secret: Option<ToolSecret>,
    /// See [`Tool::timeout_ms`].
    pub timeout_ms: TimeoutMs,
    /// See [`Tool::max_response_bytes`].
    pub max_response_bytes: MaxResponseBytes,
}

fn json_field<T>(
    raw: Option<&Value>,
    parse: impl FnOnce(&Value) -> Result<T, ValidationError>,
) -> Result<Option<T>, ValidationError> {
    match raw {
        None | Some(Value::Null) => Ok(None),
        Some(v) => parse(v).map(Some),
    }
}

/// The rules between fields, on the definition a write would leave.
struct Shape<'a> {
    method: HttpMethod,
    has_body: bool,
    headers: &'a HeadersTemplate,
    auth: AuthStrategy,
    /// A secret given in this write.
    new_secret: bool,
    /// A secret the tool already holds.
    stored_secret: bool,
}

impl Shape<'_> {
    fn check(&self, v: &mut Validator) {
        if self.method == HttpMethod::Get && self.has_body {
            v.push(FieldError::new("body_template", "must be absent for GET requests, which carry no body"));
        }
        if self.auth == AuthStrategy::None && self.new_secret {
            v.push(FieldError::new("encrypted_auth_secret", "must be omitted when auth_strategy is none"));
        }
        if self.auth != AuthStrategy::None && !self.new_secret && !self.stored_secret {
            let reason = format!("is required when auth_strategy is {}", self.auth.as_str());
            v.push(FieldError::new("encrypted_auth_secret", reason));
        }
        if self.auth != AuthStrategy::None {
            if let Some((name, _, _)) = self.headers.entries().find(|(n, _, _)| n.eq_ignore_ascii_case("authorization"))
            {
                let reason = format!("is set by auth_strategy {}; remove it from the template", self.auth.as_str());
                v.push(FieldError::new(format!("headers_template.{name}"), reason));
            }
        }
    }
}

impl NewTool {
    /// Checks a draft, reporting every field error at once, then the rules between
    /// fields. `allow_plain_http` is the `TENGINE_TOOLS_ALLOW_PRIVATE=true` mode.
    ///
    /// # Errors
    /// Each refused field, by its wire name.
    pub fn parse(d: ToolDraft, allow_plain_http: bool) -> Result<Self, ValidationError> {
        let mut v = Validator::new();
        let name = v.check(d.name.parse::<ToolName>());
        let description = v.check(d.description.parse::<ToolDescription>());
        let input_schema = v.check(InputSchema::parse(&d.input_schema));
        let base_url = v.check(ToolBaseUrl::parse(&d.base_url, allow_plain_http));
        let http_method = v.check(d.http_method.parse::<HttpMethod>());
        let endpoint_path = v.check(d.endpoint_path.parse::<EndpointPath>());
        let headers = v.check(json_field(d.headers_template.as_ref(), HeadersTemplate::parse));
        let query = v.check(json_field(d.query_template.as_ref(), QueryTemplate::parse));
        let body = v.check(json_field(d.body_template.as_ref(), BodyTemplate::parse));
        let inject = v.check(d.inject_member_identity.map(|l| MemberIdentity::parse_list(&l)).transpose());
        let auth = v.check(d.auth_strategy.map(|a| a.parse::<AuthStrategy>()).transpose());
        let secret = v.check(d.encrypted_auth_secret.map(|s| s.parse::<ToolSecret>()).transpose());
        let timeout = v.check(d.timeout_ms.map(TimeoutMs::new).transpose());
        let max_bytes = v.check(d.max_response_bytes.map(MaxResponseBytes::new).transpose());
        let (
            Some(name),
            Some(description),
            Some(input_schema),
            Some(base_url),
            Some(http_method),
            Some(endpoint_path),
            Some(headers),
            Some(query),
            Some(body),
            Some(inject),
            Some(auth),
            Some(secret),
            Some(timeout),
            Some(max_bytes),
        ) = (
            name,
            description,
            input_schema,
            base_url,
            http_method,
            endpoint_path,
            headers,
            query,
            body,
            inject,
            auth,
            secret,
            timeout,
            max_bytes,
        )
        else {
            return Err(v.finish().err().unwrap_or_else(|| ValidationError::field("body", "is invalid")));
        };
        let tool = Self {
            name,
            description,
            input_schema,
            base_url,
            http_method,
            endpoint_path,
            headers_template: headers.unwrap_or_default(),
            query_template: query.unwrap_or_default(),
            body_template: body,
            enabled: d.enabled.unwrap_or(true),
            require_member: d.require_member.unwrap_or(false),
            log_payloads: d.log_payloads.unwrap_or(false),
            inject_member_identity: inject.unwrap_or_default(),
            auth_strategy: auth.unwrap_or_default(),
            auth_secret: secret,
            timeout_ms: timeout.unwrap_or_default(),
            max_response_bytes: max_bytes.unwrap_or_default(),
        };
        Shape {
            method: tool.http_method,
            has_body: tool.body_template.is_some(),
            headers: &tool.headers_template,
            auth: tool.auth_strategy,
            new_secret: tool.auth_secret.is_some(),
            stored_secret: false,
        }
        .check(&mut v);
        v.finish().map(|()| tool)
    }
}

/// Changes to a tool as a client sent them: `None` leaves a field unchanged. For the
/// JSON templates, `Some(Value::Null)` clears (no headers, no query, no body).
#[derive(Debug, Clone, Default)]
pub struct ToolPatchDraft {
    /// A new `name`.
    pub name: Option<String>,
    /// A new `description`.
    pub description: Option<String>,
    /// A new `input_schema`.
    pub input_schema: Option<Value>,
    /// A new `base_url`.
    pub base_url: Option<String>,
    /// A new `http_method`.
    pub http_method: Option<String>,
    /// A new `endpoint_path`.
    pub endpoint_path: Option<String>,
    /// New header templates, or `null`.
    pub headers_template: Option<Value>,
    /// New query templates, or `null`.
    pub query_template: Option<Value>,
    /// A new body template, or `null`.
    pub body_template: Option<Value>,
    /// Turns the tool on or off.
    pub enabled: Option<bool>,
    /// A new `require_member`.
    pub require_member: Option<bool>,
    /// A new `log_payloads`.
    pub log_payloads: Option<bool>,
    /// A new `inject_member_identity`.
    pub inject_member_identity: Option<Vec<String>>,
    /// A new `auth_strategy`; `none` drops the stored secret.
    pub auth_strategy: Option<String>,
    /// A new secret (write-only).
    pub encrypted_auth_secret: Option<String>,
    /// A new `timeout_ms`.
    pub timeout_ms: Option<i64>,
    /// A new `max_response_bytes`.
    pub max_response_bytes: Option<i64>,
}

/// Checked changes to a tool; each field is checked as on create, and the rules between
/// fields when [`Tool::apply`] sees the result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolPatch {
    /// A new name.
    pub name: Option<ToolName>,
    /// A new description.
    pub description: Option<ToolDescription>,
    /// A new input schema.
    pub input_schema: Option<InputSchema>,
    /// A new base URL.
    pub base_url: Option<ToolBaseUrl>,
    /// A new method.
    pub http_method: Option<HttpMethod>,
    /// A new path.
    pub endpoint_path: Option<EndpointPath>,
    /// New header templates (empty clears).
    pub headers_template: Option<HeadersTemplate>,
    /// New query templates (empty clears).
    pub query_template: Option<QueryTemplate>,
    /// A new body template, or `Some(None)` for no body.
    pub body_template: Option<Option<BodyTemplate>>,
    /// A new `enabled`.
    pub enabled: Option<bool>,
    /// A new `require_member`.
    pub require_member: Option<bool>,
    /// A new `log_payloads`.
    pub log_payloads: Option<bool>,
    /// A new `inject_member_identity`.
    pub inject_member_identity: Option<MemberIdentity>,
    /// A new auth strategy.
    pub auth_strategy: Option<AuthStrategy>,
    /// A new secret, in plaintext until [`Tool::apply`] seals it.
    pub auth_secret: Option<ToolSecret>,
    /// A new timeout.
    pub timeout_ms: Option<TimeoutMs>,
    /// A new response limit.
    pub max_response_bytes: Option<MaxResponseBytes>,
}

impl ToolPatch {
    /// Checks every field of a patch draft, reporting all errors at once.
    ///
    /// # Errors
    /// Each refused field, by its wire name.
    pub fn parse(d: ToolPatchDraft, allow_plain_http: bool) -> Result<Self, ValidationError> {
        let mut v = Validator::new();
        let cleared = |raw: Option<Value>| raw.map(|x| if x.is_null() { None } else { Some(x) });
        let patch = Self {
            name: d.name.and_then(|s| v.check(s.parse())),
            description: d.description.and_then(|s| v.check(s.parse())),
            input_schema: d.input_schema.and_then(|s| v.check(InputSchema::parse(&s))),
            base_url: d.base_url.and_then(|s| v.check(ToolBaseUrl::parse(&s, allow_plain_http))),
            http_method: d.http_method.and_then(|s| v.check(s.parse())),
            endpoint_path: d.endpoint_path.and_then(|s| v.check(s.parse())),
            headers_template: cleared(d.headers_template).and_then(|x| {
                v.check(x.map(|x| HeadersTemplate::parse(&x)).transpose().map(Option::unwrap_or_default))
            }),
            query_template: cleared(d.query_template)
                .and_then(|x| v.check(x.map(|x| QueryTemplate::parse(&x)).transpose().map(Option::unwrap_or_default))),
            body_template: cleared(d.body_template)
                .and_then(|x| v.check(x.map(|x| BodyTemplate::parse(&x)).transpose())),
            enabled: d.enabled,
            require_member: d.require_member,
            log_payloads: d.log_payloads,
            inject_member_identity: d.inject_member_identity.and_then(|l| v.check(MemberIdentity::parse_list(&l))),
            auth_strategy: d.auth_strategy.and_then(|s| v.check(s.parse())),
            auth_secret: d.encrypted_auth_secret.and_then(|s| v.check(s.parse())),
            timeout_ms: d.timeout_ms.and_then(|n| v.check(TimeoutMs::new(n))),
            max_response_bytes: d.max_response_bytes.and_then(|n| v.check(MaxResponseBytes::new(n))),
        };
        v.finish().map(|()| patch)
    }
}

impl Tool {
    /// A new tool from a checked definition; `seal` seals its secret (bound to `id`).
    pub fn new(
        id: ToolId,
        account_id: AccountId,
        project_id: ProjectId,
        t: NewTool,
        seal: impl FnOnce(&ToolSecret) -> SealedSecret,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            account_id,
            project_id,
            name: t.name,
            description: t.description,
            input_schema: t.input_schema,
            base_url: t.base_url,
            http_method: t.http_method,
            endpoint_path: t.endpoint_path,
            headers_template: t.headers_template,
            query_template: t.query_template,
            body_template: t.body_template,
            enabled: t.enabled,
            require_member: t.require_member,
            log_payloads: t.log_payloads,
            inject_member_identity: t.inject_member_identity,
            auth_strategy: t.auth_strategy,
            auth_secret: t.auth_secret.as_ref().map(seal),
            timeout_ms: t.timeout_ms,
            max_response_bytes: t.max_response_bytes,
            created_at: now,
            updated_at: now,
        }
    }

    /// Applies a patch at `now` if the result keeps the rules between fields (a GET has
    /// no body, a strategy other than `none` has a secret, ...); switching to `none`
    /// drops the stored secret. Returns whether anything changed.
    ///
    /// # Errors
    /// The rules the patched tool would break; the tool is then left as it was.
    pub fn apply(
        &mut self,
        p: ToolPatch,
        seal: impl FnOnce(&ToolSecret) -> SealedSecret,
        now: DateTime<Utc>,
    ) -> Result<bool, ValidationError> {
        let auth = p.auth_strategy.unwrap_or(self.auth_strategy);
        let mut v = Validator::new();
        Shape {
            method: p.http_method.unwrap_or(self.http_method),
            has_body: p.body_template.as_ref().map_or(self.body_template.is_some(), Option::is_some),
            headers: p.headers_template.as_ref().unwrap_or(&self.headers_template),
            auth,
            new_secret: p.auth_secret.is_some(),
            stored_secret: self.auth_secret.is_some(),
        }
        .check(&mut v);
        v.finish()?;
        let before = self.clone();
        macro_rules! set {
            ($($f:ident),+) => { $(if let Some(x) = p.$f { self.$f = x; })+ };
        }
        set!(
            name,
            description,
            input_schema,
            base_url,
            http_method,
            endpoint_path,
            headers_template,
            query_template,
            body_template,
            enabled,
            require_member,
            log_payloads,
            inject_member_identity,
            auth_strategy,
            timeout_ms,
            max_response_bytes
        );
        let new_secret = p.auth_secret.as_ref().map(seal);
        let secret_changed = new_secret.is_some();
        if let Some(s) = new_secret {
            self.auth_secret = Some(s);
        }
        if auth == AuthStrategy::None {
            self.auth_secret = None;
        }
        let changed = secret_changed || *self != before;
        if changed {
            self.updated_at = now;
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests;
