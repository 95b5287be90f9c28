//! `/mcp` driven by the official MCP Python SDK (PyPI `mcp`, pinned in
//! `mcp_client/requirements.txt`, installed once into a venv under the target
//! directory): tools are listed and called against a loopback API that records what it
//! got and checks the `tng2` signature with the Rust SDK's verifier.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::helpers::{Backend, Options, TestApp};

const SECRET: &str = "tool-secret-0123456789abcdef";
const PY_CLIENT: &str = include_str!("mcp_client/client.py");
const REQUIREMENTS: &str = include_str!("mcp_client/requirements.txt");

/// One request the loopback API got.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub(crate) method: String,
    pub(crate) path_and_query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// What the Rust SDK's `tng2` verifier said.
    pub(crate) verified: Result<(), String>,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

pub(crate) type Log = Arc<Mutex<Vec<Recorded>>>;

/// A loopback API answering every request with a JSON object, recording each.
pub(crate) async fn loopback_api() -> (SocketAddr, Log) {
    async fn record(
        State(log): State<Log>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> axum::Json<Value> {
        let headers: Vec<(String, String)> =
            headers.iter().map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("<binary>").to_owned())).collect();
        let path_and_query = uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
        let lookup = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        let verified = tengineai::tool_signature::verify(SECRET, method.as_str(), &path_and_query, &body, lookup, 300)
            .map(|_| ())
            .map_err(|e| e.to_string());
        log.lock().expect("the log").push(Recorded {
            method: method.to_string(),
            path_and_query,
            headers,
            body: body.to_vec(),
            verified,
        });
        axum::Json(json!({"contact": {"name": "Ada Lovelace", "plan": "pro"}}))
    }
    let log: Log = Arc::default();
    let app = axum::Router::new().fallback(record).with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the loopback API");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, log)
}

pub(crate) async fn server(backend: Backend) -> TestApp {
    let env = vec![("TENGINE_TOOLS_ALLOW_PRIVATE".to_owned(), "true".to_owned())];
    TestApp::spawn_with(backend, Options { env, ..Options::default() }).await
}

/// Registers a signed POST tool (and a disabled one) on `project`, aimed at `api`.
pub(crate) async fn register_tools(app: &TestApp, project: &str, api: SocketAddr) {
    let path = format!("/api/v1/projects/{project}/tools");
    let tool = json!({
        "name": "crm-contacts-get_by_id",
        "description": "Looks up a CRM contact by id.",
        "input_schema": {
            "type": "object",
            "properties": {"id": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["id"]
        },
        "base_url": format!("http://{api}"),
        "http_method": "POST",
        "endpoint_path": "/v1/contacts/{id}",
        "headers_template": {"X-Trace": "t-{id}"},
        "query_template": {"expand": "notes"},
        "body_template": {"id": "{id}", "limit": "{limit}"},
        "auth_strategy": "hmac_signature",
        "encrypted_auth_secret": SECRET,
        "timeout_ms": 5000
    });
    app.post_json(&path, app.admin_key(), &tool).await.expect(StatusCode::CREATED);
    let hidden = json!({
        "name": "hidden-tool",
        "description": "Disabled: no model may see or call it.",
        "input_schema": {"type": "object"},
        "base_url": format!("http://{api}"),
        "http_method": "GET",
        "endpoint_path": "/hidden",
        "enabled": false
    });
    app.post_json(&path, app.admin_key(), &hidden).await.expect(StatusCode::CREATED);
}

/// Runs the Python client's `steps` in one MCP session with `headers`.
async fn mcp_client(app: &TestApp, headers: Value, steps: Value) -> Value {
    mcp_client_in(app, "auto", headers, steps).await
}

/// [`mcp_client`] with the SDK's connect `mode`: `auto` (discovery, the current
/// protocol) or `legacy` (the `initialize` handshake and an `Mcp-Session-Id` session).
async fn mcp_client_in(app: &TestApp, mode: &str, headers: Value, steps: Value) -> Value {
    let python = python().await;
    let url = format!("{}/mcp", app.base_url());
    let input = json!({"url": url, "mode": mode, "headers": headers, "steps": steps});
    let mut child = tokio::process::Command::new(&python)
        .args(["-c", PY_CLIENT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the MCP client");
    let mut stdin = child.stdin.take().expect("its stdin");
    stdin.write_all(input.to_string().as_bytes()).await.expect("write the steps");
    drop(stdin);
    let out = child.wait_with_output().await.expect("run the MCP client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the MCP client failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("the MCP client printed {stdout:?}: {e}"))
}

fn bearer(key: &str) -> Value {
    json!({"Authorization": format!("Bearer {key}")})
}

async fn lists_enabled_tools_and_calls_one_against_a_loopback_api(backend: Backend) {
    let app = server(backend).await;
    let (api, log) = loopback_api().await;
    let project = app.project("mcp").await;
    register_tools(&app, &project, api).await;
    let (_, key) = app.key(&project, &["read", "write"]).await;

    for mode in ["auto", "legacy"] {
        lists_and_calls(&app, mode, &key, &project, &log).await;
    }
}

async fn lists_and_calls(app: &TestApp, mode: &str, key: &str, project: &str, log: &Log) {
    log.lock().expect("the log").clear();
    let args = json!({"id": "c 42/../x", "limit": 3});
    let out = mcp_client_in(
        app,
        mode,
        bearer(key),
        json!([
            {"op": "list"},
            {"op": "call", "name": "crm-contacts-get_by_id", "arguments": args},
        ]),
    )
    .await;
    let steps = out["steps"].as_array().expect("steps");
    // The current protocol (stateless) and the handshake era (with a session) both work.
    let version = out["protocol_version"].as_str().expect("a negotiated version");
    assert_eq!(mode == "auto", version == "2026-07-28", "{mode} negotiated {version}");
    let names: Vec<&str> =
        steps[0]["tools"].as_array().expect("tools").iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["crm-contacts-get_by_id"], "{out}");
    assert_eq!(steps[0]["tools"][0]["description"], "Looks up a CRM contact by id.");
    assert_eq!(steps[0]["tools"][0]["input_schema"]["required"], json!(["id"]));

    let result = &steps[1];
    assert_eq!(result["is_error"], false, "{out}");
    let answer = json!({"contact": {"name": "Ada Lovelace", "plan": "pro"}});
    assert_eq!(result["structured"], answer);
    let text: Value = serde_json::from_str(result["texts"][0].as_str().expect("text content")).expect("JSON text");
    assert_eq!(text, answer);

    let got = log.lock().expect("the log").clone();
    assert_eq!(got.len(), 1, "{got:?}");
    let call = &got[0];
    assert_eq!(call.method, "POST");
    assert_eq!(call.path_and_query, "/v1/contacts/c%2042%2F..%2Fx?expand=notes");
    assert_eq!(call.verified, Ok(()), "the tng2 signature must verify");
    assert_eq!(call.header("x-tengine-project-id"), Some(project));
    assert_eq!(call.header("x-tengine-tool"), Some("crm-contacts-get_by_id"));
    assert_eq!(call.header("x-trace"), Some("t-c 42/../x"));
    assert!(call.header("x-tengine-request-id").is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()));
    assert!(call.header("authorization").is_none());
    let body: Value = serde_json::from_slice(&call.body).expect("a JSON body");
    assert_eq!(body, json!({"id": "c 42/../x", "limit": 3}), "placeholders keep their JSON type");
}

async fn refusals_never_reach_the_api(backend: Backend) {
    let app = server(backend).await;
    let (api, log) = loopback_api().await;
    let project = app.project("mcp").await;
    register_tools(&app, &project, api).await;
    let (_, writer) = app.key(&project, &["read", "write"]).await;
    let (_, reader) = app.key(&project, &["read"]).await;

    let out = mcp_client(
        &app,
        bearer(&writer),
        json!([
            {"op": "call", "name": "crm-contacts-get_by_id", "arguments": {"id": 42}},
            {"op": "call", "name": "crm-contacts-get_by_id", "arguments": {}},
            {"op": "call", "name": "hidden-tool", "arguments": {}},
            {"op": "call", "name": "no-such-tool", "arguments": {}},
        ]),
    )
    .await;
    let steps = &out["steps"];
    // Arguments off the schema: a tool error naming the field.
    assert_eq!(steps[0]["is_error"], true, "{out}");
    let text = steps[0]["texts"][0].as_str().expect("text");
    assert!(text.starts_with("Invalid arguments: ") && text.contains("id"), "{text}");
    assert_eq!(steps[0]["structured"]["error"], "invalid_arguments");
    assert!(steps[0]["structured"]["fields"][0]["field"].as_str().is_some_and(|f| f.contains("id")), "{out}");
    assert_eq!(steps[1]["is_error"], true, "{out}");
    assert!(steps[1]["texts"][0].as_str().is_some_and(|t| t.contains("id")), "{out}");
    // A disabled tool answers exactly like a missing one.
    for (i, name) in [(2, "hidden-tool"), (3, "no-such-tool")] {
        assert_eq!(steps[i]["error"]["code"], -32602, "{out}");
        assert_eq!(steps[i]["error"]["message"], format!("Unknown tool: {name}"), "{out}");
    }

    let out = mcp_client(
        &app,
        bearer(&reader),
        json!([
            {"op": "list"},
            {"op": "call", "name": "crm-contacts-get_by_id", "arguments": {"id": "1"}},
        ]),
    )
    .await;
    assert_eq!(out["steps"][0]["tools"].as_array().map(Vec::len), Some(1), "{out}");
    let refused = &out["steps"][1]["error"];
    assert_eq!(refused["data"]["code"], "INSUFFICIENT_PERMISSIONS", "{out}");
    assert_eq!(refused["data"]["details"]["permission"], "write", "{out}");

    assert!(log.lock().expect("the log").is_empty(), "no refused call may reach the API");
}

async fn an_account_wide_key_names_its_project_by_header(backend: Backend) {
    let app = server(backend).await;
    let (api, _log) = loopback_api().await;
    let project = app.project("mcp").await;
    register_tools(&app, &project, api).await;

    let mut headers = bearer(app.admin_key());
    headers["X-Tengine-Project-Id"] = json!(project);
    let out = mcp_client(&app, headers, json!([{"op": "list"}])).await;
    assert_eq!(out["steps"][0]["tools"][0]["name"], "crm-contacts-get_by_id", "{out}");

    // Without the header, the plain HTTP answer names it.
    let res = post_initialize(&app, Some(app.admin_key()), None).await;
    let details = res.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR");
    assert_eq!(details["field"], "X-Tengine-Project-Id", "{}", res.text);
    // A project key naming another project: not found.
    let (_, key) = app.key(&project, &["read"]).await;
    let other = app.project("other").await;
    let res = post_initialize(&app, Some(&key), Some(&other)).await;
    res.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
}

async fn no_credentials_is_a_401_with_a_resource_metadata_challenge(backend: Backend) {
    let app = server(backend).await;
    for key in [None, Some("tng_not_a_real_key")] {
        let res = post_initialize(&app, key, None).await;
        res.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
        let expected =
            format!("Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"", app.base_url());
        assert_eq!(res.header("www-authenticate"), Some(expected.as_str()));
    }
}

/// A client that sends a POST's headers, then its body a moment later, and reuses the
/// connection after the 401 for the discovery the challenge calls for (what the MCP SDK
/// does): the connection must still be open.
async fn a_401_keeps_the_connection_for_the_discovery_that_follows(backend: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = server(backend).await;
    let addr = app.base_url().trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let body = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#;
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("send the headers");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stream.write_all(body).await.expect("send the body");
    let discovery =
        format!("GET /.well-known/oauth-protected-resource/mcp HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    // The 401 first, then the next request on the same connection.
    let mut raw = Vec::new();
    let mut buf = [0_u8; 8192];
    let mut sent = false;
    let read = async {
        loop {
            let n = stream.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&raw).into_owned();
            if !sent && text.contains("\r\n\r\n{") && text.contains("INVALID_API_KEY") {
                sent = true;
                stream.write_all(discovery.as_bytes()).await.expect("reuse the connection");
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), read).await.expect("the server answers");
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 401"), "{text}");
    assert_eq!(text.matches("HTTP/1.1 ").count(), 2, "the connection answered the discovery too: {text}");
    assert!(text.contains("HTTP/1.1 200") && text.contains("\"authorization_servers\""), "{text}");
}

/// The API's refusals of a request with a body say `Connection: close`: it may come before
/// the body was read, and then the server cannot reuse the connection.
async fn an_api_refusal_of_a_body_tells_the_client_the_connection_closes(backend: Backend) {
    let app = server(backend).await;
    let headers =
        [("Authorization", "Bearer tng_not_a_real_key".to_owned()), ("Content-Type", "application/json".to_owned())];
    let res = app.send(reqwest::Method::POST, "/api/v1/projects", &headers, Some(br#"{"name":"x"}"#.to_vec())).await;
    res.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
    assert_eq!(res.header("connection"), Some("close"));
    let ok = app.post_json("/api/v1/projects", app.admin_key(), &json!({"name": "kept"})).await;
    assert_eq!(ok.header("connection"), None, "a success keeps the connection");
}

both!(
    an_api_refusal_of_a_body_tells_the_client_the_connection_closes,
    a_401_keeps_the_connection_for_the_discovery_that_follows,
    lists_enabled_tools_and_calls_one_against_a_loopback_api,
    refusals_never_reach_the_api,
    an_account_wide_key_names_its_project_by_header,
    no_credentials_is_a_401_with_a_resource_metadata_challenge,
);

/// An MCP `initialize` POSTed over plain HTTP, with `key` and `X-Tengine-Project-Id`.
async fn post_initialize(app: &TestApp, key: Option<&str>, project: Option<&str>) -> crate::helpers::Resp {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "0"}}});
    let mut headers = vec![
        ("Content-Type", "application/json".to_owned()),
        ("Accept", "application/json, text/event-stream".to_owned()),
    ];
    if let Some(key) = key {
        headers.push(("Authorization", format!("Bearer {key}")));
    }
    if let Some(project) = project {
        headers.push(("X-Tengine-Project-Id", project.to_owned()));
    }
    app.send(reqwest::Method::POST, "/mcp", &headers, Some(init.to_string().into_bytes())).await
}

/// The venv's Python with the pinned MCP SDK, made once per target directory and pin.
pub(crate) async fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    tokio::task::spawn_blocking(|| PYTHON.get_or_init(make_venv).clone()).await.expect("the venv set-up panicked")
}

fn make_venv() -> PathBuf {
    // The test runs as <target>/<profile>/deps/e2e-<hash>.
    let target = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(std::env::temp_dir);
    let pin = hex::encode(&Sha256::digest(REQUIREMENTS.as_bytes())[..6]);
    let venv = target.join(format!("mcp-venv-{pin}"));
    let python = venv.join("bin").join("python");
    if python.is_file() {
        return python;
    }
    // Built aside and renamed into place, so concurrent test runs never see half a venv.
    let building = target.join(format!("mcp-venv-{pin}.{}", uuid::Uuid::new_v4().simple()));
    let requirements = Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e").join("mcp_client").join("requirements.txt");
    let step = |program: &Path, args: &[&str]| {
        let out = std::process::Command::new(program).args(args).output().expect("run the venv set-up");
        assert!(
            out.status.success(),
            "{} {args:?} failed: {}{}",
            program.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let dir = building.to_str().expect("a UTF-8 target path");
    step(Path::new("python3"), &["-m", "venv", dir]);
    let requirements = requirements.to_str().expect("a UTF-8 source path");
    step(&building.join("bin").join("pip"), &["install", "--quiet", "-r", requirements]);
    if std::fs::rename(&building, &venv).is_err() {
        // Another run finished first; use its venv.
        let _ = std::fs::remove_dir_all(&building);
    }
    assert!(python.is_file(), "the MCP venv is missing {}", python.display());
    python
}

/// The test-only ES256 and Ed25519 keys of the domain's unit tests.
const ES256_PRIVATE: &str = include_str!("../../crates/domain/src/member_session/testdata/es256.key");
pub(crate) const ES256_PUBLIC: &str = include_str!("../../crates/domain/src/member_session/testdata/es256.pub");
const ED_PRIVATE: &str = include_str!("../../crates/domain/src/member_session/testdata/ed.key");
const ED_PUBLIC: &str = include_str!("../../crates/domain/src/member_session/testdata/ed.pub");

/// A member assertion for `app`'s origin, signed with `kid`'s private key.
pub(crate) fn assertion(app: &TestApp, kid: &str, ed: bool, claims: Value) -> String {
    let (alg, key) = if ed {
        (jsonwebtoken::Algorithm::EdDSA, jsonwebtoken::EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes()))
    } else {
        (jsonwebtoken::Algorithm::ES256, jsonwebtoken::EncodingKey::from_ec_pem(ES256_PRIVATE.as_bytes()))
    };
    let mut header = jsonwebtoken::Header::new(alg);
    header.kid = Some(kid.to_owned());
    let now = chrono::Utc::now().timestamp();
    let mut body = json!({"sub": "user-42", "email": "ada@example.com", "roles": ["admin", "billing"],
                          "aud": app.base_url(), "iat": now, "exp": now + 30, "jti": uuid::Uuid::new_v4().to_string()});
    for (k, v) in claims.as_object().cloned().unwrap_or_default() {
        body[k] = v;
    }
    jsonwebtoken::encode(&header, &body, &key.expect("a test key")).expect("sign")
}

async fn exchange_assertion(app: &TestApp, key: &str, assertion: &str) -> crate::helpers::Resp {
    app.post_json("/api/v1/mcp/session-token", key, &json!({"member_assertion": assertion})).await
}

async fn member_sessions_call_member_tools_with_the_members_identity(backend: Backend) {
    let app = server(backend).await;
    let (api, log) = loopback_api().await;
    let project = app.project("members").await;
    let (_, backend_key) = app.key(&project, &["read", "write"]).await;
    let keys = format!("/api/v1/projects/{project}/signing-keys");
    app.post_json(&keys, app.admin_key(), &json!({"kid": "backend-1", "alg": "ES256", "public_key_pem": ES256_PUBLIC}))
        .await
        .expect(StatusCode::CREATED);
    let ed = app
        .post_json(&keys, app.admin_key(), &json!({"kid": "backend-ed", "alg": "EdDSA", "public_key_pem": ED_PUBLIC}))
        .await;
    ed.expect(StatusCode::CREATED);
    // A private key is never stored; a duplicate kid is refused.
    let private = app
        .post_json(&keys, app.admin_key(), &json!({"kid": "k", "alg": "ES256", "public_key_pem": ES256_PRIVATE}))
        .await;
    assert_eq!(private.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"], "public_key_pem");
    let dup = app
        .post_json(&keys, app.admin_key(), &json!({"kid": "backend-1", "alg": "EdDSA", "public_key_pem": ED_PUBLIC}))
        .await;
    assert_eq!(dup.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"], "kid");
    let listed = app.get(&keys, &backend_key).await;
    assert_eq!(listed.body["data"].as_array().map(Vec::len), Some(2), "{}", listed.text);

    let tool = json!({
        "name": "whoami",
        "description": "Answers for the signed-in member.",
        "input_schema": {"type": "object"},
        "base_url": format!("http://{api}"),
        "http_method": "GET",
        "endpoint_path": "/members/{tengine.member_id}",
        "require_member": true,
        "inject_member_identity": ["id", "email", "roles"]
    });
    app.post_json(&format!("/api/v1/projects/{project}/tools"), app.admin_key(), &tool)
        .await
        .expect(StatusCode::CREATED);

    // The backend exchanges a fresh assertion (ES256, then EdDSA) for a member token.
    let token_of = |r: &crate::helpers::Resp| r.body["token"].as_str().expect("token").to_owned();
    let made = exchange_assertion(&app, &backend_key, &assertion(&app, "backend-1", false, json!({}))).await;
    made.expect(StatusCode::CREATED);
    assert_eq!((made.body["expires_in"].as_i64(), made.body["member"]["id"].as_str()), (Some(900), Some("user-42")));
    let token = token_of(&made);
    assert!(token.starts_with("tng_mst_"));
    let ed_made = exchange_assertion(&app, &backend_key, &assertion(&app, "backend-ed", true, json!({}))).await;
    ed_made.expect(StatusCode::CREATED);

    let out =
        mcp_client(&app, bearer(&token), json!([{"op": "list"}, {"op": "call", "name": "whoami", "arguments": {}}]))
            .await;
    assert_eq!(out["steps"][0]["tools"][0]["name"], "whoami", "{out}");
    assert_eq!(out["steps"][1]["is_error"], false, "{out}");
    let got = log.lock().expect("the log").clone();
    let call = got.last().expect("the API was called");
    assert_eq!(call.path_and_query, "/members/user-42");
    assert_eq!(call.header("x-tengine-member-id"), Some("user-42"));
    assert_eq!(call.header("x-tengine-member-email"), Some("ada@example.com"));
    assert_eq!(call.header("x-tengine-member-roles"), Some("admin,billing"));

    // An API key alone cannot call a member tool; a member token opens /mcp only.
    let out = mcp_client(&app, bearer(&backend_key), json!([{"op": "call", "name": "whoami", "arguments": {}}])).await;
    assert_eq!(out["steps"][0]["structured"]["error"], "member_required", "{out}");
    app.get("/api/v1/projects", &token).await.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
    // The call log names the member.
    for _ in 0..50 {
        let calls = app.get(&format!("/api/v1/projects/{project}/tool-calls?member_id=user-42"), app.admin_key()).await;
        if calls.body["data"].as_array().is_some_and(|d| !d.is_empty()) {
            assert_eq!(calls.body["data"][0]["member_id"], "user-42");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // Refusals, each named.
    let now = chrono::Utc::now().timestamp();
    let reused = assertion(&app, "backend-1", false, json!({"jti": "once"}));
    exchange_assertion(&app, &backend_key, &reused).await.expect(StatusCode::CREATED);
    for (bad, why) in [
        (reused, "already used"),
        (assertion(&app, "backend-1", false, json!({"exp": now - 60})), "expired"),
        (assertion(&app, "backend-1", false, json!({"exp": now + 3600})), "too far"),
        (assertion(&app, "backend-1", false, json!({"aud": "https://elsewhere.example.com"})), "audience"),
        (assertion(&app, "nobody", false, json!({})), "kid"),
        (assertion(&app, "backend-1", true, json!({})), "alg"),
        ("not-a-jwt".to_owned(), "JWT"),
    ] {
        let r = exchange_assertion(&app, &backend_key, &bad).await;
        let details = r.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR");
        assert_eq!(details["field"], "member_assertion", "{why}: {}", r.text);
        assert!(details["reason"].as_str().is_some_and(|m| m.contains(why)), "{why}: {}", r.text);
    }
    let (_, reader) = app.key(&project, &["read"]).await;
    let fresh = assertion(&app, "backend-1", false, json!({}));
    exchange_assertion(&app, &reader, &fresh).await.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS");

    // Revoking the backend's key ends its member sessions.
    let backend_id = app.get("/api/v1/me", &backend_key).await.body["key_id"].as_str().expect("id").to_owned();
    app.delete(&format!("/api/v1/projects/{project}/api-keys/{backend_id}"), app.admin_key())
        .await
        .expect(StatusCode::OK);
    let res = post_initialize(&app, Some(&token), None).await;
    res.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
}

both!(member_sessions_call_member_tools_with_the_members_identity);

/// The issue's refusals and edge cases, driven by the official Python SDK: template
/// injection attempts, a slow API, a huge answer, a member tool without a member, and a
/// retried call (the same `_meta.idempotency_key`) reaching the API once.
async fn the_python_sdk_sees_injections_refused_timeouts_cuts_and_one_call_per_retry(backend: Backend) {
    let app = server(backend).await;
    let (api, seen) = crate::mcp_calls::api().await;
    let project = app.project("edges").await;
    let (_, key) = app.key(&project, &["read", "write"]).await;
    let tools = format!("/api/v1/projects/{project}/tools");
    let base = format!("http://{api}");
    let schema = json!({"type": "object", "properties": {"q": {"type": "string"}}});
    for t in [
        json!({"name": "templated", "description": "d", "input_schema": schema, "base_url": base, "http_method": "POST",
               "endpoint_path": "/items/{q}", "headers_template": {"X-Q": "{q}"}, "body_template": {"q": "{q}", "fixed": true}}),
        json!({"name": "slow", "description": "d", "input_schema": schema, "base_url": base, "http_method": "GET",
               "endpoint_path": "/slow", "timeout_ms": 1000}),
        json!({"name": "huge", "description": "d", "input_schema": schema, "base_url": base, "http_method": "GET",
               "endpoint_path": "/huge", "max_response_bytes": 1024}),
        json!({"name": "members-only", "description": "d", "input_schema": schema, "base_url": base, "http_method": "GET",
               "endpoint_path": "/m", "require_member": true}),
    ] {
        app.post_json(&tools, app.admin_key(), &t).await.expect(StatusCode::CREATED);
    }
    let quote = r#"a", "fixed": false, "x": ""#;
    let retry = json!({"idempotency_key": "order-1"});
    let out = mcp_client(
        &app,
        bearer(&key),
        json!([
            {"op": "call", "name": "templated", "arguments": {"q": "../../admin"}},
            {"op": "call", "name": "templated", "arguments": {"q": "x\r\nX-Injected: 1"}},
            {"op": "call", "name": "templated", "arguments": {"q": quote}},
            {"op": "call", "name": "slow", "arguments": {}},
            {"op": "call", "name": "huge", "arguments": {}},
            {"op": "call", "name": "members-only", "arguments": {}},
            {"op": "call", "name": "templated", "arguments": {"q": "once"}, "meta": retry},
            {"op": "call", "name": "templated", "arguments": {"q": "once"}, "meta": retry},
        ]),
    )
    .await;
    let steps = out["steps"].as_array().expect("steps");
    assert_eq!(steps[0]["is_error"], false, "{out}");
    assert_eq!(steps[1]["is_error"], true, "CR/LF in a header is refused: {out}");
    assert_eq!(steps[2]["is_error"], false, "{out}");
    assert_eq!(steps[3]["is_error"], true, "{out}");
    assert!(steps[3]["texts"][0].as_str().is_some_and(|t| t.contains("1000 ms")), "{out}");
    let cut = steps[4]["texts"][0].as_str().expect("text");
    assert!(cut.contains("truncated") && cut.len() < 2048, "{cut}");
    assert_eq!(steps[5]["structured"]["error"], "member_required", "{out}");
    assert_eq!(steps[6], steps[7], "the retry gets the first result");

    let got = seen.lock().expect("seen").clone();
    let paths: Vec<&str> = got.iter().map(|(p, _, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/items/..%2F..%2Fadmin",
            "/items/a%22%2C%20%22fixed%22%3A%20false%2C%20%22x%22%3A%20%22",
            "/slow",
            "/huge",
            "/items/once"
        ],
        "{paths:?}"
    );
    let quoted: Value = serde_json::from_slice(&got[1].2).expect("JSON");
    assert_eq!(quoted, json!({"q": quote, "fixed": true}), "a quote stays inside its string");
    assert!(got.iter().all(|(_, h, _)| h.get("x-injected").is_none()));
}

/// Without `TENGINE_TOOLS_ALLOW_PRIVATE`, a tool whose API resolves to a private or
/// loopback address is refused at call time, as a tool error.
async fn a_tool_at_a_private_address_is_refused_at_call_time(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("guarded").await;
    let (_, key) = app.key(&project, &["read", "write"]).await;
    let tool = json!({"name": "internal", "description": "d", "input_schema": {"type": "object"},
                      "base_url": "https://127.0.0.1:9443", "http_method": "GET", "endpoint_path": "/admin"});
    app.post_json(&format!("/api/v1/projects/{project}/tools"), app.admin_key(), &tool)
        .await
        .expect(StatusCode::CREATED);
    let out = mcp_client(&app, bearer(&key), json!([{"op": "call", "name": "internal", "arguments": {}}])).await;
    let step = &out["steps"][0];
    assert_eq!(step["is_error"], true, "{out}");
    assert!(step["texts"][0].as_str().is_some_and(|t| t.contains("not allowed")), "{out}");
}

both!(
    the_python_sdk_sees_injections_refused_timeouts_cuts_and_one_call_per_retry,
    a_tool_at_a_private_address_is_refused_at_call_time,
);
