//! `tengine listen`: follows a project's event stream (Server-Sent Events) on a running
//! server and forwards each event to a local URL, signed exactly as a webhook delivery,
//! so an app can be developed against a laptop without a public URL (as `stripe listen`).

use std::collections::BTreeSet;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use tengine_application::delivery::signed_headers;
use tengine_domain::webhook::WebhookSecret;
use tengineai::sse::{Message, Parser};

/// How long a forwarded request may take, as a webhook delivery may.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest wait between two attempts to reach the server.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// What `tengine listen` needs.
pub struct ListenConfig {
    /// The server's origin, e.g. `http://127.0.0.1:8080`.
    pub server: String,
    /// A key with `read` on the project.
    pub api_key: String,
    /// The project (`proj_...`).
    pub project: String,
    /// Where each event is POSTed.
    pub forward_to: String,
    /// The secret the forwarded requests are signed with.
    pub secret: WebhookSecret,
    /// Only these types (all when empty).
    pub events: BTreeSet<String>,
}

/// Follows the stream until stopped, forwarding each event; reconnects (resuming after
/// the last event seen) when the stream ends or the server cannot be reached. Writes one
/// JSON line per event forwarded to `out`.
///
/// # Errors
/// When the server refuses the key, the project or the resume point (4xx): waiting
/// would not change its answer.
pub async fn listen(config: &ListenConfig, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("could not build the HTTP client")?;
    let url = format!("{}/api/v1/projects/{}/events/stream", config.server.trim_end_matches('/'), config.project);
    let mut last: Option<String> = None;
    let mut backoff = Duration::from_millis(500);
    loop {
        let mut request =
            client.get(&url).bearer_auth(&config.api_key).header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(id) = &last {
            request = request.header("last-event-id", id);
        }
        let mut response = match request.send().await {
            Ok(r) if r.status().is_success() => r,
            Ok(r) if r.status().is_client_error() => {
                let status = r.status();
                let body = r.text().await.unwrap_or_default();
                anyhow::bail!("the server refused the stream ({status}): {body}");
            }
            Ok(r) => {
                eprintln!(
                    "{}",
                    json!({"reconnecting_in_ms": backoff.as_millis(), "error": format!("the server answered {}", r.status())})
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
            Err(e) => {
                eprintln!("{}", json!({"reconnecting_in_ms": backoff.as_millis(), "error": e.to_string()}));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = Duration::from_millis(500);
        let mut parser = Parser::default();
        // The stream ends when the server ends it (every 15 minutes, or on shutdown) or
        // the connection drops; either way, resume after the last event.
        while let Ok(Some(chunk)) = response.chunk().await {
            for message in parser.push(&chunk) {
                if let Some(id) = &message.id {
                    last = Some(id.clone());
                }
                let line = forward(&client, config, &message).await;
                if let Some(line) = line {
                    writeln!(out, "{line}").context("could not write the log line")?;
                    out.flush().context("could not write the log line")?;
                }
            }
        }
    }
}

/// POSTs one event to `forward_to`, signed as a delivery; the log line, or `None` for a
/// message that is not an event or is filtered out.
async fn forward(client: &reqwest::Client, config: &ListenConfig, message: &Message) -> Option<serde_json::Value> {
    let (Some(id), Some(kind)) = (&message.id, &message.event) else { return None };
    if !config.events.is_empty() && !config.events.contains(kind) {
        return None;
    }
    let body = message.data.as_bytes();
    let headers = signed_headers(&[&config.secret], id, kind, None, chrono::Utc::now(), body);
    let mut request = client.post(&config.forward_to).timeout(FORWARD_TIMEOUT).body(body.to_vec());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let started = Instant::now();
    let outcome = request.send().await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Some(match outcome {
        Ok(r) => json!({"event_id": id, "type": kind, "status": r.status().as_u16(), "latency_ms": latency_ms}),
        Err(e) => {
            json!({"event_id": id, "type": kind, "status": null, "latency_ms": latency_ms, "error": e.to_string()})
        }
    })
}
