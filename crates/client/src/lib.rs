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
//! Errors map the API's envelope ([`ApiError`]); 429, 502-504 and network errors are
//! retried with backoff that honours `Retry-After`; every POST carries one
//! `Idempotency-Key` across its retries; [`webhooks::verify`] checks deliveries.

pub mod error;
pub mod models;
mod resources;
pub mod webhooks;

use std::time::Duration;

use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use error::{ApiError, Error};
pub use resources::{Analytics, ApiKeys, Events, Projects, Webhooks};

/// The hosted API's base URL.
pub const DEFAULT_BASE_URL: &str = "https://app.tengine.ai/api/v1";

/// The client; cheap to clone (one connection pool).
#[derive(Clone)]
pub struct TengineAI {
    http: reqwest::Client,
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
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("tengineai-rust/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(e.to_string()))?;
        let base =
            std::env::var("TENGINE_BASE_URL").map_or_else(|_| DEFAULT_BASE_URL.to_owned(), |b| normalize_base(&b));
        Ok(Self {
            http,
            base,
            key: api_key.into(),
            max_retries: 3,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
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

    /// Sets how often a failed call is retried (default 3) and the first backoff.
    #[must_use]
    pub fn with_retries(mut self, max_retries: u32, first_backoff: Duration) -> Self {
        self.max_retries = max_retries;
        self.backoff = first_backoff;
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

    /// Projects' event logs.
    pub fn events(&self) -> Events<'_> {
        Events(self)
    }

    /// Usage analytics.
    pub fn analytics(&self) -> Analytics<'_> {
        Analytics(self)
    }

    fn delay(&self, attempt: u32, retry_after: Option<u64>) -> Duration {
        let exp = self.backoff.saturating_mul(2u32.saturating_pow(attempt)).min(self.max_backoff);
        let jittered = exp.mul_f64(0.5 + rand::thread_rng().gen::<f64>() / 2.0);
        retry_after.map_or(jittered, |s| Duration::from_secs(s).min(self.max_backoff).max(jittered))
    }

    /// Sends one logical call, retrying what is safe to retry; `None` for 204.
    pub(crate) async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<Option<T>, Error> {
        let url = format!("{}{path}", self.base);
        let idempotency_key = (method == Method::POST).then(|| uuid::Uuid::new_v4().to_string());
        let mut attempt = 0;
        loop {
            let mut req = self.http.request(method.clone(), &url).bearer_auth(&self.key).query(query);
            if let Some(k) = &idempotency_key {
                req = req.header("Idempotency-Key", k);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let outcome = req.send().await;
            let retry_after = match &outcome {
                Ok(res) if matches!(res.status().as_u16(), 429 | 502 | 503 | 504) => Some(retry_after(res)),
                Err(e) if e.is_connect() || e.is_timeout() || e.is_request() => Some(None),
                _ => None,
            };
            if let (Some(ra), true) = (retry_after, attempt < self.max_retries) {
                tokio::time::sleep(self.delay(attempt, ra)).await;
                attempt += 1;
                continue;
            }
            let res = outcome.map_err(Error::Connection)?;
            let status = res.status();
            let ra = retry_after_of(&res);
            let bytes = res.bytes().await.map_err(Error::Connection)?;
            if !status.is_success() {
                return Err(Error::from_response(status.as_u16(), ra, &bytes));
            }
            if status == StatusCode::NO_CONTENT || bytes.is_empty() {
                return Ok(None);
            }
            return serde_json::from_slice(&bytes).map(Some).map_err(|e| Error::Decode(e.to_string()));
        }
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T, Error> {
        self.call::<(), T>(Method::GET, path, query, None).await?.ok_or_else(|| Error::Decode("empty body".into()))
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

fn retry_after_of(res: &reqwest::Response) -> Option<u64> {
    res.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
}

fn retry_after(res: &reqwest::Response) -> Option<u64> {
    retry_after_of(res)
}
