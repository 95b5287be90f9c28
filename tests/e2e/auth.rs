//! Authentication and authorization: every 401 case, the permission matrix and the
//! scope of project keys.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{eventually, ids, in_seconds, random_key, Backend, Resp, TestApp};

both!(
    health_endpoints_answer_without_a_key,
    every_kind_of_bad_key_is_refused_without_echoing_it,
    an_expired_key_is_refused,
    a_revoked_key_is_refused_on_the_next_request,
    each_permission_allows_only_its_operations,
    project_keys_see_only_their_own_project,
    account_wide_keys_need_the_permission_for_each_operation,
);

#[tokio::test]
async fn revocation_reaches_every_instance_within_a_second() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let b = a.spawn_sibling().await;
    let project = a.project("shared").await;
    let (id, secret) = a.key(&project, &["read"]).await;
    let path = format!("/api/v1/projects/{project}");
    // Both instances have verified (and may have cached) the key.
    for _ in 0..3 {
        a.get(&path, &secret).await.expect(StatusCode::OK);
        b.get(&path, &secret).await.expect(StatusCode::OK);
    }
    a.delete(&format!("{path}/api-keys/{id}"), a.admin_key()).await.expect(StatusCode::OK);
    assert_refused(&a.get(&path, &secret).await, &secret);
    let refused = eventually(Duration::from_secs(1), || {
        let (b, path, secret) = (&b, &path, &secret);
        async move { b.get(path, secret).await.status == StatusCode::UNAUTHORIZED }
    })
    .await;
    assert!(refused, "the other instance still accepts the revoked key after a second");
    // And a project deleted on one instance is gone on the other.
    b.delete(&path, b.admin_key()).await.expect(StatusCode::NO_CONTENT);
    a.get(&path, a.admin_key()).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
}

/// Asserts a 401 `INVALID_API_KEY` that does not echo more than 12 characters of `token`.
#[track_caller]
fn assert_refused(res: &Resp, token: &str) {
    let details = res.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
    assert_eq!(details["field"], "authorization", "{}", res.text);
    if token.len() > 12 {
        assert!(!res.text.contains(token), "the refused credential is echoed: {}", res.text);
    }
    if let Some(value) = details.get("value").filter(|v| !v.is_null()) {
        let value = value.as_str().expect("details.value is a string");
        assert!(value.len() <= 12 && token.starts_with(value), "details.value {value:?} echoes more than the prefix");
    }
}

async fn health_endpoints_answer_without_a_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app.get("/healthz", "").await;
    res.expect(StatusCode::OK);
    assert_eq!(res.body, json!({"status": "ok"}));
    let res = app.get("/readyz", "").await;
    res.expect(StatusCode::OK);
    assert_eq!(res.body, json!({"status": "ready"}));
}

async fn every_kind_of_bad_key_is_refused_without_echoing_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("guarded").await;
    let admin = app.admin_key().to_owned();
    let mut typo = admin.clone().into_bytes();
    typo[20] = if typo[20] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).expect("ascii");
    let mut bad_checksum = admin.clone();
    bad_checksum.replace_range(44.., "000000");
    let unknown = random_key();

    let tokens: Vec<(String, String)> = vec![
        ("Basic dXNlcjpwYXNz".into(), "dXNlcjpwYXNz".into()),
        ("Bearer".into(), String::new()),
        ("Bearer    ".into(), String::new()),
        ("Bearer not-a-key".into(), "not-a-key".into()),
        ("Bearer tng_short".into(), "tng_short".into()),
        (format!("Bearer {typo}"), typo.clone()),
        (format!("Bearer {bad_checksum}"), bad_checksum.clone()),
        (format!("Bearer {unknown}"), unknown.clone()),
        (format!("Bearer {admin}x"), format!("{admin}x")),
        (format!("Bearer {}", &admin[..49]), admin[..49].to_owned()),
        (format!("Token {admin}"), admin.clone()),
        (admin.clone(), admin.clone()),
    ];
    for (header, token) in &tokens {
        let res = app.send(Method::GET, "/api/v1/projects", &[("authorization", header.as_str())], None).await;
        assert_refused(&res, token);
    }
    // No header at all, on every kind of route, and before the body is looked at.
    let none: &[(&str, &str)] = &[];
    for (method, path) in [
        (Method::GET, "/api/v1/projects".to_owned()),
        (Method::GET, format!("/api/v1/projects/{project}")),
        (Method::DELETE, format!("/api/v1/projects/{project}")),
        (Method::GET, format!("/api/v1/projects/{project}/api-keys")),
    ] {
        assert_refused(&app.send(method, &path, none, None).await, "");
    }
    let res = app
        .send(
            Method::POST,
            "/api/v1/projects",
            &[("content-type", "application/json")],
            Some(b"{\"name\": \"x\"}".to_vec()),
        )
        .await;
    assert_refused(&res, "");
    let res = app.post_json("/api/v1/projects", &unknown, &json!({"name": "x"})).await;
    assert_refused(&res, &unknown);
    // The key-shaped unknown key may be named by its prefix, never more.
    let res = app.get(&format!("/api/v1/projects/{project}"), &unknown).await;
    assert_refused(&res, &unknown);
    // Nothing was created by the refused requests; the real key still works.
    let list = app.get("/api/v1/projects", &admin).await;
    assert_eq!(list.body["pagination"]["total"], 1);
}

async fn an_expired_key_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("short-lived").await;
    let key = app
        .create_key(
            &project,
            json!({"name": "brief", "permissions": ["read"], "expires_at": in_seconds(2)}),
            StatusCode::CREATED,
        )
        .await;
    let secret = key["key"].as_str().expect("secret");
    let path = format!("/api/v1/projects/{project}");
    app.get(&path, secret).await.expect(StatusCode::OK);
    let expired = eventually(Duration::from_secs(10), || {
        let (app, path) = (&app, &path);
        async move { app.get(path, secret).await.status == StatusCode::UNAUTHORIZED }
    })
    .await;
    assert!(expired, "the key still works well after its expiry");
    assert_refused(&app.get(&path, secret).await, secret);
}

async fn a_revoked_key_is_refused_on_the_next_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("revoked").await;
    let (id, secret) = app.key(&project, &["admin"]).await;
    let path = format!("/api/v1/projects/{project}");
    // Used first, so any verified-key cache holds it.
    for _ in 0..3 {
        app.get(&path, &secret).await.expect(StatusCode::OK);
    }
    // A key may revoke itself; the very next request is refused.
    app.delete(&format!("{path}/api-keys/{id}"), &secret).await.expect(StatusCode::OK);
    assert_refused(&app.get(&path, &secret).await, &secret);
    assert_refused(&app.get("/api/v1/projects", &secret).await, &secret);
    assert_refused(&app.patch_json(&path, &secret, &json!({"name": "x"})).await, &secret);

    let (other_id, other) = app.key(&project, &["read"]).await;
    app.get(&path, &other).await.expect(StatusCode::OK);
    app.delete(&format!("{path}/api-keys/{other_id}"), app.admin_key()).await.expect(StatusCode::OK);
    assert_refused(&app.get(&path, &other).await, &other);
}

async fn each_permission_allows_only_its_operations(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("matrix").await;
    let path = format!("/api/v1/projects/{project}");
    let keys = format!("{path}/api-keys");
    let (victim, _) = app.key(&project, &["read"]).await;
    let victim_path = format!("{keys}/{victim}");
    let new_key = json!({"name": "n", "permissions": ["read"]});
    let forbidden = |res: Resp, permission: &str| {
        let details = res.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS");
        assert_eq!(details["permission"], permission, "{}", res.text);
    };

    let (_, read) = app.key(&project, &["read"]).await;
    app.get(&path, &read).await.expect(StatusCode::OK);
    app.get(&keys, &read).await.expect(StatusCode::OK);
    app.get(&victim_path, &read).await.expect(StatusCode::OK);
    forbidden(app.patch_json(&path, &read, &json!({"name": "x"})).await, "write");
    forbidden(app.post_json(&keys, &read, &new_key).await, "admin");
    forbidden(app.patch_json(&victim_path, &read, &json!({"name": "x"})).await, "admin");
    forbidden(app.post_json(&format!("{victim_path}/rotate"), &read, &json!({})).await, "admin");
    forbidden(app.delete(&victim_path, &read).await, "admin");
    forbidden(app.delete(&path, &read).await, "admin");

    let (_, write) = app.key(&project, &["read", "write"]).await;
    app.patch_json(&path, &write, &json!({"name": "renamed by write"})).await.expect(StatusCode::OK);
    forbidden(app.post_json(&keys, &write, &new_key).await, "admin");
    forbidden(app.delete(&victim_path, &write).await, "admin");
    forbidden(app.delete(&path, &write).await, "admin");

    let (_, admin) = app.key(&project, &["admin"]).await;
    app.get(&path, &admin).await.expect(StatusCode::OK);
    app.patch_json(&path, &admin, &json!({"description": "admin holds write"})).await.expect(StatusCode::OK);
    let made = app
        .create_key_as(
            &admin,
            &project,
            json!({"name": "n", "permissions": ["read", "write", "webhook", "admin"]}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(made["project_id"], project.as_str());
    app.post_json(&format!("{victim_path}/rotate"), &admin, &json!({})).await.expect(StatusCode::OK);
    app.delete(&victim_path, &admin).await.expect(StatusCode::OK);
    // Nothing the forbidden calls tried took effect.
    let got = app.get(&path, &admin).await;
    assert_eq!(got.body["name"], "renamed by write");
    app.delete(&path, &admin).await.expect(StatusCode::NO_CONTENT);
}

async fn project_keys_see_only_their_own_project(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mine = app.project("mine").await;
    let theirs = app.project("theirs").await;
    let (their_key_id, _) = app.key(&theirs, &["read"]).await;
    let (_, admin) = app.key(&mine, &["read", "write", "admin"]).await;

    let list = app.get("/api/v1/projects", &admin).await;
    list.expect(StatusCode::OK);
    assert_eq!(ids(&list.body), vec![mine.clone()]);
    assert_eq!(list.body["pagination"]["total"], 1);

    let other = format!("/api/v1/projects/{theirs}");
    app.get(&other, &admin).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    app.patch_json(&other, &admin, &json!({"name": "hijacked"}))
        .await
        .error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    app.delete(&other, &admin).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    app.get(&format!("{other}/api-keys"), &admin).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    app.get(&format!("{other}/api-keys/{their_key_id}"), &admin)
        .await
        .error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    app.delete(&format!("{other}/api-keys/{their_key_id}"), &admin)
        .await
        .error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    let res = app.post_json(&format!("{other}/api-keys"), &admin, &json!({"name": "n", "permissions": ["read"]})).await;
    res.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    // Another project's key named under my project is simply not found.
    let res = app.get(&format!("/api/v1/projects/{mine}/api-keys/{their_key_id}"), &admin).await;
    assert_eq!(res.error(StatusCode::NOT_FOUND, "NOT_FOUND")["resource"], "api_key");

    // Creating projects needs an account-wide key, whatever the permissions.
    let res = app.post_json("/api/v1/projects", &admin, &json!({"name": "new"})).await;
    let details = res.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS");
    let reason = details["reason"].as_str().unwrap_or_default().to_lowercase();
    assert!(reason.contains("account-wide"), "details.reason should say an account-wide key is required: {}", res.text);

    let untouched = app.get(&other, app.admin_key()).await;
    assert_eq!(untouched.body["name"], "theirs");
    let all = app.get("/api/v1/projects", app.admin_key()).await;
    assert_eq!(all.body["pagination"]["total"], 2);
}

async fn account_wide_keys_need_the_permission_for_each_operation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let account = app.cli_json(&["accounts", "create", "--name", "Matrix Corp", "--plan", "pro"]).await;
    let account_id = account["account_id"].as_str().expect("account_id");
    let cli_key = |perms: &'static str| {
        let app = &app;
        async move {
            let k: Value = app.cli_json(&["keys", "create", "--account", account_id, "--permissions", perms]).await;
            k["key"].as_str().expect("key").to_owned()
        }
    };
    let read = cli_key("read").await;
    let write = cli_key("read,write").await;
    let owner = account["key"].as_str().expect("key");

    let res = app.post_json("/api/v1/projects", &read, &json!({"name": "nope"})).await;
    assert_eq!(res.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS")["permission"], "write");
    let project = app.create_project_as(&write, json!({"name": "by write"}), StatusCode::CREATED).await;
    let path = format!("/api/v1/projects/{}", project["id"].as_str().expect("id"));
    app.get(&path, &read).await.expect(StatusCode::OK);
    let res = app.delete(&path, &write).await;
    assert_eq!(res.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS")["permission"], "admin");
    let res = app.post_json(&format!("{path}/api-keys"), &write, &json!({"name": "n", "permissions": ["read"]})).await;
    assert_eq!(res.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS")["permission"], "admin");
    app.delete(&path, owner).await.expect(StatusCode::NO_CONTENT);
}
