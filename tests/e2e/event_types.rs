//! The event-type catalogue: every type the server sends, and the schema of its `data`
//! checked against every payload the server wrote while its API was exercised.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};
use crate::usage::{account, events_until, within_one_rate_window};

both!(the_catalogue_lists_every_type_and_describes_every_payload_written);

/// Every type the SPEC and the tools issue name, and where each is sent.
const TYPES: [(&str, &str); 16] = [
    ("project.created", "account"),
    ("project.updated", "project"),
    ("project.deleted", "project"),
    ("api_key.created", "project"),
    ("api_key.updated", "project"),
    ("api_key.revoked", "project"),
    ("integration.connected", "project"),
    ("integration.disconnected", "project"),
    ("integration.updated", "project"),
    ("usage.threshold_reached", "account"),
    ("usage.limit_exceeded", "account"),
    ("webhook.test", "project"),
    ("tool.created", "project"),
    ("tool.updated", "project"),
    ("tool.deleted", "project"),
    ("webhook.disabled", "account"),
];

/// Every stored event as `(type, data)`.
fn stored_events(app: &TestApp) -> Vec<(String, Value)> {
    let rows = app.sql("SELECT type, data FROM events ORDER BY id");
    rows.lines()
        .map(|row| {
            let (kind, data) = row.split_once('|').unwrap_or_else(|| panic!("type|data: {row}"));
            (kind.to_owned(), serde_json::from_str(data).unwrap_or_else(|e| panic!("{kind}: {e}: {data}")))
        })
        .collect()
}

async fn the_catalogue_lists_every_type_and_describes_every_payload_written(backend: Backend) {
    within_one_rate_window().await;
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_key().to_owned();

    let res = app.get("/api/v1/event-types", &admin).await;
    res.expect(StatusCode::OK);
    let listed: Vec<(&str, &str)> = res.body["data"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|t| (t["type"].as_str().expect("type"), t["scope"].as_str().expect("scope")))
        .collect();
    assert_eq!(listed, TYPES.to_vec(), "every type, in a stable order, with where it is sent");
    let mut validators = BTreeMap::new();
    for entry in res.body["data"].as_array().expect("a list") {
        let kind = entry["type"].as_str().expect("type").to_owned();
        assert!(entry["description"].as_str().is_some_and(|d| d.len() > 20), "{kind} says what it means");
        assert!(!entry["schema"].to_string().contains("$ref"), "{kind}'s schema stands alone");
        let validator = jsonschema::validator_for(&entry["schema"]).unwrap_or_else(|e| panic!("{kind}: {e}"));
        validators.insert(kind, validator);
    }
    app.get("/api/v1/event-types", "").await.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
    let odd = app.get("/api/v1/event-types?page=2", &admin).await;
    assert!(odd.status.is_client_error(), "an unknown parameter is refused: {}", odd.text);

    // The OpenAPI document describes the same deliveries.
    let doc = app.get("/openapi.json", "").await;
    let hooks = doc.body["webhooks"].as_object().expect("a webhooks section");
    assert_eq!(hooks.keys().map(String::as_str).collect::<BTreeSet<_>>(), TYPES.iter().map(|(t, _)| *t).collect());

    // Exercise the API so that most types are written, then check each stored payload.
    let project = app.project("catalogued").await;
    let base = format!("/api/v1/projects/{project}");
    app.patch_json(&base, &admin, &json!({"name": "renamed"})).await.expect(StatusCode::OK);
    let (key_id, _) = app.key(&project, &["read"]).await;
    app.patch_json(&format!("{base}/api-keys/{key_id}"), &admin, &json!({"name": "renamed"}))
        .await
        .expect(StatusCode::OK);
    app.delete(&format!("{base}/api-keys/{key_id}"), &admin).await;
    let hook = app
        .post_json(
            &format!("{base}/webhooks"),
            &admin,
            &json!({"url": "https://hooks.example.com/in", "events": ["*"]}),
        )
        .await;
    let wid = hook.expect(StatusCode::CREATED).body["id"].as_str().expect("id").to_owned();
    app.post_json(&format!("{base}/webhooks/{wid}/test"), &admin, &json!({})).await.expect(StatusCode::ACCEPTED);
    let tool = app.post_json(&format!("{base}/tools"), &admin, &crate::tools::definition("lookup")).await;
    let tool_id = tool.expect(StatusCode::CREATED).body["id"].as_str().expect("id").to_owned();
    app.patch_json(&format!("{base}/tools/{tool_id}"), &admin, &json!({"enabled": false})).await.expect(StatusCode::OK);
    app.delete(&format!("{base}/tools/{tool_id}"), &admin).await.expect(StatusCode::NO_CONTENT);
    let integration = app
        .post_json(
            &format!("{base}/integrations"),
            &admin,
            &json!({"name": "Desktop", "redirect_uris": ["http://127.0.0.1/callback"], "permissions": ["read"], "client_type": "public"}),
        )
        .await;
    let int_id = integration.expect(StatusCode::CREATED).body["id"].as_str().expect("id").to_owned();
    app.patch_json(&format!("{base}/integrations/{int_id}"), &admin, &json!({"name": "Laptop"}))
        .await
        .expect(StatusCode::OK);
    let doomed = app.project("deleted").await;
    app.delete(&format!("/api/v1/projects/{doomed}"), &admin).await.expect(StatusCode::NO_CONTENT);
    let (customer, key) = account(&app, "free", &[]).await;
    for _ in 0..80 {
        app.get("/api/v1/projects", &key).await.expect(StatusCode::OK);
    }
    events_until(&app, &customer, |rows| rows.contains("usage.threshold_reached")).await;

    let stored = stored_events(&app);
    for (kind, data) in &stored {
        let validator = validators.get(kind).unwrap_or_else(|| panic!("{kind} is not in the catalogue"));
        let errors: Vec<String> = validator.iter_errors(data).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "a {kind} payload does not match its schema: {errors:?}\n{data:#}");
    }
    let seen: BTreeSet<&str> = stored.iter().map(|(k, _)| k.as_str()).collect();
    let written = [
        "project.created",
        "project.updated",
        "project.deleted",
        "api_key.created",
        "api_key.updated",
        "api_key.revoked",
        "webhook.test",
        "tool.created",
        "tool.updated",
        "tool.deleted",
        "integration.updated",
        "usage.threshold_reached",
    ];
    for kind in written {
        assert!(seen.contains(kind), "no {kind} was written: {seen:?}");
    }
}
