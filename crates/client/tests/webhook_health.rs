//! `client.webhooks().health(...)` against a scripted HTTP server on loopback: the route,
//! the key, a switched-off webhook's health read back, and a 403 kept as the API's error.

use serde_json::json;
use tengineai::models::{Delivery, WebhookDisabled};
use tengineai::TengineAI;

mod common;
use common::answer_once;

#[tokio::test]
async fn a_webhooks_health_is_read_from_its_route() {
    let body = json!({
        "webhook_id": "wh_2cqkZQ4dE6fG8hJ0kL2mN4",
        "active": false,
        "failing_since": null,
        "disabled": {"reason": "gone", "at": "2030-01-01T12:00:00Z"},
        "since": "2029-12-31T12:00:00Z",
        "attempts": 4,
        "succeeded": 3,
        "failed": 1,
        "success_rate": 0.75,
        "latency_ms_avg": 84,
        "last_delivery": {
            "id": "del_1", "event_id": "evt_1", "event_type": "project.updated", "status": "failed",
            "attempts": [{"attempted_at": "2030-01-01T12:00:00Z", "status_code": 410, "latency_ms": 12,
                          "error": null, "response_excerpt": "gone"}],
            "next_attempt_at": null, "created_at": "2030-01-01T11:59:59Z",
        },
    })
    .to_string();
    let (url, server) = answer_once("200 OK", body).await;
    let client = TengineAI::new("tng_test").expect("client").with_base_url(&url).expect("url");
    let health = client.webhooks().health("proj_1", "wh_2cqkZQ4dE6fG8hJ0kL2mN4").await.expect("health");
    let request = server.await.expect("server").head;

    assert!(
        request.starts_with("GET /api/v1/projects/proj_1/webhooks/wh_2cqkZQ4dE6fG8hJ0kL2mN4/health HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(request.to_ascii_lowercase().contains("authorization: bearer tng_test\r\n"), "{request}");
    assert_eq!(
        (health.webhook_id.as_str(), health.active, health.attempts, health.succeeded, health.failed),
        ("wh_2cqkZQ4dE6fG8hJ0kL2mN4", false, 4, 3, 1)
    );
    assert_eq!((health.success_rate, health.latency_ms_avg, health.failing_since), (Some(0.75), Some(84), None));
    let disabled: WebhookDisabled = serde_json::from_value(health.disabled).expect("a WebhookDisabled");
    assert_eq!((disabled.reason.as_str(), disabled.at.to_rfc3339().as_str()), ("gone", "2030-01-01T12:00:00+00:00"));
    let last: Delivery = serde_json::from_value(health.last_delivery).expect("a Delivery");
    assert_eq!((last.id.as_str(), last.attempts.len(), last.attempts[0].status_code), ("del_1", 1, Some(410)));
}

#[tokio::test]
async fn a_new_webhooks_health_has_nulls_and_a_403_is_a_permission_error() {
    let body = json!({
        "webhook_id": "wh_1", "active": true, "failing_since": null, "disabled": null,
        "since": "2029-12-31T12:00:00Z", "attempts": 0, "succeeded": 0, "failed": 0,
        "success_rate": null, "latency_ms_avg": null, "last_delivery": null,
    })
    .to_string();
    let (url, server) = answer_once("200 OK", body).await;
    let client = TengineAI::new("tng_test").expect("client").with_base_url(&url).expect("url");
    let health = client.webhooks().health("proj_1", "wh_1").await.expect("health");
    server.await.expect("server");
    assert!(health.active && health.attempts == 0);
    assert_eq!((health.success_rate, health.latency_ms_avg), (None, None));
    assert!(health.disabled.is_null() && health.last_delivery.is_null());

    let denied = json!({"error": {"code": "INSUFFICIENT_PERMISSIONS", "message": "needs webhook",
                                  "details": {"permission": "webhook"}, "request_id": "req_1"}})
    .to_string();
    let (url, server) = answer_once("403 Forbidden", denied).await;
    let client = TengineAI::new("tng_test").expect("client").with_base_url(&url).expect("url");
    let err = client.webhooks().health("proj_1", "wh_1").await.expect_err("refused");
    server.await.expect("server");
    let api = err.api().expect("an API error");
    assert!(api.is_permission(), "{api}");
    assert_eq!((api.code.as_str(), api.details["permission"].as_str()), ("INSUFFICIENT_PERMISSIONS", Some("webhook")));
}
