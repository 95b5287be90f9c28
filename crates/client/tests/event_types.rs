//! `client.event_types().list()` against a scripted HTTP server on loopback: the route,
//! the key, and each entry's `schema` kept exactly as sent.

use serde_json::json;
use tengineai::TengineAI;

mod common;

#[tokio::test]
async fn event_types_are_listed_with_their_schemas_as_sent() {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["id", "created_at"],
        "additionalProperties": false,
        "properties": {"id": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"}},
    });
    let body = json!({"data": [
        {"type": "project.created", "description": "A project was created.", "scope": "account", "schema": schema},
        {"type": "webhook.test", "description": "A test event.", "scope": "project", "schema": {"type": "object"}},
    ]})
    .to_string();
    let (url, server) = common::answer_once("200 OK", body).await;

    let client = TengineAI::new("tng_test").expect("client").with_base_url(&url).expect("url");
    let catalogue = client.event_types().list().await.expect("listed");
    let request = server.await.expect("server").head;

    assert!(request.starts_with("GET /api/v1/event-types HTTP/1.1\r\n"), "{request}");
    assert!(request.to_ascii_lowercase().contains("authorization: bearer tng_test\r\n"), "{request}");
    let kinds: Vec<_> = catalogue.data.iter().map(|t| (t.kind.as_str(), t.scope.as_str())).collect();
    assert_eq!(kinds, [("project.created", "account"), ("webhook.test", "project")]);
    assert_eq!(catalogue.data[0].schema, schema);
}
