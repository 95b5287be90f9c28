//! The tool caller against a real API listening on loopback.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::any;
use axum::serve::ListenerExt;
use axum::Router;
use futures::StreamExt;
use tengine_adapters_tool_caller::{ReqwestToolCaller, ToolCallerConfig};
use tengine_domain::tool::{CallFailure, HttpMethod, MaxResponseBytes, OutboundRequest, TimeoutMs};
use tengine_ports::{ToolCaller, UpstreamAnswer};
use tokio::net::TcpListener;

/// One request as the API saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Clone, Default)]
struct Log {
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Seen>>>,
}

/// An API on a loopback port, one route per behaviour.
struct Api {
    addr: SocketAddr,
    log: Log,
}

impl Api {
    async fn start(bind: &str) -> Self {
        let listener = TcpListener::bind(bind).await.expect("bind the API");
        let addr = listener.local_addr().expect("the API's address");
        let log = Log::default();
        let connections = log.connections.clone();
        let listener = listener.tap_io(move |_| {
            connections.fetch_add(1, Ordering::SeqCst);
        });
        let router = Router::new()
            .route("/echo/{*rest}", any(echo))
            .route("/fail", any(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }))
            .route("/big", any(|| async { vec![b'x'; 5 * 1024 * 1024] }))
            .route("/moved", any(|| async { (StatusCode::FOUND, [(LOCATION, "/echo/target")], "moved") }))
            .route(
                "/slow",
                any(|| async {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    "late"
                }),
            )
            .route("/stall", any(stall))
            .with_state(log.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
        Self { addr, log }
    }

    fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://{}{path}", self.addr)
    }

    fn connections(&self) -> usize {
        self.log.connections.load(Ordering::SeqCst)
    }

    fn requests(&self) -> Vec<Seen> {
        self.log.requests.lock().expect("requests lock").clone()
    }
}

async fn echo(
    State(log): State<Log>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl axum::response::IntoResponse {
    log.requests.lock().expect("requests lock").push(Seen { method, uri, headers, body });
    ([("content-type", "application/json")], r#"{"ok":true}"#)
}

/// Headers and 1 KiB at once, then a body that never ends.
async fn stall() -> Body {
    let first = futures::stream::once(async { Ok::<_, std::io::Error>(Bytes::from(vec![b'y'; 1024])) });
    Body::from_stream(first.chain(futures::stream::pending()))
}

fn caller(allow_private: bool) -> ReqwestToolCaller {
    ReqwestToolCaller::new(ToolCallerConfig { allow_private, user_agent: "tengine-test/1".to_owned() })
        .expect("build the caller")
}

fn request(url: String, timeout_ms: i64, max_bytes: i64) -> OutboundRequest {
    let path_and_query = url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap_or_default();
    OutboundRequest {
        method: HttpMethod::Get,
        url,
        path_and_query,
        headers: Vec::new(),
        body: None,
        timeout: TimeoutMs::new(timeout_ms).expect("valid"),
        max_response_bytes: MaxResponseBytes::new(max_bytes).expect("valid"),
    }
}

#[tokio::test]
async fn the_api_gets_the_method_path_query_headers_and_body_prepared() {
    let api = Api::start("127.0.0.1:0").await;
    let mut req = request(api.url("http", "/echo/a%2Fb?q=a%20b&n=1"), 5000, 1000);
    req.method = HttpMethod::Patch;
    req.headers = vec![
        ("Content-Type".to_owned(), "application/json".to_owned()),
        ("X-Tengine-Tool".to_owned(), "crm-get".to_owned()),
        ("Authorization".to_owned(), "Bearer sk_test_1".to_owned()),
    ];
    req.body = Some(br#"{"a":"b"}"#.to_vec());
    let answer = caller(true).call(&req).await.expect("an answer");
    assert_eq!(
        answer,
        UpstreamAnswer {
            status: 200,
            content_type: Some("application/json".to_owned()),
            body: br#"{"ok":true}"#.to_vec()
        }
    );
    let seen = api.requests();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(s.method, Method::PATCH);
    assert_eq!(s.uri.to_string(), "/echo/a%2Fb?q=a%20b&n=1");
    assert_eq!(s.headers["x-tengine-tool"], "crm-get");
    assert_eq!(s.headers["authorization"], "Bearer sk_test_1");
    assert_eq!(s.headers["content-type"], "application/json");
    assert_eq!(s.headers["user-agent"], "tengine-test/1");
    assert_eq!(&s.body[..], br#"{"a":"b"}"#);
}

#[tokio::test]
async fn a_non_2xx_answer_is_an_answer_with_its_status() {
    let api = Api::start("127.0.0.1:0").await;
    let answer = caller(true).call(&request(api.url("http", "/fail"), 5000, 1000)).await.expect("an answer");
    assert_eq!((answer.status, answer.body.as_slice()), (500, &b"boom"[..]));
}

#[tokio::test]
async fn a_redirect_is_returned_not_followed() {
    let api = Api::start("127.0.0.1:0").await;
    let answer = caller(true).call(&request(api.url("http", "/moved"), 5000, 1000)).await.expect("an answer");
    assert_eq!(answer.status, 302);
    assert!(api.requests().is_empty(), "the redirect target was requested");
}

#[tokio::test]
async fn at_most_one_byte_past_the_limit_is_read() {
    let api = Api::start("127.0.0.1:0").await;
    let answer = caller(true).call(&request(api.url("http", "/big"), 5000, 1000)).await.expect("an answer");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body.len(), 1001);
}

#[tokio::test]
async fn a_slow_answer_times_out_at_the_tools_limit() {
    let api = Api::start("127.0.0.1:0").await;
    let started = Instant::now();
    let failed = caller(true).call(&request(api.url("http", "/slow"), 200, 1000)).await;
    assert_eq!(failed, Err(CallFailure::Timeout(200)));
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_body_that_stalls_times_out_even_after_the_headers_came() {
    let api = Api::start("127.0.0.1:0").await;
    let started = Instant::now();
    let failed = caller(true).call(&request(api.url("http", "/stall"), 300, 1_000_000)).await;
    assert_eq!(failed, Err(CallFailure::Timeout(300)));
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("an address");
    drop(listener);
    let failed = caller(true).call(&request(format!("http://{addr}/x"), 5000, 1000)).await;
    assert_eq!(failed, Err(CallFailure::Unreachable));
}

#[tokio::test]
async fn private_destinations_are_refused_without_a_connection() {
    let api = Api::start("127.0.0.1:0").await;
    let port = api.addr.port();
    let caller = caller(false);
    for url in [
        format!("https://127.0.0.1:{port}/echo/x"),
        format!("https://0x7f.1:{port}/echo/x"),
        format!("https://[::ffff:127.0.0.1]:{port}/echo/x"),
        // A name: refused by the resolver, on the address it would connect to.
        format!("https://localhost:{port}/echo/x"),
        // Plain http is refused outright without the flag.
        format!("http://localhost:{port}/echo/x"),
    ] {
        let failed = caller.call(&request(url.clone(), 5000, 1000)).await;
        assert_eq!(failed, Err(CallFailure::RefusedAddress), "{url}");
    }
    assert_eq!(api.connections(), 0);
    assert!(api.requests().is_empty());
}

#[tokio::test]
async fn ipv6_loopback_is_refused_too() {
    let Ok(listener) = TcpListener::bind("[::1]:0").await else {
        return; // No IPv6 loopback on this machine.
    };
    let port = listener.local_addr().expect("an address").port();
    let failed = caller(false).call(&request(format!("https://[::1]:{port}/x"), 5000, 1000)).await;
    assert_eq!(failed, Err(CallFailure::RefusedAddress));
}

#[tokio::test]
async fn with_the_flag_loopback_and_plain_http_are_allowed() {
    let api = Api::start("127.0.0.1:0").await;
    let url = format!("http://localhost:{}/echo/y", api.addr.port());
    let answer = caller(true).call(&request(url, 5000, 1000)).await.expect("an answer");
    assert_eq!(answer.status, 200);
    assert_eq!(api.connections(), 1);
}
