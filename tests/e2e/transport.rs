//! Transport safety: slow clients cannot pin connections, every response carries the
//! security headers, and CORS is off unless configured.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::helpers::{Backend, Options, TestApp};

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
    // The server still serves everyone else.
    app.get("/healthz", "").await.expect(reqwest::StatusCode::OK);
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
