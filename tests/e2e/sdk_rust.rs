//! The Rust SDK (`tengineai`) against the real server: the reference's examples,
//! typed errors, pagination streams, and webhook verification of a real delivery.

#![allow(clippy::unwrap_used)] // test helpers; a failure is the test failing

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::HeaderMap;
use futures::StreamExt;
use reqwest::StatusCode;
use tengineai::models::{
    CreateApiKey, CreateProject, CreateTool, CreateWebhook, Cursor, OverviewQuery, UpdateProject, UpdateTool,
};
use tengineai::TengineAI;

use crate::helpers::{eventually, Backend, Options, TestApp};

type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A receiver on loopback that records every delivery and answers 200.
async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let g = g.clone();
            async move {
                g.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

async fn app() -> TestApp {
    let env = vec![("TENGINE_WEBHOOK_ALLOW_PRIVATE".to_owned(), "true".to_owned())];
    TestApp::spawn_with(Backend::Sqlite, Options { env, ..Options::default() }).await
}

fn client(app: &TestApp, key: &str) -> TengineAI {
    TengineAI::new(key).unwrap().with_base_url(app.base_url()).unwrap()
}

#[tokio::test]
async fn the_reference_quick_start_runs_as_written_in_rust() {
    let app = app().await;
    let client = client(&app, app.admin_key());
    let (url, got) = receiver().await;

    // 1. Create project
    let project = client
        .projects()
        .create(&CreateProject { name: "My App".into(), description: Some("A sample application".into()) })
        .await
        .unwrap();
    // 2. Generate API key
    let api_key = client
        .api_keys()
        .create(
            &project.id,
            &CreateApiKey {
                name: "Production Key".into(),
                permissions: vec!["read".into(), "write".into()],
                expires_at: None,
            },
        )
        .await
        .unwrap();
    // 3. Set up webhook
    let webhook = client
        .webhooks()
        .create(&project.id, &CreateWebhook { url, events: vec!["api_key.created".into()], ..CreateWebhook::default() })
        .await
        .unwrap();

    assert_eq!(project.name, "My App");
    assert_eq!(api_key.permissions, ["read", "write"]);
    let secret = api_key.key.clone().expect("the secret is shown at creation");
    let scoped = client.projects().retrieve(&project.id).await.unwrap();
    assert_eq!(scoped, project);
    let own = TengineAI::new(secret).unwrap().with_base_url(app.base_url()).unwrap();
    assert_eq!(own.projects().list(None, None).await.unwrap().pagination.total, 1);

    // A key created after the webhook is delivered, and verifies with its secret.
    client
        .api_keys()
        .create(
            &project.id,
            &CreateApiKey { name: "second".into(), permissions: vec!["read".into()], expires_at: None },
        )
        .await
        .unwrap();
    assert!(eventually(std::time::Duration::from_secs(10), || async { !got.lock().unwrap().is_empty() }).await);
    let (headers, body) = got.lock().unwrap()[0].clone();
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let wh_secret = webhook.secret.expect("the secret is shown at creation");
    let event = tengineai::webhooks::verify(&body, header, &wh_secret, 300).unwrap();
    assert_eq!(event.kind, "api_key.created");
    let mut tampered = body.to_vec();
    tampered[5] ^= 1;
    assert!(tengineai::webhooks::verify(&tampered, header, &wh_secret, 300).is_err());
    assert!(tengineai::webhooks::verify(&body, header, "whsec_c2VjcmV0LXdyb25nLWtleS0xMjM0NTY3OA==", 300).is_err());
    // Only the reference header: still verifies (no timestamp to check).
    let only_tengine = |n: &str| if n == "x-tengine-signature" { header(n) } else { None };
    assert!(tengineai::webhooks::verify(&body, only_tengine, &wh_secret, 300).is_ok());
    // A stale timestamp is refused even with a correct signature.
    assert!(tengineai::webhooks::verify(&body, header, &wh_secret, -1).is_err());
}

#[tokio::test]
async fn errors_are_typed_and_carry_the_request_id() {
    let app = app().await;
    let bad = client(&app, "tng_not_a_key");
    let err = bad.projects().list(None, None).await.unwrap_err();
    let api = err.api().unwrap();
    assert!(api.is_authentication());
    assert_eq!(api.code, "INVALID_API_KEY");
    assert!(api.request_id.as_deref().is_some_and(|r| !r.is_empty()));

    let admin = client(&app, app.admin_key());
    let err = admin.projects().retrieve("proj_nope").await.unwrap_err();
    assert!(err.api().unwrap().is_not_found());
    let err = admin.projects().create(&CreateProject { name: "  ".into(), description: None }).await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!((api.status, api.is_validation()), (StatusCode::UNPROCESSABLE_ENTITY.as_u16(), true));
    assert_eq!(api.details["field"], "name");
    let project = admin.projects().create(&CreateProject { name: "p".into(), description: None }).await.unwrap();
    let (_, reader) = app.key(&project.id, &["read"]).await;
    let err = client(&app, &reader)
        .projects()
        .update(&project.id, &UpdateProject { name: Some("x".into()), description: None })
        .await
        .unwrap_err();
    assert!(err.api().unwrap().is_permission());
}

#[tokio::test]
async fn tools_are_managed_from_rust_and_the_secret_never_comes_back() {
    let app = app().await;
    let client = client(&app, app.admin_key());
    let project = client.projects().create(&CreateProject { name: "p".into(), description: None }).await.unwrap();
    let new = CreateTool {
        name: "crm-contacts-get_by_id".into(),
        description: "Looks up a contact.".into(),
        input_schema: serde_json::json!({"type": "object", "properties": {"id": {"type": "string"}}}),
        base_url: "https://api.example.com".into(),
        http_method: "POST".into(),
        endpoint_path: "/contacts/{id}".into(),
        body_template: Some(serde_json::json!({"id": "{id}"})),
        auth_strategy: Some("static_bearer".into()),
        encrypted_auth_secret: Some("sdk-tool-secret-123".into()),
        ..CreateTool::default()
    };
    let tool = client.tools().create(&project.id, &new).await.unwrap();
    assert!(tool.has_auth_secret && tool.enabled);
    assert_eq!(client.tools().retrieve(&project.id, &tool.id).await.unwrap(), tool);
    let clear = UpdateTool { body_template: Some(None), http_method: Some("GET".into()), ..UpdateTool::default() };
    let updated = client.tools().update(&project.id, &tool.id, &clear).await.unwrap();
    assert_eq!((updated.body_template, updated.http_method.as_str()), (None, "GET"));
    let page = client.tools().list(&project.id, None, Some(10)).await.unwrap();
    assert_eq!(page.data.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), [tool.id.as_str()]);
    // Tried once: api.example.com does not answer here, so it is a tool error; the
    // request is shown without the secret.
    let tried = client.tools().test(&project.id, &tool.id, serde_json::json!({"id": "c-1"})).await.unwrap();
    assert!(tried.is_error && tried.call_id.starts_with("call_"));
    assert_eq!(tried.request.url, "https://api.example.com/contacts/c-1");
    let auth = tried.request.headers.iter().find(|h| h.name == "Authorization").map(|h| h.value.as_str());
    assert_eq!(auth, Some("Bearer ********"));
    // The account overview sees the project's requests' totals and the admin's webhooks.
    let overview =
        client.analytics().overview(&OverviewQuery { limit: Some(3), ..OverviewQuery::default() }).await.unwrap();
    assert!(overview.projects.len() <= 3 && overview.failing_webhooks.is_some_and(|w| w.is_empty()));
    let err = client.tools().create(&project.id, &new).await.unwrap_err();
    assert_eq!(err.api().unwrap().details["field"], "name");
    client.tools().delete(&project.id, &tool.id).await.unwrap();
    assert!(client.tools().retrieve(&project.id, &tool.id).await.unwrap_err().api().unwrap().is_not_found());
}

#[tokio::test]
async fn integrations_are_managed_from_rust_and_the_secret_is_shown_once() {
    use tengineai::models::{CreateIntegration, SetClientRegistrationRequest, UpdateIntegration};
    let app = app().await;
    let client = client(&app, app.admin_key());
    let project = client.projects().create(&CreateProject { name: "p".into(), description: None }).await.unwrap();
    let new = CreateIntegration {
        name: "Agent".into(),
        redirect_uris: vec!["http://127.0.0.1/callback".into()],
        permissions: vec!["read".into(), "write".into()],
        client_type: Some("confidential".into()),
    };
    let created = client.integrations().create(&project.id, &new).await.unwrap();
    let secret = created.client_secret.clone().unwrap();
    assert!(secret.starts_with("tng_ocs_") && created.client_id == created.id);
    let shown = client.integrations().retrieve(&project.id, &created.id).await.unwrap();
    assert!(shown.client_secret.is_none(), "the secret is shown once");
    let narrowed = UpdateIntegration { permissions: Some(vec!["read".into()]), ..UpdateIntegration::default() };
    let updated = client.integrations().update(&project.id, &created.id, &narrowed).await.unwrap();
    assert_eq!(updated.permissions, ["read"]);
    let rotated = client.integrations().rotate_secret(&project.id, &created.id).await.unwrap();
    assert!(rotated.client_secret.is_some_and(|s| s != secret));
    let listed = client.integrations().list(&project.id, None, None).await.unwrap();
    assert_eq!(listed.data.len(), 1);
    assert!(client.integrations().connections(&project.id, &created.id, None, None).await.unwrap().data.is_empty());
    assert!(!client.integrations().registration(&project.id).await.unwrap().enabled, "off by default");
    let on = SetClientRegistrationRequest { enabled: true, permissions: Some(vec!["read".into()]) };
    let policy = client.integrations().set_registration(&project.id, &on).await.unwrap();
    assert!(policy.enabled && policy.permissions == ["read"]);
    let bad = CreateIntegration { redirect_uris: vec!["http://evil.example/cb".into()], ..new };
    let err = client.integrations().create(&project.id, &bad).await.unwrap_err();
    assert_eq!(err.api().unwrap().details["field"], "redirect_uris[0]");
    client.integrations().delete(&project.id, &created.id).await.unwrap();
    // Recovering a webhook's failed deliveries says how many it re-sent.
    let hook = CreateWebhook {
        url: "http://127.0.0.1:9/hook".into(),
        events: vec!["project.updated".into()],
        ..CreateWebhook::default()
    };
    let hook = client.webhooks().create(&project.id, &hook).await.unwrap();
    let since = chrono::Utc::now() - chrono::Duration::days(1);
    let recovered = client.webhooks().recover(&project.id, &hook.id, since, None).await.unwrap();
    assert_eq!((recovered.recovered, recovered.has_more), (0, false));
    let gone = client.integrations().retrieve(&project.id, &created.id).await.unwrap_err();
    assert!(gone.api().unwrap().is_not_found());
}

#[tokio::test]
async fn member_sessions_signing_keys_and_the_call_log_from_rust() {
    let app = app().await;
    let client = client(&app, app.admin_key());
    let me = client.me().await.unwrap();
    assert_eq!((me.scope.as_str(), me.permissions.contains(&"admin".to_owned())), ("account", true));
    let project = client.projects().create(&CreateProject { name: "m".into(), description: None }).await.unwrap();
    let body = tengineai::models::CreateSigningKeyRequest {
        kid: "backend-1".into(),
        alg: "ES256".into(),
        public_key_pem: Some(crate::mcp::ES256_PUBLIC.into()),
        jwk: None,
    };
    let key = client.signing_keys().create(&project.id, &body).await.unwrap();
    assert_eq!((key.kid.as_str(), key.alg.as_str()), ("backend-1", "ES256"));
    assert_eq!(client.signing_keys().list(&project.id, None, None).await.unwrap().data.len(), 1);
    // A real assertion, for this server, opens a member session.
    let assertion = crate::mcp::assertion(&app, "backend-1", false, serde_json::json!({}));
    let token = client.mcp().session_token(&assertion, Some(&project.id)).await.unwrap();
    assert!(token.token.starts_with("tng_mst_") && token.expires_in == 900);
    let replayed = client.mcp().session_token(&assertion, Some(&project.id)).await.unwrap_err();
    assert_eq!(replayed.api().unwrap().details["field"], "member_assertion");
    let calls = client.tool_calls().list(&project.id, &tengineai::ToolCallFilter::default(), None, None).await.unwrap();
    assert!(calls.data.is_empty());
    client.signing_keys().delete(&project.id, &key.id).await.unwrap();
}

#[tokio::test]
async fn list_all_walks_every_page() {
    let app = app().await;
    let client = client(&app, app.admin_key());
    for i in 0..130 {
        client.projects().create(&CreateProject { name: format!("p{i}"), description: None }).await.unwrap();
    }
    let all: Vec<_> = client.projects().list_all().collect().await;
    assert_eq!(all.len(), 130);
    assert!(all.iter().all(Result::is_ok));
    let ids: Vec<String> = all.iter().map(|p| p.as_ref().unwrap().id.clone()).collect();
    let numbered = client.projects().list(Some(3), Some(10)).await.unwrap();
    let by_cursor = client.projects().list_from(Cursor::After(&ids[19]), Some(10)).await.unwrap();
    assert_eq!(by_cursor.data.iter().map(|p| &p.id).collect::<Vec<_>>(), ids[20..30].iter().collect::<Vec<_>>());
    assert_eq!(numbered.data.iter().map(|p| &p.id).collect::<Vec<_>>(), ids[20..30].iter().collect::<Vec<_>>());
    assert_eq!((by_cursor.pagination.page, by_cursor.pagination.total, by_cursor.has_next()), (None, 130, true));
    let newer = client.projects().list_from(Cursor::Before(&ids[2]), Some(10)).await.unwrap();
    assert_eq!(newer.data.iter().map(|p| &p.id).collect::<Vec<_>>(), ids[..2].iter().collect::<Vec<_>>());
    assert!(!newer.has_next(), "nothing is newer than the newest project");
    let update = UpdateProject { name: None, description: Some(None) };
    let first = all[0].as_ref().unwrap();
    assert_eq!(client.projects().update(&first.id, &update).await.unwrap().description, None);
}

/// A fake API on loopback that answers 503 with `Retry-After: 0` twice, then 201, and
/// records each request's `Idempotency-Key`.
async fn flaky_api() -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/api/v1/projects",
        axum::routing::post(move |headers: HeaderMap| {
            let s = s.clone();
            async move {
                let mut seen = s.lock().unwrap();
                seen.push(headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned));
                if seen.len() <= 2 {
                    let body = r#"{"error":{"code":"SERVICE_UNAVAILABLE","message":"down","details":{},"request_id":"r"}}"#;
                    return (axum::http::StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "0")], body.to_owned());
                }
                let body = r#"{"id":"proj_0000000000000000000001","name":"n","description":null,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}"#;
                (axum::http::StatusCode::CREATED, [("retry-after", "0")], body.to_owned())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[tokio::test]
async fn posts_are_retried_on_503_with_one_idempotency_key() {
    let (url, seen) = flaky_api().await;
    let client = TengineAI::new("tng_x")
        .unwrap()
        .with_base_url(&url)
        .unwrap()
        .with_retries(3, std::time::Duration::from_millis(10));
    let project = client.projects().create(&CreateProject { name: "n".into(), description: None }).await.unwrap();
    assert_eq!(project.name, "n");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "two 503s, then success");
    assert!(seen[0].is_some(), "POSTs carry an Idempotency-Key");
    assert!(seen.iter().all(|k| *k == seen[0]), "the same key on every retry: {seen:?}");

    let (url, _) = flaky_api().await;
    let impatient = TengineAI::new("tng_x")
        .unwrap()
        .with_base_url(&url)
        .unwrap()
        .with_retries(1, std::time::Duration::from_millis(10));
    let err = impatient.projects().create(&CreateProject { name: "n".into(), description: None }).await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!((api.status, api.code.as_str(), api.retry_after), (503, "SERVICE_UNAVAILABLE", Some(0)));
}
