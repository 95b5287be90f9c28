//! The outbound webhook sender: [`ReqwestSender`] implements the
//! [`WebhookSender`] port over reqwest.
//!
//! One pooled HTTP/1.1 client is shared by every send. Redirects are never followed,
//! and unless [`SenderConfig::allow_private`] is set, destinations are checked on the
//! address actually connected to: a custom resolver drops refused addresses, and
//! IP-literal URLs (which skip DNS) are checked before sending: the guard of
//! `tengine-outbound-guard`, shared with the tool caller. See [`is_allowed_destination`]
//! for what is refused.

mod excerpt;
mod retry_after;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::redirect::Policy;
use tengine_ports::{OutboundRequest, OutboundResponse, WebhookSender};

pub use tengine_outbound_guard::{is_allowed_destination, special};
use tengine_outbound_guard::{is_refusal, refused_literal, GuardedResolver, REFUSED_MESSAGE};

/// How long an attempt may take, connecting included, unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

const POOL_MAX_IDLE_PER_HOST: usize = 8;
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// How a [`ReqwestSender`] behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderConfig {
    /// Allow loopback, private, link-local and metadata destinations
    /// (`TENGINE_WEBHOOK_ALLOW_PRIVATE`; tests and local development only).
    pub allow_private: bool,
    /// The limit on connecting and on the whole attempt.
    pub timeout: Duration,
    /// The `User-Agent` sent unless the request's headers carry one.
    pub user_agent: String,
}

impl Default for SenderConfig {
    fn default() -> Self {
        Self {
            allow_private: false,
            timeout: DEFAULT_TIMEOUT,
            user_agent: concat!("Tengine-Webhooks/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// Sends webhook requests with one pooled reqwest client.
///
/// A receiver that answers but then stalls its body past the timeout gives its status
/// with `timed_out` set and the excerpt read so far.
#[derive(Debug, Clone)]
pub struct ReqwestSender {
    client: reqwest::Client,
    allow_private: bool,
    timeout: Duration,
}

impl ReqwestSender {
    /// A sender with its own connection pool.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (its TLS backend fails to initialise).
    pub fn new(config: SenderConfig) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .redirect(Policy::none())
            .connect_timeout(config.timeout)
            .timeout(config.timeout)
            .pool_max_idle_per_host(POOL_MAX_IDLE_PER_HOST)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .tcp_keepalive(TCP_KEEPALIVE)
            .http1_only()
            // A proxy would be resolved instead of the destination, bypassing the guard.
            .no_proxy()
            .user_agent(config.user_agent);
        if !config.allow_private {
            builder = builder.dns_resolver(Arc::new(GuardedResolver));
        }
        Ok(Self { client: builder.build()?, allow_private: config.allow_private, timeout: config.timeout })
    }

    async fn attempt(&self, request: OutboundRequest) -> OutboundResponse {
        let Ok(url) = reqwest::Url::parse(&request.url) else {
            return failure("invalid URL");
        };
        if !matches!(url.scheme(), "http" | "https") {
            return failure("unsupported URL scheme");
        }
        if !self.allow_private && refused_literal(&url) {
            tracing::debug!("webhook destination is a refused IP literal");
            return failure(REFUSED_MESSAGE);
        }
        let headers = match header_map(&request.headers) {
            Ok(headers) => headers,
            Err(message) => return failure(message),
        };
        let sent = self.client.post(url).headers(headers).body(request.body).send().await;
        let mut response = match sent {
            Ok(response) => response,
            Err(error) => {
                let (message, timed_out) = self.describe(error);
                return OutboundResponse { timed_out, ..failure(message) };
            }
        };

        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| retry_after::parse_retry_after(value, SystemTime::now()));
        let (excerpt, read_error) = excerpt::read(&mut response).await;
        let mut error = status.is_redirection().then(|| "redirects are not followed".to_owned());
        let mut timed_out = false;
        if let Some(read_error) = read_error {
            let (message, read_timed_out) = self.describe(read_error);
            timed_out = read_timed_out;
            error.get_or_insert_with(|| format!("{message} (reading the response body)"));
        }
        OutboundResponse {
            status: Some(status.as_u16()),
            retry_after,
            excerpt: Some(excerpt),
            error,
            timed_out,
            latency: Duration::ZERO,
        }
    }

    /// A short message for a failed request (never its URL) and whether it timed out.
    fn describe(&self, error: reqwest::Error) -> (String, bool) {
        let error = error.without_url();
        if is_refusal(&error) {
            return (REFUSED_MESSAGE.to_owned(), false);
        }
        let mut cause: &(dyn std::error::Error + 'static) = &error;
        while let Some(source) = cause.source() {
            cause = source;
        }
        if error.is_timeout() {
            let phase = if error.is_connect() { "connecting" } else { "waiting" };
            let limit = self.timeout.as_secs_f64();
            (format!("timed out after {limit} s {phase}"), true)
        } else if error.is_connect() {
            (format!("could not connect: {cause}"), false)
        } else {
            (format!("request failed: {cause}"), false)
        }
    }
}

#[async_trait::async_trait]
impl WebhookSender for ReqwestSender {
    async fn send(&self, request: OutboundRequest) -> OutboundResponse {
        let started = Instant::now();
        let response = self.attempt(request).await;
        let outcome = match (response.status, response.timed_out) {
            (Some(s), _) if (200..300).contains(&s) => "delivered",
            (Some(_), _) => "http_error",
            (None, true) => "timeout",
            (None, false) => "network_error",
        };
        metrics::counter!("tengine_webhook_attempts_total", "outcome" => outcome).increment(1);
        OutboundResponse { latency: started.elapsed(), ..response }
    }
}

fn header_map(headers: &[(String, String)]) -> Result<HeaderMap, &'static str> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| "invalid header name")?;
        let value = HeaderValue::from_str(value).map_err(|_| "invalid header value")?;
        map.append(name, value);
    }
    Ok(map)
}

fn failure(message: impl Into<String>) -> OutboundResponse {
    OutboundResponse {
        status: None,
        retry_after: None,
        excerpt: None,
        error: Some(message.into()),
        timed_out: false,
        latency: Duration::ZERO,
    }
}
