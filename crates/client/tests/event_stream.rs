//! `client.events().stream(...)` against a scripted HTTP server on loopback: events split
//! across chunks and line endings, resumption with `Last-Event-ID` after the server ends
//! a stream, retries, and errors that end it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;
use tengineai::{Error, TengineAI};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server answers to one connection.
enum Answer {
    /// 200 `text/event-stream` with these body pieces, each written on its own; then the
    /// connection is closed, or held open (until the test ends) with `hold`.
    Stream { pieces: Vec<String>, hold: bool },
    /// An error envelope.
    Error { status: u16, code: &'static str, details: serde_json::Value },
}

/// One request as received: when, its request line and its headers (names lowercased).
struct Seen {
    at: Instant,
    line: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

async fn read_head(stream: &mut TcpStream) -> Option<Seen> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(Seen { at: Instant::now(), line, headers })
}

/// Answers connections with `script` in order (one answer per connection) and records
/// each request.
async fn scripted_server(script: Vec<Answer>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let record = seen.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        for answer in script {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let Some(request) = read_head(&mut stream).await else { return };
            record.lock().expect("lock").push(request);
            match answer {
                Answer::Stream { pieces, hold } => {
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";
                    let _ = stream.write_all(head.as_bytes()).await;
                    for piece in pieces {
                        let _ = stream.write_all(piece.as_bytes()).await;
                        let _ = stream.flush().await;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    if hold {
                        held.push(stream);
                    } else {
                        let _ = stream.shutdown().await;
                    }
                }
                Answer::Error { status, code, details } => {
                    let body = json!({"error": {"code": code, "message": "scripted", "details": details, "request_id": "req_scripted"}})
                        .to_string();
                    let response = format!(
                        "HTTP/1.1 {status} Scripted\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                }
            }
        }
        // Keeps held streams open while the test reads them.
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(held);
    });
    (url, seen)
}

fn envelope(id: &str, kind: &str) -> String {
    json!({"id": id, "type": kind, "data": {"id": format!("obj_{id}")}, "created_at": "2026-01-01T00:00:00Z", "api_version": "2024-01-01"})
        .to_string()
}

fn client(url: &str) -> TengineAI {
    TengineAI::new("tng_stream")
        .expect("client")
        .with_base_url(url)
        .expect("url")
        .with_retries(2, Duration::from_millis(10))
}

#[tokio::test]
async fn the_stream_resumes_after_the_last_event_whenever_the_server_ends_it() {
    let (one, two, three) =
        (envelope("evt_1", "api_key.created"), envelope("evt_2", "project.updated"), envelope("evt_3", "tool.created"));
    let (url, seen) = scripted_server(vec![
        Answer::Stream {
            pieces: vec![
                ": keep-alive\r\n\r\n".into(),
                format!("id: evt_1\r\nevent: api_key.created\r\nda"),
                format!("ta: {one}\r"),
                "\n\r\n".into(),
                format!("id: evt_2\nevent: project.updated\ndata: {two}\n\n"),
                // Cut short by the end of the stream: sent again after the resumption.
                format!("id: evt_3\nevent: tool.created\ndata: {}", &three[..10]),
            ],
            hold: false,
        },
        Answer::Error { status: 503, code: "SERVICE_UNAVAILABLE", details: json!({}) },
        Answer::Stream { pieces: vec![format!("id: evt_3\revent: tool.created\rdata: {three}\r\r")], hold: false },
        Answer::Error { status: 401, code: "INVALID_API_KEY", details: json!({}) },
    ])
    .await;
    let client = client(&url);
    let items: Vec<_> = client.events().stream("proj_1", None).collect().await;

    assert_eq!(items.len(), 4, "{items:?}");
    let ids: Vec<_> = items[..3].iter().map(|e| e.as_ref().expect("an event").id.as_str()).collect();
    assert_eq!(ids, ["evt_1", "evt_2", "evt_3"]);
    let first = items[0].as_ref().expect("an event");
    assert_eq!((first.kind.as_str(), &first.data), ("api_key.created", &json!({"id": "obj_evt_1"})));
    match &items[3] {
        Err(Error::Api(api)) => assert_eq!((api.status, api.code.as_str()), (401, "INVALID_API_KEY")),
        other => panic!("expected the 401 that ends the stream, got {other:?}"),
    }

    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), 4);
    for request in seen.iter() {
        assert_eq!(request.line, "GET /api/v1/projects/proj_1/events/stream HTTP/1.1");
        assert_eq!(request.header("authorization"), Some("Bearer tng_stream"));
        assert_eq!(request.header("accept"), Some("text/event-stream"));
    }
    let resumed: Vec<_> = seen.iter().map(|s| s.header("last-event-id")).collect();
    assert_eq!(resumed, [None, Some("evt_2"), Some("evt_2"), Some("evt_3")]);
    // A pause before each reconnection: 0.5 s, doubled after the 503, back to 0.5 s once
    // a connection is open again.
    let gaps: Vec<_> = seen.windows(2).map(|w| w[1].at - w[0].at).collect();
    for (gap, least) in gaps.iter().zip([500, 1000, 500]) {
        assert!(*gap >= Duration::from_millis(least - 5), "{gaps:?}");
        assert!(*gap < Duration::from_millis(least + 1500), "{gaps:?}");
    }
}

#[tokio::test]
async fn a_refused_start_is_the_api_error_and_is_not_retried() {
    let (url, seen) = scripted_server(vec![Answer::Error {
        status: 422,
        code: "VALIDATION_ERROR",
        details: json!({"field": "Last-Event-ID", "reason": "unknown event"}),
    }])
    .await;
    let client = client(&url);
    let mut events = std::pin::pin!(client.events().stream("proj_1", Some("evt_unknown")));
    let error = events.next().await.expect("an item").expect_err("a 422");
    let api = error.api().expect("an API error");
    assert!(api.is_validation());
    assert_eq!((api.status, api.details["field"].as_str()), (422, Some("Last-Event-ID")));
    assert!(events.next().await.is_none(), "the error ends the stream");
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), 1, "a 4xx is not retried");
    assert_eq!(seen[0].header("last-event-id"), Some("evt_unknown"));
}

#[tokio::test]
async fn a_first_connection_is_retried_as_any_call_and_dropping_the_stream_stops_it() {
    let (url, seen) = scripted_server(vec![
        Answer::Error { status: 503, code: "SERVICE_UNAVAILABLE", details: json!({}) },
        Answer::Stream {
            pieces: vec![format!("id: evt_9\nevent: webhook.test\ndata: {}\n\n", envelope("evt_9", "webhook.test"))],
            hold: true,
        },
    ])
    .await;
    let client = client(&url);
    let started = Instant::now();
    let event = {
        let mut events = std::pin::pin!(client.events().stream("proj_1", Some("evt_8")));
        events.next().await.expect("an item").expect("an event")
    };
    assert_eq!((event.id.as_str(), event.kind.as_str()), ("evt_9", "webhook.test"));
    assert!(started.elapsed() < Duration::from_millis(400), "the SDK's backoff, not the reconnection pause");
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.iter().map(|s| s.header("last-event-id")).collect::<Vec<_>>(), [Some("evt_8"), Some("evt_8")]);
}

#[tokio::test]
async fn a_message_that_is_not_an_event_ends_the_stream_with_a_decode_error() {
    let good = format!("id: evt_1\nevent: webhook.test\ndata: {}\n\n", envelope("evt_1", "webhook.test"));
    let (url, _) = scripted_server(vec![Answer::Stream {
        pieces: vec![format!("{good}id: evt_2\ndata: not json\n\n{good}")],
        hold: true,
    }])
    .await;
    let client = client(&url);
    let items: Vec<_> = client.events().stream("proj_1", None).collect().await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_ref().expect("an event").id, "evt_1");
    assert!(matches!(items[1], Err(Error::Decode(_))), "{items:?}");
}
