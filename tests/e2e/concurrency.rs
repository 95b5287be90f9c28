//! Many concurrent clients on the single-file SQLite store: every request gets its
//! documented status, nothing is lost, and no created key reaches the logs.

use std::time::Instant;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};

const CLIENTS: usize = 50;
const ITERATIONS: usize = 20;

/// What one client saw: unexpected answers, and the secrets it was given.
#[derive(Default)]
struct Outcome {
    failures: Vec<String>,
    secrets: Vec<String>,
}

async fn call(req: reqwest::RequestBuilder, expected: StatusCode, what: &str, out: &mut Outcome) -> Option<Value> {
    match req.send().await {
        Ok(res) => {
            let status = res.status();
            let has_request_id = res.headers().contains_key("x-request-id");
            let body: Value = res.json().await.unwrap_or(Value::Null);
            if status != expected || !has_request_id {
                out.failures.push(format!("{what}: {status} (request id: {has_request_id}) {body}"));
                return None;
            }
            Some(body)
        }
        Err(e) => {
            out.failures.push(format!("{what}: transport error {e}"));
            None
        }
    }
}

async fn client_loop(client: reqwest::Client, base: String, admin: String, n: usize) -> Outcome {
    let mut out = Outcome::default();
    for i in 0..ITERATIONS {
        let req = client
            .post(format!("{base}/api/v1/projects"))
            .bearer_auth(&admin)
            .json(&json!({"name": format!("c{n} i{i}")}));
        let Some(project) = call(req, StatusCode::CREATED, "create project", &mut out).await else {
            continue;
        };
        let id = project["id"].as_str().unwrap_or_default().to_owned();
        let req = client
            .post(format!("{base}/api/v1/projects/{id}/api-keys"))
            .bearer_auth(&admin)
            .json(&json!({"name": "load", "permissions": ["read"]}));
        let Some(key) = call(req, StatusCode::CREATED, "create key", &mut out).await else {
            continue;
        };
        let secret = key["key"].as_str().unwrap_or_default().to_owned();
        let req = client.get(format!("{base}/api/v1/projects/{id}")).bearer_auth(&secret);
        if let Some(got) = call(req, StatusCode::OK, "get project with its key", &mut out).await {
            if got["id"] != id.as_str() {
                out.failures.push(format!("got the wrong project: {got}"));
            }
        }
        out.secrets.push(secret);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_clients_lose_nothing_and_leak_no_keys() {
    let mut app = TestApp::spawn(Backend::Sqlite).await;
    let earlier = app.project("made before the load").await;
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|n| tokio::spawn(client_loop(app.client(), app.base_url().to_owned(), app.admin_key().to_owned(), n)))
        .collect();
    let mut failures = Vec::new();
    let mut secrets = Vec::new();
    for task in futures::future::join_all(tasks).await {
        let outcome = task.expect("a client task panicked");
        failures.extend(outcome.failures);
        secrets.extend(outcome.secrets);
    }
    let elapsed = started.elapsed();
    assert!(
        failures.is_empty(),
        "{} of {} requests went wrong in {elapsed:?}; first few: {:#?}",
        failures.len(),
        CLIENTS * ITERATIONS * 3,
        &failures[..failures.len().min(10)]
    );
    assert_eq!(secrets.len(), CLIENTS * ITERATIONS);

    let total = app.get("/api/v1/projects?per_page=1", app.admin_key()).await;
    total.expect(StatusCode::OK);
    assert_eq!(total.body["pagination"]["total"], CLIENTS * ITERATIONS + 1, "no project was lost");
    app.get(&format!("/api/v1/projects/{earlier}"), app.admin_key()).await.expect(StatusCode::OK);

    assert!(app.stop().await.success(), "the server stops cleanly after the load");
    let logs = app.logs();
    let leaked = secrets.iter().filter(|s| logs.contains(s.as_str())).count();
    assert_eq!(leaked, 0, "{leaked} full keys appear in the server's output");
}
