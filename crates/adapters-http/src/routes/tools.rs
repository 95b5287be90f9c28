//! `/projects/{id}/tools`: a project's custom tools. Bodies become the domain's drafts
//! here and are checked (every field error at once) by `Tengine::tool_definition` and
//! `tool_changes`, which know whether plain-`http` base URLs are allowed.

use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use tengine_application::Guarded;
use tengine_domain::{ProjectId, ToolDraft, ToolId, ToolPatchDraft, ValidationError, Validator};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::list_response;
use crate::doc::params::{PageQuery, ProjectPath, ToolPath};
use crate::doc::responses::{BodyErrors, ProjectErrors, QueryErrors, ResourceErrors};
use crate::doc::schemas::{ToolAuthStrategy, ToolHttpMethod, ToolMemberIdentity};
use crate::dto::{Patch, ToolBody};
use crate::error::ApiError;
use crate::extract::{ApiJson, Auth, Ids, Query};
use crate::idempotency::Idempotency;
use crate::state::AppState;

/// The tool routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(show, update, destroy)).routes(routes!(try_once))
}

/// Arguments typed by a person to try a tool once.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TestToolRequest, example = json!({"arguments": {"id": "42"}}))]
struct TryBody {
    /// The tool's arguments, checked against its input schema; default `{}`.
    #[schema(value_type = Option<Object>)]
    arguments: Option<Value>,
}

/// One header of a request.
#[derive(serde::Serialize, ToSchema)]
#[schema(as = HeaderPair)]
struct HeaderBody {
    name: String,
    value: String,
}

/// What was sent to the API, credentials masked (`********`).
#[derive(serde::Serialize, ToSchema)]
#[schema(as = SentToolCall)]
struct SentBody {
    #[schema(value_type = ToolHttpMethod)]
    method: &'static str,
    url: String,
    headers: Vec<HeaderBody>,
    /// The body as sent (JSON text), or null.
    #[schema(required = true)]
    body: Option<String>,
}

/// The result of trying a tool once: the call (logged and counted like any), what was
/// sent, and what the model would have got.
#[derive(serde::Serialize, ToSchema)]
#[schema(as = ToolTestResult)]
struct TriedBody {
    /// The call's id in the call log.
    #[schema(pattern = r"^call_[0-9A-Za-z]{22}$")]
    call_id: String,
    /// The `X-Tengine-Request-Id` sent.
    request_id: String,
    /// What was sent.
    request: SentBody,
    /// The API's HTTP status, or null when it did not answer.
    #[schema(required = true)]
    upstream_status: Option<u16>,
    /// Whether the model would get an error result.
    is_error: bool,
    /// The result's text.
    text: String,
    /// The result's structured content (a JSON object), or null.
    #[schema(value_type = Option<Object>, required = true)]
    structured_content: Option<Value>,
    /// Whether the answer was cut at the tool's `max_response_bytes`.
    truncated: bool,
    /// From preparing the request to the shaped answer, in milliseconds.
    latency_ms: f64,
}

/// Runs the tool once with the arguments given (the console's "try it"), exactly as a
/// call through `/mcp` would (logged in the call log, counted in analytics), and says
/// what was sent with credentials masked. Needs `write`. A disabled tool, one that
/// needs a member session, or arguments off the input schema are a 422 naming the field;
/// an API that fails or does not answer is a 200 with `is_error`.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project_id}/tools/{tool_id}/test",
    operation_id = "testTool",
    tag = "Tools",
    summary = "Try a tool once",
    params(ToolPath),
    request_body = TryBody,
    responses(
        (status = 200, description = "The call was made; the API's answer (or why none came) is in the result.", body = TriedBody),
        ResourceErrors,
        BodyErrors,
    )
)]
async fn try_once(
    State(s): State<AppState>,
    Auth(who): Auth,
    idempotency: Idempotency,
    Ids((pid, tid)): Ids<(ProjectId, ToolId)>,
    ApiJson(body): ApiJson<TryBody>,
) -> Result<Response, ApiError> {
    let arguments = body.arguments.unwrap_or(Value::Object(serde_json::Map::new()));
    idempotency
        .run(&s, &who, Guarded::ToolCall { project: pid }, async {
            let (done, sent) = s.tengine.try_tool(&who, pid, tid, &arguments).await?;
            let body = TriedBody {
                call_id: done.call_id.to_string(),
                request_id: done.request_id.to_string(),
                request: SentBody {
                    method: sent.method.as_str(),
                    url: sent.url,
                    headers: sent.headers.into_iter().map(|(name, value)| HeaderBody { name, value }).collect(),
                    body: sent.body,
                },
                upstream_status: done.upstream_status,
                is_error: done.outcome.is_error,
                text: done.outcome.text,
                structured_content: done.outcome.structured,
                truncated: done.outcome.truncated,
                latency_ms: done.latency.as_secs_f64() * 1_000.0,
            };
            Ok(Json(body).into_response())
        })
        .await
}

/// A new tool. Field names follow TengineAI's documentation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(
    as = CreateToolRequest,
    example = json!({
        "name": "crm-contacts-get_by_id",
        "description": "Looks up a CRM contact by id.",
        "input_schema": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
        "base_url": "https://api.example.com",
        "http_method": "GET",
        "endpoint_path": "/v1/contacts/{id}",
        "auth_strategy": "static_bearer",
        "encrypted_auth_secret": "sk_live_0123456789"
    })
)]
struct CreateBody {
    /// `[a-z0-9_-]{1,64}`, unique among the project's tools.
    #[schema(pattern = r"^[a-z0-9_-]{1,64}$")]
    name: String,
    /// What the model reads: 1 to 8000 characters.
    #[schema(min_length = 1, max_length = 8000)]
    description: String,
    /// A JSON Schema of the arguments, `"type": "object"`, at most 64 KiB; no `$ref` to
    /// other documents.
    #[schema(value_type = Object)]
    input_schema: Value,
    /// An `https` origin: scheme, host and optional port; no path, query or fragment.
    #[schema(max_length = 512)]
    base_url: String,
    /// One of GET, POST, PUT, PATCH, DELETE.
    #[schema(value_type = ToolHttpMethod)]
    http_method: String,
    /// Starts with `/`; may hold `{variable}` placeholders.
    #[schema(max_length = 2048)]
    endpoint_path: String,
    /// Header names to string templates (at most 64).
    #[serde(default)]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    headers_template: Option<Value>,
    /// Query parameter names to string templates (at most 64).
    #[serde(default)]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    query_template: Option<Value>,
    /// Any JSON (at most 64 KiB) whose strings may hold placeholders; absent or null for
    /// no body (and required absent for GET).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    body_template: Option<Value>,
    /// Whether models see and may call it (default true).
    #[serde(default)]
    enabled: Option<bool>,
    /// Whether a call needs a member session (default false).
    #[serde(default)]
    require_member: Option<bool>,
    /// Whether the call log keeps each call's arguments and result, encrypted at rest
    /// (default false: the log keeps only what happened).
    #[serde(default)]
    log_payloads: Option<bool>,
    /// Member facts sent as `X-Tengine-Member-*` headers: any of `id`, `email`, `roles`.
    #[serde(default)]
    #[schema(value_type = Option<Vec<ToolMemberIdentity>>)]
    inject_member_identity: Option<Vec<String>>,
    /// `none` (default), `static_bearer` or `hmac_signature`.
    #[serde(default)]
    #[schema(value_type = ToolAuthStrategy, required = false)]
    auth_strategy: Option<String>,
    /// Write-only: the secret for `auth_strategy` (8 to 4096 visible ASCII characters),
    /// encrypted at rest and never returned. Required unless `auth_strategy` is `none`.
    #[serde(default)]
    #[schema(min_length = 8, max_length = 4096, write_only)]
    encrypted_auth_secret: Option<String>,
    /// The call's time limit in milliseconds (default 10000).
    #[serde(default, deserialize_with = "crate::dto::optional_integer")]
    #[schema(minimum = 1, maximum = 30_000, default = 10_000)]
    timeout_ms: Option<i64>,
    /// How much of an answer is kept; past it the answer is cut (default 262144).
    #[serde(default, deserialize_with = "crate::dto::optional_integer")]
    #[schema(minimum = 1, maximum = 4_194_304, default = 262_144)]
    max_response_bytes: Option<i64>,
}

/// Changes to a tool: an absent field is left unchanged; `null` clears the templates and
/// is refused elsewhere.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UpdateToolRequest, example = json!({"enabled": false}))]
struct PatchBody {
    /// A new name.
    #[serde(default)]
    #[schema(value_type = String, pattern = r"^[a-z0-9_-]{1,64}$")]
    name: Patch<String>,
    /// A new description.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 8000)]
    description: Patch<String>,
    /// A new input schema.
    #[serde(default)]
    #[schema(value_type = Object)]
    input_schema: Patch<Value>,
    /// A new base URL.
    #[serde(default)]
    #[schema(value_type = String, max_length = 512)]
    base_url: Patch<String>,
    /// A new method.
    #[serde(default)]
    #[schema(value_type = ToolHttpMethod)]
    http_method: Patch<String>,
    /// A new path.
    #[serde(default)]
    #[schema(value_type = String, max_length = 2048)]
    endpoint_path: Patch<String>,
    /// New header templates, or `null` for none.
    #[serde(default)]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    headers_template: Patch<Value>,
    /// New query templates, or `null` for none.
    #[serde(default)]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    query_template: Patch<Value>,
    /// A new body template, or `null` for no body.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    body_template: Patch<Value>,
    /// Turns the tool on or off.
    #[serde(default)]
    #[schema(value_type = bool)]
    enabled: Patch<bool>,
    /// A new `require_member`.
    #[serde(default)]
    #[schema(value_type = bool)]
    require_member: Patch<bool>,
    /// A new `log_payloads`.
    #[serde(default)]
    #[schema(value_type = bool)]
    log_payloads: Patch<bool>,
    /// A new list of member facts to send.
    #[serde(default)]
    #[schema(value_type = Vec<ToolMemberIdentity>)]
    inject_member_identity: Patch<Vec<String>>,
    /// A new strategy; `none` drops the stored secret.
    #[serde(default)]
    #[schema(value_type = ToolAuthStrategy)]
    auth_strategy: Patch<String>,
    /// Write-only: a new secret, encrypted at rest and never returned.
    #[serde(default)]
    #[schema(value_type = String, min_length = 8, max_length = 4096, write_only)]
    encrypted_auth_secret: Patch<String>,
    /// A new time limit in milliseconds.
    #[serde(default)]
    #[schema(value_type = i64, minimum = 1, maximum = 30_000)]
    timeout_ms: Patch<i64>,
    /// A new response limit in bytes.
    #[serde(default)]
    #[schema(value_type = i64, minimum = 1, maximum = 4_194_304)]
    max_response_bytes: Patch<i64>,
}

/// A page of tools.
type ToolList = crate::dto::ListSchema<ToolBody>;

impl From<CreateBody> for ToolDraft {
    fn from(b: CreateBody) -> Self {
        ToolDraft {
            name: b.name,
            description: b.description,
            input_schema: b.input_schema,
            base_url: b.base_url,
            http_method: b.http_method,
            endpoint_path: b.endpoint_path,
            headers_template: b.headers_template,
            query_template: b.query_template,
            body_template: b.body_template,
            enabled: b.enabled,
            require_member: b.require_member,
            log_payloads: b.log_payloads,
            inject_member_identity: b.inject_member_identity,
            auth_strategy: b.auth_strategy,
            encrypted_auth_secret: b.encrypted_auth_secret,
            timeout_ms: b.timeout_ms,
            max_response_bytes: b.max_response_bytes,
        }
    }
}

impl TryFrom<PatchBody> for ToolPatchDraft {
    type Error = ValidationError;

    /// Refuses `null` where it clears nothing, naming every such field.
    fn try_from(b: PatchBody) -> Result<Self, ValidationError> {
        let mut v = Validator::new();
        macro_rules! required {
            ($f:ident) => {
                v.check(b.$f.required(stringify!($f), Ok)).flatten()
            };
        }
        let clearable = |p: Patch<Value>| match p {
            Patch::Absent => None,
            Patch::Null => Some(Value::Null),
            Patch::Value(x) => Some(x),
        };
        let draft = ToolPatchDraft {
            name: required!(name),
            description: required!(description),
            input_schema: required!(input_schema),
            base_url: required!(base_url),
            http_method: required!(http_method),
            endpoint_path: required!(endpoint_path),
            headers_template: clearable(b.headers_template),
            query_template: clearable(b.query_template),
            body_template: clearable(b.body_template),
            enabled: required!(enabled),
            require_member: required!(require_member),
            log_payloads: required!(log_payloads),
            inject_member_identity: required!(inject_member_identity),
            auth_strategy: required!(auth_strategy),
            encrypted_auth_secret: required!(encrypted_auth_secret),
            timeout_ms: required!(timeout_ms),
            max_response_bytes: required!(max_response_bytes),
        };
        v.finish().map(|()| draft)
    }
}

/// Lists a project's tools, newest first. Needs `read`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/tools",
    operation_id = "listTools",
    tag = "Tools",
    summary = "List tools",
    params(ProjectPath, PageQuery),
    responses(
        (status = 200, description = "A page of tools (never their secrets).", body = ToolList, headers(("Link" = String, description = "RFC 8288 links to the first, prev, next and last pages."))),
        ProjectErrors,
        QueryErrors,
    )
)]
async fn list(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids(pid): Ids<ProjectId>,
    uri: OriginalUri,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let page = Query::parse(q.as_deref(), &["page", "per_page"])?.page()?;
    let tools = s.tengine.list_tools(&who, pid, page).await?.map(ToolBody::from);
    Ok(list_response(tools, uri.path()))
}

/// Creates a tool. Needs `admin`. A name already used in the project is a 422 on `name`.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project_id}/tools",
    operation_id = "createTool",
    tag = "Tools",
    summary = "Create a tool",
    params(ProjectPath),
    request_body = CreateBody,
    responses(
        (status = 201, description = "The created tool (without its secret).", body = ToolBody,
            headers(("Location" = String, description = "The new tool's path, `/api/v1/projects/{project_id}/tools/{id}`."))),
        ProjectErrors,
        BodyErrors,
    )
)]
async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    idempotency: Idempotency,
    Ids(pid): Ids<ProjectId>,
    uri: OriginalUri,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Response, ApiError> {
    let new = s.tengine.tool_definition(ToolDraft::from(body))?;
    idempotency
        .run(&s, &who, Guarded::Tools { project: pid }, async {
            let tool = s.tengine.create_tool(&who, pid, new).await?;
            let location = format!("{}/{}", uri.path().trim_end_matches('/'), tool.id);
            Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(ToolBody::from(tool))).into_response())
        })
        .await
}

/// Gets a tool (without its secret). Needs `read`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/tools/{tool_id}",
    operation_id = "getTool",
    tag = "Tools",
    summary = "Get a tool",
    params(ToolPath),
    responses(
        (status = 200, description = "The tool, without its secret.", body = ToolBody),
        ResourceErrors,
    )
)]
async fn show(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids((pid, tid)): Ids<(ProjectId, ToolId)>,
) -> Result<Json<ToolBody>, ApiError> {
    Ok(Json(ToolBody::from(s.tengine.get_tool(&who, pid, tid).await?)))
}

/// Changes a tool. Needs `admin`. A patch that changes nothing changes nothing (not even
/// `updated_at`).
#[utoipa::path(
    patch,
    path = "/api/v1/projects/{project_id}/tools/{tool_id}",
    operation_id = "updateTool",
    tag = "Tools",
    summary = "Update a tool",
    params(ToolPath),
    request_body = PatchBody,
    responses(
        (status = 200, description = "The updated tool, without its secret.", body = ToolBody),
        ResourceErrors,
        BodyErrors,
    )
)]
async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids((pid, tid)): Ids<(ProjectId, ToolId)>,
    ApiJson(body): ApiJson<PatchBody>,
) -> Result<Json<ToolBody>, ApiError> {
    let patch = s.tengine.tool_changes(ToolPatchDraft::try_from(body)?)?;
    Ok(Json(ToolBody::from(s.tengine.update_tool(&who, pid, tid, patch).await?)))
}

/// Deletes a tool: models no longer see it and its name is free again. Needs `admin`.
#[utoipa::path(
    delete,
    path = "/api/v1/projects/{project_id}/tools/{tool_id}",
    operation_id = "deleteTool",
    tag = "Tools",
    summary = "Delete a tool",
    params(ToolPath),
    responses(
        (status = 204, description = "Deleted; no body."),
        ResourceErrors,
    )
)]
async fn destroy(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids((pid, tid)): Ids<(ProjectId, ToolId)>,
) -> Result<StatusCode, ApiError> {
    s.tengine.delete_tool(&who, pid, tid).await?;
    Ok(StatusCode::NO_CONTENT)
}
