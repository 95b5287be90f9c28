//! Path and query parameters as the document shows them. The handlers read them with
//! `ApiPath` and `Query` (strict: an unknown or repeated query parameter is a 422), so
//! these types only describe them.
#![allow(dead_code)]

use utoipa::IntoParams;

use super::schemas::{AnalyticsDate, EventTypeName, GranularityName};

/// `{project_id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProjectPath {
    /// The project's id; a malformed or unknown id answers 404 `PROJECT_NOT_FOUND`.
    #[param(pattern = r"^proj_[0-9A-Za-z]{22}$", example = "proj_2cqkZJ8Xf3vTqW1bN0aYhE")]
    project_id: String,
}

/// `{project_id}/api-keys/{key_id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ApiKeyPath {
    /// The project's id.
    #[param(pattern = r"^proj_[0-9A-Za-z]{22}$", example = "proj_2cqkZJ8Xf3vTqW1bN0aYhE")]
    project_id: String,
    /// The key record's id (not its secret); a malformed or unknown id answers 404 `NOT_FOUND`.
    #[param(pattern = r"^key_[0-9A-Za-z]{22}$", example = "key_2cqkZN1a9RkLmP4sT7uVwX")]
    key_id: String,
}

/// `{project_id}/webhooks/{webhook_id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookPath {
    /// The project's id.
    #[param(pattern = r"^proj_[0-9A-Za-z]{22}$", example = "proj_2cqkZJ8Xf3vTqW1bN0aYhE")]
    project_id: String,
    /// The webhook's id; a malformed or unknown id answers 404 `NOT_FOUND`.
    #[param(pattern = r"^wh_[0-9A-Za-z]{22}$", example = "wh_2cqkZQ4dE6fG8hJ0kL2mN4")]
    webhook_id: String,
}

/// `{project_id}/webhooks/{webhook_id}/deliveries/{delivery_id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DeliveryPath {
    /// The project's id.
    #[param(pattern = r"^proj_[0-9A-Za-z]{22}$", example = "proj_2cqkZJ8Xf3vTqW1bN0aYhE")]
    project_id: String,
    /// The webhook's id.
    #[param(pattern = r"^wh_[0-9A-Za-z]{22}$", example = "wh_2cqkZQ4dE6fG8hJ0kL2mN4")]
    webhook_id: String,
    /// The delivery's id; a malformed or unknown id answers 404 `NOT_FOUND`.
    #[param(pattern = r"^del_[0-9A-Za-z]{22}$", example = "del_2cqkZT7pQ9rS1tU3vW5xY7")]
    delivery_id: String,
}

/// `{project_id}/tools/{tool_id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ToolPath {
    /// The project's id.
    #[param(pattern = r"^proj_[0-9A-Za-z]{22}$", example = "proj_2cqkZJ8Xf3vTqW1bN0aYhE")]
    project_id: String,
    /// The tool's id; a malformed or unknown id answers 404 `NOT_FOUND`.
    #[param(pattern = r"^tool_[0-9A-Za-z]{22}$", example = "tool_2cqkZV3bC5dE7fG9hJ1kL3")]
    tool_id: String,
}

/// `page` and `per_page`; no other query parameter is accepted.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The 1-based page number (the server reads it as an unsigned 32-bit integer).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 4_294_967_295_u64, default = 1)]
    page: Option<u32>,
    /// Items per page.
    #[param(minimum = 1, maximum = 100, default = 20)]
    per_page: Option<u32>,
}

/// A list that pages by number or by cursor; no other query parameter is accepted.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeysetQuery {
    /// The 1-based page number (the server reads it as an unsigned 32-bit integer). Deep
    /// pages cost more than the first; `starting_after` does not.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 4_294_967_295_u64, default = 1)]
    page: Option<u32>,
    /// Items per page.
    #[param(minimum = 1, maximum = 100, default = 20)]
    per_page: Option<u32>,
    /// A keyset page: the items after this item id, in list order (Stripe's
    /// `starting_after`). Its cost does not grow with the depth; not with `page`.
    #[param(max_length = 64, pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    starting_after: Option<String>,
    /// A keyset page: the items before this item id, in list order. Not with `page` or
    /// `starting_after`.
    #[param(max_length = 64, pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    ending_before: Option<String>,
}

/// The event log's query: paging and a type filter.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// The 1-based page number (the server reads it as an unsigned 32-bit integer).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 4_294_967_295_u64, default = 1)]
    page: Option<u32>,
    /// Items per page.
    #[param(minimum = 1, maximum = 100, default = 20)]
    per_page: Option<u32>,
    /// A keyset page: the items after this item id, in list order (Stripe's
    /// `starting_after`). Its cost does not grow with the depth; not with `page`.
    #[param(max_length = 64, pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    starting_after: Option<String>,
    /// A keyset page: the items before this item id, in list order. Not with `page` or
    /// `starting_after`.
    #[param(max_length = 64, pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    ending_before: Option<String>,
    /// Only events of this type.
    #[param(rename = "type", value_type = Option<EventTypeName>)]
    kind: Option<String>,
}

/// The account overview's query.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountAnalyticsQuery {
    /// Start of the range (inclusive); default: 7 days before `end_date`.
    #[param(value_type = Option<AnalyticsDate>)]
    start_date: Option<String>,
    /// End of the range (exclusive; a plain date means the end of that day); default: now.
    /// Must be after `start_date`; any length.
    #[param(value_type = Option<AnalyticsDate>)]
    end_date: Option<String>,
    /// How many of the busiest projects (and failing webhooks) to list.
    #[param(minimum = 1, maximum = 100, default = 5)]
    limit: Option<u32>,
}

/// The analytics query.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsQuery {
    /// Start of the range (inclusive); default: 7 days before `end_date`.
    #[param(value_type = Option<AnalyticsDate>)]
    start_date: Option<String>,
    /// End of the range (exclusive; a plain date means the end of that day); default: now.
    /// Must be after `start_date`, and the range may span at most 10,000 buckets.
    #[param(value_type = Option<AnalyticsDate>)]
    end_date: Option<String>,
    /// The bucket size.
    #[param(value_type = Option<GranularityName>, default = "day")]
    granularity: Option<String>,
    /// Only requests (or, with `tool_id` or `member_id`, tool calls) authenticated by
    /// this key of the project.
    #[param(pattern = r"^key_[0-9A-Za-z]{22}$")]
    api_key_id: Option<String>,
    /// Only the requests made with this integration's OAuth tokens (not combinable with
    /// `api_key_id`, `tool_id` or `member_id`).
    #[param(pattern = r"^int_[0-9A-Za-z]{22}$")]
    integration_id: Option<String>,
    /// Count the calls of this tool made through `/mcp` instead of requests (the tool
    /// dimension; a deleted tool's calls stay countable). `errors` are calls that did not
    /// succeed; `rate_limited` is always 0 (a refused request reaches no tool).
    #[param(pattern = r"^tool_[0-9A-Za-z]{22}$")]
    tool_id: Option<String>,
    /// Count the tool calls made in this member's sessions (the member dimension; with
    /// `tool_id`, that tool's only).
    #[param(min_length = 1, max_length = 255)]
    member_id: Option<String>,
}

/// A logged tool call's path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ToolCallPath {
    /// The project's id.
    #[param(pattern = r"^proj_[0-9A-Za-z]{22}$", example = "proj_2cqkZJ8Xf3vTqW1bN0aYhE")]
    project_id: String,
    /// The call's id; a malformed or unknown id answers 404 `NOT_FOUND`.
    #[param(pattern = r"^call_[0-9A-Za-z]{22}$", example = "call_2cqkZW4cD6eF8gH0jK2lM4")]
    call_id: String,
}

/// The call log's query: paging and filters.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ToolCallQuery {
    /// The 1-based page number (the server reads it as an unsigned 32-bit integer).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 4_294_967_295_u64, default = 1)]
    page: Option<u32>,
    /// Items per page.
    #[param(minimum = 1, maximum = 100, default = 20)]
    per_page: Option<u32>,
    /// Only this tool's calls.
    #[param(pattern = r"^tool_[0-9A-Za-z]{22}$")]
    tool_id: Option<String>,
    /// Only calls made in this member's sessions.
    #[param(min_length = 1, max_length = 255)]
    member_id: Option<String>,
    /// Only calls with this outcome.
    #[param(value_type = Option<super::schemas::ToolCallStatusName>)]
    status: Option<String>,
}

/// A portal session's path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PortalSessionPath {
    /// The project's id.
    #[param(pattern = r"^proj_[0-9A-Za-z]{22}$", example = "proj_2cqkZJ8Xf3vTqW1bN0aYhE")]
    project_id: String,
    /// The portal session's id; a malformed or unknown id answers 404 `NOT_FOUND`.
    #[param(pattern = r"^ps_[0-9A-Za-z]{22}$", example = "ps_2cqkZX5dE7fG9hJ1kL3mN5")]
    session_id: String,
}

/// A signing key's path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SigningKeyPath {
    /// The project's id.
    #[param(pattern = r"^proj_[0-9A-Za-z]{22}$", example = "proj_2cqkZJ8Xf3vTqW1bN0aYhE")]
    project_id: String,
    /// The signing key's id; a malformed or unknown id answers 404 `NOT_FOUND`.
    #[param(pattern = r"^sk_[0-9A-Za-z]{22}$", example = "sk_2cqkZY6eF8gH0jK2lM4nP6")]
    signing_key_id: String,
}

/// `{project_id}/integrations/{integration_id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IntegrationPath {
    /// The project's id.
    #[param(pattern = r"^proj_[0-9A-Za-z]{22}$", example = "proj_2cqkZJ8Xf3vTqW1bN0aYhE")]
    project_id: String,
    /// The integration's id (also its OAuth `client_id`); a malformed or unknown id
    /// answers 404 `NOT_FOUND`.
    #[param(pattern = r"^int_[0-9A-Za-z]{22}$", example = "int_2cqkZT3bC5dE7fG9hJ1kL3")]
    integration_id: String,
}

/// `{project_id}/integrations/{integration_id}/connections/{connection_id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ConnectionPath {
    /// The project's id.
    #[param(pattern = r"^proj_[0-9A-Za-z]{22}$", example = "proj_2cqkZJ8Xf3vTqW1bN0aYhE")]
    project_id: String,
    /// The integration's id.
    #[param(pattern = r"^int_[0-9A-Za-z]{22}$", example = "int_2cqkZT3bC5dE7fG9hJ1kL3")]
    integration_id: String,
    /// The connection's id; a malformed or unknown id answers 404 `NOT_FOUND`.
    #[param(pattern = r"^conn_[0-9A-Za-z]{22}$", example = "conn_2cqkZV5cD7eF9gH1jK3lM5")]
    connection_id: String,
}

/// The query `/oauth/authorize` got, passed on as it was.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthorizeQuery {
    /// The integration's id; a missing or unknown one answers 404 `NOT_FOUND`.
    #[param(pattern = r"^int_[0-9A-Za-z]{22}$")]
    client_id: String,
    /// A registered redirect URI (optional when the integration has exactly one).
    redirect_uri: Option<String>,
    /// `code`.
    response_type: Option<String>,
    /// Space-separated permissions (default: all the integration may ask for).
    scope: Option<String>,
    /// Echoed to the client.
    state: Option<String>,
    /// The PKCE S256 challenge.
    code_challenge: Option<String>,
    /// `S256`.
    code_challenge_method: Option<String>,
    /// An RFC 8707 resource indicator.
    resource: Option<String>,
}
