//! The outbound tool caller: [`ReqwestToolCaller`] implements the [`ToolCaller`] port
//! over reqwest.
//!
//! One pooled client serves every call. Redirects are never followed and proxies from
//! the environment are ignored (a proxy would be resolved instead of the destination,
//! bypassing the guard). Unless [`ToolCallerConfig::allow_private`] is set, only `https`
//! is sent and destinations go through the shared SSRF guard of
//! `tengine-outbound-guard`: a resolver that drops refused addresses, so the address
//! checked is the one connected to, and a check of IP-literal hosts before sending.
//!
//! Nothing here logs a request's headers or body: they carry the tool's secret.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::redirect::Policy;
use reqwest::{Method, Url};
use tengine_domain::tool::{CallFailure, HttpMethod, OutboundRequest, TimeoutMs};
use tengine_outbound_guard::{is_refusal, refused_literal, GuardedResolver};
use tengine_ports::{ToolCaller, UpstreamAnswer};

const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// How a [`ReqwestToolCaller`] behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCallerConfig {
    /// Allow loopback, private, link-local and metadata destinations and plain `http`
    /// (`TENGINE_TOOLS_ALLOW_PRIVATE`; tests and local development only).
    pub allow_private: bool,
    /// The `User-Agent` sent unless the tool's headers carry one.
    pub user_agent: String,
}

impl Default for ToolCallerConfig {
    fn default() -> Self {
        Self { allow_private: false, user_agent: concat!("Tengine-Tools/", env!("CARGO_PKG_VERSION")).to_owned() }
    }
}

/// Calls tools' APIs with one pooled reqwest client.
#[derive(Debug, Clone)]
pub struct ReqwestToolCaller {
    client: reqwest::Client,
    allow_private: bool,
}

impl ReqwestToolCaller {
    /// A caller with its own connection pool.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (its TLS backend fails to initialise).
    pub fn new(config: ToolCallerConfig) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .redirect(Policy::none())
            .no_proxy()
            // Each request sets its own, shorter limit; this bounds connecting regardless.
            .connect_timeout(Duration::from_millis(u64::from(TimeoutMs::MAX)))
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .tcp_keepalive(TCP_KEEPALIVE)
            .http1_only()
            .user_agent(config.user_agent);
        if !config.allow_private {
            builder = builder.dns_resolver(Arc::new(GuardedResolver)).https_only(true);
        }
        Ok(Self { client: builder.build()?, allow_private: config.allow_private })
    }

    async fn attempt(&self, request: &OutboundRequest, limit: Duration) -> Result<UpstreamAnswer, CallFailure> {
        let url = Url::parse(&request.url).map_err(|_| {
            tracing::debug!("tool URL does not parse");
            CallFailure::Unreachable
        })?;
        let scheme_allowed = match url.scheme() {
            "https" => true,
            "http" => self.allow_private,
            _ => false,
        };
        if !scheme_allowed || (!self.allow_private && refused_literal(&url)) {
            tracing::debug!(scheme = url.scheme(), "tool destination refused before connecting");
            return Err(CallFailure::RefusedAddress);
        }
        let headers = header_map(&request.headers)?;
        let mut builder = self.client.request(method(request.method), url).headers(headers).timeout(limit);
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let mut response = builder.send().await.map_err(|e| failure(&e, request.timeout))?;
        let status = response.status().as_u16();
        let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        // One byte past the limit tells `shape_response` the answer was cut.
        let cap = request.max_response_bytes.get().saturating_add(1);
        let mut body = Vec::new();
        while body.len() < cap {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk[..chunk.len().min(cap - body.len())]),
                Ok(None) => break,
                Err(e) => return Err(failure(&e, request.timeout)),
            }
        }
        Ok(UpstreamAnswer { status, content_type, body })
    }
}

#[async_trait::async_trait]
impl ToolCaller for ReqwestToolCaller {
    async fn call(&self, request: &OutboundRequest) -> Result<UpstreamAnswer, CallFailure> {
        let started = Instant::now();
        let limit = Duration::from_millis(u64::from(request.timeout.get()));
        // reqwest's own timeout covers the body too; this one also bounds resolving and
        // whatever else happens before reqwest starts counting.
        let result = tokio::time::timeout(limit, self.attempt(request, limit))
            .await
            .unwrap_or(Err(CallFailure::Timeout(request.timeout.get())));
        let outcome = match &result {
            Ok(a) if (200..300).contains(&a.status) => "ok",
            Ok(_) => "http_error",
            Err(CallFailure::Timeout(_)) => "timeout",
            Err(CallFailure::RefusedAddress) => "refused",
            Err(CallFailure::Unreachable) => "unreachable",
        };
        metrics::counter!("tengine_tool_upstream_calls_total", "outcome" => outcome).increment(1);
        metrics::histogram!("tengine_tool_upstream_seconds").record(started.elapsed().as_secs_f64());
        result
    }
}

fn method(m: HttpMethod) -> Method {
    match m {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Delete => Method::DELETE,
    }
}

/// The failure a reqwest error stands for. Logged without its URL, which may carry
/// arguments; reqwest errors never hold headers, so the secret cannot show.
fn failure(error: &reqwest::Error, timeout: TimeoutMs) -> CallFailure {
    if is_refusal(error) {
        return CallFailure::RefusedAddress;
    }
    if error.is_timeout() {
        return CallFailure::Timeout(timeout.get());
    }
    let mut cause: &(dyn std::error::Error + 'static) = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    tracing::debug!(connect = error.is_connect(), %cause, "tool API unreachable");
    CallFailure::Unreachable
}

/// The request's headers. The domain refused control characters already; a value
/// reqwest still refuses is reported by name only, never by value.
fn header_map(headers: &[(String, String)]) -> Result<HeaderMap, CallFailure> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let parsed = HeaderName::from_bytes(name.as_bytes()).ok().zip(HeaderValue::from_bytes(value.as_bytes()).ok());
        let Some((n, mut v)) = parsed else {
            tracing::debug!(header = %name.escape_debug(), "tool header refused by the HTTP client");
            return Err(CallFailure::Unreachable);
        };
        // Kept out of reqwest's `Debug` output.
        v.set_sensitive(n == AUTHORIZATION);
        map.append(n, v);
    }
    Ok(map)
}
