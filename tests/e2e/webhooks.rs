//! Webhooks, end to end with real receivers: which events arrive where, the envelope
//! and its headers, signatures checked by independent verifiers (Node's crypto and the
//! official Standard Webhooks library), `test`, `redeliver` and `rotate-secret`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_id, assert_timestamp, Backend};
use crate::receiver::{Received, Receiver};
use crate::verify::{
    node_tengine_matches, python_standard_verifies, python_standard_verifies_bytes, rust_standard_matches,
    rust_tengine_signature, whsec_key,
};
use crate::webhook_api::{
    await_delivery, create_webhook, deliveries, get_webhook, hooks_path, send_test, spawn, webhook, ARRIVAL,
};

both!(
    every_event_type_reaches_exactly_the_webhooks_subscribed_to_it,
    signatures_verify_with_node_and_the_official_standard_webhooks_library,
    test_sends_whatever_the_subscription_and_redeliver_sends_the_same_event_again,
    rotate_secret_signs_with_the_new_and_the_old_secret,
    webhook_routes_need_the_webhook_permission_and_the_event_log_needs_read,
);

/// Every `tng_` + 46 base62 characters (a full API key) in `text`.
fn full_keys_in(text: &str) -> Vec<&str> {
    text.match_indices("tng_")
        .filter_map(|(i, _)| text.get(i..i + 50))
        .filter(|k| k.bytes().skip(4).all(|b| b.is_ascii_alphanumeric()))
        .collect()
}

fn types(requests: &[Arc<Received>]) -> Vec<String> {
    let mut t: Vec<String> = requests.iter().map(|r| r.event_type().to_owned()).collect();
    t.sort();
    t
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut t: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    t.sort();
    t
}

/// Asserts the envelope and every header the contract lists; returns the body.
#[track_caller]
fn assert_envelope(r: &Received) -> Value {
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/hook"), "sent to the webhook's URL");
    assert_eq!(r.header("content-type"), "application/json");
    let body = r.json();
    let fields: BTreeSet<&str> = body.as_object().expect("an object").keys().map(String::as_str).collect();
    assert_eq!(fields, BTreeSet::from(["id", "type", "data", "created_at", "api_version"]), "{body}");
    assert_id(&body["id"], "evt_");
    assert_eq!(body["api_version"], "v1");
    assert_timestamp(&body["created_at"]);
    assert!(body["data"].is_object(), "data is an object: {body}");
    assert_eq!(r.header("x-tengine-event-id"), body["id"]);
    assert_eq!(r.header("webhook-id"), body["id"], "webhook-id is the event id");
    assert_eq!(r.header("x-tengine-event-type"), body["type"]);
    assert_id(&Value::from(r.delivery_id()), "del_");
    let ts: i64 = r.header("x-tengine-timestamp").parse().expect("X-Tengine-Timestamp is Unix seconds");
    assert!((ts - chrono::Utc::now().timestamp()).abs() < 120, "timestamp {ts} is not now");
    assert_eq!(r.header("webhook-timestamp"), r.header("x-tengine-timestamp"));
    assert!(r.header("x-tengine-signature").starts_with("sha256="));
    assert!(r.header("webhook-signature").starts_with("v1,"));
    body
}

async fn every_event_type_reaches_exactly_the_webhooks_subscribed_to_it(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_key();
    let watched = app.project("watched").await;
    let watcher = app.project("watcher").await;
    let all = Receiver::start().await;
    let keys_only = Receiver::start().await;
    let elsewhere = Receiver::start().await;
    let (_, all_secret) = webhook(&app, &watched, &all.url(), &["*"]).await;
    let key_events = ["api_key.created", "api_key.updated", "api_key.revoked"];
    let (keys_hook, keys_secret) = webhook(&app, &watched, &keys_only.url(), &key_events).await;
    // On another project: only the account-wide project.created of the watched changes
    // may reach it, although it also names project-scoped types.
    let (elsewhere_hook, elsewhere_secret) =
        webhook(&app, &watcher, &elsewhere.url(), &["project.created", "project.updated", "api_key.created"]).await;

    let created = app.project("created later").await;
    let project_path = format!("/api/v1/projects/{watched}");
    app.patch_json(&project_path, admin, &json!({"description": "changed"})).await.expect(StatusCode::OK);
    let (key_id, first_secret) = app.key(&watched, &["read"]).await;
    let key_path = format!("{project_path}/api-keys/{key_id}");
    app.patch_json(&key_path, admin, &json!({"name": "renamed"})).await.expect(StatusCode::OK);
    let rotated = app.post_json(&format!("{key_path}/rotate"), admin, &json!({})).await;
    rotated.expect(StatusCode::OK);
    let rotated_secret = rotated.body["key"].as_str().expect("the rotated key").to_owned();
    app.delete(&key_path, admin).await.expect(StatusCode::OK);

    // Deliveries are written with the change, so the lists are complete already.
    let listed = |list: Vec<Value>| {
        let mut t: Vec<String> = list.iter().map(|d| d["event_type"].as_str().expect("type").to_owned()).collect();
        t.sort();
        t
    };
    let key_types = sorted(&["api_key.created", "api_key.updated", "api_key.updated", "api_key.revoked"]);
    assert_eq!(listed(deliveries(&app, &watched, &keys_hook).await), key_types);
    assert_eq!(listed(deliveries(&app, &watcher, &elsewhere_hook).await), sorted(&["project.created"]));

    let from_keys = keys_only.wait_for(4, ARRIVAL).await;
    assert_eq!(types(&from_keys), key_types);
    // What was delivered is what the event log holds, field for field.
    let log = app.get(&format!("{project_path}/events?per_page=100"), admin).await;
    log.expect(StatusCode::OK);
    for r in &from_keys {
        let body = assert_envelope(r);
        let logged = log.body["data"].as_array().expect("events").iter().find(|e| e["id"] == body["id"]);
        assert_eq!(logged, Some(&body), "the delivered event is in the project's event log");
        assert_eq!(body["data"]["id"], key_id.as_str(), "{body}");
    }
    let updates = app.get(&format!("{project_path}/events?type=api_key.updated"), admin).await;
    updates.expect(StatusCode::OK);
    assert_eq!(updates.body["pagination"]["total"], 2, "patch and rotate: {}", updates.text);

    app.delete(&project_path, admin).await.expect(StatusCode::NO_CONTENT);
    let expected_all = sorted(&[
        "project.created",
        "project.updated",
        "api_key.created",
        "api_key.updated",
        "api_key.updated",
        "api_key.revoked",
        "project.deleted",
    ]);
    let from_all = all.wait_for(expected_all.len(), ARRIVAL).await;
    let from_elsewhere = elsewhere.wait_for(1, ARRIVAL).await;
    for r in from_all.iter().chain(&from_elsewhere) {
        let body = assert_envelope(r);
        let expected_id = match r.event_type() {
            "project.created" => created.as_str(),
            "project.updated" | "project.deleted" => watched.as_str(),
            _ => key_id.as_str(),
        };
        assert_eq!(body["data"]["id"], expected_id, "{body}");
        if r.event_type() == "project.updated" {
            assert_eq!(body["data"]["description"], "changed");
        }
        if r.event_type() == "api_key.revoked" {
            assert!(body["data"]["revoked_at"].is_string(), "{body}");
        }
    }
    // The deletion's deliveries were written and claimed together; give a stray one to
    // the key-only webhook a moment to show up before checking it did not.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(types(&all.requests()), expected_all, "`*` receives every event once");
    assert_eq!(types(&keys_only.requests()), key_types, "unsubscribed types never arrive");
    assert_eq!(types(&elsewhere.requests()), sorted(&["project.created"]), "another project's events never arrive");

    let secrets = [first_secret, rotated_secret, admin.to_owned(), all_secret, keys_secret, elsewhere_secret];
    for r in all.requests().iter().chain(&keys_only.requests()).chain(&elsewhere.requests()) {
        let text = r.text();
        assert!(full_keys_in(&text).is_empty(), "a delivered body contains a full API key: {text}");
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "a delivered body contains a secret: {text}");
        }
    }
}

async fn signatures_verify_with_node_and_the_official_standard_webhooks_library(backend: Backend) {
    let app = spawn(backend).await;
    let project = app.project("signed").await;
    let generated = Receiver::start().await;
    let plain = Receiver::start().await;
    let supplied = Receiver::start().await;
    let (_, generated_secret) = webhook(&app, &project, &generated.url(), &["api_key.created"]).await;
    assert!(generated_secret.starts_with("whsec_"), "{generated_secret}");
    assert_eq!(whsec_key(&generated_secret).len(), 24, "whsec_ + base64 of 24 random bytes");
    let plain_secret = "plain receiver secret, not base64!";
    let w = create_webhook(&app, &project, json!({"url": plain.url(), "events": ["*"], "secret": plain_secret})).await;
    assert_eq!(w["secret"], plain_secret);
    // A supplied whsec_ secret is used like a generated one.
    let supplied_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    create_webhook(
        &app,
        &project,
        json!({"url": supplied.url(), "events": ["api_key.created"], "secret": supplied_secret}),
    )
    .await;

    app.key(&project, &["read"]).await;
    let g = generated.wait_for(1, ARRIVAL).await.remove(0);
    let p = plain.wait_for(1, ARRIVAL).await.remove(0);
    let s = supplied.wait_for(1, ARRIVAL).await.remove(0);
    for r in [&g, &p, &s] {
        assert_envelope(r);
    }
    assert_eq!(g.header("webhook-id"), p.header("webhook-id"), "one event, delivered to each webhook");
    assert_ne!(g.delivery_id(), p.delivery_id(), "one delivery per webhook");

    // Generated whsec_ secret: both schemes, both verifiers.
    let header = g.header("x-tengine-signature");
    assert_eq!(node_tengine_matches(&generated_secret, &g.body, header).await, [true]);
    assert_eq!(header, rust_tengine_signature(&generated_secret, &g.body));
    assert!(python_standard_verifies(&generated_secret, &g.body, &g).await, "the official library refuses it");
    assert_eq!(rust_standard_matches(&whsec_key(&generated_secret), &g.body, &g), [true]);
    // The verifiers do refuse a changed body or another secret.
    let mut tampered = g.body.clone();
    tampered.push(b' ');
    assert_eq!(node_tengine_matches(&generated_secret, &tampered, header).await, [false]);
    assert!(!python_standard_verifies(&generated_secret, &tampered, &g).await);
    assert!(!python_standard_verifies(supplied_secret, &g.body, &g).await);

    // Supplied whsec_ secret: the key is its base64-decoded part.
    assert_eq!(node_tengine_matches(supplied_secret, &s.body, s.header("x-tengine-signature")).await, [true]);
    assert!(python_standard_verifies(supplied_secret, &s.body, &s).await, "the official library refuses it");

    // Plain secret: X-Tengine-Signature as usual; webhook-signature keyed with its UTF-8
    // bytes, which the official library takes only as bytes.
    assert_eq!(node_tengine_matches(plain_secret, &p.body, p.header("x-tengine-signature")).await, [true]);
    assert_eq!(rust_standard_matches(plain_secret.as_bytes(), &p.body, &p), [true]);
    assert!(python_standard_verifies_bytes(plain_secret.as_bytes(), &p.body, &p).await);
    assert!(!python_standard_verifies_bytes(b"another plain secret", &p.body, &p).await);
}

async fn test_sends_whatever_the_subscription_and_redeliver_sends_the_same_event_again(backend: Backend) {
    let app = spawn(backend).await;
    let project = app.project("testing").await;
    let receiver = Receiver::start().await;
    let (wid, _) = webhook(&app, &project, &receiver.url(), &["api_key.revoked"]).await;
    let hook_path = format!("{}/{wid}", hooks_path(&project));

    let started = Instant::now();
    let res = app.post_json(&format!("{hook_path}/test"), app.admin_key(), &json!({})).await;
    res.expect(StatusCode::ACCEPTED);
    let fields: BTreeSet<&str> = res.body.as_object().expect("an object").keys().map(String::as_str).collect();
    assert_eq!(fields, BTreeSet::from(["event_id", "delivery_id", "status"]), "{}", res.text);
    assert_eq!(res.body["status"], "pending");
    assert_id(&res.body["event_id"], "evt_");
    assert_id(&res.body["delivery_id"], "del_");
    let (event_id, delivery_id) =
        (res.body["event_id"].as_str().expect("id"), res.body["delivery_id"].as_str().expect("id"));

    let first = receiver.wait_for(1, ARRIVAL).await.remove(0);
    let latency = started.elapsed();
    // Sent on commit, not on the worker's next poll (which is at most 5 s away).
    assert!(latency < Duration::from_millis(2_500), "the test event took {latency:?} to arrive");
    let body = assert_envelope(&first);
    assert_eq!(
        (first.event_type(), first.header("webhook-id"), first.delivery_id()),
        ("webhook.test", event_id, delivery_id)
    );
    assert_eq!(body["type"], "webhook.test");
    await_delivery(&app, &project, &wid, delivery_id, ARRIVAL, "the test delivery succeeds", |d| {
        d["status"] == "succeeded"
    })
    .await;

    let res =
        app.post_json(&format!("{hook_path}/deliveries/{delivery_id}/redeliver"), app.admin_key(), &json!({})).await;
    res.expect(StatusCode::ACCEPTED);
    let again = &res.body;
    assert_id(&again["id"], "del_");
    let again_id = again["id"].as_str().expect("id");
    assert_ne!(again_id, delivery_id, "redeliver makes a new delivery");
    assert_eq!((again["event_id"].as_str(), again["event_type"].as_str()), (Some(event_id), Some("webhook.test")));
    assert_eq!(again["status"], "pending");
    assert_timestamp(&again["created_at"]);

    let second = receiver.wait_for(2, ARRIVAL).await.remove(1);
    assert_eq!(second.header("webhook-id"), event_id, "the same event, so the same webhook-id");
    assert_eq!(second.header("x-tengine-event-id"), event_id);
    assert_eq!(second.delivery_id(), again_id);
    assert_eq!(second.json(), first.json(), "the same envelope");
    await_delivery(&app, &project, &wid, again_id, ARRIVAL, "the redelivery succeeds", |d| d["status"] == "succeeded")
        .await;
    let list = deliveries(&app, &project, &wid).await;
    let listed: Vec<&str> = list.iter().map(|d| d["id"].as_str().expect("id")).collect();
    assert_eq!(listed, [again_id, delivery_id], "newest first");
    assert_eq!(receiver.count(), 2);

    let unknown = format!("{hook_path}/deliveries/del_0000000000000000000000/redeliver");
    app.post_json(&unknown, app.admin_key(), &json!({})).await.error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

async fn rotate_secret_signs_with_the_new_and_the_old_secret(backend: Backend) {
    let app = spawn(backend).await;
    let project = app.project("rotating").await;
    let receiver = Receiver::start().await;
    let (wid, old) = webhook(&app, &project, &receiver.url(), &["*"]).await;
    let hook_path = format!("{}/{wid}", hooks_path(&project));
    let before = get_webhook(&app, &project, &wid).await;

    let res = app
        .send(
            reqwest::Method::POST,
            &format!("{hook_path}/rotate-secret"),
            &[("authorization", format!("Bearer {}", app.admin_key()))],
            None,
        )
        .await;
    res.expect(StatusCode::OK);
    let new = res.body["secret"].as_str().expect("rotate-secret shows the new secret").to_owned();
    assert!(new.starts_with("whsec_") && new != old, "{new}");
    assert_eq!(res.body["id"], before["id"]);
    assert_eq!(res.body["url"], before["url"]);
    let shown = get_webhook(&app, &project, &wid).await;
    assert!(shown.get("secret").is_none(), "GET never shows the secret: {shown}");

    send_test(&app, &project, &wid).await;
    let r = receiver.wait_for(1, ARRIVAL).await.remove(0);
    let tengine = r.header("x-tengine-signature");
    assert_eq!(tengine.split(',').count(), 2, "two X-Tengine-Signature values: {tengine}");
    assert_eq!(node_tengine_matches(&new, &r.body, tengine).await, [true, false], "the new secret's first");
    assert_eq!(node_tengine_matches(&old, &r.body, tengine).await, [false, true]);
    assert_eq!(r.header("webhook-signature").split(' ').count(), 2, "{}", r.header("webhook-signature"));
    assert_eq!(rust_standard_matches(&whsec_key(&new), &r.body, &r), [true, false]);
    assert_eq!(rust_standard_matches(&whsec_key(&old), &r.body, &r), [false, true]);
    assert!(python_standard_verifies(&new, &r.body, &r).await, "receivers on the new secret accept it");
    assert!(python_standard_verifies(&old, &r.body, &r).await, "receivers still on the old secret accept it");
    assert!(!python_standard_verifies("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &r.body, &r).await);

    // A given secret, rotated in again: the one just replaced is now the old one.
    let given = "my own rotated secret";
    let res = app.post_json(&format!("{hook_path}/rotate-secret"), app.admin_key(), &json!({"secret": given})).await;
    res.expect(StatusCode::OK);
    assert_eq!(res.body["secret"], given);
    send_test(&app, &project, &wid).await;
    let r = receiver.wait_for(2, ARRIVAL).await.remove(1);
    let tengine = r.header("x-tengine-signature");
    assert_eq!(node_tengine_matches(given, &r.body, tengine).await, [true, false]);
    assert_eq!(node_tengine_matches(&new, &r.body, tengine).await, [false, true]);
    assert_eq!(node_tengine_matches(&old, &r.body, tengine).await, [false, false], "the first secret is retired");
    assert_eq!(rust_standard_matches(given.as_bytes(), &r.body, &r), [true, false]);
    assert!(python_standard_verifies(&new, &r.body, &r).await);
    assert!(!python_standard_verifies(&old, &r.body, &r).await);
}

async fn webhook_routes_need_the_webhook_permission_and_the_event_log_needs_read(backend: Backend) {
    let app = spawn(backend).await;
    let project = app.project("permissions").await;
    let receiver = Receiver::start().await;
    let (_, reader) = app.key(&project, &["read"]).await;
    let (_, hooker) = app.key(&project, &["webhook"]).await;
    let path = hooks_path(&project);
    let body = json!({"url": receiver.url(), "events": ["*"]});
    let refused = app.post_json(&path, &reader, &body).await;
    let details = refused.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS");
    assert!(details.to_string().contains("webhook"), "details name the permission: {details}");
    app.get(&path, &reader).await.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS");

    let made = app.post_json(&path, &hooker, &body).await;
    made.expect(StatusCode::CREATED);
    let wid = made.body["id"].as_str().expect("id");
    app.get(&format!("{path}/{wid}"), &hooker).await.expect(StatusCode::OK);
    let res = app.post_json(&format!("{path}/{wid}/test"), &hooker, &json!({})).await;
    res.expect(StatusCode::ACCEPTED);
    receiver.wait_for(1, ARRIVAL).await;

    let events = format!("/api/v1/projects/{project}/events");
    app.get(&events, &reader).await.expect(StatusCode::OK);
    app.get(&events, &hooker).await.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS");
    let unknown = app.get(&format!("{events}?type=no.such"), &reader).await;
    assert_eq!(unknown.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"], "type");
    app.delete(&format!("{path}/{wid}"), &hooker).await.expect(StatusCode::NO_CONTENT);
    app.get(&format!("{path}/{wid}"), &hooker).await.error(StatusCode::NOT_FOUND, "NOT_FOUND");
}
