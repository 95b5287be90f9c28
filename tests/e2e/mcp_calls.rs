//! `/mcp` tool calls seen from outside with plain JSON-RPC over HTTP (the Streamable
//! HTTP transport's `initialize` session): retried calls reach the API once, every call
//! lands in the call log and the `tool_id` analytics dimension, outbound requests carry
//! what the templates allow and nothing more, and a session hears
//! `notifications/tools/list_changed` when the project's tools change.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::routing::any;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Backend, Options, TestApp};

/// What the loopback API got: path and query, headers, body.
pub(crate) type Seen = Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>;

/// A loopback API: `/slow` answers after 3 s, `/huge` with 64 KiB, anything else at once.
pub(crate) async fn api() -> (SocketAddr, Seen) {
    async fn record(State(seen): State<Seen>, uri: Uri, headers: HeaderMap, body: Bytes) -> axum::response::Response {
        use axum::response::IntoResponse;
        let path = uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
        seen.lock().expect("seen").push((path.clone(), headers, body));
        if path.starts_with("/slow") {
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        if path.starts_with("/huge") {
            return axum::Json(json!({"blob": "x".repeat(64 * 1024)})).into_response();
        }
        if path.starts_with("/fail") {
            return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({"error": "down"}))).into_response();
        }
        axum::Json(json!({"ok": true, "path": path})).into_response()
    }
    let seen: Seen = Arc::default();
    let app = axum::Router::new().route("/{*rest}", any(record)).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, seen)
}

async fn tool(app: &TestApp, project: &str, body: Value) -> String {
    let made = app.post_json(&format!("/api/v1/projects/{project}/tools"), app.admin_key(), &body).await;
    made.expect(StatusCode::CREATED);
    made.body["id"].as_str().expect("tool id").to_owned()
}

fn echo_tool(name: &str, api: SocketAddr, path: &str, extra: Value) -> Value {
    let mut t = json!({
        "name": name,
        "description": "Echoes.",
        "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
        "base_url": format!("http://{api}"),
        "http_method": "POST",
        "endpoint_path": path,
        "body_template": {"q": "{q}"},
        "timeout_ms": 1000,
        "max_response_bytes": 1024
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        t[k] = v;
    }
    t
}

/// A JSON-RPC session over plain HTTP.
struct Rpc<'a> {
    app: &'a TestApp,
    key: String,
    session: String,
}

impl<'a> Rpc<'a> {
    async fn open(app: &'a TestApp, key: &str) -> Rpc<'a> {
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "0"}}});
        let r = app.send(Method::POST, "/mcp", &Self::headers(key, None), Some(init.to_string().into_bytes())).await;
        r.expect(StatusCode::OK);
        let session = r.header("mcp-session-id").expect("a session id").to_owned();
        let rpc = Rpc { app, key: key.to_owned(), session };
        let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let r = app
            .send(Method::POST, "/mcp", &Self::headers(key, Some(&rpc.session)), Some(done.to_string().into_bytes()))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        rpc
    }

    fn headers(key: &str, session: Option<&str>) -> Vec<(&'static str, String)> {
        let mut h = vec![
            ("Content-Type", "application/json".to_owned()),
            ("Accept", "application/json, text/event-stream".to_owned()),
            ("Authorization", format!("Bearer {key}")),
            ("MCP-Protocol-Version", "2025-06-18".to_owned()),
        ];
        if let Some(s) = session {
            h.push(("Mcp-Session-Id", s.to_owned()));
        }
        h
    }

    /// Sends one request and returns its JSON-RPC response (from JSON or an SSE stream).
    async fn request(&self, id: i64, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let headers = Self::headers(&self.key, Some(&self.session));
        let r = self.app.send(Method::POST, "/mcp", &headers, Some(body.to_string().into_bytes())).await;
        r.expect(StatusCode::OK);
        if !r.body.is_null() {
            return r.body.clone();
        }
        r.text
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|v| v.get("id") == Some(&json!(id)))
            .unwrap_or_else(|| panic!("no response to {id} in {}", r.text))
    }

    async fn call(&self, id: i64, name: &str, arguments: Value, meta: Option<Value>) -> Value {
        let mut params = json!({"name": name, "arguments": arguments});
        if let Some(m) = meta {
            params["_meta"] = m;
        }
        self.request(id, "tools/call", params).await
    }
}

async fn server(backend: Backend) -> TestApp {
    let env = vec![("TENGINE_TOOLS_ALLOW_PRIVATE".to_owned(), "true".to_owned())];
    TestApp::spawn_with(backend, Options { env, ..Options::default() }).await
}

/// Polls the call log until it holds `n` calls (it is written about once a second).
async fn call_log(app: &TestApp, project: &str, query: &str, n: usize) -> Value {
    for _ in 0..100 {
        let r = app.get(&format!("/api/v1/projects/{project}/tool-calls{query}"), app.admin_key()).await;
        r.expect(StatusCode::OK);
        if r.body["data"].as_array().is_some_and(|d| d.len() >= n) {
            return r.body.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the call log never held {n} calls for {query}");
}

async fn retried_calls_reach_the_api_once_and_every_call_is_logged_and_counted(backend: Backend) {
    let app = server(backend).await;
    let (api, seen) = api().await;
    let project = app.project("calls").await;
    let logged = echo_tool("logged", api, "/echo", json!({"log_payloads": true}));
    let logged_id = tool(&app, &project, logged).await;
    let failing_id = tool(&app, &project, echo_tool("failing", api, "/fail", json!({}))).await;
    let (_, key) = app.key(&project, &["read", "write"]).await;

    let rpc = Rpc::open(&app, &key).await;
    let first = rpc.call(5, "logged", json!({"q": "one"}), None).await;
    let again = rpc.call(5, "logged", json!({"q": "one"}), None).await;
    assert_eq!(first["result"]["structuredContent"]["ok"], true, "{first}");
    assert_eq!(first["result"]["_meta"]["tengine/replayed"], false, "{first}");
    assert_eq!(again["result"]["_meta"]["tengine/replayed"], true, "{again}");
    assert_eq!(again["result"]["_meta"]["tengine/call_id"], first["result"]["_meta"]["tengine/call_id"]);
    assert_eq!(seen.lock().expect("seen").len(), 1, "a retried request id reaches the API once");
    // The same id reused for other arguments is refused, and nothing is sent.
    let reused = rpc.call(5, "logged", json!({"q": "two"}), None).await;
    assert_eq!(reused["error"]["data"]["code"], "IDEMPOTENCY_KEY_REUSED", "{reused}");

    // A client idempotency key holds across sessions (and instances: it is stored).
    let meta = json!({"idempotency_key": "order-7f3a"});
    let a = rpc.call(6, "logged", json!({"q": "keyed"}), Some(meta.clone())).await;
    let other = Rpc::open(&app, &key).await;
    let b = other.call(1, "logged", json!({"q": "keyed"}), Some(meta)).await;
    assert_eq!(b["result"]["_meta"]["tengine/replayed"], true, "{b}");
    assert_eq!(b["result"]["_meta"]["tengine/call_id"], a["result"]["_meta"]["tengine/call_id"]);
    assert_eq!(seen.lock().expect("seen").len(), 2, "one call per idempotency key");

    // A failing API: a tool error, logged as failed with the upstream status.
    let failed = rpc.call(7, "failing", json!({"q": "x"}), None).await;
    assert_eq!(failed["result"]["isError"], true, "{failed}");

    let log = call_log(&app, &project, "", 3).await;
    let calls = log["data"].as_array().expect("calls");
    assert_eq!(calls.len(), 3, "replays are not new calls: {log}");
    assert_eq!(calls[0]["tool_id"], failing_id.as_str());
    assert_eq!((calls[0]["status"].as_str(), calls[0]["upstream_status"].as_i64()), (Some("failed"), Some(503)));
    assert_eq!(calls[0]["error"], "The API answered HTTP 503.");
    assert_eq!(calls[0]["arguments"], Value::Null, "payloads only when the tool opts in");
    let keyed = &calls[1];
    assert_eq!(keyed["status"], "succeeded");
    assert_eq!(keyed["arguments"], json!({"q": "keyed"}));
    assert_eq!(keyed["result"]["structured_content"]["ok"], true, "{keyed}");
    assert!(keyed["request_id"].as_str().is_some_and(|r| uuid::Uuid::parse_str(r).is_ok()));
    let id = keyed["id"].as_str().expect("call id");
    let one = app.get(&format!("/api/v1/projects/{project}/tool-calls/{id}"), app.admin_key()).await;
    one.expect(StatusCode::OK);
    assert_eq!(one.body, *keyed);
    let only_failed = call_log(&app, &project, "?status=failed", 1).await;
    assert_eq!(only_failed["data"].as_array().map(Vec::len), Some(1));
    let of_logged = call_log(&app, &project, &format!("?tool_id={logged_id}"), 2).await;
    assert_eq!(of_logged["data"].as_array().map(Vec::len), Some(2));
    let bad = app.get(&format!("/api/v1/projects/{project}/tool-calls?status=ok"), app.admin_key()).await;
    bad.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["error"]["details"]["field"], "status", "{}", bad.text);

    // Analytics' tool dimension counts the tool's calls (and its errors).
    let analytics = |tool: String| {
        let app = &app;
        let project = project.clone();
        async move {
            let path = format!("/api/v1/projects/{project}/analytics?granularity=hour&tool_id={tool}");
            let r = app.get(&path, app.admin_key()).await;
            r.expect(StatusCode::OK);
            r.body
        }
    };
    let of_logged = analytics(logged_id.clone()).await;
    assert_eq!((of_logged["totals"]["requests"].as_i64(), of_logged["totals"]["errors"].as_i64()), (Some(2), Some(0)));
    assert_eq!(of_logged["tool_id"], logged_id.as_str());
    let of_failing = analytics(failing_id).await;
    assert_eq!(
        (of_failing["totals"]["requests"].as_i64(), of_failing["totals"]["errors"].as_i64()),
        (Some(1), Some(1))
    );
}

async fn outbound_requests_carry_only_what_templates_allow_and_bad_apis_are_tool_errors(backend: Backend) {
    let app = server(backend).await;
    let (api, seen) = api().await;
    let project = app.project("calls").await;
    let templated = json!({
        "name": "templated",
        "description": "Every template.",
        "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
        "base_url": format!("http://{api}"),
        "http_method": "POST",
        "endpoint_path": "/items/{q}",
        "headers_template": {"X-Q": "{q}"},
        "query_template": {"q": "{q}"},
        "body_template": {"q": "{q}", "fixed": true}
    });
    tool(&app, &project, templated).await;
    tool(&app, &project, echo_tool("slow", api, "/slow", json!({}))).await;
    tool(&app, &project, echo_tool("huge", api, "/huge", json!({}))).await;
    let (_, key) = app.key(&project, &["read", "write"]).await;
    let rpc = Rpc::open(&app, &key).await;

    // A quote in a JSON argument stays inside its string.
    let quoted = r#"a", "fixed": false, "x": ""#;
    let r = rpc.call(1, "templated", json!({"q": quoted}), None).await;
    assert_eq!(r["result"]["isError"], false, "{r}");
    {
        let got = seen.lock().expect("seen");
        let (path, headers, body) = got.last().expect("a request");
        let body: Value = serde_json::from_slice(body).expect("JSON body");
        assert_eq!(body, json!({"q": quoted, "fixed": true}));
        assert!(path.starts_with("/items/a%22%2C%20%22fixed%22") && !path.contains(' '), "{path}");
        assert_eq!(headers.get("x-q").and_then(|v| v.to_str().ok()), Some(quoted));
    }
    // `../` in a path argument is one encoded segment; CR/LF in a header is refused.
    let r = rpc.call(2, "templated", json!({"q": "../../admin"}), None).await;
    assert_eq!(r["result"]["isError"], false, "{r}");
    assert!(seen.lock().expect("seen").last().is_some_and(|(p, _, _)| p.starts_with("/items/..%2F..%2Fadmin?")));
    let before = seen.lock().expect("seen").len();
    let r = rpc.call(3, "templated", json!({"q": "x\r\nX-Injected: 1"}), None).await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert_eq!(seen.lock().expect("seen").len(), before, "a refused render sends nothing");

    // A slow API is a timeout; a huge answer is cut and marked.
    let r = rpc.call(4, "slow", json!({"q": "x"}), None).await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert!(r["result"]["content"][0]["text"].as_str().is_some_and(|t| t.contains("1000 ms")), "{r}");
    let r = rpc.call(5, "huge", json!({"q": "x"}), None).await;
    let text = r["result"]["content"][0]["text"].as_str().expect("text");
    assert!(text.len() < 2048 && text.contains("truncated"), "{text}");
}

async fn a_session_hears_when_its_projects_tools_change(backend: Backend) {
    let app = server(backend).await;
    let (api, _) = api().await;
    let project = app.project("calls").await;
    let (_, key) = app.key(&project, &["read", "write"]).await;
    let rpc = Rpc::open(&app, &key).await;
    // The standalone SSE stream carries server-initiated notifications.
    let client = reqwest::Client::new();
    let mut stream = client
        .get(format!("{}/mcp", app.base_url()))
        .header("Accept", "text/event-stream")
        .header("Authorization", format!("Bearer {key}"))
        .header("Mcp-Session-Id", &rpc.session)
        .header("MCP-Protocol-Version", "2025-06-18")
        .send()
        .await
        .expect("open the SSE stream");
    assert_eq!(stream.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(200)).await;
    tool(&app, &project, echo_tool("added", api, "/echo", json!({}))).await;
    let mut got = String::new();
    let heard = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(chunk)) = stream.chunk().await {
            got.push_str(&String::from_utf8_lossy(&chunk));
            if got.contains("notifications/tools/list_changed") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(heard, Ok(true), "no list_changed notification; the stream said {got:?}");
    let listed = rpc.request(9, "tools/list", json!({})).await;
    assert_eq!(listed["result"]["tools"][0]["name"], "added", "{listed}");
}

both!(
    retried_calls_reach_the_api_once_and_every_call_is_logged_and_counted,
    outbound_requests_carry_only_what_templates_allow_and_bad_apis_are_tool_errors,
    a_session_hears_when_its_projects_tools_change,
);

async fn tool_calls_count_against_the_hourly_limit_and_raise_usage_events(backend: Backend) {
    crate::usage::within_one_rate_window().await;
    let app = server(backend).await;
    let (api, seen) = api().await;
    let made = app.cli_json(&["accounts", "create", "--name", "Agents", "--plan", "enterprise", "--limit", "10"]).await;
    let account = made["account_id"].as_str().expect("account").to_owned();
    let key = made["key"].as_str().expect("key").to_owned();
    // 1: the project, 2: the tool.
    let project = app.post_json("/api/v1/projects", &key, &json!({"name": "agents"})).await;
    project.expect(StatusCode::CREATED);
    let project = project.body["id"].as_str().expect("project").to_owned();
    let tool = echo_tool("t", api, "/e", json!({}));
    app.post_json(&format!("/api/v1/projects/{project}/tools"), &key, &tool).await.expect(StatusCode::CREATED);
    // 3, 4: initialize and initialized; 5..=10: six calls, the 8th request crosses 80 %.
    let headers = |session: Option<&str>| {
        let mut h = Rpc::headers(&key, session);
        h.push(("X-Tengine-Project-Id", project.clone()));
        h
    };
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "0"}}});
    let r = app.send(Method::POST, "/mcp", &headers(None), Some(init.to_string().into_bytes())).await;
    let session = r.header("mcp-session-id").expect("session").to_owned();
    let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    app.send(Method::POST, "/mcp", &headers(Some(&session)), Some(done.to_string().into_bytes())).await;
    for id in 1..=6 {
        let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "t", "arguments": {"q": "x"}}});
        let r = app.send(Method::POST, "/mcp", &headers(Some(&session)), Some(call.to_string().into_bytes())).await;
        r.expect(StatusCode::OK);
        assert_eq!(r.header("x-ratelimit-remaining"), Some((6 - id).to_string().as_str()), "call {id}");
    }
    assert_eq!(seen.lock().expect("seen").len(), 6);
    // The allowance is spent: the next call is refused before it reaches any tool.
    let call =
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "t", "arguments": {"q": "x"}}});
    let r = app.send(Method::POST, "/mcp", &headers(Some(&session)), Some(call.to_string().into_bytes())).await;
    r.error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMIT_EXCEEDED");
    assert_eq!(seen.lock().expect("seen").len(), 6, "a refused request reaches no tool");
    let rows = crate::usage::events_until(&app, &account, |rows| rows.contains("usage.limit_exceeded")).await;
    assert_eq!(rows, crate::usage::BOTH_ALERTS_ONCE);
}

both!(tool_calls_count_against_the_hourly_limit_and_raise_usage_events);

async fn trying_a_tool_calls_it_once_and_shows_the_request_without_its_secret(backend: Backend) {
    let app = server(backend).await;
    let (addr, seen) = api().await;
    let project = app.create_project(json!({"name": "try"}), StatusCode::CREATED).await;
    let project = project["id"].as_str().expect("id").to_owned();
    let extra = json!({"auth_strategy": "static_bearer", "encrypted_auth_secret": "sk_try_0123456789",
                       "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}});
    let id = tool(&app, &project, echo_tool("echo", addr, "/echo", extra)).await;
    let path = format!("/api/v1/projects/{project}/tools/{id}/test");

    let r = app.post_json(&path, app.admin_key(), &json!({"arguments": {"q": "hello"}})).await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["request"]["method"], "POST");
    assert_eq!(r.body["request"]["url"], format!("http://{addr}/echo"));
    let auth = r.body["request"]["headers"].as_array().expect("headers").iter().find(|h| h["name"] == "Authorization");
    assert_eq!(auth.map(|h| h["value"].clone()), Some(json!("Bearer ********")), "{}", r.text);
    assert!(!r.text.contains("sk_try_0123456789"), "the secret is never shown: {}", r.text);
    assert_eq!(r.body["request"]["body"], r#"{"q":"hello"}"#);
    assert_eq!((r.body["upstream_status"].clone(), r.body["is_error"].clone()), (json!(200), json!(false)));
    assert_eq!(r.body["structured_content"]["path"], "/echo");
    // The API got the real credentials, once.
    {
        let got = seen.lock().expect("seen");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1.get("authorization").and_then(|v| v.to_str().ok()), Some("Bearer sk_try_0123456789"));
    }
    // Logged like any call.
    let log = call_log(&app, &project, &format!("?tool_id={id}"), 1).await;
    assert_eq!(log["data"][0]["id"], r.body["call_id"]);

    // Refusals name the field and send nothing.
    let bad = app.post_json(&path, app.admin_key(), &json!({"arguments": {}})).await;
    assert_eq!(bad.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"], "arguments/q");
    let off = app
        .patch_json(&format!("/api/v1/projects/{project}/tools/{id}"), app.admin_key(), &json!({"enabled": false}))
        .await;
    off.expect(StatusCode::OK);
    let disabled = app.post_json(&path, app.admin_key(), &json!({"arguments": {"q": "x"}})).await;
    assert_eq!(disabled.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"], "enabled");
    let reader = app
        .create_key_as(app.admin_key(), &project, json!({"name": "r", "permissions": ["read"]}), StatusCode::CREATED)
        .await;
    let read_only = app.post_json(&path, reader["key"].as_str().expect("key"), &json!({"arguments": {"q": "x"}})).await;
    read_only.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS");
    let missing = format!("/api/v1/projects/{project}/tools/tool_0000000000000000000000/test");
    app.post_json(&missing, app.admin_key(), &json!({})).await.error(StatusCode::NOT_FOUND, "NOT_FOUND");
    assert_eq!(seen.lock().expect("seen").len(), 1, "nothing more was sent");
}

both!(trying_a_tool_calls_it_once_and_shows_the_request_without_its_secret);
