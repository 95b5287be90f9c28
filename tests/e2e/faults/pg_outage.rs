//! PostgreSQL stopped and started again under steady load: the server answers 503 with
//! `Retry-After` while the database is down (never a 500), recovers by itself, and
//! loses neither the webhook deliveries nor the usage of what it answered.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use super::support::{
    key_totals, ms, tally, timed, unavailable_problem, Call, Outcome, PrivatePostgres, WebhookReceiver,
};
use crate::helpers::{eventually, Backend, Options, TestApp};

/// Load clients.
const CLIENTS: usize = 4;
/// The pause between two requests of one client.
const PAUSE: Duration = Duration::from_millis(100);
/// Load before the database stops.
const BEFORE: Duration = Duration::from_secs(3);
/// How long the database stays down.
const DOWN: Duration = Duration::from_secs(5);
/// Load after the database is back.
const AFTER: Duration = Duration::from_secs(10);
/// After the database is back, the API and `/readyz` answer 200 again within this.
const RECOVERY: Duration = Duration::from_secs(15);
/// A 503 is acceptable for a request in flight during the outage or sent at most this
/// long after the database is back (the pool may still hold connections it broke).
const GRACE: Duration = Duration::from_secs(2);
/// How long every delivery may take to arrive once the load stopped (covers a first
/// attempt lost in the outage plus the 5 s and 30 s retries).
const DELIVERY_DEADLINE: Duration = Duration::from_secs(45);
/// How long the buffered usage may take to reach analytics once the load stopped.
const USAGE_DEADLINE: Duration = Duration::from_secs(20);
/// Usage counts as settled once unchanged for this long.
const USAGE_SETTLED: Duration = Duration::from_secs(3);

/// When the phases of the test began and ended, from the test's start.
#[derive(Debug, Default, Clone, Copy)]
struct Timeline {
    stop_sent: Duration,
    stopped: Duration,
    start_sent: Duration,
    started: Duration,
}

/// GETs and PATCHes (each with a new, unique name) of one project until `stop`.
async fn steady_client(
    n: usize,
    client: reqwest::Client,
    project_url: String,
    key: String,
    t0: Instant,
    stop: Arc<AtomicBool>,
) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let call = if i % 2 == 0 {
            timed(client.get(&project_url).bearer_auth(&key), t0, n, "GET".to_owned()).await
        } else {
            let name = format!("c{n}-{i}");
            let req = client.patch(&project_url).bearer_auth(&key).json(&json!({ "name": name }));
            timed(req, t0, n, format!("PATCH {name}")).await
        };
        calls.push(call);
        i += 1;
        tokio::time::sleep(PAUSE).await;
    }
    calls
}

/// Probes `/readyz` every 250 ms until `stop`.
async fn readiness_probe(client: reqwest::Client, url: String, t0: Instant, stop: Arc<AtomicBool>) -> Vec<Call> {
    let mut calls = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        calls.push(timed(client.get(&url).timeout(Duration::from_secs(10)), t0, 0, "readyz".to_owned()).await);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    calls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_restart_under_load_answers_503_then_recovers_and_loses_nothing() {
    let pg = PrivatePostgres::start().await;
    // No TestApp database of its own: DATABASE_URL points the server at the private cluster.
    let env =
        vec![("DATABASE_URL".to_owned(), pg.url()), ("TENGINE_WEBHOOK_ALLOW_PRIVATE".to_owned(), "true".to_owned())];
    let app = TestApp::spawn_with(Backend::Sqlite, Options { env, ..Options::default() }).await;
    let receiver = WebhookReceiver::start().await;
    let project = app.project("outage").await;
    let (key_id, key) = app.key(&project, &["read", "write"]).await;
    let hook = json!({"url": receiver.url(), "events": ["project.updated"]});
    app.post_json(&format!("/api/v1/projects/{project}/webhooks"), app.admin_key(), &hook)
        .await
        .expect(StatusCode::CREATED);

    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("client");
    let project_url = format!("{}/api/v1/projects/{project}", app.base_url());
    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| tokio::spawn(steady_client(n, client.clone(), project_url.clone(), key.clone(), t0, stop.clone())))
        .collect();
    let probe = tokio::spawn(readiness_probe(client.clone(), format!("{}/readyz", app.base_url()), t0, stop.clone()));

    tokio::time::sleep(BEFORE).await;
    let mut at = Timeline { stop_sent: t0.elapsed(), ..Timeline::default() };
    pg.stop().await;
    at.stopped = t0.elapsed();
    tokio::time::sleep(DOWN).await;
    at.start_sent = t0.elapsed();
    pg.start_again().await;
    at.started = t0.elapsed();
    tokio::time::sleep(AFTER).await;
    stop.store(true, Ordering::Relaxed);
    let load_ended = t0.elapsed();
    let mut calls = Vec::new();
    for c in futures::future::join_all(clients).await {
        calls.extend(c.expect("a load client panicked"));
    }
    let probes = probe.await.expect("the readiness probe panicked");

    println!(
        "pg outage: timeline (ms) stop sent {} stopped {} start sent {} started {} load ended {}",
        ms(at.stop_sent),
        ms(at.stopped),
        ms(at.start_sent),
        ms(at.started),
        ms(load_ended)
    );
    // Deliveries and usage first: they say what an outage cost even when the answers fail.
    let deliveries = check_deliveries(&calls, &receiver, t0).await;
    println!("{deliveries}");
    let usage = check_usage(&app, &project, &key_id, &calls).await;
    println!("{usage}");
    let logs = app.logs();
    println!(
        "server log: {} failed delivery rounds, {} NotificationResponse protocol errors",
        logs.matches("delivery round failed").count(),
        logs.matches("unexpected message: NotificationResponse").count()
    );
    let report = check_answers(&calls, &probes, at);
    println!("{report}\nwhole test {:?}", t0.elapsed());
    drop(pg);
}

/// Statuses, 503s and their window, recovery and readiness. Returns a report.
fn check_answers(calls: &[Call], probes: &[Call], at: Timeline) -> String {
    let failed: Vec<_> = calls.iter().filter(|c| c.status().is_none()).collect();
    assert!(
        failed.is_empty(),
        "{} requests got no whole response: {:#?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    let unexpected: Vec<_> = calls.iter().filter(|c| !matches!(c.status(), Some(200 | 503))).collect();
    assert!(
        unexpected.is_empty(),
        "only 200 and 503 are acceptable answers to these valid requests; got {:#?}",
        &unexpected[..unexpected.len().min(5)]
    );
    let unavailable: Vec<&Call> = calls.iter().filter(|c| c.status() == Some(503)).collect();
    assert!(!unavailable.is_empty(), "the outage produced no 503 at all: was the database really down?");
    for call in &unavailable {
        if let Some(problem) = unavailable_problem(call) {
            panic!("{} at {} ms: {problem}", call.label, ms(call.sent));
        }
    }
    let late: Vec<_> = unavailable.iter().filter(|c| !c.overlaps(at.stop_sent, at.started + GRACE)).collect();
    assert!(
        late.is_empty(),
        "{} of {} requests sent later than {GRACE:?} after the database was back (at {} ms) still got a 503, \
         at (sent ms, done ms) {:?}; the first: {:?}",
        late.len(),
        calls.iter().filter(|c| c.sent > at.started + GRACE).count(),
        ms(at.started),
        late.iter().map(|c| (ms(c.sent), ms(c.done))).collect::<Vec<_>>(),
        late[0].outcome
    );
    let first_ok_after = calls.iter().filter(|c| c.sent >= at.started && c.status() == Some(200)).map(|c| c.done).min();
    let recovery = first_ok_after.map(|d| d - at.started);
    assert!(
        recovery.is_some_and(|r| r <= RECOVERY),
        "no request succeeded within {RECOVERY:?} of the restart (first success after {recovery:?})"
    );
    let last_503 = unavailable.iter().map(|c| c.done).max().unwrap_or_default();

    // Readiness: 503 while the database is down, 200 after. A probe waits for the pool
    // (up to its acquire timeout), so one sent during the outage may end after it.
    let down: Vec<_> = probes.iter().filter(|p| p.sent >= at.stop_sent && p.sent <= at.start_sent).collect();
    assert!(down.iter().any(|p| p.status() == Some(503)), "/readyz never said 503 during the outage: {down:#?}");
    // Only a probe sent once PostgreSQL had stopped must see it down (`pg_ctl stop` takes
    // a moment after it is sent, and a probe in that moment may still be answered 200).
    let wrong: Vec<_> =
        down.iter().filter(|p| p.sent >= at.stopped && p.done < at.start_sent && p.status() != Some(503)).collect();
    assert!(wrong.is_empty(), "/readyz answered other than 503 while the database was down: {wrong:#?}");
    let slowest_down = down.iter().map(|p| p.done - p.sent).max().unwrap_or_default();
    let first_ready_after =
        probes.iter().filter(|p| p.sent >= at.started && p.status() == Some(200)).map(|p| p.done).min();
    assert!(
        first_ready_after.is_some_and(|d| d <= at.started + RECOVERY),
        "/readyz was not 200 within {RECOVERY:?} of the restart: {probes:#?}"
    );
    let flapping: Vec<_> =
        probes.iter().filter(|p| first_ready_after.is_some_and(|d| p.sent >= d) && p.status() != Some(200)).collect();
    assert!(flapping.is_empty(), "/readyz turned 503 again after it recovered: {flapping:#?}");
    let not_ok: Vec<_> = probes.iter().filter(|p| p.status() != Some(200)).collect();
    for p in &not_ok {
        assert_eq!(p.status(), Some(503), "/readyz answers 200 or 503: {p:?}");
        if let Some(problem) = unavailable_problem(p) {
            panic!("/readyz at {} ms: {problem}", ms(p.sent));
        }
    }
    let readyz_503 = not_ok.iter().map(|p| (ms(p.sent), ms(p.done)));

    let by_kind = tally(calls.iter().map(|c| (c.label.split(' ').next().unwrap_or("").to_owned(), c.status())));
    let window_503: Vec<_> = unavailable.iter().map(|c| (ms(c.sent), ms(c.done))).collect();
    let retry_after = tally(unavailable.iter().map(|c| match &c.outcome {
        Outcome::Answered { retry_after, .. } => retry_after.clone().unwrap_or_default(),
        _ => String::new(),
    }));
    format!(
        "requests {} by (method, status) {by_kind:?}\n503s (sent ms, done ms): {window_503:?}, Retry-After values {retry_after:?}\n\
         first 200 after the restart {} ms after it; last 503 ended {} ms after the restart\n\
         /readyz probes {}, 503 at (sent, done) {:?}, slowest answer during the outage {} ms; \
         first 200 after the restart {:?} ms after it",
        calls.len(),
        recovery.map_or(0, ms),
        ms(last_503.saturating_sub(at.started)),
        probes.len(),
        readyz_503.collect::<Vec<_>>(),
        ms(slowest_down),
        first_ready_after.map(|d| ms(d.saturating_sub(at.started)))
    )
}

/// Every PATCH answered 200 produced exactly one `project.updated` delivery, and it
/// arrived. Returns a report.
async fn check_deliveries(calls: &[Call], receiver: &WebhookReceiver, t0: Instant) -> String {
    let name_of = |c: &Call| c.label.strip_prefix("PATCH ").map(str::to_owned);
    let confirmed: BTreeSet<String> = calls.iter().filter(|c| c.status() == Some(200)).filter_map(name_of).collect();
    let attempted: BTreeSet<String> = calls.iter().filter_map(name_of).collect();
    let started = Instant::now();
    let all_arrived = eventually(DELIVERY_DEADLINE, || {
        let seen: BTreeSet<String> =
            receiver.received().iter().filter_map(|r| r.body["data"]["name"].as_str().map(str::to_owned)).collect();
        let done = confirmed.is_subset(&seen);
        async move { done }
    })
    .await;
    let waited = started.elapsed();
    let received = receiver.received();
    // name -> the distinct deliveries (delivery id, event id) that carried it.
    let mut by_name: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for r in &received {
        assert_eq!(r.body["type"], "project.updated", "only project.updated is subscribed: {:?}", r.body);
        let name = r.body["data"]["name"].as_str().unwrap_or_default().to_owned();
        by_name.entry(name).or_default().insert((r.delivery_id.clone(), r.event_id.clone()));
    }
    let missing: Vec<_> = confirmed.iter().filter(|n| !by_name.contains_key(*n)).collect();
    assert!(
        all_arrived && missing.is_empty(),
        "{} of {} confirmed updates never reached the receiver within {DELIVERY_DEADLINE:?}: {missing:?}",
        missing.len(),
        confirmed.len()
    );
    let doubled: Vec<_> = by_name.iter().filter(|(_, d)| d.len() != 1).collect();
    assert!(doubled.is_empty(), "an update produced more than one delivery or event: {doubled:#?}");
    let unknown: Vec<_> = by_name.keys().filter(|n| !attempted.contains(*n)).collect();
    assert!(unknown.is_empty(), "deliveries for names no client sent: {unknown:?}");
    let unconfirmed = by_name.keys().filter(|n| !confirmed.contains(*n)).count();
    let distinct: BTreeSet<_> = received.iter().map(|r| &r.delivery_id).collect();
    // How long each confirmed update took from its 200 to its first arrival.
    let mut lags: Vec<(u128, String, u128)> = calls
        .iter()
        .filter(|c| c.status() == Some(200))
        .filter_map(|c| {
            let name = name_of(c)?;
            let first = received.iter().filter(|r| r.body["data"]["name"] == name.as_str()).map(|r| r.at).min()?;
            Some((ms(first.duration_since(t0).saturating_sub(c.done)), name, ms(c.done)))
        })
        .collect();
    lags.sort_unstable();
    let slow: Vec<_> = lags.iter().filter(|(lag, ..)| *lag > 2_000).collect();
    format!(
        "deliveries: {} PATCHes answered 200, all delivered exactly once (all there {waited:?} after the load); \
         {} attempts received for {} deliveries; {unconfirmed} deliveries for PATCHes answered 503 (committed, reply lost); \
         lag from 200 to arrival: median {} ms, max {} ms; over 2 s (lag ms, name, 200 at ms): {slow:?}",
        confirmed.len(),
        received.len(),
        distinct.len(),
        lags.get(lags.len() / 2).map_or(0, |l| l.0),
        lags.last().map_or(0, |l| l.0)
    )
}

/// The key's analytics count at least every request answered 2xx or 4xx, and at most
/// every request answered at all. Returns a report.
async fn check_usage(app: &TestApp, project: &str, key_id: &str, calls: &[Call]) -> String {
    let answered = calls.iter().filter(|c| matches!(c.outcome, Outcome::Answered { .. })).count() as u64;
    let final_answers = calls.iter().filter(|c| c.status().is_some_and(|s| s < 500)).count() as u64;
    // Poll until the count reaches the lower bound and then holds for a few seconds (a
    // flush retried after the outage may still be adding the 503s it attributed).
    let started = Instant::now();
    let mut totals = key_totals(app, project, key_id).await;
    let mut stable_since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = key_totals(app, project, key_id).await;
        if now != totals {
            totals = now;
            stable_since = Instant::now();
        }
        let reached = totals["requests"].as_u64().unwrap_or(0) >= final_answers;
        if (reached && stable_since.elapsed() >= USAGE_SETTLED) || started.elapsed() > USAGE_DEADLINE {
            break;
        }
    }
    let counted = totals["requests"].as_u64().unwrap_or(0);
    assert!(
        (final_answers..=answered).contains(&counted),
        "analytics count {counted} requests; expected between {final_answers} (answered 2xx/4xx) and {answered} \
         (answered at all): {totals}"
    );
    // Every 2xx/4xx here is a 200, so the errors counted are exactly the attributed 503s.
    assert_eq!(totals["errors"], counted - final_answers, "errors are the counted 503s: {totals}");
    format!(
        "usage: analytics totals {totals} (waited {:?}); answered 2xx/4xx {final_answers}, answered at all {answered}; \
         so {} of the {} 503s were attributed",
        started.elapsed(),
        counted - final_answers,
        answered - final_answers
    )
}
