//! Webhook delivery at scale on PostgreSQL: two `tengine serve` processes share one
//! database and its delivery queue. 2,000 deliveries fan out to 10 receivers; every one
//! arrives, none twice. Then again with one instance killed (SIGKILL) mid-run: every
//! delivery still arrives once the survivor retakes the dead instance's claims after
//! their 60 s lease, and duplicates stay within what was in flight at the kill. And an
//! API-only instance (`TENGINE_WEBHOOK_CONCURRENCY=0`) sends nothing: its events wait
//! for one that does.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, Options, TestApp};
use crate::receiver::Receiver;
use crate::webhook_api::{allow_private, webhook};

const RECEIVERS: usize = 10;
/// Key operations per round (half creations, half updates): each event goes to every
/// receiver, so `RECEIVERS * OPERATIONS` deliveries.
const OPERATIONS: usize = 200;
const DELIVERIES: usize = RECEIVERS * OPERATIONS;
/// Sends in flight per instance; a kill can duplicate at most what was in flight.
const CONCURRENCY: usize = 64;

/// What the receivers saw: distinct deliveries, requests, and duplicate requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tally {
    distinct: usize,
    requests: usize,
    duplicates: usize,
}

fn tally(receivers: &[Receiver]) -> Tally {
    let mut all: BTreeMap<String, usize> = BTreeMap::new();
    for r in receivers {
        for (id, n) in r.delivery_counts() {
            *all.entry(id).or_insert(0) += n;
        }
    }
    let requests = all.values().sum();
    Tally { distinct: all.len(), requests, duplicates: requests - all.len() }
}

/// A project with a webhook per receiver, subscribed to key creations and updates.
async fn fan_out(app: &TestApp, name: &str, receivers: &[Receiver]) -> String {
    let project = app.project(name).await;
    for r in receivers {
        webhook(app, &project, &r.url(), &["api_key.created", "api_key.updated"]).await;
    }
    project
}

/// `OPERATIONS` key operations on `project`, spread over the instances at `bases`: a
/// creation, then an update of the key just made, eight at a time.
async fn key_operations(client: reqwest::Client, admin: String, bases: Vec<String>, project: String) {
    let failures: Vec<String> = futures::stream::iter(0..OPERATIONS / 2)
        .map(|i| {
            let (client, admin, project) = (client.clone(), admin.clone(), project.clone());
            let create_on = bases[i % bases.len()].clone();
            let update_on = bases[(i + 1) % bases.len()].clone();
            async move {
                let keys = format!("/api/v1/projects/{project}/api-keys");
                let res = client
                    .post(format!("{create_on}{keys}"))
                    .bearer_auth(&admin)
                    .json(&json!({"name": format!("key {i}"), "permissions": ["read"]}))
                    .send()
                    .await;
                let id = match res {
                    Ok(r) if r.status() == StatusCode::CREATED => {
                        let body: serde_json::Value = r.json().await.unwrap_or_default();
                        body["id"].as_str().unwrap_or_default().to_owned()
                    }
                    Ok(r) => return Some(format!("create {i}: {}", r.status())),
                    Err(e) => return Some(format!("create {i}: {e}")),
                };
                let res = client
                    .patch(format!("{update_on}{keys}/{id}"))
                    .bearer_auth(&admin)
                    .json(&json!({"name": format!("key {i} renamed")}))
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status() == StatusCode::OK => None,
                    Ok(r) => Some(format!("update {i}: {}", r.status())),
                    Err(e) => Some(format!("update {i}: {e}")),
                }
            }
        })
        .buffer_unordered(8)
        .filter_map(|f| async move { f })
        .collect()
        .await;
    assert!(failures.is_empty(), "key operations failed: {failures:?}");
}

/// Polls until every delivery arrived; panics after `timeout` with the tally.
async fn all_arrive(receivers: &[Receiver], timeout: Duration, what: &str) -> Tally {
    let deadline = Instant::now() + timeout;
    loop {
        let t = tally(receivers);
        if t.distinct >= DELIVERIES {
            return t;
        }
        assert!(Instant::now() < deadline, "{what}: within {timeout:?} only {t:?} of {DELIVERIES} deliveries arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Two instances (A and B) on one fresh PostgreSQL database, each sending at most
/// `CONCURRENCY` at once.
async fn two_instances() -> (TestApp, TestApp) {
    let concurrency = ("TENGINE_WEBHOOK_CONCURRENCY".to_owned(), CONCURRENCY.to_string());
    let options = Options { env: [allow_private().env, vec![concurrency]].concat(), ..Options::default() };
    let a = TestApp::spawn_with(Backend::Postgres, options).await;
    let b = a.spawn_sibling().await;
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_deliver_two_thousand_webhooks_each_exactly_once() {
    let started = Instant::now();
    let (a, b) = two_instances().await;
    let receivers = Receiver::start_many(RECEIVERS).await;
    let project = fan_out(&a, "scale", &receivers).await;
    let round = Instant::now();
    let bases = vec![a.base_url().to_owned(), b.base_url().to_owned()];
    key_operations(a.client(), a.admin_key().to_owned(), bases, project).await;
    let t = all_arrive(&receivers, Duration::from_secs(60), "both instances up").await;
    println!("{DELIVERIES} deliveries arrived {:?} after the first key operation ({t:?})", round.elapsed());
    assert!(receivers.iter().all(|r| r.delivery_counts().len() == OPERATIONS), "each receiver got every event");
    // A second claim of a delivery would show up right behind the first send.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t = tally(&receivers);
    assert_eq!(t.duplicates, 0, "no delivery arrives twice with both instances up: {t:?}");
    println!("the two-instance scale test took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_instances_claims_are_retaken_and_only_sends_in_flight_arrive_twice() {
    let started = Instant::now();
    let (a, _) = two_instances().await;
    let b = a.spawn_sibling().await;
    let receivers = Receiver::start_many(RECEIVERS).await;
    // Slow receivers keep both instances busy for several seconds.
    for r in &receivers {
        r.delay(Duration::from_millis(250));
    }
    let project = fan_out(&a, "scale with a kill", &receivers).await;
    let round = Instant::now();
    let bases = vec![a.base_url().to_owned(), b.base_url().to_owned()];
    key_operations(a.client(), a.admin_key().to_owned(), bases, project).await;
    let threshold = 300;
    while tally(&receivers).distinct < threshold {
        assert!(round.elapsed() < Duration::from_secs(30), "deliveries did not start: {:?}", tally(&receivers));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let at_kill = tally(&receivers);
    // Dropping a TestApp SIGKILLs its process; B does not own the database.
    drop(b);
    let killed = Instant::now();
    let arrived = all_arrive(&receivers, Duration::from_secs(90), "after instance B was killed").await;
    let after = killed.elapsed();
    println!("B SIGKILLed {:?} into the round with {at_kill:?}; all arrived {after:?} later", killed - round);
    // Sends B had in flight may have reached receivers before the kill without being
    // recorded; they are sent again once B's lease (60 s) runs out. Wait past it.
    let lease_over = killed + Duration::from_secs(70);
    tokio::time::sleep_until(lease_over.into()).await;
    assert!(receivers.iter().all(|r| r.delivery_counts().len() == OPERATIONS), "each receiver got every event");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t = tally(&receivers);
    println!("{} duplicate deliveries after the kill ({t:?}; before the last settle: {arrived:?})", t.duplicates);
    println!("the kill scale test took {:?}", started.elapsed());
    assert!(
        t.duplicates <= CONCURRENCY,
        "only sends in flight at the kill may arrive twice (at most {CONCURRENCY} per instance): {t:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_api_only_instance_sends_nothing_and_its_events_wait_for_one_that_does() {
    let api_only = ("TENGINE_WEBHOOK_CONCURRENCY".to_owned(), "0".to_owned());
    let options = Options { env: [allow_private().env, vec![api_only]].concat(), ..Options::default() };
    let a = TestApp::spawn_with(Backend::Postgres, options).await;
    let receivers = Receiver::start_many(RECEIVERS).await;
    let project = fan_out(&a, "api only", &receivers).await;
    key_operations(a.client(), a.admin_key().to_owned(), vec![a.base_url().to_owned()], project).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(tally(&receivers).requests, 0, "an instance with TENGINE_WEBHOOK_CONCURRENCY=0 sends nothing");
    let b = a.spawn_sibling_with(vec![("TENGINE_WEBHOOK_CONCURRENCY".to_owned(), CONCURRENCY.to_string())]).await;
    all_arrive(&receivers, Duration::from_secs(60), "once an instance that sends started").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t = tally(&receivers);
    assert_eq!(t.duplicates, 0, "each waiting delivery arrives once: {t:?}");
    assert!(receivers.iter().all(|r| r.delivery_counts().len() == OPERATIONS), "each receiver got every event");
    drop(b);
}
