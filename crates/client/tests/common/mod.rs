//! A scripted HTTP/1.1 server on loopback for the client's tests: it reads one request
//! per connection and answers with a status, extra headers and a JSON body.

#![allow(dead_code)] // Each test file uses the part it needs.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the server read it.
pub struct Request {
    /// The request line and headers.
    pub head: String,
    /// The body (by `content-length`; empty without one).
    pub body: Vec<u8>,
}

impl Request {
    /// The request line, e.g. `GET /api/v1/event-types HTTP/1.1`.
    pub fn line(&self) -> &str {
        self.head.lines().next().unwrap_or_default()
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// A listener on a free loopback port and its base URL.
pub async fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    (listener, url)
}

/// Reads one request: its head, then as many body bytes as `content-length` says.
pub async fn read_request(stream: &mut TcpStream) -> Request {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "the client closed before sending a request");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case("content-length")))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "the client closed inside the body");
        buf.extend_from_slice(&chunk[..n]);
    }
    Request { head, body: buf[head_end..head_end + length].to_vec() }
}

/// Answers with `status`, `extra` header lines (each ending in CRLF) and a JSON `body`.
pub async fn respond(stream: &mut TcpStream, status: &str, extra: &str, body: &str) {
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await.expect("write");
}

/// Answers one connection with `status` and `body`; resolves to the request it read.
pub async fn answer_once(status: &'static str, body: String) -> (String, tokio::task::JoinHandle<Request>) {
    let (listener, url) = listen().await;
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let request = read_request(&mut stream).await;
        respond(&mut stream, status, "", &body).await;
        request
    });
    (url, server)
}
