//! `/mcp`: a project's MCP server over the Streamable HTTP transport of the official
//! Rust SDK (`rmcp`).
//!
//! Every HTTP request to `/mcp` goes through the same admission as the REST API (key,
//! rate limit, usage), then [`McpCaller`] rides in its extensions to the MCP handler,
//! which asks the application (`mcp_tools`, `mcp_call`) with that caller. A session only
//! carries protocol state: each request is authorised on its own key.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorCode, Implementation, JsonObject,
    ListToolsResult, MetaObject, NumberOrString, PaginatedRequestParams, ServerCapabilities, ServerConfig,
    Tool as McpTool,
};
use rmcp::service::{NotificationContext, Peer, RequestContext};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{json, Value};
use tengine_application::mcp::PROJECT_HEADER;
use tengine_application::{AppError, McpCallError, RetryKey, Surface, Tengine, ToolCallResult};
use tengine_domain::tool::{CallRefused, PrepareError, Tool};
use tengine_domain::{Principal, ProjectId};
use tokio::sync::broadcast;

use crate::error::ApiError;
use crate::slot::note_route;
use crate::state::AppState;

/// Where the MCP server answers.
pub const PATH: &str = "/mcp";

/// Where one project's MCP server answers: the URL to give an MCP client that connects
/// with OAuth (its metadata names the project's issuer, which accepts registration).
pub const PROJECT_PATH: &str = "/mcp/{project_id}";

/// Where a client learns how to get a token (RFC 9728), named in `WWW-Authenticate`.
pub const RESOURCE_METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// The `_meta` field a `tools/call` names its idempotency key with.
const IDEMPOTENCY_META: &str = "idempotency_key";

/// The transport's session header.
const SESSION_HEADER: &str = "mcp-session-id";

/// How often a session's change forwarder checks that its client is still there.
const SESSION_CHECK: std::time::Duration = std::time::Duration::from_secs(30);

/// The admitted caller of one `/mcp` request and the project it works in.
#[derive(Clone)]
pub struct McpCaller {
    /// The key's principal.
    pub principal: Principal,
    /// The key's project, or the one an account-wide key named.
    pub project: ProjectId,
}

/// The MCP handler: one per session, stateless itself.
#[derive(Clone)]
struct TengineMcp {
    tengine: Tengine,
}

/// The router serving `/mcp` (sessions live in the service: build it once).
pub(crate) fn router(state: &AppState) -> Router<AppState> {
    let tengine = state.tengine.clone();
    // Every request carries a bearer key a rebinding page does not have, so the
    // transport's loopback-only `Host` check (a guard for unauthenticated local
    // servers) would only refuse real deployments.
    let config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .with_max_request_body_bytes(crate::extract::BODY_LIMIT);
    let service = StreamableHttpService::new(
        move || Ok(TengineMcp { tengine: tengine.clone() }),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    Router::new()
        .route_service(PATH, service.clone())
        .route_service(PROJECT_PATH, service)
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), admit))
}

/// The project an account-wide key names; a value that is no project id names none
/// that exists.
pub(crate) fn requested_project(headers: &HeaderMap) -> Result<Option<ProjectId>, ApiError> {
    match headers.get(PROJECT_HEADER) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .map(Some)
            .ok_or_else(|| AppError::ProjectNotFound.into()),
    }
}

/// Admits the request as the REST API does, then hands the caller to the MCP handler.
async fn admit(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let slot = note_route(req.extensions());
    let base = public_origin(&state.tengine, req.headers());
    // `/mcp/<project>` names its project in the path; `/mcp` in a header (or the key).
    let in_path = req.uri().path().strip_prefix("/mcp/").map(str::to_owned);
    let requested = match &in_path {
        Some(raw) => raw.parse::<ProjectId>().map(Some).map_err(|_| ApiError::from(AppError::ProjectNotFound)),
        None => requested_project(req.headers()),
    };
    let metadata = match &in_path {
        Some(raw) if raw.parse::<ProjectId>().is_ok() => format!("{RESOURCE_METADATA_PATH}/mcp/{raw}"),
        _ => format!("{RESOURCE_METADATA_PATH}/mcp"),
    };
    // A non-ASCII header is a malformed key, not a missing one.
    let authorization = req.headers().get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or("invalid").to_owned());
    let answer = async {
        // Authentication first: a caller without a key learns nothing about projects.
        let named = || requested.as_ref().ok().copied().flatten();
        let admission = state.tengine.admit_on(Surface::Mcp, authorization.as_deref(), named, state.metering).await?;
        let refusal = admission.refusal().copied();
        let principal = admission.principal.clone();
        if let Some(slot) = slot {
            let _ = slot.0.auth.set(admission);
        }
        if let Some(d) = refusal {
            return Err(ApiError::rate_limited(&d));
        }
        let project = state.tengine.mcp_project(&principal, requested?)?;
        Ok(McpCaller { principal, project })
    };
    match answer.await {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => {
            // Read the refused request's body (bounded, like any body): answering before it
            // arrived would make the server close the connection after the answer, and a
            // client reusing it for the discovery a 401 calls for would find it gone.
            let _ = axum::body::to_bytes(req.into_body(), crate::extract::BODY_LIMIT).await;
            let mut res = e.into_response();
            if res.status() == axum::http::StatusCode::UNAUTHORIZED {
                res.headers_mut().insert(header::WWW_AUTHENTICATE, challenge(&base, &metadata));
            }
            res
        }
    }
}

/// `Bearer resource_metadata="<origin><path>"` (RFC 9728 §5.1); plain `Bearer` when the
/// request gives no usable host to build the URL from.
pub(crate) fn challenge(origin: &str, path: &str) -> HeaderValue {
    if origin.is_empty() {
        return HeaderValue::from_static("Bearer");
    }
    HeaderValue::from_str(&format!("Bearer resource_metadata=\"{origin}{path}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// The server's public origin: `TENGINE_PUBLIC_URL` when configured, else the origin
/// this request reached (empty when it gives none usable). The audience of member
/// assertions and the origin of portal URLs.
pub(crate) fn public_origin(tengine: &Tengine, headers: &HeaderMap) -> String {
    tengine.public_url().map(str::to_owned).or_else(|| public_base(headers)).unwrap_or_default()
}

/// The server's origin as the client reached it: `X-Forwarded-Proto` (from a TLS
/// proxy) or `http`, and the `Host` header when it is a plain host name or address.
pub(crate) fn public_base(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    if host.is_empty() || host.len() > 255 || !host.chars().all(plain) {
        return None;
    }
    let scheme = match headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    Some(format!("{scheme}://{host}"))
}

/// The caller the admission left in the HTTP request's extensions.
fn caller(ctx: &RequestContext<RoleServer>) -> Result<McpCaller, ErrorData> {
    ctx.extensions
        .get::<axum::http::request::Parts>()
        .and_then(|p| p.extensions.get::<McpCaller>())
        .cloned()
        .ok_or_else(|| ErrorData::internal_error("the request was not admitted", None))
}

/// An application refusal as a JSON-RPC error; `data.code` is the REST API's code.
fn protocol_error(e: AppError) -> ErrorData {
    let api = ApiError::from(e);
    let (code, message, details) = api.envelope();
    let data = Some(json!({"code": code, "status": api.status().as_u16(), "details": details}));
    if api.status().is_server_error() {
        ErrorData::internal_error(message.to_owned(), data)
    } else {
        ErrorData::new(ErrorCode::INVALID_REQUEST, message.to_owned(), data)
    }
}

fn tool_error(text: String, structured: Value) -> CallToolResponse {
    let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
    result.structured_content = Some(structured);
    result.into()
}

/// A tool as `tools/list` shows it.
fn listed(t: &Tool) -> McpTool {
    let schema: JsonObject = t.input_schema.as_json().as_object().cloned().unwrap_or_default();
    McpTool::new(t.name.as_str().to_owned(), t.description.as_str().to_owned(), Arc::new(schema))
}

/// The domain's tool result as MCP's: text content, structured content, `isError`,
/// and in `_meta` the call's id in the call log, its `X-Tengine-Request-Id`, and
/// whether it is an earlier call's result given again to a retry.
fn result_of(done: ToolCallResult) -> CallToolResponse {
    let outcome = done.outcome;
    let mut result = if outcome.is_error {
        CallToolResult::error(vec![ContentBlock::text(outcome.text)])
    } else {
        CallToolResult::success(vec![ContentBlock::text(outcome.text)])
    };
    result.structured_content = outcome.structured;
    let mut meta = JsonObject::new();
    meta.insert("tengine/call_id".to_owned(), json!(done.call_id.to_string()));
    meta.insert("tengine/request_id".to_owned(), json!(done.request_id.to_string()));
    meta.insert("tengine/replayed".to_owned(), json!(done.replayed));
    result.meta = Some(MetaObject(meta));
    result.into()
}

/// What makes this `tools/call` a retry: the client's `_meta.idempotency_key`, else
/// the JSON-RPC id within the MCP session (none outside a session).
fn retry_key(ctx: &RequestContext<RoleServer>) -> Option<RetryKey> {
    if let Some(key) = ctx.meta.get(IDEMPOTENCY_META) {
        // A key that is not a string is refused by the application like a bad string.
        let raw = key.as_str().map_or_else(String::new, str::to_owned);
        return Some(RetryKey::Client(raw));
    }
    let parts = ctx.extensions.get::<axum::http::request::Parts>()?;
    let session = parts.headers.get(SESSION_HEADER)?.to_str().ok()?.to_owned();
    let request = match &ctx.id {
        NumberOrString::Number(n) => format!("n:{n}"),
        NumberOrString::String(s) => format!("s:{s}"),
    };
    Some(RetryKey::Session { session, request })
}

/// Tells the session's client, until it goes away, when its project's tools change
/// in this process (`notifications/tools/list_changed`).
fn forward_tool_changes(tengine: &Tengine, project: ProjectId, peer: Peer<RoleServer>) {
    let mut changes = tengine.tool_set_changes();
    tokio::spawn(async move {
        let mut check = tokio::time::interval(SESSION_CHECK);
        loop {
            let changed = tokio::select! {
                got = changes.recv() => match got {
                    Ok(p) => p == project,
                    // Fell behind: some change may have been this project's.
                    Err(broadcast::error::RecvError::Lagged(_)) => true,
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = check.tick() => false,
            };
            if peer.is_transport_closed() {
                break;
            }
            if changed && peer.notify_tool_list_changed().await.is_err() {
                break;
            }
        }
    });
}

/// A call refused before anything was sent, as a tool error the model can read.
fn refused(e: &PrepareError) -> CallToolResponse {
    match e {
        PrepareError::InvalidArguments(v) => {
            let fields: Vec<Value> = v.errors().map(|f| json!({"field": f.field, "reason": f.reason})).collect();
            let text = v.errors().map(|f| format!("{}: {}", f.field, f.reason)).collect::<Vec<_>>().join("; ");
            tool_error(format!("Invalid arguments: {text}"), json!({"error": "invalid_arguments", "fields": fields}))
        }
        PrepareError::Refused(CallRefused::MemberRequired) => {
            tool_error("This tool requires a member session.".to_owned(), json!({"error": "member_required"}))
        }
        other => tool_error(format!("The call could not be made: {other}."), json!({"error": "refused"})),
    }
}

impl ServerHandler for TengineMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_tool_list_changed().build())
            .with_server_info(Implementation::new("tengine", env!("CARGO_PKG_VERSION")))
    }

    async fn on_initialized(&self, ctx: NotificationContext<RoleServer>) {
        let caller = ctx.extensions.get::<axum::http::request::Parts>().and_then(|p| p.extensions.get::<McpCaller>());
        if let Some(caller) = caller {
            forward_tool_changes(&self.tengine, caller.project, ctx.peer.clone());
        }
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let who = caller(&ctx)?;
        let tools = self.tengine.mcp_tools(&who.principal, who.project).await.map_err(protocol_error)?;
        Ok(ListToolsResult::with_all_items(tools.iter().map(|t| listed(t)).collect()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let who = caller(&ctx)?;
        let arguments = request.arguments.map_or(Value::Null, Value::Object);
        let retry = retry_key(&ctx);
        let member = who.principal.session.as_ref().and_then(|s| s.member.as_ref());
        let call =
            self.tengine.mcp_call(&who.principal, member, who.project, &request.name, &arguments, retry.as_ref());
        match call.await {
            Ok(done) => Ok(result_of(done)),
            Err(McpCallError::App(e)) => Err(protocol_error(e)),
            Err(McpCallError::UnknownTool(name)) => {
                Err(ErrorData::invalid_params(format!("Unknown tool: {name}"), Some(json!({"code": "NOT_FOUND"}))))
            }
            Err(McpCallError::Refused(e)) => Ok(refused(&e)),
            Err(McpCallError::SecretUnavailable) => Err(ErrorData::internal_error("the tool is misconfigured", None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_names_the_resource_metadata_of_the_host_reached() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("mcp.example.com"));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        let v = challenge(&public_base(&h).unwrap_or_default(), "/.well-known/oauth-protected-resource/mcp");
        assert_eq!(v, "Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\"");
    }

    #[test]
    fn a_host_that_could_break_the_quoted_string_gives_a_plain_challenge() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("evil\"x"));
        assert_eq!(challenge(&public_base(&h).unwrap_or_default(), "/x"), "Bearer");
        assert_eq!(challenge(&public_base(&HeaderMap::new()).unwrap_or_default(), "/x"), "Bearer");
    }
}
