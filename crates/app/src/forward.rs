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

/// One Server-Sent Events message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseMessage {
    /// `id:`, when given.
    pub id: Option<String>,
    /// `event:`, when given.
    pub event: Option<String>,
    /// The `data:` lines, joined by `\n`.
    pub data: String,
}

/// Splits a byte stream into SSE messages (the HTML Living Standard's parsing rules:
/// lines end in LF, CRLF or CR; a blank line ends a message; `:` starts a comment).
#[derive(Default)]
pub struct SseParser {
    buffer: Vec<u8>,
    current: SseMessage,
    has_data: bool,
}

impl SseParser {
    /// Feeds `chunk` and returns the messages it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseMessage> {
        self.buffer.extend_from_slice(chunk);
        let mut done = Vec::new();
        while let Some(end) = self.buffer.iter().position(|b| *b == b'\n' || *b == b'\r') {
            // A CR at the very end may be the first half of a CRLF still on its way.
            if self.buffer[end] == b'\r' && end + 1 == self.buffer.len() {
                break;
            }
            let skip = if self.buffer[end] == b'\r' && self.buffer.get(end + 1) == Some(&b'\n') { 2 } else { 1 };
            let line: Vec<u8> = self.buffer.drain(..end + skip).take(end).collect();
            if let Some(message) = self.line(&String::from_utf8_lossy(&line)) {
                done.push(message);
            }
        }
        done
    }

    fn line(&mut self, line: &str) -> Option<SseMessage> {
        if line.is_empty() {
            let message = std::mem::take(&mut self.current);
            return std::mem::take(&mut self.has_data).then_some(message);
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').map_or((line, ""), |(f, v)| (f, v.strip_prefix(' ').unwrap_or(v)));
        match field {
            "data" => {
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.current.id = Some(value.to_owned()),
            "event" => self.current.event = Some(value.to_owned()),
            _ => {}
        }
        None
    }
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
        let mut parser = SseParser::default();
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
async fn forward(client: &reqwest::Client, config: &ListenConfig, message: &SseMessage) -> Option<serde_json::Value> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, event: &str, data: &str) -> SseMessage {
        SseMessage { id: Some(id.to_owned()), event: Some(event.to_owned()), data: data.to_owned() }
    }

    #[test]
    fn messages_are_split_on_blank_lines_whatever_the_line_endings_and_chunks() {
        let text = ": keep-alive\n\nid: evt_1\nevent: project.created\ndata: {\"a\":1}\n\n\
                    id:evt_2\r\nevent:tool.deleted\r\ndata: x\r\ndata: y\r\n\r\nretry: 5\n\n";
        // Fed whole, and one byte at a time: the same messages.
        let whole = SseParser::default().push(text.as_bytes());
        let mut parser = SseParser::default();
        let bytewise: Vec<_> = text.as_bytes().iter().flat_map(|b| parser.push(&[*b])).collect();
        let expected = vec![message("evt_1", "project.created", "{\"a\":1}"), message("evt_2", "tool.deleted", "x\ny")];
        assert_eq!(whole, expected);
        assert_eq!(bytewise, expected);
    }

    #[test]
    fn a_message_without_data_or_a_comment_is_not_a_message() {
        assert!(SseParser::default().push(b"id: 1\nevent: x\n\n: ping\n\n").is_empty());
        let mut parser = SseParser::default();
        assert!(parser.push(b"data: half").is_empty(), "an unfinished line waits");
        assert_eq!(parser.push(b"\n\n"), vec![SseMessage { data: "half".to_owned(), ..SseMessage::default() }]);
    }
}
