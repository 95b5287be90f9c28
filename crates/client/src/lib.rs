//! `tengineai`: an async Rust client for the TengineAI REST API.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tengineai::Error> {
//! use tengineai::{models::CreateProject, TengineAI};
//! let client = TengineAI::new("tng_...")?.with_base_url("http://127.0.0.1:8080")?;
//! let project = client.projects().create(&CreateProject { name: "My Project".into(), description: Some("A sample project".into()) }).await?;
//! # let _ = project; Ok(()) }
//! ```
//!
//! Errors map the API's envelope ([`ApiError`]); 429, 502-504 and connection errors are
//! retried as `docs/sdk-retries.md` specifies (jittered exponential backoff, `Retry-After`
//! as a lower bound, failing at once when it exceeds the cap); every POST carries one
//! `Idempotency-Key` across its retries; [`webhooks::verify`] checks deliveries
//! ([`webhooks::verify_typed`] also reads `data` as the model its `type` names), and
//! [`tool_signature::verify`] the `tng2` signature of Tengine's calls to your API.
//!
//! ```no_run
//! use tengineai::webhooks::{self, EventPayload};
//! # fn receive(body: &[u8], headers: &std::collections::HashMap<String, String>, secret: &str) -> Result<(), webhooks::VerifyError> {
//! let event = webhooks::verify_typed(body, |name| headers.get(name).map(String::as_str), secret, 300)?;
//! match event.data {
//!     EventPayload::Project(project) => println!("{} {}", event.kind, project.name),
//!     EventPayload::UsageAlert(alert) => println!("{} of {} requests used", alert.used, alert.limit),
//!     EventPayload::WebhookDisabled(off) => println!("{} switched off: {}", off.webhook.id, off.reason),
//!     _ => {} // other types, and types newer than this crate (`EventPayload::Unknown`)
//! }
//! # Ok(()) }
//! ```
//!
//! [`TengineAI::event_types`] lists every event type with the JSON Schema of its `data`.
//! [`Webhooks::health`] answers a webhook's last 24 hours, its newest delivery and why it
//! is off, if it is.
//!
//! A webhook's `rate_limit` caps its deliveries per second (1 to 10,000; `None`, no limit:
//! deliveries wait, they never fail for it) and `ordering` `per_project` sends them one at
//! a time in creation order (`none`, the default: as they come). In an update, `None`
//! leaves a field alone and `Some(None)` lifts the throttle:
//!
//! ```no_run
//! use tengineai::models::{CreateWebhook, UpdateWebhook};
//! # async fn throttle(client: tengineai::TengineAI) -> Result<(), tengineai::Error> {
//! let hook = client
//!     .webhooks()
//!     .create("proj_...", &CreateWebhook {
//!         url: "https://myapp.com/webhook".into(),
//!         events: vec!["*".into()],
//!         rate_limit: Some(5),
//!         ordering: Some("per_project".into()),
//!         ..CreateWebhook::default()
//!     })
//!     .await?;
//! let lifted = UpdateWebhook { rate_limit: Some(None), ordering: Some("none".into()), ..UpdateWebhook::default() };
//! client.webhooks().update("proj_...", &hook.id, &lifted).await?;
//! # Ok(()) }
//! ```
//!
//! [`Events::stream`] follows a project's events as they happen (Server-Sent Events),
//! resuming after the last event received whenever the server ends the stream or the
//! connection drops:
//!
//! ```no_run
//! use futures::StreamExt;
//! # async fn follow(client: tengineai::TengineAI) -> Result<(), tengineai::Error> {
//! let mut events = std::pin::pin!(client.events().stream("proj_...", None));
//! while let Some(event) = events.next().await {
//!     let event = event?;
//!     println!("{} {} {}", event.id, event.kind, event.data);
//! }
//! # Ok(()) }
//! ```

pub mod error;
mod live;
pub mod models;
mod resources;
mod retry;
pub mod sse;
pub mod tool_signature;
pub mod webhooks;

use std::time::Duration;

use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use error::{ApiError, Error};
pub use resources::{
    Analytics, ApiKeys, EventTypes, Events, Integrations, Mcp, Projects, SigningKeys, ToolCallFilter, ToolCalls, Tools,
    Webhooks,
};

/// The hosted API's base URL.
pub const DEFAULT_BASE_URL: &str = "https://app.tengine.ai/api/v1";

/// The client; cheap to clone (one connection pool).
#[derive(Clone)]
pub struct TengineAI {
    http: reqwest::Client,
    /// For event streams: no total timeout (a stream lasts minutes), a read timeout instead.
    stream_http: reqwest::Client,
    base: String,
    key: String,
    max_retries: u32,
    backoff: Duration,
    max_backoff: Duration,
}

impl std::fmt::Debug for TengineAI {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TengineAI").field("base", &self.base).field("key", &"tng_***").finish()
    }
}

/// Appends `/api/v1` unless the URL already ends with it.
fn normalize_base(url: &str) -> String {
    let url = url.trim_end_matches('/');
    if url.ends_with("/api/v1") {
        url.to_owned()
    } else {
        format!("{url}/api/v1")
    }
}

impl TengineAI {
    /// A client with `api_key` for the hosted API (or `TENGINE_BASE_URL` if set).
    ///
    /// # Errors
    /// `Config` if the HTTP client cannot be built.
    pub fn new(api_key: impl Into<String>) -> Result<Self, Error> {
        let user_agent = concat!("tengineai-rust/", env!("CARGO_PKG_VERSION"));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(user_agent)
            .build()
            .map_err(|e| Error::Config(e.to_string()))?;
        // The server sends a keep-alive comment every 15 s: three missed means the
        // connection is gone, and the stream resumes on a new one.
        let stream_http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(Duration::from_secs(45))
            .user_agent(user_agent)
            .build()
            .map_err(|e| Error::Config(e.to_string()))?;
        let base =
            std::env::var("TENGINE_BASE_URL").map_or_else(|_| DEFAULT_BASE_URL.to_owned(), |b| normalize_base(&b));
        Ok(Self {
            http,
            stream_http,
            base,
            key: api_key.into(),
            max_retries: retry::DEFAULT_MAX_RETRIES,
            backoff: retry::DEFAULT_BASE_DELAY,
            max_backoff: retry::DEFAULT_MAX_DELAY,
        })
    }

    /// A client configured from `TENGINE_API_KEY` and `TENGINE_BASE_URL`.
    ///
    /// # Errors
    /// `Config` when `TENGINE_API_KEY` is unset.
    pub fn from_env() -> Result<Self, Error> {
        let key = std::env::var("TENGINE_API_KEY").map_err(|_| Error::Config("TENGINE_API_KEY is not set".into()))?;
        Self::new(key)
    }

    /// Uses another server (a self-hosted Tengine); `/api/v1` is added if missing.
    ///
    /// # Errors
    /// `Config` for a URL that is not http(s).
    pub fn with_base_url(mut self, url: &str) -> Result<Self, Error> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::Config(format!("base URL must be http(s): {url}")));
        }
        self.base = normalize_base(url);
        Ok(self)
    }

    /// Sets how often a failed call is retried (default 3) and the first backoff (default 500 ms).
    #[must_use]
    pub fn with_retries(mut self, max_retries: u32, first_backoff: Duration) -> Self {
        self.max_retries = max_retries;
        self.backoff = first_backoff;
        self
    }

    /// Sets the longest wait before a retry (default 60 s); a longer `Retry-After` fails the call at once.
    #[must_use]
    pub fn with_max_retry_delay(mut self, cap: Duration) -> Self {
        self.max_backoff = cap;
        self
    }

    /// Projects.
    pub fn projects(&self) -> Projects<'_> {
        Projects(self)
    }

    /// API keys of projects.
    pub fn api_keys(&self) -> ApiKeys<'_> {
        ApiKeys(self)
    }

    /// Webhooks of projects.
    pub fn webhooks(&self) -> Webhooks<'_> {
        Webhooks(self)
    }

    /// Custom tools of projects.
    pub fn tools(&self) -> Tools<'_> {
        Tools(self)
    }

    /// The tool call logs of projects.
    pub fn tool_calls(&self) -> resources::ToolCalls<'_> {
        resources::ToolCalls(self)
    }

    /// Projects' signing keys for member assertions.
    pub fn signing_keys(&self) -> resources::SigningKeys<'_> {
        resources::SigningKeys(self)
    }

    /// `/mcp` helpers for a project's backend (member session tokens).
    pub fn mcp(&self) -> resources::Mcp<'_> {
        resources::Mcp(self)
    }

    /// Who the client's key is (`GET /me`).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn me(&self) -> Result<models::Me, Error> {
        self.get("/me", &[]).await
    }

    /// Integrations: the OAuth clients of projects, and their connections.
    pub fn integrations(&self) -> Integrations<'_> {
        Integrations(self)
    }

    /// Projects' event logs.
    pub fn events(&self) -> Events<'_> {
        Events(self)
    }

    /// The event-type catalogue (`GET /event-types`).
    pub fn event_types(&self) -> EventTypes<'_> {
        EventTypes(self)
    }

    /// Usage analytics.
    pub fn analytics(&self) -> Analytics<'_> {
        Analytics(self)
    }

    /// Sends one logical call, retrying what is safe to retry; `None` for 204.
    pub(crate) async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<Option<T>, Error> {
        self.call_with(method, path, query, &[], body).await
    }

    /// [`TengineAI::call`] with extra request headers.
    pub(crate) async fn call_with<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        headers: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<Option<T>, Error> {
        let res = self.execute(method, path, query, headers, body).await?;
        decode(res).await
    }

    /// Sends one logical call, retrying what is safe to retry; the successful answer,
    /// its body unread (an error answer is read into [`Error::Api`]).
    pub(crate) async fn execute<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        headers: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<reqwest::Response, Error> {
        let url = format!("{}{path}", self.base);
        let idempotency_key = (method == Method::POST).then(|| uuid::Uuid::new_v4().to_string());
        let mut attempt = 0;
        loop {
            let mut req = self.http.request(method.clone(), &url).bearer_auth(&self.key).query(query);
            for (name, value) in headers {
                req = req.header(*name, value);
            }
            if let Some(k) = &idempotency_key {
                req = req.header("Idempotency-Key", k);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let outcome = req.send().await;
            // `Some(retry_after)` when the outcome is retryable (docs/sdk-retries.md).
            let retryable = match &outcome {
                Ok(res) if retry::RETRYABLE_STATUSES.contains(&res.status().as_u16()) => {
                    Some(retry::retry_after(res.headers()))
                }
                Err(e) if e.is_connect() || e.is_timeout() || e.is_request() => Some(None),
                _ => None,
            };
            if let (Some(ra), true) = (retryable, attempt < self.max_retries) {
                if let Some(wait) = self.retry_policy().wait(attempt + 1, ra, rand::thread_rng().gen::<f64>()) {
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
            }
            return error_for_status(outcome.map_err(Error::Connection)?).await;
        }
    }

    /// The backoff settings of this client.
    pub(crate) fn retry_policy(&self) -> retry::Policy {
        retry::Policy { base: self.backoff, cap: self.max_backoff }
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T, Error> {
        self.call::<(), T>(Method::GET, path, query, None).await?.ok_or_else(|| Error::Decode("empty body".into()))
    }

    /// A page of a list that names where its kept history starts
    /// (`X-Tengine-Retained-Since`: the event and delivery lists).
    pub(crate) async fn get_page<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<models::Page<T>, Error> {
        let res = self.execute::<()>(Method::GET, path, query, &[], None).await?;
        // An unreadable header only loses the hint, never the page.
        let since = res
            .headers()
            .get("x-tengine-retained-since")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chrono::DateTime::parse_from_rfc3339(v.trim()).ok())
            .map(|t| t.with_timezone(&chrono::Utc));
        let mut page: models::Page<T> = decode(res).await?.ok_or_else(|| Error::Decode("empty body".into()))?;
        page.retained_since = since;
        Ok(page)
    }

    pub(crate) async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, Error> {
        self.call(method, path, &[], body).await?.ok_or_else(|| Error::Decode("empty body".into()))
    }

    pub(crate) async fn delete_empty(&self, path: &str) -> Result<(), Error> {
        self.call::<(), serde_json::Value>(Method::DELETE, path, &[], None).await.map(|_| ())
    }
}

/// The answer itself when it is a success; else its body read into [`Error::Api`].
pub(crate) async fn error_for_status(res: reqwest::Response) -> Result<reqwest::Response, Error> {
    let status = res.status();
    if status.is_success() {
        return Ok(res);
    }
    let ra = retry::retry_after(res.headers()).map(|d| d.as_secs_f64().ceil() as u64);
    let bytes = res.bytes().await.map_err(Error::Connection)?;
    Err(Error::from_response(status.as_u16(), ra, &bytes))
}

/// A successful answer's JSON body; `None` for 204 or an empty body.
async fn decode<T: DeserializeOwned>(res: reqwest::Response) -> Result<Option<T>, Error> {
    let status = res.status();
    let bytes = res.bytes().await.map_err(Error::Connection)?;
    if status == StatusCode::NO_CONTENT || bytes.is_empty() {
        return Ok(None);
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|e| Error::Decode(e.to_string()))
}
