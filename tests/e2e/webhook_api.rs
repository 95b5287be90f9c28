//! Typed helpers for the webhook routes, shared by the webhook test files.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{Backend, Options, TestApp};

/// How long a delivery may take to arrive. The contract is about a second; the slack is
/// for loaded test machines, not for the server.
pub const ARRIVAL: Duration = Duration::from_secs(10);

/// Options that let the worker send to the tests' loopback receivers.
pub fn allow_private() -> Options {
    Options { env: vec![("TENGINE_WEBHOOK_ALLOW_PRIVATE".to_owned(), "true".to_owned())], ..Options::default() }
}

/// A server whose worker may send to loopback receivers.
pub async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, allow_private()).await
}

/// `/api/v1/projects/{project}/webhooks`.
pub fn hooks_path(project: &str) -> String {
    format!("/api/v1/projects/{project}/webhooks")
}

/// `POST .../webhooks` with the admin key; asserts 201 and returns the webhook (with its secret).
pub async fn create_webhook(app: &TestApp, project: &str, body: Value) -> Value {
    let res = app.post_json(&hooks_path(project), app.admin_key(), &body).await;
    res.expect(StatusCode::CREATED);
    res.body
}

/// A webhook to `url` for `events`; returns `(id, secret)`.
pub async fn webhook(app: &TestApp, project: &str, url: &str, events: &[&str]) -> (String, String) {
    let w = create_webhook(app, project, json!({"url": url, "events": events})).await;
    (w["id"].as_str().expect("webhook id").to_owned(), w["secret"].as_str().expect("webhook secret").to_owned())
}

/// `GET .../webhooks/{wid}`.
pub async fn get_webhook(app: &TestApp, project: &str, wid: &str) -> Value {
    let res = app.get(&format!("{}/{wid}", hooks_path(project)), app.admin_key()).await;
    res.expect(StatusCode::OK);
    res.body
}

/// Every delivery of a webhook (newest first; up to 100).
pub async fn deliveries(app: &TestApp, project: &str, wid: &str) -> Vec<Value> {
    let res = app.get(&format!("{}/{wid}/deliveries?per_page=100", hooks_path(project)), app.admin_key()).await;
    res.expect(StatusCode::OK);
    res.body["data"].as_array().expect("a list of deliveries").clone()
}

/// `POST .../webhooks/{wid}/test`; returns `(event_id, delivery_id)`.
pub async fn send_test(app: &TestApp, project: &str, wid: &str) -> (String, String) {
    let res = app.post_json(&format!("{}/{wid}/test", hooks_path(project)), app.admin_key(), &json!({})).await;
    res.expect(StatusCode::ACCEPTED);
    let id =
        |f: &str| res.body[f].as_str().unwrap_or_else(|| panic!("test answer without {f}: {}", res.text)).to_owned();
    (id("event_id"), id("delivery_id"))
}

/// Polls a webhook's deliveries until `done` holds for them; panics after `timeout`
/// saying what was awaited and showing the last list.
pub async fn await_deliveries<F>(
    app: &TestApp,
    project: &str,
    wid: &str,
    timeout: Duration,
    what: &str,
    mut done: F,
) -> Vec<Value>
where
    F: FnMut(&[Value]) -> bool,
{
    let deadline = Instant::now() + timeout;
    loop {
        let list = deliveries(app, project, wid).await;
        if done(&list) {
            return list;
        }
        assert!(Instant::now() < deadline, "within {timeout:?}: {what}; deliveries: {list:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls one delivery until `done` holds for it.
pub async fn await_delivery<F>(
    app: &TestApp,
    project: &str,
    wid: &str,
    did: &str,
    timeout: Duration,
    what: &str,
    done: F,
) -> Value
where
    F: Fn(&Value) -> bool,
{
    let list =
        await_deliveries(app, project, wid, timeout, what, |list| list.iter().any(|d| d["id"] == did && done(d))).await;
    list.into_iter().find(|d| d["id"] == did).expect("the awaited delivery")
}

/// The attempts of a delivery.
pub fn attempts(delivery: &Value) -> &[Value] {
    delivery["attempts"].as_array().map_or(&[], Vec::as_slice)
}
