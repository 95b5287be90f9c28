//! `/metrics`: Prometheus text for operators, labelled by route template, never by a raw
//! path, a key or a secret.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{eventually, Backend, Options, TestApp};

/// The metrics token the tests configure.
const TOKEN: &str = "scrape-0123456789abcdef";

async fn spawn(env: &[(&str, &str)]) -> TestApp {
    let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    TestApp::spawn_with(Backend::Sqlite, Options { env, ..Options::default() }).await
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_never_show_ids_or_secrets() {
    let app = spawn(&[("TENGINE_METRICS_TOKEN", TOKEN)]).await;
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
            let body = client.get(&url).bearer_auth(TOKEN).send().await.map(|r| r.text());
            match body {
                Ok(f) => f.await.is_ok_and(|t| t.contains("tengine_webhook_queue_depth")),
                Err(_) => false,
            }
        }
    })
    .await;
    assert!(ready, "the queue-depth gauge appears");
    if let Ok(res) = client.get(&url).bearer_auth(TOKEN).send().await {
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
    // The in-memory caches say how full they are and their bound.
    for line in [
        "tengine_cache_capacity{cache=\"keys\"} 100000",
        "tengine_cache_entries{cache=\"keys\"}",
        "tengine_cache_capacity{cache=\"tools\"}",
        "tengine_rate_limiter_accounts",
    ] {
        assert!(text.contains(line), "{line} missing from /metrics:\n{text}");
    }
    assert!(!text.contains(&project), "a project id leaked into a label");
    assert!(!text.contains(&secret), "a key leaked into /metrics");
    assert!(!text.contains(app.admin_key()), "the admin key leaked into /metrics");
}

#[tokio::test]
async fn with_a_token_metrics_need_exactly_that_token() {
    let app = spawn(&[("TENGINE_METRICS_TOKEN", TOKEN)]).await;
    app.get("/api/v1/projects", app.admin_key()).await.expect(StatusCode::OK);
    for presented in ["", "Bearer ", "Bearer scrape-0123456789abcde", "Bearer scrape-0123456789abcdefg", "Basic x"] {
        let headers: Vec<(&str, &str)> =
            if presented.is_empty() { Vec::new() } else { vec![("authorization", presented)] };
        let res = app.send(reqwest::Method::GET, "/metrics", &headers, None).await;
        res.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
        assert_eq!(res.header("www-authenticate"), Some("Bearer realm=\"metrics\""), "{presented:?}");
    }
    let res = app.send(reqwest::Method::GET, "/metrics", &[("authorization", format!("bearer {TOKEN}"))], None).await;
    res.expect(StatusCode::OK);
    assert!(res.text.contains("tengine_http_requests_total"), "{}", res.text);
}

#[tokio::test]
async fn without_a_token_or_a_listener_of_its_own_metrics_are_not_served() {
    let app = spawn(&[]).await;
    app.get("/metrics", "").await.error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.get("/metrics", app.admin_key()).await.error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

#[tokio::test]
async fn a_metrics_listener_serves_metrics_and_the_main_listener_does_not() {
    let app = spawn(&[("TENGINE_METRICS_LISTEN", "127.0.0.1:0")]).await;
    let at = app.metrics_addr().expect("the server prints the metrics listener's address");
    app.get("/api/v1/projects", app.admin_key()).await.expect(StatusCode::OK);
    app.get("/metrics", "").await.error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let client = app.client();
    let res = client.get(format!("http://{at}/metrics")).send().await.expect("the metrics listener answers");
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap_or_default();
    assert!(text.contains("tengine_http_requests_total"), "{text}");
    let res = client.get(format!("http://{at}/api/v1/projects")).bearer_auth(app.admin_key()).send().await;
    assert_eq!(res.expect("an answer").status(), StatusCode::NOT_FOUND, "the API is not served there");

    // With a token too, the metrics listener asks for it.
    let app = spawn(&[("TENGINE_METRICS_LISTEN", "127.0.0.1:0"), ("TENGINE_METRICS_TOKEN", TOKEN)]).await;
    let at = app.metrics_addr().expect("the server prints the metrics listener's address");
    let res = client.get(format!("http://{at}/metrics")).send().await.expect("an answer");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = client.get(format!("http://{at}/metrics")).bearer_auth(TOKEN).send().await.expect("an answer");
    assert_eq!(res.status(), StatusCode::OK);
    app.get("/metrics", "").await.error(StatusCode::NOT_FOUND, "NOT_FOUND");
}
