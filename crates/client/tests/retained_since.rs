//! The event and delivery lists name where their kept history starts
//! (`X-Tengine-Retained-Since`): `Page::retained_since`, against a scripted server.

use serde_json::json;
use tengineai::models::Cursor;
use tengineai::TengineAI;

mod common;

/// Answers each connection with a one-event page, sending `since` as the header when given.
async fn server(answers: Vec<Option<&'static str>>) -> String {
    let (listener, url) = common::listen().await;
    let body = json!({
        "data": [{"id": "evt_1", "type": "webhook.test", "data": {}, "created_at": "2026-01-01T00:00:00Z", "api_version": "2024-01-01"}],
        "pagination": {"per_page": 20, "total": 1, "has_more": false},
    })
    .to_string();
    tokio::spawn(async move {
        for since in answers {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let request = common::read_request(&mut stream).await;
            let body = if request.head.contains("/deliveries") {
                json!({"data": [], "pagination": {"per_page": 20, "total": 0, "has_more": false}}).to_string()
            } else {
                body.clone()
            };
            let extra = since.map(|s| format!("x-tengine-retained-since: {s}\r\n")).unwrap_or_default();
            common::respond(&mut stream, "200 OK", &extra, &body).await;
        }
    });
    url
}

#[tokio::test]
async fn event_and_delivery_pages_carry_the_retention_horizon_when_sent() {
    let url = server(vec![Some("2026-01-01T12:00:00Z"), Some("2026-01-02T00:00:00+02:00"), None, Some("soon")]).await;
    let client = TengineAI::new("tng_test").expect("client").with_base_url(&url).expect("url");

    let page = client.events().list("proj_1", None, None, None).await.expect("listed");
    assert_eq!(page.retained_since.map(|t| t.to_rfc3339()).as_deref(), Some("2026-01-01T12:00:00+00:00"));
    assert_eq!(page.data[0].id, "evt_1");
    let page = client.events().list_from("proj_1", None, Cursor::After("evt_2"), Some(5)).await.expect("listed");
    assert_eq!(page.retained_since.map(|t| t.to_rfc3339()).as_deref(), Some("2026-01-01T22:00:00+00:00"));
    let page = client.webhooks().list_deliveries("proj_1", "wh_1", None, None).await;
    assert!(page.expect("listed").retained_since.is_none(), "no header, no horizon");
    let page =
        client.events().list("proj_1", None, None, None).await.expect("an unreadable header loses only the hint");
    assert!(page.retained_since.is_none());
}
