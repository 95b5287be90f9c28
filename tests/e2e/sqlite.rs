//! The embedded SQLite default: data survives restarts, and the bootstrap banner is
//! printed once, on the first start only.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, Options, TestApp};

both!(the_first_start_prints_the_admin_key_banner_and_a_restart_does_not);

/// Every `tng_` + 46 base62 characters in `text`.
fn keys_in(text: &str) -> Vec<&str> {
    text.match_indices("tng_")
        .filter_map(|(i, _)| text.get(i..i + 50))
        .filter(|k| k.bytes().skip(4).all(|b| b.is_ascii_alphanumeric()))
        .collect()
}

#[tokio::test]
async fn data_survives_a_restart() {
    let mut app = TestApp::spawn(Backend::Sqlite).await;
    let project = app.create_project(json!({"name": "durable", "description": "on disk"}), StatusCode::CREATED).await;
    let id = project["id"].as_str().expect("id").to_owned();
    let (key_id, secret) = app.key(&id, &["read"]).await;
    let path = format!("/api/v1/projects/{id}");
    app.get(&path, &secret).await.expect(StatusCode::OK);
    assert!(
        app.current_stdout().contains(app.admin_key()),
        "the first start prints the preset admin key in its banner"
    );

    let exit = app.restart().await;
    assert!(exit.success(), "SIGTERM stops the server cleanly: {exit}");

    let got = app.get(&path, &secret).await;
    got.expect(StatusCode::OK);
    assert_eq!(got.body, project);
    let keys = app.get(&format!("{path}/api-keys"), app.admin_key()).await;
    keys.expect(StatusCode::OK);
    assert_eq!(keys.body["data"][0]["id"], key_id.as_str());
    assert_eq!(app.get("/api/v1/projects", app.admin_key()).await.body["pagination"]["total"], 1);
    assert!(keys_in(&app.current_stdout()).is_empty(), "a restart prints no key: {}", app.current_stdout());
}

async fn the_first_start_prints_the_admin_key_banner_and_a_restart_does_not(backend: Backend) {
    let mut app = TestApp::spawn_with(backend, Options { no_bootstrap_key: true, ..Options::default() }).await;
    let stdout = app.current_stdout();
    let printed = keys_in(&stdout);
    assert!(!printed.is_empty(), "the first start prints the admin key: {stdout:?}");
    let key = printed[0].to_owned();
    assert!(printed.iter().all(|k| *k == key), "one admin key is printed: {printed:?}");
    let list = app.get("/api/v1/projects", &key).await;
    list.expect(StatusCode::OK);
    let project = app.create_project_as(&key, json!({"name": "by the printed key"}), StatusCode::CREATED).await;
    let project_id = project["id"].as_str().expect("id");
    app.create_key_as(&key, project_id, json!({"name": "k", "permissions": ["admin"]}), StatusCode::CREATED).await;

    assert!(app.restart().await.success());
    let again = app.current_stdout();
    assert!(keys_in(&again).is_empty(), "a restart prints no key: {again:?}");
    app.get(&format!("/api/v1/projects/{project_id}"), &key).await.expect(StatusCode::OK);
    // The key is printed once on stdout and never logged.
    let logs = app.logs();
    assert_eq!(
        logs.matches(key.as_str()).count(),
        stdout.matches(key.as_str()).count(),
        "the admin key appears in a log line"
    );
}
