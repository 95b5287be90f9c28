//! A webhook's `rate_limit` and `ordering` through `client.webhooks().create(...)` and
//! `update(...)`, against a scripted HTTP server on loopback: the JSON bodies sent (an
//! explicit `null` for a lifted throttle, nothing for a field left alone) and the fields
//! read back.

use serde_json::{json, Value};
use tengineai::models::{CreateWebhook, UpdateWebhook};
use tengineai::TengineAI;

mod common;

/// Answers one connection with `status` and `body`; resolves to the request it read.
async fn answer_once(status: &'static str, body: Value) -> (String, tokio::task::JoinHandle<common::Request>) {
    common::answer_once(status, body.to_string()).await
}

/// A webhook as the server answers it, with the given throttle and ordering.
fn webhook(rate_limit: Value, ordering: &str) -> Value {
    json!({
        "id": "wh_1", "project_id": "proj_1", "url": "https://example.com/hook", "description": null,
        "events": ["api_key.created"], "active": true, "failing_since": null,
        "created_at": "2030-01-01T12:00:00Z", "updated_at": "2030-01-01T12:00:00Z",
        "rate_limit": rate_limit, "ordering": ordering,
    })
}

fn client(url: &str) -> TengineAI {
    TengineAI::new("tng_test").expect("client").with_base_url(url).expect("url")
}

#[tokio::test]
async fn create_sends_the_rate_limit_and_ordering_and_reads_them_back() {
    let (url, server) = answer_once("201 Created", webhook(json!(5), "per_project")).await;
    let body = CreateWebhook {
        url: "https://example.com/hook".into(),
        events: vec!["api_key.created".into()],
        rate_limit: Some(5),
        ordering: Some("per_project".into()),
        ..CreateWebhook::default()
    };
    let hook = client(&url).webhooks().create("proj_1", &body).await.expect("create");
    let seen = server.await.expect("server");

    assert_eq!(seen.line(), "POST /api/v1/projects/proj_1/webhooks HTTP/1.1");
    assert_eq!(
        seen.json(),
        json!({"url": "https://example.com/hook", "events": ["api_key.created"], "rate_limit": 5, "ordering": "per_project"})
    );
    assert_eq!((hook.rate_limit, hook.ordering.as_str()), (Some(5), "per_project"));
}

#[tokio::test]
async fn create_without_them_sends_neither() {
    let (url, server) = answer_once("201 Created", webhook(Value::Null, "none")).await;
    let body = CreateWebhook {
        url: "https://example.com/hook".into(),
        events: vec!["api_key.created".into()],
        ..CreateWebhook::default()
    };
    let hook = client(&url).webhooks().create("proj_1", &body).await.expect("create");
    let seen = server.await.expect("server");

    assert_eq!(seen.json(), json!({"url": "https://example.com/hook", "events": ["api_key.created"]}));
    assert_eq!((hook.rate_limit, hook.ordering.as_str()), (None, "none"));
}

#[tokio::test]
async fn update_sends_null_to_lift_the_throttle_and_leaves_out_what_stays() {
    let (url, server) = answer_once("200 OK", webhook(Value::Null, "none")).await;
    let lift = UpdateWebhook { rate_limit: Some(None), ordering: Some("none".into()), ..UpdateWebhook::default() };
    let hook = client(&url).webhooks().update("proj_1", "wh_1", &lift).await.expect("update");
    let seen = server.await.expect("server");

    assert_eq!(seen.line(), "PATCH /api/v1/projects/proj_1/webhooks/wh_1 HTTP/1.1");
    assert_eq!(seen.json(), json!({"rate_limit": null, "ordering": "none"}));
    assert_eq!((hook.rate_limit, hook.ordering.as_str()), (None, "none"));

    let (url, server) = answer_once("200 OK", webhook(json!(20), "per_project")).await;
    let change = UpdateWebhook { rate_limit: Some(Some(20)), ..UpdateWebhook::default() };
    let hook = client(&url).webhooks().update("proj_1", "wh_1", &change).await.expect("update");
    assert_eq!(server.await.expect("server").json(), json!({"rate_limit": 20}), "ordering left out stays as it is");
    assert_eq!((hook.rate_limit, hook.ordering.as_str()), (Some(20), "per_project"));

    let (url, server) = answer_once("200 OK", webhook(json!(20), "per_project")).await;
    let describe = UpdateWebhook { description: Some(Some("throttled".into())), ..UpdateWebhook::default() };
    client(&url).webhooks().update("proj_1", "wh_1", &describe).await.expect("update");
    assert_eq!(server.await.expect("server").json(), json!({"description": "throttled"}), "no rate_limit key at all");
}

#[tokio::test]
async fn a_zero_rate_limit_is_the_apis_validation_error_naming_the_field() {
    let refused = json!({"error": {"code": "VALIDATION_ERROR", "message": "rate_limit must be 1 to 10000",
                                   "details": {"field": "rate_limit"}, "request_id": "req_1"}});
    let (url, server) = answer_once("422 Unprocessable Entity", refused).await;
    let zero = UpdateWebhook { rate_limit: Some(Some(0)), ..UpdateWebhook::default() };
    let err = client(&url).webhooks().update("proj_1", "wh_1", &zero).await.expect_err("refused");
    assert_eq!(server.await.expect("server").json(), json!({"rate_limit": 0}));
    let api = err.api().expect("an API error");
    assert_eq!((api.code.as_str(), api.details["field"].as_str()), ("VALIDATION_ERROR", Some("rate_limit")));
}
