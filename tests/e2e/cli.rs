//! The scriptable CLI (`accounts create`, `keys create`, `keys revoke`) on the server's
//! own database: its JSON output and its effect on the API.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_id, eventually, Backend, TestApp};

both!(
    accounts_create_prints_a_working_key_of_a_separate_tenant,
    keys_create_prints_an_account_wide_key_with_the_given_permissions,
    keys_revoke_revokes_any_key,
    invalid_cli_input_fails_without_printing_json,
);

#[track_caller]
fn assert_key(k: &Value) -> String {
    assert_id(&k["key_id"], "key_");
    let secret = k["key"].as_str().unwrap_or_else(|| panic!("no key in {k}"));
    assert!(secret.len() == 50 && secret.starts_with("tng_"), "{secret}");
    secret.to_owned()
}

async fn accounts_create_prints_a_working_key_of_a_separate_tenant(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let default_project = app.project("default's").await;
    let out = app.cli_json(&["accounts", "create", "--name", "Acme", "--plan", "pro"]).await;
    assert_id(&out["account_id"], "acct_");
    let key = assert_key(&out);

    let list = app.get("/api/v1/projects", &key).await;
    list.expect(StatusCode::OK);
    assert_eq!(list.body["pagination"]["total"], 0, "a new account sees no projects: {}", list.text);
    let res = app.get(&format!("/api/v1/projects/{default_project}"), &key).await;
    res.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    let res = app.delete(&format!("/api/v1/projects/{default_project}"), &key).await;
    res.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");

    // Its key is account-wide with every permission: it creates projects and keys.
    let mine = app.create_project_as(&key, json!({"name": "acme project"}), StatusCode::CREATED).await;
    let mine_id = mine["id"].as_str().expect("id");
    let scoped = app
        .create_key_as(
            &key,
            mine_id,
            json!({"name": "k", "permissions": ["read", "write", "webhook", "admin"]}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(scoped["project_id"], mine_id);
    // And the default account cannot see it either.
    app.get(&format!("/api/v1/projects/{mine_id}"), app.admin_key())
        .await
        .error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    assert_eq!(app.get("/api/v1/projects", app.admin_key()).await.body["pagination"]["total"], 1);

    let enterprise =
        app.cli_json(&["accounts", "create", "--name", "Big Co", "--plan", "enterprise", "--limit", "5000"]).await;
    let big_key = assert_key(&enterprise);
    assert_ne!(enterprise["account_id"], out["account_id"]);
    app.get("/api/v1/projects", &big_key).await.expect(StatusCode::OK);
}

async fn keys_create_prints_an_account_wide_key_with_the_given_permissions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let account = app.cli_json(&["accounts", "create", "--name", "Keys Inc", "--plan", "enterprise"]).await;
    let account_id = account["account_id"].as_str().expect("account_id");
    let out = app.cli_json(&["keys", "create", "--account", account_id, "--permissions", "read,write"]).await;
    assert_eq!(out["account_id"], account_id);
    let key = assert_key(&out);
    assert_ne!(out["key_id"], account["key_id"]);

    let created = app.create_project_as(&key, json!({"name": "made by the CLI key"}), StatusCode::CREATED).await;
    let path = format!("/api/v1/projects/{}", created["id"].as_str().expect("id"));
    let list = app.get("/api/v1/projects", &key).await;
    assert_eq!(list.body["pagination"]["total"], 1);
    let res = app.delete(&path, &key).await;
    assert_eq!(res.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS")["permission"], "admin");
    // The default account's admin cannot see the other tenant's project.
    app.get(&path, app.admin_key()).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
}

async fn keys_revoke_revokes_any_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("revoke via cli").await;
    let (scoped_id, scoped) = app.key(&project, &["read"]).await;
    let account = app.cli_json(&["accounts", "create", "--name", "Gone", "--plan", "pro"]).await;
    let account_key = assert_key(&account);
    let path = format!("/api/v1/projects/{project}");
    app.get(&path, &scoped).await.expect(StatusCode::OK);
    app.get("/api/v1/projects", &account_key).await.expect(StatusCode::OK);

    for (key_id, secret, probe) in [
        (scoped_id.as_str(), scoped.as_str(), path.as_str()),
        (account["key_id"].as_str().expect("key_id"), account_key.as_str(), "/api/v1/projects"),
    ] {
        let out = app.cli_json(&["keys", "revoke", "--key-id", key_id]).await;
        assert_eq!(out["key_id"], key_id, "{out}");
        // Another process revoked it: the server must notice within a second.
        let refused = eventually(Duration::from_millis(1500), || {
            let app = &app;
            async move { app.get(probe, secret).await.status == StatusCode::UNAUTHORIZED }
        })
        .await;
        assert!(refused, "{key_id} still works 1.5 s after `tengine keys revoke`");
        let res = app.get(probe, secret).await;
        assert_eq!(res.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY")["field"], "authorization");
    }
    let shown = app.get(&format!("{path}/api-keys/{scoped_id}"), app.admin_key()).await;
    assert!(shown.body["revoked_at"].is_string(), "the API shows the CLI's revocation: {}", shown.text);
    app.get(&path, app.admin_key()).await.expect(StatusCode::OK);
}

async fn invalid_cli_input_fails_without_printing_json(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let account = app.cli_json(&["accounts", "create", "--name", "Valid", "--plan", "free"]).await;
    let account_id = account["account_id"].as_str().expect("account_id");
    let cases: [&[&str]; 7] = [
        &["accounts", "create", "--name", "Bad Plan", "--plan", "gold"],
        &["accounts", "create", "--name", "", "--plan", "free"],
        &["keys", "create", "--account", "acct_nope", "--permissions", "read"],
        &["keys", "create", "--account", account_id, "--permissions", "read,root"],
        &["keys", "create", "--account", account_id, "--permissions", "read,read"],
        &["keys", "revoke", "--key-id", "nope"],
        &["keys", "revoke", "--key-id", "key_0000000000000000000001"],
    ];
    for args in cases {
        let out = app.cli(args).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "tengine {args:?} should fail; printed {stdout}");
        assert!(
            serde_json::from_str::<Value>(stdout.trim()).map_or(true, |v| !v.is_object()),
            "tengine {args:?} printed JSON: {stdout}"
        );
        assert!(!out.stderr.is_empty(), "tengine {args:?} says nothing about why it failed");
    }
    // Nothing half-made: the valid account still has exactly its one key working.
    let key = assert_key(&account);
    app.get("/api/v1/projects", &key).await.expect(StatusCode::OK);
}
