//! Transport safety: slow clients cannot pin connections, every response carries the
//! security headers, and CORS is off unless configured.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::helpers::{Backend, Options, TestApp, LISTENING};

#[tokio::test]
async fn a_server_on_port_zero_prints_the_address_it_got_once_on_stdout() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let stdout = app.current_stdout();
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with(LISTENING)).collect();
    assert_eq!(lines.len(), 1, "one listening line: {stdout}");
    let addr: std::net::SocketAddr = lines[0][LISTENING.len()..].parse().expect("a socket address");
    assert_ne!(addr.port(), 0, "the port the kernel chose, not 0");
    assert_eq!(app.base_url(), format!("http://{addr}"), "the tests talk to it there");
    assert!(app.metrics_addr().is_none(), "no metrics line without a metrics listener");
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let addr = app.base_url().trim_start_matches("http://").to_owned();
    let closed_after = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").expect("write");
        s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        let started = Instant::now();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap_or(0);
        (started.elapsed(), n)
    })
    .await
    .expect("join");
    assert_eq!(closed_after.1, 0, "the server closes without an answer");
    assert!(closed_after.0 < Duration::from_secs(20), "closed after {:?}", closed_after.0);
    // The server still serves everyone else. The client's pooled connection from
    // start-up sat idle as long and is being closed too, so ask on a new one.
    healthz_on_a_new_connection(&app).await;
}

#[tokio::test]
async fn every_response_carries_security_headers_and_no_cors_by_default() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for (path, key) in
        [("/api/v1/projects", app.admin_key().to_owned()), ("/api/v1/nope", String::new()), ("/healthz", String::new())]
    {
        let res = app.get(path, &key).await;
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(res.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(res.header("cache-control"), Some("no-store"), "{path}");
        assert!(res.header("content-security-policy").is_some(), "{path}");
        assert_eq!(res.header("access-control-allow-origin"), None, "{path}");
    }
}

#[tokio::test]
async fn configured_cors_origins_are_allowed_and_others_are_not() {
    let env = vec![("TENGINE_CORS_ORIGINS".to_owned(), "https://app.example.com".to_owned())];
    let app = TestApp::spawn_with(Backend::Sqlite, Options { env, ..Options::default() }).await;
    let client = app.client();
    let preflight = |origin: &'static str| {
        client
            .request(reqwest::Method::OPTIONS, format!("{}/api/v1/projects", app.base_url()))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "authorization,content-type,idempotency-key")
            .send()
    };
    let ok = preflight("https://app.example.com").await.expect("preflight");
    assert_eq!(
        ok.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok()),
        Some("https://app.example.com")
    );
    let other = preflight("https://evil.example").await.expect("preflight");
    assert_eq!(other.headers().get("access-control-allow-origin"), None);
}

#[tokio::test]
async fn past_the_concurrency_cap_requests_get_a_clean_503() {
    let env = vec![("TENGINE_MAX_CONCURRENT_REQUESTS".to_owned(), "1".to_owned())];
    let app = TestApp::spawn_with(Backend::Sqlite, Options { env, ..Options::default() }).await;
    let addr = app.base_url().trim_start_matches("http://").to_owned();
    let key = app.admin_key().to_owned();
    let client = app.client();
    let url = format!("{}/healthz", app.base_url());
    // One request holds the only slot: its body never finishes arriving. Once it is
    // being served (it got no answer), another request must be refused.
    let head = format!(
        "POST /api/v1/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\":"
    );
    let mut held = None;
    for _ in 0..20 {
        let mut holder = std::net::TcpStream::connect(&addr).expect("connect");
        holder.write_all(head.as_bytes()).expect("write");
        tokio::time::sleep(Duration::from_millis(300)).await;
        holder.set_read_timeout(Some(Duration::from_millis(50))).expect("timeout");
        let mut buf = [0u8; 16];
        match holder.read(&mut buf) {
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                held = Some(holder);
                break;
            }
            _ => {} // answered (the slot was busy): try again
        }
    }
    let holder = held.expect("a request holds the slot");
    let refused = client.get(&url).send().await.expect("an answer");
    assert_eq!(refused.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE, "refused while the slot is held");
    assert!(refused.headers().get("retry-after").is_some(), "a 503 says when to retry");
    let request_id = refused.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(refused.headers().get("x-content-type-options").and_then(|v| v.to_str().ok()), Some("nosniff"));
    let body: serde_json::Value = refused.json().await.expect("a JSON body");
    assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE");
    assert_eq!(body["error"]["request_id"].as_str().map(str::to_owned), request_id);
    drop(holder);
    // Once the slot is free again, requests are served.
    assert!(
        crate::helpers::eventually(Duration::from_secs(10), || {
            let (client, url) = (client.clone(), url.clone());
            async move { client.get(&url).send().await.is_ok_and(|r| r.status() == reqwest::StatusCode::OK) }
        })
        .await
    );
}

/// An app whose header deadline is `secs` seconds, with extra settings.
async fn spawn_with_header_timeout(secs: u64, mut env: Vec<(String, String)>) -> TestApp {
    env.push(("TENGINE_HEADER_TIMEOUT_SECS".to_owned(), secs.to_string()));
    TestApp::spawn_with(Backend::Sqlite, Options { env, ..Options::default() }).await
}

/// Asserts `/healthz` answers 200 on a new connection (with a header deadline of a
/// second or so, a pooled one may be closing just as it is reused).
async fn healthz_on_a_new_connection(app: &TestApp) {
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("a client");
    let res = client.get(format!("{}/healthz", app.base_url())).send().await.expect("an answer");
    assert_eq!(res.status(), reqwest::StatusCode::OK);
}

/// Reads until the peer closes (or resets) the connection or `within` passes; returns
/// what arrived and whether the connection was closed.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, within: Duration) -> (Vec<u8>, bool) {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = [0_u8; 4096];
    let closed = tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    (got, closed)
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let app = spawn_with_header_timeout(1, Vec::new()).await;
    let addr = app.base_url().trim_start_matches("http://").to_owned();
    let mut silent = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let started = Instant::now();
    let (got, closed) = read_until_closed(&mut silent, Duration::from_secs(8)).await;
    assert!(closed, "a silent connection is still open after 8 s");
    assert!(got.is_empty(), "closed without an answer: {:?}", String::from_utf8_lossy(&got));
    assert!(started.elapsed() >= Duration::from_millis(900), "closed too early: {:?}", started.elapsed());
    healthz_on_a_new_connection(&app).await;
}

#[tokio::test]
async fn connections_past_the_cap_get_a_503_envelope_and_the_cap_frees_up() {
    let env = vec![("TENGINE_MAX_CONNECTIONS".to_owned(), "4".to_owned())];
    let app = spawn_with_header_timeout(3, env).await;
    let addr = app.base_url().trim_start_matches("http://").to_owned();
    // Six silent sockets (the test client may hold a seventh): at least two are over the cap.
    let mut sockets = Vec::new();
    for _ in 0..6 {
        sockets.push(tokio::net::TcpStream::connect(&addr).await.expect("connect"));
    }
    let mut refused = Vec::new();
    let mut held = Vec::new();
    for mut socket in sockets {
        let (got, closed) = read_until_closed(&mut socket, Duration::from_millis(300)).await;
        if closed {
            refused.push(String::from_utf8_lossy(&got).into_owned());
        } else {
            assert!(got.is_empty(), "a held connection got an answer to nothing: {got:?}");
            held.push(socket);
        }
    }
    assert!(refused.len() >= 2, "{} connections were refused, {} held", refused.len(), held.len());
    assert!(held.len() <= 4, "{} connections are held past a cap of 4", held.len());
    for answer in &refused {
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
        assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
        let head = head.to_ascii_lowercase();
        assert!(head.contains("\r\nretry-after: "), "a 503 says when to retry: {head}");
        let body: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
        assert_eq!(body["error"]["code"], "SERVICE_UNAVAILABLE", "{body}");
        let id = body["error"]["request_id"].as_str().expect("a request id");
        assert!(head.contains(&format!("\r\nx-request-id: {}\r\n", id.to_ascii_lowercase())), "{head}");
    }
    // The held ones are silent too: the header deadline closes them, and the slots free up.
    for mut socket in held {
        let (_, closed) = read_until_closed(&mut socket, Duration::from_secs(8)).await;
        assert!(closed, "a silent connection was held past the header timeout");
    }
    healthz_on_a_new_connection(&app).await;
}

#[tokio::test]
async fn http2_with_prior_knowledge_is_not_served() {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn(Backend::Sqlite).await;
    let addr = app.base_url().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    // The client preface, then an empty SETTINGS frame (length 0, type 4, stream 0).
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    stream.write_all(&hello).await.expect("write");
    let (got, closed) = read_until_closed(&mut stream, Duration::from_secs(8)).await;
    assert!(closed, "the connection is closed");
    assert!(got.is_empty() || got.starts_with(b"HTTP/1.1 "), "the server spoke HTTP/2 (its SETTINGS frame): {got:?}");
    app.get("/healthz", "").await.expect(reqwest::StatusCode::OK);
}

#[tokio::test]
async fn more_than_a_hundred_header_fields_get_a_431_envelope() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let headers: Vec<(String, &str)> = (0..150).map(|i| (format!("x-filler-{i}"), "1")).collect();
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let res = app.send(reqwest::Method::GET, "/healthz", &headers, None).await;
    let details = res.error(reqwest::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "VALIDATION_ERROR");
    assert_eq!(details["limit"], 100);
    assert_eq!(details["field"], "headers");
    // A hundred are fine.
    let res = app.send(reqwest::Method::GET, "/healthz", &headers[..95], None).await;
    res.expect(reqwest::StatusCode::OK);
}
