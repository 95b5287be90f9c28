//! `/metrics`: Prometheus text for operators, labelled by route template, never by a raw
//! path, a key or a secret.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{eventually, Backend, TestApp};

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_never_show_ids_or_secrets() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let project = app.project("metered").await;
    let (_, secret) = app.key(&project, &["read"]).await;
    app.get(&format!("/api/v1/projects/{project}"), &secret).await.expect(StatusCode::OK);
    app.post_json(
        &format!("/api/v1/projects/{project}/webhooks"),
        app.admin_key(),
        &json!({"url": "https://x.example/h", "events": ["*"]}),
    )
    .await
    .expect(StatusCode::CREATED);
    // Gauges are set by the once-a-second flusher.
    let client = app.client();
    let url = format!("{}/metrics", app.base_url());
    let mut text = String::new();
    let ready = eventually(Duration::from_secs(10), || {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let body = client.get(&url).send().await.map(|r| r.text());
            match body {
                Ok(f) => f.await.is_ok_and(|t| t.contains("tengine_webhook_queue_depth")),
                Err(_) => false,
            }
        }
    })
    .await;
    assert!(ready, "the queue-depth gauge appears");
    if let Ok(res) = client.get(&url).send().await {
        text = res.text().await.unwrap_or_default();
    }
    for name in [
        "tengine_http_requests_total",
        "tengine_http_request_duration_seconds",
        "tengine_db_connections_in_use",
        "tengine_usage_buffer_rows",
        "tengine_webhook_queue_depth",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics:\n{text}");
    }
    assert!(text.contains("/projects/{project_id}\""), "requests are labelled by template:\n{text}");
    assert!(!text.contains(&project), "a project id leaked into a label");
    assert!(!text.contains(&secret), "a key leaked into /metrics");
    assert!(!text.contains(app.admin_key()), "the admin key leaked into /metrics");
}
