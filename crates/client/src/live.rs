//! Following a project's event log live (`GET /projects/{id}/events/stream`): one
//! connection after another, each resuming after the last event received.

use std::collections::VecDeque;
use std::time::Duration;

use futures::stream::{self, Stream};
use rand::Rng;

use crate::models::Event;
use crate::sse::{Message, Parser};
use crate::{retry, Error, TengineAI};

/// The pause before the first reconnection; doubled after each one that fails.
const FIRST_PAUSE: Duration = Duration::from_millis(500);
/// The longest pause between reconnections.
const MAX_PAUSE: Duration = Duration::from_secs(10);

/// The state of one followed stream between two items.
struct Follow {
    client: TengineAI,
    url: String,
    /// Sent as `Last-Event-ID` on the next connection.
    last_id: Option<String>,
    /// The open connection's body, if any.
    body: Option<reqwest::Response>,
    parser: Parser,
    ready: VecDeque<Message>,
    /// Whether a connection was ever answered 200: from then on, reconnecting.
    opened: bool,
    pause: Duration,
    done: bool,
}

/// The events of `project_id` as they happen, after `last_event_id` when given.
pub(crate) fn follow(
    client: TengineAI,
    project_id: &str,
    last_event_id: Option<&str>,
) -> impl Stream<Item = Result<Event, Error>> + Send + 'static {
    let state = Follow {
        url: format!("{}/projects/{project_id}/events/stream", client.base),
        client,
        last_id: last_event_id.map(str::to_owned),
        body: None,
        parser: Parser::default(),
        ready: VecDeque::new(),
        opened: false,
        pause: FIRST_PAUSE,
        done: false,
    };
    stream::unfold(state, |mut state| async move {
        let item = state.next().await?;
        Some((item, state))
    })
}

impl Follow {
    async fn next(&mut self) -> Option<Result<Event, Error>> {
        loop {
            if let Some(message) = self.ready.pop_front() {
                if let Some(id) = message.id.filter(|id| !id.is_empty()) {
                    self.last_id = Some(id);
                }
                let event = serde_json::from_str(&message.data);
                // A message that is not an event ends the stream, as in the other SDKs,
                // whose iterators end with the error they raise.
                if event.is_err() {
                    self.done = true;
                    self.ready.clear();
                    self.body = None;
                }
                return Some(event.map_err(|e| Error::Decode(format!("a stream message that is not an event: {e}"))));
            }
            if self.done {
                return None;
            }
            if let Some(body) = &mut self.body {
                match body.chunk().await {
                    Ok(Some(chunk)) => {
                        let messages = self.parser.push(&chunk);
                        self.ready.extend(messages);
                    }
                    // The server ended the stream (every 15 minutes, or at shutdown), or the
                    // connection dropped or went silent (no keep-alive): resume. A message
                    // cut short is dropped; it comes again after `Last-Event-ID`.
                    Ok(None) | Err(_) => {
                        self.body = None;
                        self.parser = Parser::default();
                    }
                }
                continue;
            }
            match self.connect().await {
                Ok(response) => self.body = Some(response),
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }

    /// Opens the next connection. The first is retried as any call is
    /// (docs/sdk-retries.md); a reconnection is retried after any 5xx, 429 or connection
    /// error until it succeeds. A 4xx other than 429 is returned at once: waiting would
    /// not change the answer.
    async fn connect(&mut self) -> Result<reqwest::Response, Error> {
        let mut retries = 0;
        let mut wait = self.opened.then(|| self.next_pause());
        loop {
            if let Some(w) = wait {
                tokio::time::sleep(w).await;
            }
            let error = match self.attempt().await {
                Ok(response) => {
                    self.opened = true;
                    self.pause = FIRST_PAUSE;
                    return Ok(response);
                }
                Err(e) => e,
            };
            let Some(retry_after) = retryable(&error, self.opened) else { return Err(error) };
            let policy = self.client.retry_policy();
            wait = if self.opened {
                if retry_after.is_some_and(|ra| ra > policy.cap) {
                    return Err(error);
                }
                Some(self.next_pause().max(retry_after.unwrap_or_default()))
            } else {
                retries += 1;
                if retries > self.client.max_retries {
                    return Err(error);
                }
                match policy.wait(retries, retry_after, rand::thread_rng().gen::<f64>()) {
                    Some(w) => Some(w),
                    None => return Err(error),
                }
            };
        }
    }

    async fn attempt(&self) -> Result<reqwest::Response, Error> {
        let mut request = self
            .client
            .stream_http
            .get(&self.url)
            .bearer_auth(&self.client.key)
            .header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(id) = &self.last_id {
            request = request.header("Last-Event-ID", id);
        }
        crate::error_for_status(request.send().await.map_err(Error::Connection)?).await
    }

    fn next_pause(&mut self) -> Duration {
        let pause = self.pause;
        self.pause = (pause * 2).min(MAX_PAUSE);
        pause
    }
}

/// `Some(Retry-After)` when another attempt may succeed: the statuses and failures any
/// call retries, and when reconnecting every 5xx.
fn retryable(error: &Error, reconnecting: bool) -> Option<Option<Duration>> {
    match error {
        Error::Api(api) if retry::RETRYABLE_STATUSES.contains(&api.status) || (reconnecting && api.status >= 500) => {
            Some(api.retry_after.map(Duration::from_secs))
        }
        Error::Connection(e) if e.is_connect() || e.is_timeout() || e.is_request() => Some(None),
        _ => None,
    }
}
