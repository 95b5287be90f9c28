//! Tengine's use cases. Every permission, scope and escalation rule is enforced here,
//! over ports only, so the rules are unit-tested without a database or a server.

pub mod accounts;
pub mod analytics;
pub mod api_keys;
pub mod auth;
pub mod call_log;
pub mod delivery;
pub mod error;
pub mod events;
mod group_commit;
pub mod idempotency;
pub mod integrations;
pub mod key_cache;
pub mod last_used;
mod limits;
pub mod maintenance;
pub mod mcp;
pub mod member_sessions;
pub mod oauth;
mod project_updates;
pub mod projects;
pub mod rate_limit;
pub mod secrets;
pub mod sessions;
pub mod tool_cache;
pub mod tool_calls;
pub mod tools;
pub mod ttl_cache;
pub mod usage;
pub mod webhooks;

use std::sync::Arc;

use tengine_domain::idempotency::LookupKey;
use tengine_domain::secret_key::Keyring;
use tengine_domain::ProjectId;
use tengine_ports::{Clock, IdGenerator, RateLimiter, SecretGenerator, Store, ToolCaller};

pub use accounts::{AccountWithKey, NewAccount};
pub use analytics::{AccountAnalytics, Analytics, AnalyticsFilter, ProjectTotalsSum, MAX_OVERVIEW_ROWS};
pub use api_keys::{ApiKeyPatch, NewApiKey};
pub use call_log::LoggedCall;
pub use error::{AppError, AuthFailure};
pub use idempotency::{Answer, Begun, Claim, Guarded, IdempotentRequest};
pub use last_used::LastUsedTracker;
pub use limits::{Admission, Surface};
pub use mcp::McpCallError;
pub use oauth::{
    AuthorizeError, AuthorizeParams, AuthorizeRequest, ClientAuth, IssuedTokens, OAuthError, RegistrationRequest,
    TokenParams,
};
pub use projects::NewProject;
pub use rate_limit::SlidingWindowLimiter;
pub use secrets::ResealReport;
pub use sessions::{Me, OpenedPortal};
pub use tool_calls::replay::RetryKey;
pub use tool_calls::{CallToolError, ToolCallResult};
pub use usage::UsageBuffer;
pub use webhooks::{NewWebhook, WebhookHealth, WebhookPatch};

/// Tool-set changes a slow MCP session may fall behind by before it is told to
/// re-list anyway.
const TOOL_CHANGES_BUFFER: usize = 256;

/// The ports the use cases run on.
#[derive(Clone)]
pub struct Deps {
    /// Storage: repositories and transactions.
    pub store: Arc<dyn Store>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Fresh ids.
    pub ids: Arc<dyn IdGenerator>,
    /// Fresh secrets.
    pub secrets: Arc<dyn SecretGenerator>,
    /// The plan limiter.
    pub limiter: Arc<dyn RateLimiter>,
    /// The server keys that seal webhook and tool secrets at rest.
    pub keyring: Arc<Keyring>,
    /// Sends tool calls to projects' APIs.
    pub tool_caller: Arc<dyn ToolCaller>,
}

/// The use cases, one method each; cheap to clone and share across requests.
#[derive(Clone)]
pub struct Tengine {
    deps: Deps,
    last_used: Arc<LastUsedTracker>,
    plans: Arc<limits::PlanCache>,
    keys: Arc<key_cache::KeyCache>,
    oauth_tokens: Arc<oauth::TokenCache>,
    connections_used: Arc<LastUsedTracker<tengine_domain::ConnectionId>>,
    lookup_key: Arc<LookupKey>,
    calls: Arc<tool_calls::log::CallLog>,
    recent: Arc<tool_calls::replay::RecentCalls>,
    tools: Arc<tool_cache::ToolCache>,
    project_writer: Arc<group_commit::ProjectWriter>,
    project_updates: Arc<project_updates::ProjectUpdates>,
    tool_changes: tokio::sync::broadcast::Sender<ProjectId>,
    /// Whether tools may use plain `http` base URLs (see `with_tools_allow_private`).
    tools_allow_private: bool,
    /// The server's public origin, when configured.
    public_url: Option<Arc<str>>,
    /// How long finished deliveries and their events are kept.
    retention: tengine_domain::event::Retention,
}

impl Tengine {
    /// Builds the use cases over `deps`.
    pub fn new(deps: Deps) -> Self {
        let lookup_key = Arc::new(deps.keyring.lookup_key());
        Self {
            deps,
            last_used: Arc::new(LastUsedTracker::default()),
            plans: Arc::default(),
            keys: Arc::default(),
            oauth_tokens: Arc::default(),
            connections_used: Arc::default(),
            lookup_key,
            calls: Arc::default(),
            recent: Arc::default(),
            tools: Arc::default(),
            project_writer: Arc::default(),
            project_updates: Arc::default(),
            tool_changes: tokio::sync::broadcast::channel(TOOL_CHANGES_BUFFER).0,
            tools_allow_private: false,
            public_url: None,
            retention: tengine_domain::event::Retention::DEFAULT,
        }
    }

    /// Sets how long finished deliveries and their events are kept.
    pub fn with_retention(mut self, retention: tengine_domain::event::Retention) -> Self {
        self.retention = retention;
        self
    }

    /// How long finished deliveries and their events are kept.
    pub fn retention(&self) -> tengine_domain::event::Retention {
        self.retention
    }

    /// The in-memory caches' sizes for `/metrics`: `(name, entries, capacity)`. Each is
    /// bounded; entries also expire within [`key_cache::TTL`].
    pub fn cache_sizes(&self) -> [(&'static str, usize, usize); 3] {
        [
            ("keys", self.keys.len(), self.keys.capacity()),
            ("oauth_tokens", self.oauth_tokens.len(), self.oauth_tokens.capacity()),
            ("tools", self.tools.len(), self.tools.capacity()),
        ]
    }

    /// Accounts the rate limiter holds in memory (for `/metrics`).
    pub fn rate_limited_accounts(&self) -> usize {
        self.deps.limiter.tracked_accounts()
    }

    /// Sets the server's public origin (`https://host[:port]`, checked at startup).
    pub fn with_public_url(mut self, url: Option<String>) -> Self {
        self.public_url = url.map(Into::into);
        self
    }

    /// The server's public origin, when configured: the audience of member assertions
    /// and the origin of portal URLs.
    pub fn public_url(&self) -> Option<&str> {
        self.public_url.as_deref()
    }

    /// The key idempotency records are looked up under (an HMAC of the
    /// Idempotency-Key value), derived from the current server key.
    pub fn lookup_key(&self) -> &LookupKey {
        &self.lookup_key
    }

    /// Tool calls waiting to be written to the call log (for the buffer-depth gauge).
    pub fn call_log(&self) -> &Arc<tool_calls::log::CallLog> {
        &self.calls
    }

    /// Projects whose tool set changed (a tool created, changed or deleted, or the
    /// project deleted) in this process, for MCP's `notifications/tools/list_changed`.
    pub fn tool_set_changes(&self) -> tokio::sync::broadcast::Receiver<ProjectId> {
        self.tool_changes.subscribe()
    }

    /// Tells this process's MCP sessions of `project` that its tools changed.
    fn tools_changed(&self, project: ProjectId) {
        self.tools.evict(project);
        // No session listening is not an error.
        let _ = self.tool_changes.send(project);
    }

    /// The tracker of key use, drained by a background flusher.
    pub fn last_used(&self) -> &Arc<LastUsedTracker> {
        &self.last_used
    }
}

#[cfg(test)]
pub(crate) mod test_support;
