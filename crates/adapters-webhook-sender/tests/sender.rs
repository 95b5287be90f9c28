//! The sender against real receivers listening on loopback.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{LOCATION, RETRY_AFTER};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{any, post};
use axum::serve::ListenerExt;
use axum::Router;
use futures::StreamExt;
use tengine_adapters_webhook_sender::{ReqwestSender, SenderConfig};
use tengine_ports::{OutboundRequest, OutboundResponse, WebhookSender};
use tokio::net::TcpListener;

const REFUSED: &str = "destination address is not allowed (private, loopback, link-local or metadata)";

/// What a receiver saw.
#[derive(Clone, Default)]
struct Seen {
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    redirect_target_hits: Arc<AtomicUsize>,
}

/// A receiver on a loopback port, serving one route per behaviour.
struct Receiver {
    addr: SocketAddr,
    seen: Seen,
}

impl Receiver {
    async fn start(bind: &str) -> Self {
        let listener = TcpListener::bind(bind).await.expect("bind a receiver");
        let addr = listener.local_addr().expect("the receiver's address");
        let seen = Seen::default();
        let connections = seen.connections.clone();
        let listener = listener.tap_io(move |_| {
            connections.fetch_add(1, Ordering::SeqCst);
        });
        let router = Router::new()
            .route("/ok", post(record))
            .route("/big", post(|| async { vec![b'x'; 5 * 1024 * 1024] }))
            .route("/endless", post(endless))
            .route("/busy", post(|| async { (StatusCode::TOO_MANY_REQUESTS, [(RETRY_AFTER, "7")], "slow down") }))
            .route("/moved", post(|| async { (StatusCode::FOUND, [(LOCATION, "/target")], "moved") }))
            .route("/target", any(redirect_target))
            .route(
                "/slow",
                post(|| async {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    "late"
                }),
            )
            .with_state(seen.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
        Self { addr, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn connections(&self) -> usize {
        self.seen.connections.load(Ordering::SeqCst)
    }

    fn requests(&self) -> Vec<(HeaderMap, Bytes)> {
        self.seen.requests.lock().expect("requests lock").clone()
    }
}

async fn record(State(seen): State<Seen>, headers: HeaderMap, body: Bytes) -> &'static str {
    seen.requests.lock().expect("requests lock").push((headers, body));
    "thanks"
}

async fn redirect_target(State(seen): State<Seen>) -> &'static str {
    seen.redirect_target_hits.fetch_add(1, Ordering::SeqCst);
    "followed"
}

/// 2 KiB, then a body that never ends.
async fn endless() -> Body {
    let first = futures::stream::once(async { Ok::<_, std::io::Error>(Bytes::from(vec![b'y'; 2048])) });
    Body::from_stream(first.chain(futures::stream::pending()))
}

fn sender(allow_private: bool, timeout: Duration) -> ReqwestSender {
    ReqwestSender::new(SenderConfig { allow_private, timeout, user_agent: "tengine-test/1".to_owned() })
        .expect("build the sender")
}

fn post_to(url: String) -> OutboundRequest {
    OutboundRequest {
        url,
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: br#"{"type":"webhook.test"}"#.to_vec(),
    }
}

async fn send(allow_private: bool, url: String) -> OutboundResponse {
    sender(allow_private, Duration::from_secs(5)).send(post_to(url)).await
}

fn assert_refused(response: &OutboundResponse) {
    assert_eq!(response.status, None);
    assert_eq!(response.error.as_deref(), Some(REFUSED));
    assert!(!response.timed_out);
    assert!(response.latency < Duration::from_secs(1), "{:?}", response.latency);
}

#[tokio::test]
async fn a_2xx_answer_gives_its_status_and_body_excerpt() {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let response = send(true, receiver.url("/ok")).await;
    assert_eq!(response.status, Some(200));
    assert_eq!(response.excerpt.as_deref(), Some("thanks"));
    assert_eq!(response.error, None);
    assert_eq!(response.retry_after, None);
    assert!(!response.timed_out);
    assert!(response.latency > Duration::ZERO);
}

#[tokio::test]
async fn the_receiver_gets_exactly_the_headers_and_body_sent() {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let headers = [
        ("content-type", "application/json"),
        ("x-tengine-signature", "sha256=5d41402abc4b2a76b9719d911017c592"),
        ("x-tengine-event-id", "evt_01"),
        ("x-tengine-event-type", "project.created"),
        ("x-tengine-timestamp", "1700000000"),
        ("webhook-id", "evt_01"),
        ("webhook-timestamp", "1700000000"),
        ("webhook-signature", "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="),
    ];
    let body = br#"{"id":"evt_01","type":"project.created","data":{"name":"x"}}"#.to_vec();
    let request = OutboundRequest {
        url: receiver.url("/ok"),
        headers: headers.iter().map(|&(n, v)| (n.to_owned(), v.to_owned())).collect(),
        body: body.clone(),
    };

    let response = sender(true, Duration::from_secs(5)).send(request).await;

    assert_eq!(response.status, Some(200));
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let (seen_headers, seen_body) = &requests[0];
    for (name, value) in headers {
        assert_eq!(seen_headers.get(name).and_then(|v| v.to_str().ok()), Some(value), "{name}");
    }
    assert_eq!(seen_headers.get("user-agent").and_then(|v| v.to_str().ok()), Some("tengine-test/1"));
    assert_eq!(seen_body.as_ref(), body.as_slice());
}

#[tokio::test]
async fn consecutive_sends_reuse_one_pooled_connection() {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let sender = sender(true, Duration::from_secs(5));
    for _ in 0..3 {
        let response = sender.send(post_to(receiver.url("/ok"))).await;
        assert_eq!(response.status, Some(200));
    }
    assert_eq!(receiver.requests().len(), 3);
    assert_eq!(receiver.connections(), 1);
}

#[tokio::test]
async fn a_huge_response_is_cut_at_one_kibibyte_without_reading_it_all() {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let response = send(true, receiver.url("/big")).await;
    assert_eq!(response.status, Some(200));
    let excerpt = response.excerpt.expect("an excerpt");
    assert!(excerpt.len() <= 1024, "{}", excerpt.len());
    assert!(excerpt.bytes().all(|b| b == b'x'));
    assert!(response.latency < Duration::from_secs(2), "{:?}", response.latency);
}

#[tokio::test]
async fn an_endless_response_is_not_waited_for() {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let response = send(true, receiver.url("/endless")).await;
    assert_eq!(response.status, Some(200));
    assert_eq!(response.excerpt.as_deref().map(str::len), Some(1024));
    assert_eq!(response.error, None);
    assert!(!response.timed_out);
    assert!(response.latency < Duration::from_secs(2), "{:?}", response.latency);
}

#[tokio::test]
async fn a_429_gives_its_retry_after() {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let response = send(true, receiver.url("/busy")).await;
    assert_eq!(response.status, Some(429));
    assert_eq!(response.retry_after, Some(7));
    assert_eq!(response.excerpt.as_deref(), Some("slow down"));
}

#[tokio::test]
async fn a_redirect_is_returned_not_followed() {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let response = send(true, receiver.url("/moved")).await;
    assert_eq!(response.status, Some(302));
    assert_eq!(response.error.as_deref(), Some("redirects are not followed"));
    assert_eq!(receiver.seen.redirect_target_hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_receiver_slower_than_the_timeout_times_out() {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let response = sender(true, Duration::from_millis(300)).send(post_to(receiver.url("/slow"))).await;
    assert!(response.timed_out);
    assert_eq!(response.status, None);
    assert!(response.error.as_deref().is_some_and(|e| e.starts_with("timed out")));
    assert!(response.latency < Duration::from_secs(2), "{:?}", response.latency);
}

#[tokio::test]
async fn a_refused_connection_is_an_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    let response = send(true, format!("http://{addr}/ok")).await;
    assert_eq!(response.status, None);
    assert!(!response.timed_out);
    let error = response.error.expect("an error");
    assert!(error.starts_with("could not connect"), "{error}");
    assert!(!error.contains(&addr.to_string()), "the error names the URL: {error}");
}

#[tokio::test]
async fn an_ipv4_loopback_literal_is_refused_without_connecting() {
    let receiver = Receiver::start("127.0.0.1:0").await;
    assert_refused(&send(false, receiver.url("/ok")).await);
    assert_eq!(receiver.connections(), 0);
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn an_ipv6_loopback_literal_is_refused_without_connecting() {
    let receiver = Receiver::start("[::1]:0").await;
    let url = receiver.url("/ok");
    assert!(url.starts_with("http://[::1]:"), "{url}");
    assert_refused(&send(false, url).await);
    assert_eq!(receiver.connections(), 0);
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_without_connecting() {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let url = format!("http://localhost:{}/ok", receiver.addr.port());
    assert_refused(&send(false, url).await);
    assert_eq!(receiver.connections(), 0);
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn the_cloud_metadata_address_is_refused_without_connecting() {
    assert_refused(&send(false, "http://169.254.169.254/latest/meta-data/".to_owned()).await);
    assert_refused(&send(false, "http://[::ffff:169.254.169.254]/".to_owned()).await);
    assert_refused(&send(false, "http://[fd00:ec2::254]/".to_owned()).await);
}

#[tokio::test]
async fn obfuscated_ipv4_literals_are_refused() {
    for url in ["http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/", "http://0/"] {
        assert_refused(&send(false, url.to_owned()).await);
    }
}

#[tokio::test]
async fn allowing_private_addresses_lets_a_loopback_receiver_be_reached() {
    let receiver = Receiver::start("127.0.0.1:0").await;
    let url = format!("http://localhost:{}/ok", receiver.addr.port());
    let response = send(true, url).await;
    assert_eq!(response.status, Some(200));
    assert_eq!(receiver.requests().len(), 1);
}

#[tokio::test]
async fn a_url_that_is_not_http_is_refused_before_sending() {
    let response = send(true, "ftp://example.com/x".to_owned()).await;
    assert_eq!(response.status, None);
    assert_eq!(response.error.as_deref(), Some("unsupported URL scheme"));
    let response = send(true, "not a url".to_owned()).await;
    assert_eq!(response.error.as_deref(), Some("invalid URL"));
}
