//! The authorization matrix: every API route × every kind of key × {a fresh request, an
//! idempotent replay of the same request first made by the account admin}. The expected
//! status of each cell is computed from the one table below ([`ROUTES`] and
//! [`expected`]); a replay must never succeed where the fresh request fails.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{in_seconds, Backend, Options, TestApp};

both!(every_route_answers_every_kind_of_key_as_the_table_says_fresh_or_replayed);

/// The kinds of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    AccountAdmin,
    ProjectAdmin,
    ProjectWrite,
    ProjectRead,
    ProjectWebhook,
    OtherProjectAdmin,
    /// A project admin that expires in an hour.
    ExpiringAdmin,
    Revoked,
}

const CALLERS: [Caller; 8] = [
    Caller::AccountAdmin,
    Caller::ProjectAdmin,
    Caller::ProjectWrite,
    Caller::ProjectRead,
    Caller::ProjectWebhook,
    Caller::OtherProjectAdmin,
    Caller::ExpiringAdmin,
    Caller::Revoked,
];

/// What a route needs beyond its permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Only the permission and the project scope.
    Plain,
    /// Needs an account-wide key (`POST /projects`).
    AccountWide,
    /// Lists what the key sees: any valid key with `read` gets 200.
    ListProjects,
    /// Yields or strengthens a credential that outlives an expiring caller.
    Outlives,
    /// Makes a key that inherits the caller's expiry: an expiring caller's replay of a
    /// permanent key's creation is another request (`IDEMPOTENCY_KEY_REUSED`).
    InheritsExpiry,
    /// Any valid key, whatever it holds (`GET /me`, signing in to the console).
    AnyKey,
    /// Opens a session acting as the caller's key: another key's replay is another
    /// request (`IDEMPOTENCY_KEY_REUSED`), never the admin's token or code.
    BoundToKey,
    /// Takes no key at all (the portal's code exchange): the same answer for everyone.
    Public,
    /// Both [`Rule::BoundToKey`] and [`Rule::Outlives`]: approving an OAuth connection.
    ConsentByKey,
}

/// One route: method, path (P = the project, K = a read-only key that never expires,
/// W = a webhook, D = one of its deliveries, T = a tool), body, permission, rule and
/// success status. `{{unique}}` in a body is the same for a request and its replay and
/// differs otherwise, so names that must be unique stay unique.
struct Route {
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    permission: &'static str,
    rule: Rule,
    ok: u16,
}

const fn route(
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    permission: &'static str,
    rule: Rule,
    ok: u16,
) -> Route {
    Route { method, path, body, permission, rule, ok }
}

/// Every API route, destructive ones last (they run in order, in one world per caller).
const ROUTES: &[Route] = &[
    route("GET", "/me", None, "any", Rule::AnyKey, 200),
    route("GET", "/event-types", None, "any", Rule::AnyKey, 200),
    route("POST", "/console/sessions", Some("{}"), "any", Rule::BoundToKey, 201),
    // An API key is no console session.
    route("DELETE", "/console/sessions/current", None, "any", Rule::AnyKey, 404),
    route("POST", "/portal/exchange", Some(r#"{"code":"psc_never-issued"}"#), "any", Rule::Public, 401),
    route("GET", "/projects/P/portal-sessions", None, "admin", Rule::Plain, 200),
    route("POST", "/projects/P/portal-sessions", Some(r#"{"permissions":["read"]}"#), "admin", Rule::BoundToKey, 201),
    route("GET", "/projects", None, "read", Rule::ListProjects, 200),
    route("GET", "/analytics", None, "read", Rule::ListProjects, 200),
    route("POST", "/projects", Some(r#"{"name":"made"}"#), "write", Rule::AccountWide, 201),
    route("GET", "/projects/P", None, "read", Rule::Plain, 200),
    route("PATCH", "/projects/P", Some(r#"{"description":"changed"}"#), "write", Rule::Plain, 200),
    route("GET", "/projects/P/api-keys", None, "read", Rule::Plain, 200),
    route(
        "POST",
        "/projects/P/api-keys",
        Some(r#"{"name":"made","permissions":["read"]}"#),
        "admin",
        Rule::InheritsExpiry,
        201,
    ),
    route("GET", "/projects/P/api-keys/K", None, "read", Rule::Plain, 200),
    route("PATCH", "/projects/P/api-keys/K", Some(r#"{"permissions":["read","write"]}"#), "admin", Rule::Outlives, 200),
    route("POST", "/projects/P/api-keys/K/rotate", Some("{}"), "admin", Rule::Outlives, 200),
    route("GET", "/projects/P/analytics", None, "read", Rule::Plain, 200),
    route("GET", "/projects/P/events", None, "read", Rule::Plain, 200),
    route("GET", "/projects/P/events/stream", None, "read", Rule::Plain, 200),
    route("GET", "/projects/P/webhooks", None, "webhook", Rule::Plain, 200),
    route("GET", "/projects/P/webhooks/W/health", None, "webhook", Rule::Plain, 200),
    route(
        "POST",
        "/projects/P/webhooks",
        Some(r#"{"url":"http://127.0.0.1:9/made","events":["project.updated"]}"#),
        "webhook",
        Rule::Plain,
        201,
    ),
    route("GET", "/projects/P/webhooks/W", None, "webhook", Rule::Plain, 200),
    route("PATCH", "/projects/P/webhooks/W", Some(r#"{"description":"changed"}"#), "webhook", Rule::Plain, 200),
    route("POST", "/projects/P/webhooks/W/rotate-secret", Some("{}"), "webhook", Rule::Plain, 200),
    route("POST", "/projects/P/webhooks/W/test", None, "webhook", Rule::Plain, 202),
    route(
        "POST",
        "/projects/P/webhooks/W/recover",
        Some(r#"{"since":"2020-01-01T00:00:00Z"}"#),
        "webhook",
        Rule::Plain,
        202,
    ),
    route("GET", "/projects/P/webhooks/W/deliveries", None, "webhook", Rule::Plain, 200),
    route("POST", "/projects/P/webhooks/W/deliveries/D/redeliver", None, "webhook", Rule::Plain, 202),
    route("GET", "/projects/P/tools", None, "read", Rule::Plain, 200),
    route(
        "POST",
        "/projects/P/tools",
        Some(
            r#"{"name":"made-{{unique}}","description":"d","input_schema":{"type":"object"},"base_url":"https://api.example.com","http_method":"GET","endpoint_path":"/x"}"#,
        ),
        "admin",
        Rule::Plain,
        201,
    ),
    route("GET", "/projects/P/tools/T", None, "read", Rule::Plain, 200),
    route("PATCH", "/projects/P/tools/T", Some(r#"{"description":"changed"}"#), "admin", Rule::Plain, 200),
    route("POST", "/projects/P/tools/T/test", Some(r#"{"arguments":{}}"#), "write", Rule::Plain, 200),
    route("GET", "/projects/P/tool-calls", None, "read", Rule::Plain, 200),
    route("GET", "/projects/P/signing-keys", None, "read", Rule::Plain, 200),
    route(
        "POST",
        "/projects/P/signing-keys",
        Some(
            r#"{"kid":"made-{{unique}}","alg":"EdDSA","jwk":{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}}"#,
        ),
        "admin",
        Rule::Plain,
        201,
    ),
    route("GET", "/projects/P/signing-keys/G", None, "read", Rule::Plain, 200),
    route(
        "POST",
        "/mcp/session-token",
        Some(r#"{"member_assertion":"{{assertion}}"}"#),
        "write",
        Rule::BoundToKey,
        201,
    ),
    route("GET", "/projects/P/integrations", None, "webhook", Rule::Plain, 200),
    route(
        "POST",
        "/projects/P/integrations",
        Some(r#"{"name":"made","redirect_uris":["https://app.example.com/cb"],"permissions":["webhook"]}"#),
        "webhook",
        Rule::Plain,
        201,
    ),
    route("GET", "/projects/P/integrations/I", None, "webhook", Rule::Plain, 200),
    route("PATCH", "/projects/P/integrations/I", Some(r#"{"name":"changed"}"#), "webhook", Rule::Plain, 200),
    route("POST", "/projects/P/integrations/I/rotate-secret", None, "webhook", Rule::Plain, 200),
    route("GET", "/projects/P/integrations/I/connections", None, "webhook", Rule::Plain, 200),
    route("GET", "/projects/P/client-registration", None, "webhook", Rule::Plain, 200),
    route("PUT", "/projects/P/client-registration", Some(r#"{"enabled":false}"#), "admin", Rule::Plain, 200),
    // The consent page's calls, on an authorization request of integration I.
    route("GET", "/oauth/authorization", None, "admin", Rule::Plain, 200),
    // A code is approved by its key: another key's replay is another request; and a
    // connection lives until disconnected, so an expiring key may not approve one.
    route("POST", "/oauth/authorization", Some(r#"{"approve":true}"#), "admin", Rule::ConsentByKey, 200),
    // No call is logged in this world: an allowed caller gets the call's own 404.
    route("GET", "/projects/P/tool-calls/C", None, "read", Rule::Plain, 404),
    route("DELETE", "/projects/P/tools/T", None, "admin", Rule::Plain, 204),
    route("DELETE", "/projects/P/integrations/I/connections/N", None, "webhook", Rule::Plain, 204),
    route("DELETE", "/projects/P/integrations/I", None, "webhook", Rule::Plain, 204),
    route("DELETE", "/projects/P/portal-sessions/S", None, "admin", Rule::Plain, 204),
    route("DELETE", "/projects/P/signing-keys/G", None, "admin", Rule::Plain, 204),
    route("DELETE", "/projects/P/api-keys/K", None, "admin", Rule::Plain, 200),
    route("DELETE", "/projects/P/webhooks/W", None, "webhook", Rule::Plain, 204),
    route("DELETE", "/projects/P", None, "admin", Rule::Plain, 204),
];

/// The expected status of a fresh request: the one rule table.
fn expected(caller: Caller, r: &Route) -> u16 {
    if r.rule == Rule::Public {
        return r.ok;
    }
    let held: &[&str] = match caller {
        Caller::Revoked => return 401,
        Caller::AccountAdmin | Caller::ProjectAdmin | Caller::OtherProjectAdmin | Caller::ExpiringAdmin => {
            &["read", "write", "webhook", "admin"]
        }
        Caller::ProjectWrite => &["write"],
        Caller::ProjectRead => &["read"],
        Caller::ProjectWebhook => &["webhook"],
    };
    if r.rule == Rule::AnyKey || r.rule == Rule::BoundToKey && r.permission == "any" {
        return r.ok;
    }
    if !held.contains(&r.permission) {
        return 403;
    }
    let account_wide = caller == Caller::AccountAdmin;
    match r.rule {
        Rule::AccountWide if !account_wide => 403,
        Rule::ListProjects => 200,
        _ if caller == Caller::OtherProjectAdmin => 404,
        Rule::Outlives | Rule::ConsentByKey if caller == Caller::ExpiringAdmin => 403,
        _ => r.ok,
    }
}

/// The expected status of a replay of the account admin's request.
fn expected_replay(caller: Caller, r: &Route) -> u16 {
    match expected(caller, r) {
        ok if ok < 300 && r.rule == Rule::InheritsExpiry && caller == Caller::ExpiringAdmin => 422,
        ok if ok < 300 && matches!(r.rule, Rule::BoundToKey | Rule::ConsentByKey) && caller != Caller::AccountAdmin => {
            422
        }
        other => other,
    }
}

/// One caller's world: a project, its targets, and the caller's key.
struct World {
    project: String,
    key: String,
    webhook: String,
    delivery: String,
    tool: String,
    portal: String,
    signing_key: String,
    integration: String,
    connection: String,
    caller: String,
}

impl World {
    async fn new(app: &TestApp, caller: Caller) -> Self {
        let project = app.project("matrix").await;
        let (key, _) = app.key(&project, &["read"]).await;
        let base = format!("/api/v1/projects/{project}/webhooks");
        let hook = app
            .post_json(
                &base,
                app.admin_key(),
                &json!({"url": "http://127.0.0.1:9/hook", "events": ["project.updated"]}),
            )
            .await;
        hook.expect(StatusCode::CREATED);
        let webhook = hook.body["id"].as_str().expect("webhook id").to_owned();
        let test = app.post_json(&format!("{base}/{webhook}/test"), app.admin_key(), &json!({})).await;
        test.expect(StatusCode::ACCEPTED);
        let delivery = test.body["delivery_id"].as_str().expect("delivery id").to_owned();
        let tool = app
            .post_json(
                &format!("/api/v1/projects/{project}/tools"),
                app.admin_key(),
                &json!({"name": "matrix", "description": "d", "input_schema": {"type": "object"},
                        "base_url": "https://api.example.com", "http_method": "GET", "endpoint_path": "/x"}),
            )
            .await;
        tool.expect(StatusCode::CREATED);
        let tool = tool.body["id"].as_str().expect("tool id").to_owned();
        let portal = app
            .post_json(
                &format!("/api/v1/projects/{project}/portal-sessions"),
                app.admin_key(),
                &json!({"permissions": ["read"]}),
            )
            .await;
        portal.expect(StatusCode::CREATED);
        let portal = portal.body["id"].as_str().expect("portal session id").to_owned();
        let signing_key = app
            .post_json(
                &format!("/api/v1/projects/{project}/signing-keys"),
                app.admin_key(),
                &json!({"kid": "matrix", "alg": "ES256", "public_key_pem": crate::mcp::ES256_PUBLIC}),
            )
            .await;
        signing_key.expect(StatusCode::CREATED);
        let signing_key = signing_key.body["id"].as_str().expect("signing key id").to_owned();
        let integration = app
            .post_json(
                &format!("/api/v1/projects/{project}/integrations"),
                app.admin_key(),
                &json!({"name": "matrix", "redirect_uris": [crate::oauth::REDIRECT], "permissions": ["webhook"]}),
            )
            .await;
        integration.expect(StatusCode::CREATED);
        let secret = integration.body["client_secret"].as_str().expect("client secret").to_owned();
        let integration = integration.body["id"].as_str().expect("integration id").to_owned();
        crate::oauth::connect_client(app, &integration, Some(&secret)).await;
        let connections = app
            .get(&format!("/api/v1/projects/{project}/integrations/{integration}/connections"), app.admin_key())
            .await;
        let connection = connections.expect(StatusCode::OK).body["data"][0]["id"].as_str().expect("an id").to_owned();
        let caller = match caller {
            Caller::AccountAdmin => app.admin_key().to_owned(),
            Caller::ProjectAdmin => app.key(&project, &["admin"]).await.1,
            Caller::ProjectWrite => app.key(&project, &["write"]).await.1,
            Caller::ProjectRead => app.key(&project, &["read"]).await.1,
            Caller::ProjectWebhook => app.key(&project, &["webhook"]).await.1,
            Caller::OtherProjectAdmin => {
                let other = app.project("other").await;
                app.key(&other, &["admin"]).await.1
            }
            Caller::ExpiringAdmin => {
                let body = json!({"name": "expiring", "permissions": ["admin"], "expires_at": in_seconds(3_600)});
                app.create_key(&project, body, StatusCode::CREATED).await["key"].as_str().expect("key").to_owned()
            }
            Caller::Revoked => {
                let (id, secret) = app.key(&project, &["admin"]).await;
                app.delete(&format!("/api/v1/projects/{project}/api-keys/{id}"), app.admin_key())
                    .await
                    .expect(StatusCode::OK);
                secret
            }
        };
        Self { project, key, webhook, delivery, tool, portal, signing_key, integration, connection, caller }
    }

    fn path(&self, template: &str) -> String {
        let path = template
            .replace("/P", &format!("/{}", self.project))
            .replace("/K", &format!("/{}", self.key))
            .replace("/W", &format!("/{}", self.webhook))
            .replace("/D", &format!("/{}", self.delivery))
            .replace("/T", &format!("/{}", self.tool))
            .replace("/C", "/call_0000000000000000000001")
            .replace("/S", &format!("/{}", self.portal))
            .replace("/G", &format!("/{}", self.signing_key))
            .replace("/I", &format!("/{}", self.integration))
            .replace("/N", &format!("/{}", self.connection));
        if template == "/oauth/authorization" {
            let query = crate::oauth::authorization_query(&self.integration).0;
            return format!("/api/v1{path}?{query}");
        }
        format!("/api/v1{path}")
    }
}

async fn call(
    app: &TestApp,
    key: &str,
    r: &Route,
    path: &str,
    project: &str,
    idempotency: Option<&str>,
) -> crate::helpers::Resp {
    let method = Method::from_bytes(r.method.as_bytes()).expect("a method");
    let mut headers = vec![("authorization", format!("Bearer {key}"))];
    if r.path.starts_with("/mcp/") {
        // An account-wide key names the project; a project key may name only its own.
        headers.push(("x-tengine-project-id", project.to_owned()));
    }
    if r.body.is_some() {
        headers.push(("content-type", "application/json".to_owned()));
    }
    if let Some(k) = idempotency {
        headers.push(("idempotency-key", k.to_owned()));
    }
    let unique = idempotency.map_or_else(|| format!("fresh-{}", uuid::Uuid::new_v4().simple()), str::to_lowercase);
    let body = r.body.map(|b| {
        let b = b.replace("{{unique}}", &unique);
        // A member assertion with the request's own jti, signed once: a replay sends the same bytes.
        let signed = || {
            static SIGNED: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());
            let mut signed = SIGNED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let id = format!("{}{unique}", app.base_url());
            if let Some((_, jwt)) = signed.iter().find(|(u, _)| *u == id) {
                return jwt.clone();
            }
            let jwt = crate::mcp::assertion(app, "matrix", false, json!({"jti": unique}));
            signed.push((id, jwt.clone()));
            jwt
        };
        if b.contains("{{assertion}}") { b.replace("{{assertion}}", &signed()) } else { b }.into_bytes()
    });
    if r.path.ends_with("/events/stream") {
        return open_stream(app, path, &headers).await;
    }
    app.send(method, path, &headers, body).await
}

/// A live stream's answer: its status and headers, and its body unless it streams (a
/// stream that started is dropped; reading it would never end).
async fn open_stream(app: &TestApp, path: &str, headers: &[(&str, String)]) -> crate::helpers::Resp {
    let mut request = app.client().get(format!("{}{path}", app.base_url()));
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.expect("the request is answered");
    let (status, headers) = (response.status(), response.headers().clone());
    let text = if status == StatusCode::OK { String::new() } else { response.text().await.expect("a body") };
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    crate::helpers::Resp { status, headers, body, text }
}

async fn every_route_answers_every_kind_of_key_as_the_table_says_fresh_or_replayed(backend: Backend) {
    let options = Options { env: vec![("TENGINE_WEBHOOK_ALLOW_PRIVATE".into(), "true".into())], ..Options::default() };
    let app = TestApp::spawn_with(backend, options).await;
    // The table covers every route the server documents.
    let doc = app.get("/openapi.json", app.admin_key()).await;
    let documented: BTreeSet<(String, String)> = doc.body["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .filter(|(p, _)| p.starts_with("/api/v1/"))
        .flat_map(|(p, ops)| ops.as_object().into_iter().flatten().map(move |(m, _)| (m.to_uppercase(), p.clone())))
        .map(|(m, p)| {
            let p = [
                "{project_id}",
                "{key_id}",
                "{webhook_id}",
                "{delivery_id}",
                "{tool_id}",
                "{call_id}",
                "{session_id}",
                "{signing_key_id}",
                "{integration_id}",
                "{connection_id}",
            ]
            .iter()
            .zip(["P", "K", "W", "D", "T", "C", "S", "G", "I", "N"])
            .fold(p, |p, (from, to)| p.replace(from, to));
            (m, p.trim_start_matches("/api/v1").to_owned())
        })
        .collect();
    let table: BTreeSet<(String, String)> = ROUTES.iter().map(|r| (r.method.to_owned(), r.path.to_owned())).collect();
    assert_eq!(table, documented, "the matrix must list exactly the documented routes");

    let mut failures = Vec::new();
    for caller in CALLERS {
        let world = World::new(&app, caller).await;
        for (i, r) in ROUTES.iter().enumerate() {
            let path = world.path(r.path);
            let want = expected(caller, r);
            let cell = format!("{caller:?} {} {}", r.method, r.path);
            if r.method == "POST" {
                // The account admin makes the request first; the caller then replays it.
                let idem = format!("matrix-{caller:?}-{i}");
                let first = call(&app, app.admin_key(), r, &path, &world.project, Some(&idem)).await;
                let admin_wants = expected(Caller::AccountAdmin, r);
                if first.status.as_u16() != admin_wants {
                    failures.push(format!("{cell}: the admin's first request got {} {}", first.status, first.text));
                }
                let replay = call(&app, &world.caller, r, &path, &world.project, Some(&idem)).await;
                let want = expected_replay(caller, r);
                let replayed = replay.header("idempotent-replayed") == Some("true");
                let ok = if want < 300 {
                    replay.status.as_u16() == admin_wants && replayed
                } else {
                    replay.status.as_u16() == want && !replayed
                };
                if !ok {
                    failures.push(format!(
                        "{cell} (replay): want {want}, got {} replayed={replayed}: {}",
                        replay.status, replay.text
                    ));
                }
            }
            let fresh = call(&app, &world.caller, r, &path, &world.project, None).await;
            if fresh.status.as_u16() != want {
                failures.push(format!("{cell}: want {want}, got {} {}", fresh.status, fresh.text));
            }
        }
    }
    assert!(failures.is_empty(), "{} cells differ from the table:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn the_table_never_lets_a_narrower_key_do_more() {
    // A sanity check of the table itself: no kind of key succeeds where the account
    // admin fails, and a revoked key never succeeds.
    for r in ROUTES {
        for caller in CALLERS {
            let got = expected(caller, r);
            assert!(expected_replay(caller, r) >= 300 || got < 300, "a replay succeeds where the request fails");
            if got < 300 {
                assert!(expected(Caller::AccountAdmin, r) < 300, "{caller:?} {} {}", r.method, r.path);
            }
        }
        assert_eq!(expected(Caller::Revoked, r), 401);
    }
}
