//! `GET /me`, console sign-in sessions and portal sessions, from outside: a session
//! acts as its key (narrowed, for a portal, to one project, some permissions and the
//! sections it shows), ends with its key, and its secrets are shown once.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};

async fn sign_in(app: &TestApp, key: &str) -> String {
    let r = app.post_json("/api/v1/console/sessions", key, &json!({})).await;
    r.expect(StatusCode::CREATED);
    let token = r.body["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("tng_cs_"), "{token}");
    token
}

async fn console_sessions_act_as_their_key_and_end_with_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("console").await;
    let (key_id, key) = app.key(&project, &["read", "write"]).await;

    let me = app.get("/api/v1/me", &key).await;
    me.expect(StatusCode::OK);
    assert_eq!(me.body["key_id"], key_id.as_str());
    assert_eq!(me.body["scope"], "project");
    assert_eq!(me.body["project_id"], project.as_str());
    assert_eq!(me.body["permissions"], json!(["read", "write"]));
    assert_eq!(me.body["session"], Value::Null);
    assert!(me.body["plan"].is_string() && me.body["prefix"].as_str().is_some_and(|p| key.starts_with(p)));

    let token = sign_in(&app, &key).await;
    let me = app.get("/api/v1/me", &token).await;
    me.expect(StatusCode::OK);
    assert_eq!(
        (me.body["key_id"].as_str(), me.body["session"]["kind"].as_str()),
        (Some(key_id.as_str()), Some("console"))
    );
    // The token does what the key does, and no more.
    app.get(&format!("/api/v1/projects/{project}"), &token).await.expect(StatusCode::OK);
    let other = app.project("other").await;
    app.get(&format!("/api/v1/projects/{other}"), &token).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    let keys = app.get(&format!("/api/v1/projects/{project}/api-keys"), &token).await;
    keys.expect(StatusCode::OK);
    let made = app
        .post_json(
            &format!("/api/v1/projects/{project}/api-keys"),
            &token,
            &json!({"name": "x", "permissions": ["read"]}),
        )
        .await;
    made.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS");
    // A session cannot open sessions.
    let again = app.post_json("/api/v1/console/sessions", &token, &json!({})).await;
    let details = again.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS");
    assert_eq!(details["field"], "authorization");

    // Signing out ends that token only.
    let second = sign_in(&app, &key).await;
    let out = app
        .send(Method::DELETE, "/api/v1/console/sessions/current", &[("authorization", format!("Bearer {token}"))], None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    app.get("/api/v1/me", &token).await.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
    app.get("/api/v1/me", &second).await.expect(StatusCode::OK);
    // Revoking the key signs every console session of it out.
    app.delete(&format!("/api/v1/projects/{project}/api-keys/{key_id}"), app.admin_key()).await.expect(StatusCode::OK);
    app.get("/api/v1/me", &second).await.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
    // A made-up token is an invalid key, never a 500.
    app.get("/api/v1/me", "tng_cs_nothing-like-this").await.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
}

async fn open_portal(app: &TestApp, project: &str, body: Value) -> Value {
    let r = app.post_json(&format!("/api/v1/projects/{project}/portal-sessions"), app.admin_key(), &body).await;
    r.expect(StatusCode::CREATED);
    r.body.clone()
}

async fn exchange(app: &TestApp, url: &str) -> crate::helpers::Resp {
    let code = url.split_once("#code=").expect("the code rides in the fragment").1;
    let body = json!({"code": code}).to_string().into_bytes();
    app.send(Method::POST, "/api/v1/portal/exchange", &[("content-type", "application/json")], Some(body)).await
}

async fn portal_sessions_show_one_project_once_per_url_and_stop_when_revoked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("portal").await;
    let other = app.project("other").await;
    let theme = json!({"accent": "#0a6cff", "radius": "6px"});
    let opened = open_portal(
        &app,
        &project,
        json!({"permissions": ["read", "webhook"], "sections": ["usage", "deliveries"], "lifetime_secs": 600,
               "allowed_origins": ["https://app.example.com", "http://localhost:5173"], "theme": theme}),
    )
    .await;
    let id = opened["id"].as_str().expect("id");
    let url = opened["url"].as_str().expect("url");
    assert!(url.starts_with(&format!("{}/portal/{id}#code=psc_", app.base_url())), "{url}");
    assert!(!url.contains('?'), "the code is never in the query");
    assert_eq!((opened["status"].as_str(), opened["opened"].as_bool()), (Some("active"), Some(false)));

    // The page may be framed only by the session's origins.
    let page = app.send::<&str>(Method::GET, &format!("/portal/{id}"), &[], None).await;
    page.expect(StatusCode::OK);
    let csp = page.header("content-security-policy").expect("a CSP");
    assert!(csp.contains("frame-ancestors https://app.example.com http://localhost:5173"), "{csp}");
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");

    let first = exchange(&app, url).await;
    first.expect(StatusCode::OK);
    assert_eq!(first.body["sections"], json!(["deliveries", "usage"]));
    assert_eq!(first.body["theme"], theme);
    let token = first.body["token"].as_str().expect("token").to_owned();
    exchange(&app, url).await.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");

    // Narrowed: this project, these permissions, these sections.
    let me = app.get("/api/v1/me", &token).await;
    assert_eq!((me.body["scope"].as_str(), me.body["project_id"].as_str()), (Some("project"), Some(project.as_str())));
    assert_eq!(me.body["permissions"], json!(["read", "webhook"]));
    assert_eq!(me.body["session"]["sections"], json!(["deliveries", "usage"]));
    app.get(&format!("/api/v1/projects/{project}/analytics"), &token).await.expect(StatusCode::OK);
    app.get(&format!("/api/v1/projects/{other}/analytics"), &token)
        .await
        .error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    for outside in ["api-keys", "webhooks", "events", "tools", "tool-calls"] {
        let r = app.get(&format!("/api/v1/projects/{project}/{outside}"), &token).await;
        let details = r.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS");
        assert_eq!(details["field"], "authorization", "{outside}");
    }
    let rename = app.patch_json(&format!("/api/v1/projects/{project}"), &token, &json!({"name": "taken over"})).await;
    rename.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS");

    // Listed (opened now), then revoked: the token and the page stop at once.
    let list = app.get(&format!("/api/v1/projects/{project}/portal-sessions"), app.admin_key()).await;
    list.expect(StatusCode::OK);
    assert_eq!(list.body["data"][0]["id"], id);
    assert_eq!(list.body["data"][0]["opened"], true);
    assert!(list.body["data"][0].get("url").is_none(), "the URL is shown once");
    app.delete(&format!("/api/v1/projects/{project}/portal-sessions/{id}"), app.admin_key()).await;
    app.get("/api/v1/me", &token).await.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
    let gone = app.send::<&str>(Method::GET, &format!("/portal/{id}"), &[], None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let again = app.delete(&format!("/api/v1/projects/{project}/portal-sessions/{id}"), app.admin_key()).await;
    again.error(StatusCode::NOT_FOUND, "NOT_FOUND");

    // A portal ends with the key that opened it.
    let (admin_id, admin) = app.key(&project, &["admin"]).await;
    let opened = app
        .post_json(&format!("/api/v1/projects/{project}/portal-sessions"), &admin, &json!({"permissions": ["read"]}))
        .await;
    opened.expect(StatusCode::CREATED);
    let token = exchange(&app, opened.body["url"].as_str().expect("url")).await.body["token"]
        .as_str()
        .expect("token")
        .to_owned();
    app.get("/api/v1/me", &token).await.expect(StatusCode::OK);
    app.delete(&format!("/api/v1/projects/{project}/api-keys/{admin_id}"), app.admin_key())
        .await
        .expect(StatusCode::OK);
    app.get("/api/v1/me", &token).await.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");

    // Bad requests name every bad field.
    let bad = app
        .post_json(
            &format!("/api/v1/projects/{project}/portal-sessions"),
            app.admin_key(),
            &json!({"permissions": ["admin"], "sections": ["billing"], "lifetime_secs": 90000,
                    "allowed_origins": ["http://evil.example.com/x"], "theme": {"accent": "red;}"}}),
        )
        .await;
    bad.expect(StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = bad.body["error"]["details"]["errors"]
        .as_array()
        .map(|e| e.iter().filter_map(|x| x["field"].as_str()).collect())
        .unwrap_or_default();
    for f in ["permissions", "sections[0]", "lifetime_secs", "allowed_origins[0]", "theme.accent"] {
        assert!(fields.contains(&f) || bad.body["error"]["details"]["field"] == f, "{f} missing: {}", bad.text);
    }
}

async fn the_console_is_served_with_a_strict_policy_and_immutable_assets(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let page = app.send::<&str>(Method::GET, "/", &[], None).await;
    page.expect(StatusCode::OK);
    assert!(page.header("content-type").is_some_and(|t| t.starts_with("text/html")));
    let csp = page.header("content-security-policy").expect("a CSP");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    // Every script and stylesheet the page names is served, immutable.
    let names: Vec<String> = page
        .text
        .split(['"', '\''])
        .filter(|s| s.starts_with("/assets/") && (s.ends_with(".js") || s.ends_with(".css")))
        .map(str::to_owned)
        .collect();
    for name in &names {
        let a = app.send(Method::GET, name, &[("accept-encoding", "gzip, br")], None).await;
        a.expect(StatusCode::OK);
        assert_eq!(a.header("cache-control"), Some("public, max-age=31536000, immutable"), "{name}");
        assert_eq!(a.header("vary"), Some("Accept-Encoding"));
    }
    let missing = app.send::<&str>(Method::GET, "/assets/nope.js", &[], None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let bogus = app.send::<&str>(Method::GET, "/portal/not-a-session", &[], None).await;
    assert_eq!(bogus.status, StatusCode::NOT_FOUND);
}

async fn portal_urls_use_the_configured_public_url(backend: Backend) {
    let env = vec![("TENGINE_PUBLIC_URL".to_owned(), "https://console.example.com/".to_owned())];
    let app = TestApp::spawn_with(backend, crate::helpers::Options { env, ..Default::default() }).await;
    let project = app.project("public").await;
    let opened = open_portal(&app, &project, json!({"permissions": ["read"]})).await;
    let url = opened["url"].as_str().expect("url");
    assert!(url.starts_with("https://console.example.com/portal/ps_"), "{url}");
}

both!(
    portal_urls_use_the_configured_public_url,
    console_sessions_act_as_their_key_and_end_with_it,
    portal_sessions_show_one_project_once_per_url_and_stop_when_revoked,
    the_console_is_served_with_a_strict_policy_and_immutable_assets,
);
