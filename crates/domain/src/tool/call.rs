//! One call of a tool, up to the bytes to send: who may call, the arguments checked,
//! the templates rendered, the `X-Tengine-*` headers and the authentication added.

use std::fmt;

use serde_json::{Map, Value};
use uuid::Uuid;

use super::fields::{AuthStrategy, HttpMethod, MaxResponseBytes, TimeoutMs, ToolSecret};
use super::request_templates::BodyNode;
use super::signing::{identity_headers, sign, SIGNATURE_HEADER};
use super::template::{encode_component, RenderError, Variables};
use super::Tool;
use crate::error::ValidationError;
use crate::member::Member;
use crate::ProjectId;

/// What a call knows besides its arguments.
#[derive(Debug, Clone, Copy)]
pub struct CallContext<'a> {
    /// The project called.
    pub project_id: ProjectId,
    /// The call's id (`X-Tengine-Request-Id`, `tengine.request_id`): a fresh UUID.
    pub request_id: Uuid,
    /// Now, in Unix seconds (`X-Tengine-Timestamp`), from the clock port.
    pub timestamp: i64,
    /// The member of a member session.
    pub member: Option<&'a Member>,
}

/// Why a tool may not be called at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CallRefused {
    /// The tool is disabled (and invisible to `tools/list`).
    #[error("the tool is disabled")]
    Disabled,
    /// The tool needs a member session.
    #[error("the tool requires a member session")]
    MemberRequired,
}

/// Why a call could not be prepared; the API is not called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrepareError {
    /// Disabled, or a member session is needed.
    #[error(transparent)]
    Refused(#[from] CallRefused),
    /// The arguments do not match the input schema (fields named `arguments/...`).
    #[error("invalid arguments: {0}")]
    InvalidArguments(ValidationError),
    /// A template could not be rendered from these arguments.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The tool authenticates but no secret was handed in (it could not be opened).
    #[error("the tool's secret is unavailable")]
    MissingSecret,
}

/// A request ready to send. `Debug` hides the `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// The method.
    pub method: HttpMethod,
    /// The full URL: the base URL, then `path_and_query`.
    pub url: String,
    /// The path and query as on the request line (and as signed).
    pub path_and_query: String,
    /// Every header, in order: the templated ones, `Content-Type` for a body, the
    /// `X-Tengine-*` ones, then the authentication.
    pub headers: Vec<(String, String)>,
    /// The body (JSON), if the tool has one.
    pub body: Option<Vec<u8>>,
    /// The time limit.
    pub timeout: TimeoutMs,
    /// How much of the answer to read (reading one byte more tells a cut answer).
    pub max_response_bytes: MaxResponseBytes,
}

/// What a person trying a tool is shown of the request sent: everything but the
/// credentials (the `Authorization` value and any occurrence of the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownRequest {
    /// The method.
    pub method: HttpMethod,
    /// The full URL.
    pub url: String,
    /// Every header, in order, credentials masked.
    pub headers: Vec<(String, String)>,
    /// The body as text (JSON), if any.
    pub body: Option<String>,
}

/// What replaces a credential in a [`ShownRequest`].
pub const MASK: &str = "********";

impl OutboundRequest {
    /// The request as a person may see it: `Authorization` keeps only its scheme, and
    /// the secret is masked wherever else it appears.
    pub fn shown(&self, secret: Option<&ToolSecret>) -> ShownRequest {
        let hide = |text: &str| match secret.map(ToolSecret::expose_secret) {
            Some(s) if !s.is_empty() => text.replace(s, MASK),
            _ => text.to_owned(),
        };
        let headers = self
            .headers
            .iter()
            .map(|(name, value)| {
                let value = if name.eq_ignore_ascii_case("authorization") {
                    let scheme = value.split_once(' ').map_or("", |(scheme, _)| scheme);
                    if scheme.is_empty() {
                        MASK.to_owned()
                    } else {
                        format!("{scheme} {MASK}")
                    }
                } else {
                    hide(value)
                };
                (name.clone(), value)
            })
            .collect();
        ShownRequest {
            method: self.method,
            url: hide(&self.url),
            headers,
            body: self.body.as_ref().map(|b| hide(&String::from_utf8_lossy(b))),
        }
    }
}

impl fmt::Debug for OutboundRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), if n.eq_ignore_ascii_case("authorization") { "***" } else { v.as_str() }))
            .collect();
        f.debug_struct("OutboundRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body_len", &self.body.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

fn render_body(node: &BodyNode, vars: &Variables<'_>, at: &str) -> Result<Option<Value>, RenderError> {
    let escape = |k: &str| k.replace('~', "~0").replace('/', "~1");
    Ok(Some(match node {
        BodyNode::Literal(v) => v.clone(),
        BodyNode::Text(t) => match t.single_var() {
            // A whole-string placeholder keeps the value's JSON type.
            Some(var) => return Ok(vars.value(var)),
            None => match vars.render_text(t, at)? {
                Some(s) => Value::String(s),
                None => return Ok(None),
            },
        },
        BodyNode::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| render_body(x, vars, &format!("{at}/{i}")).map(|v| v.unwrap_or(Value::Null)))
                .collect::<Result<_, _>>()?,
        ),
        BodyNode::Object(members) => {
            let mut out = Map::new();
            for (k, x) in members {
                if let Some(v) = render_body(x, vars, &format!("{at}/{}", escape(k)))? {
                    out.insert(k.clone(), v);
                }
            }
            Value::Object(out)
        }
    }))
}

fn render_query(tool: &Tool, vars: &Variables<'_>) -> Result<Vec<(String, String)>, RenderError> {
    let mut out = Vec::new();
    for (name, _, t) in tool.query_template.entries() {
        let at = format!("query_template.{name}");
        // A single placeholder holding an array repeats the parameter.
        if let (Some(var), Some(Value::Array(items))) = (t.single_var(), t.single_var().and_then(|v| vars.value(v))) {
            for item in items {
                match item {
                    Value::String(s) => out.push((name.to_owned(), s)),
                    v @ (Value::Number(_) | Value::Bool(_)) => out.push((name.to_owned(), v.to_string())),
                    Value::Null => {}
                    _ => return Err(RenderError::NotText { variable: var.to_string(), location: at }),
                }
            }
            continue;
        }
        if let Some(value) = vars.render_text(t, &at)? {
            out.push((name.to_owned(), value));
        }
    }
    Ok(out)
}

impl Tool {
    /// Whether this tool may be called now: enabled, and with a member when it needs one.
    ///
    /// # Errors
    /// `Disabled` or `MemberRequired`.
    pub fn check_callable(&self, member: Option<&Member>) -> Result<(), CallRefused> {
        if !self.enabled {
            return Err(CallRefused::Disabled);
        }
        if self.require_member && member.is_none() {
            return Err(CallRefused::MemberRequired);
        }
        Ok(())
    }

    /// Prepares a call: checks it may be made, checks `arguments` against the input
    /// schema (`null` counts as `{}`), renders the templates, adds the `X-Tengine-*` headers and the
    /// authentication (`secret` is the opened `auth_secret`).
    ///
    /// # Errors
    /// See [`PrepareError`]; nothing is to be sent then.
    pub fn prepare_call(
        &self,
        arguments: &Value,
        ctx: &CallContext<'_>,
        secret: Option<&ToolSecret>,
    ) -> Result<OutboundRequest, PrepareError> {
        self.check_callable(ctx.member)?;
        let secret = match (self.auth_strategy, secret) {
            (AuthStrategy::None, _) => None,
            (_, Some(s)) => Some(s),
            (_, None) => return Err(PrepareError::MissingSecret),
        };
        // MCP lets a client omit `arguments`; that is an empty object, not `null`.
        let empty = Value::Object(Map::new());
        let arguments = if arguments.is_null() { &empty } else { arguments };
        let arguments = self.input_schema.check_arguments(arguments).map_err(PrepareError::InvalidArguments)?;
        let vars = Variables { arguments, project_id: ctx.project_id, request_id: ctx.request_id, member: ctx.member };

        let mut path_and_query = vars.render_path(self.endpoint_path.template())?;
        let query = render_query(self, &vars)?;
        for (i, (k, v)) in query.iter().enumerate() {
            path_and_query.push(if i == 0 { '?' } else { '&' });
            path_and_query.push_str(&encode_component(k));
            path_and_query.push('=');
            path_and_query.push_str(&encode_component(v));
        }

        let mut headers = Vec::new();
        for (name, _, t) in self.headers_template.entries() {
            let Some(value) = vars.render_text(t, &format!("headers_template.{name}"))? else { continue };
            if !value.chars().all(super::request_templates::is_header_value_char) {
                return Err(RenderError::UnsafeHeaderValue { header: name.to_owned() }.into());
            }
            headers.push((name.to_owned(), value));
        }

        let body = match &self.body_template {
            None => None,
            // Serializing a `Value` cannot fail: its keys are strings.
            Some(b) => {
                render_body(&b.root, &vars, "body_template")?.map(|v| serde_json::to_vec(&v).unwrap_or_default())
            }
        };
        if body.is_some() && !self.headers_template.has("content-type") {
            headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        }
        let identity = identity_headers(
            ctx.project_id,
            &self.name,
            ctx.request_id,
            ctx.timestamp,
            ctx.member,
            self.inject_member_identity,
        );
        headers.extend(identity.into_iter().map(|(n, v)| (n.to_owned(), v)));
        match (self.auth_strategy, secret) {
            (AuthStrategy::StaticBearer, Some(s)) => {
                headers.push(("Authorization".to_owned(), format!("Bearer {}", s.expose_secret())));
            }
            (AuthStrategy::HmacSignature, Some(s)) => {
                let body_bytes = body.as_deref().unwrap_or_default();
                let method = self.http_method.as_str();
                let sig = sign(s, ctx.timestamp, ctx.request_id, method, &path_and_query, body_bytes);
                headers.push((SIGNATURE_HEADER.to_owned(), sig));
            }
            _ => {}
        }
        Ok(OutboundRequest {
            method: self.http_method,
            url: format!("{}{path_and_query}", self.base_url),
            path_and_query,
            headers,
            body,
            timeout: self.timeout_ms,
            max_response_bytes: self.max_response_bytes,
        })
    }
}
