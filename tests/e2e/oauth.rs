//! The OAuth 2.1 authorization server, driven by clients nobody here wrote: Authlib
//! (every flow and refusal of the issue, in `oauth_client/authlib_flows.py`) and the
//! official MCP Python SDK (discovery, registration, code + PKCE, tools with the token,
//! in `oauth_client/mcp_oauth.py`), both in the pinned venv of `mcp.rs`. Then what only
//! a second instance shows: a disconnect reaches it within a second.

use std::process::Stdio;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::helpers::{eventually, Backend, TestApp};
use crate::mcp::{loopback_api, python, register_tools, server};

const AUTHLIB_FLOWS: &str = include_str!("oauth_client/authlib_flows.py");
const MCP_OAUTH: &str = include_str!("oauth_client/mcp_oauth.py");
pub(crate) const REDIRECT: &str = "http://127.0.0.1/callback";

/// Runs a Python script of `oauth_client/` with `input` on stdin; its printed JSON.
async fn run(script: &str, input: Value) -> Value {
    let python = python().await;
    let mut child = tokio::process::Command::new(&python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the Python client");
    let mut stdin = child.stdin.take().expect("its stdin");
    stdin.write_all(input.to_string().as_bytes()).await.expect("write the input");
    drop(stdin);
    let out = child.wait_with_output().await.expect("run the Python client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the client failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("the client printed {stdout:?}: {e}"))
}

/// Every check the Authlib script must report, one per point of the issue.
const AUTHLIB_CHECKS: &[&str] = &[
    "api_401_names_resource_metadata",
    "protected_resource_metadata",
    "authorization_server_metadata",
    "code_flow_returns_state",
    "access_token_prefix",
    "token_lifetime_one_hour",
    "token_lists_only_its_project",
    "token_of_a_on_b_is_404",
    "refresh_rotates",
    "refresh_reuse_refused",
    "refresh_reuse_revokes_the_connection",
    "revoked_access_token_refused",
    "revoked_refresh_token_refused",
    "loopback_any_port",
    "wrong_redirect_uri_not_redirected",
    "missing_pkce_refused",
    "plain_pkce_refused",
    "scope_beyond_integration_refused",
    "implicit_grant_refused",
    "password_grant_refused",
    "wrong_client_secret_refused",
    "reused_code_refused",
    "reused_code_revokes_first_tokens",
    "wrong_verifier_refused",
    "consent_grants_less",
    "mcp_audience_refused_on_api",
    "foreign_resource_refused",
    "denied_consent",
    "disconnected_token_refused",
    "deleted_integration_token_refused",
    "connected_event",
    "disconnected_event",
    "events_carry_no_secrets",
    "registration_off_by_default",
    "registration_allowed",
    "registered_client_connects_to_its_project",
    "root_registration_needs_a_willing_project",
    "root_registration_goes_to_the_one_willing_project",
    "root_registration_refused_when_ambiguous",
    "expired_code_refused",
];

async fn authlib_runs_every_flow_and_refusal(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let out = run(AUTHLIB_FLOWS, json!({"base": app.base_url(), "admin_key": app.admin_key()})).await;
    let passed: Vec<&str> = out["checks"].as_array().expect("checks").iter().filter_map(Value::as_str).collect();
    for check in AUTHLIB_CHECKS {
        assert!(passed.contains(check), "the Authlib script did not pass {check}: {passed:?}");
    }
}

async fn the_mcp_sdk_registers_connects_and_calls_a_tool(backend: Backend) {
    let app = server(backend).await;
    let (api, log) = loopback_api().await;
    let project = app.project("MCP over OAuth").await;
    register_tools(&app, &project, api).await;
    let path = format!("/api/v1/projects/{project}/client-registration");
    app.send(
        reqwest::Method::PUT,
        &path,
        &[("Authorization", format!("Bearer {}", app.admin_key())), ("Content-Type", "application/json".into())],
        Some(json!({"enabled": true}).to_string().into_bytes()),
    )
    .await
    .expect(StatusCode::OK);
    let call = json!({"name": "crm-contacts-get_by_id", "arguments": {"id": "c-1"}});

    // No credentials at /mcp/<project>: discovery, registration, consent granting only
    // `read`. Listing works; calling needs `write`.
    let url = format!("{}/mcp/{project}", app.base_url());
    let read = run(MCP_OAUTH, json!({"url": url, "admin_key": app.admin_key(), "grant": ["read"], "call": call})).await;
    assert_eq!(read["tools"], json!(["crm-contacts-get_by_id"]), "{read}");
    assert_eq!(read["scope"], "read", "{read}");
    assert_eq!(read["access_token_prefix"], "tng_oat_", "{read}");
    assert_eq!(read["call"]["error"]["data"]["code"], "INSUFFICIENT_PERMISSIONS", "{read}");
    let registered = read["client_id"].as_str().expect("a registered client id");
    let listed = app.get(&format!("/api/v1/projects/{project}/integrations"), app.admin_key()).await;
    let listed = listed.expect(StatusCode::OK);
    assert!(listed.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .any(|i| i["id"] == registered && i["dynamic"] == true));
    assert!(log.lock().expect("the log").is_empty(), "a read-only token reached the tool");

    // A pre-registered public integration at plain /mcp, granted what it asks: the call
    // reaches the project's API.
    let integration = app
        .post_json(
            &format!("/api/v1/projects/{project}/integrations"),
            app.admin_key(),
            &json!({"name": "Desktop", "redirect_uris": [REDIRECT], "permissions": ["read", "write"], "client_type": "public"}),
        )
        .await;
    let client_id = integration.expect(StatusCode::CREATED).body["client_id"].as_str().expect("client_id").to_owned();
    let pre = json!({"client_id": client_id, "redirect_uri": "http://127.0.0.1:41234/callback"});
    let url = format!("{}/mcp", app.base_url());
    let full =
        run(MCP_OAUTH, json!({"url": url, "admin_key": app.admin_key(), "grant": null, "client": pre, "call": call}))
            .await;
    assert_eq!(full["call"]["is_error"], false, "{full}");
    assert_eq!(full["client_id"], client_id.as_str());
    assert_eq!(full["scope"], "read write", "no scope asked: all the integration may have");
    assert_eq!(log.lock().expect("the log").len(), 1, "the call reached the loopback API once");

    // An integration that may only read: the SDK asks for no scope (the metadata lists
    // none), gets `read`, lists and is refused the call.
    let reader = app
        .post_json(
            &format!("/api/v1/projects/{project}/integrations"),
            app.admin_key(),
            &json!({"name": "Reader", "redirect_uris": [REDIRECT], "permissions": ["read"], "client_type": "public"}),
        )
        .await;
    let reader = reader.expect(StatusCode::CREATED).body["client_id"].as_str().expect("client_id").to_owned();
    let pre = json!({"client_id": reader, "redirect_uri": "http://127.0.0.1:41235/callback"});
    let url = format!("{}/mcp", app.base_url());
    let read =
        run(MCP_OAUTH, json!({"url": url, "admin_key": app.admin_key(), "grant": null, "client": pre, "call": call}))
            .await;
    assert_eq!((read["scope"].as_str(), read["tools"].as_array().map(Vec::len)), (Some("read"), Some(1)), "{read}");
    assert_eq!(read["call"]["error"]["data"]["code"], "INSUFFICIENT_PERMISSIONS", "{read}");
    assert_eq!(log.lock().expect("the log").len(), 1, "the refused call never reached the API");

    // No credentials and no client at plain /mcp: the SDK registers at the server's
    // endpoint, which takes it to the one project accepting registration.
    let url = format!("{}/mcp", app.base_url());
    let fresh = run(MCP_OAUTH, json!({"url": url, "admin_key": app.admin_key(), "grant": null, "call": call})).await;
    assert_eq!(fresh["call"]["is_error"], false, "{fresh}");
    assert_ne!(fresh["client_id"], registered, "a new registration");
    assert_eq!(log.lock().expect("the log").len(), 2);
}

/// A PKCE pair: (verifier, S256 challenge).
fn pkce() -> (String, String) {
    let verifier = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let challenge = B64URL.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// An authorization request's query for `client_id`, and its PKCE verifier.
pub(crate) fn authorization_query(client_id: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let query = format!(
        "response_type=code&client_id={client_id}&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback&state=xyz\
         &code_challenge={challenge}&code_challenge_method=S256"
    );
    (query, verifier)
}

/// Connects a new public integration of `project` through consent; its id and tokens.
async fn connect(app: &TestApp, project: &str) -> (String, Value) {
    let created = app
        .post_json(
            &format!("/api/v1/projects/{project}/integrations"),
            app.admin_key(),
            &json!({"name": "Agent", "redirect_uris": [REDIRECT], "permissions": ["read"], "client_type": "public"}),
        )
        .await;
    let client_id = created.expect(StatusCode::CREATED).body["client_id"].as_str().expect("client_id").to_owned();
    let tokens = connect_client(app, &client_id, None).await;
    (client_id, tokens)
}

/// Runs code + PKCE for `client_id` (with its secret, if confidential), the admin
/// approving; the token response.
pub(crate) async fn connect_client(app: &TestApp, client_id: &str, secret: Option<&str>) -> Value {
    let (query, verifier) = authorization_query(client_id);
    let decided = app
        .post_json(&format!("/api/v1/oauth/authorization?{query}"), app.admin_key(), &json!({"approve": true}))
        .await;
    let to = decided.expect(StatusCode::OK).body["redirect_to"].as_str().expect("redirect_to").to_owned();
    let code = url::Url::parse(&to)
        .expect("a URL")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", client_id),
        ("code_verifier", verifier.as_str()),
    ];
    if let Some(secret) = secret {
        form.push(("client_secret", secret));
    }
    let res = app.client().post(format!("{}/oauth/token", app.base_url())).form(&form).send().await.expect("token");
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.expect("a token response")
}

async fn a_disconnect_reaches_another_instance_within_a_second(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sibling = app.spawn_sibling().await;
    let project = app.project("Two instances").await;
    let (client_id, tokens) = connect(&app, &project).await;
    let access = tokens["access_token"].as_str().expect("access_token");
    // Both instances have verified (and cached) the token.
    app.get("/api/v1/projects", access).await.expect(StatusCode::OK);
    sibling.get("/api/v1/projects", access).await.expect(StatusCode::OK);
    let connections =
        app.get(&format!("/api/v1/projects/{project}/integrations/{client_id}/connections"), app.admin_key()).await;
    let connection = connections.expect(StatusCode::OK).body["data"][0]["id"].as_str().expect("an id").to_owned();
    app.delete(
        &format!("/api/v1/projects/{project}/integrations/{client_id}/connections/{connection}"),
        app.admin_key(),
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    app.get("/api/v1/projects", access).await.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
    let refused = eventually(Duration::from_millis(1_100), || async {
        sibling.get("/api/v1/projects", access).await.status == StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(refused, "the other instance still accepted a disconnected token after a second");
}

async fn usage_counts_an_integrations_requests_under_it(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let project = app.project("Counted").await;
    let (client_id, tokens) = connect(&app, &project).await;
    let access = tokens["access_token"].as_str().expect("access_token");
    for _ in 0..3 {
        app.get(&format!("/api/v1/projects/{project}"), access).await.expect(StatusCode::OK);
    }
    app.get(&format!("/api/v1/projects/{project}/webhooks"), access).await.expect(StatusCode::FORBIDDEN);
    let (key_id, key) = app.key(&project, &["read"]).await;
    app.get(&format!("/api/v1/projects/{project}"), &key).await.expect(StatusCode::OK);
    // A restart flushes the buffered usage.
    assert!(app.restart().await.success(), "the server stops cleanly");
    let now = chrono::Utc::now();
    let range = format!(
        "granularity=hour&start_date={}&end_date={}",
        (now - chrono::TimeDelta::hours(2)).format("%Y-%m-%dT%H:00:00Z"),
        (now + chrono::TimeDelta::hours(2)).format("%Y-%m-%dT%H:00:00Z")
    );
    let path = format!("/api/v1/projects/{project}/analytics?{range}");
    let by_integration = app.get(&format!("{path}&integration_id={client_id}"), app.admin_key()).await;
    let body = &by_integration.expect(StatusCode::OK).body;
    assert_eq!(body["integration_id"], client_id.as_str());
    assert_eq!(body["totals"]["requests"], 4, "{body}");
    assert_eq!(body["totals"]["errors"], 1, "{body}");
    let by_key = app.get(&format!("{path}&api_key_id={key_id}"), app.admin_key()).await;
    assert_eq!(by_key.expect(StatusCode::OK).body["totals"]["requests"], 1, "the key's request is its own");
    let both = app
        .get(&format!("{path}&integration_id={client_id}&api_key_id=key_0000000000000000000001"), app.admin_key())
        .await;
    both.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR");
    let foreign = app.get(&format!("{path}&integration_id=int_0000000000000000000001"), app.admin_key()).await;
    assert_eq!(foreign.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"], "integration_id");
}

async fn the_consent_endpoints_check_permission_then_the_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("Consent checks").await;
    let (_, reader) = app.key(&project, &["read"]).await;
    let unknown = "/api/v1/oauth/authorization?client_id=int_0000000000000000000001";
    let denied = app.get(unknown, &reader).await;
    assert_eq!(denied.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS")["permission"], "admin");
    for path in [unknown, "/api/v1/oauth/authorization", "/api/v1/oauth/authorization?client_id="] {
        let missing = app.get(path, app.admin_key()).await;
        assert_eq!(missing.error(StatusCode::NOT_FOUND, "NOT_FOUND")["resource"], "integration", "{path}");
    }
    let (client_id, _) = connect(&app, &project).await;
    let bad = app.get(&format!("/api/v1/oauth/authorization?client_id={client_id}"), app.admin_key()).await;
    let details = bad.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR");
    assert_eq!(details["field"], "authorization_request");
    assert_eq!(details["reason"], "invalid_request: response_type is required", "{details}");
}

both!(
    the_consent_endpoints_check_permission_then_the_client,
    authlib_runs_every_flow_and_refusal,
    the_mcp_sdk_registers_connects_and_calls_a_tool,
    usage_counts_an_integrations_requests_under_it
);

mod a_disconnect_reaches_another_instance_within_a_second {
    #[tokio::test]
    async fn postgres() {
        super::a_disconnect_reaches_another_instance_within_a_second(crate::helpers::Backend::Postgres).await;
    }
}
