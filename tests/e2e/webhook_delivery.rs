//! Webhook delivery when receivers misbehave: retries on the documented schedule, a
//! dead receiver that comes back, `410 Gone`, and the refusal of private destinations.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{assert_timestamp, Backend, TestApp};
use crate::receiver::Receiver;
use crate::webhook_api::{
    allow_private, attempts, await_deliveries, await_delivery, deliveries, get_webhook, hooks_path, send_test, spawn,
    webhook, ARRIVAL,
};

both!(
    a_failed_attempt_is_retried_five_seconds_later_and_then_succeeds,
    deliveries_to_a_dead_receiver_all_arrive_when_it_comes_back,
    gone_disables_the_webhook_at_once_and_fails_its_pending_deliveries,
    private_destinations_are_refused_at_send_time_by_default,
    recover_resends_each_failed_delivery_of_a_window_once,
    the_retention_purge_deletes_only_finished_history_past_its_horizon,
    health_shows_the_last_day_the_newest_delivery_and_why_a_webhook_is_off,
    a_throttled_webhook_gets_at_most_its_rate_per_second_and_loses_nothing,
    an_ordered_webhook_gets_its_events_in_creation_order_through_a_retry,
);

fn attempt_times(delivery: &Value) -> Vec<chrono::DateTime<chrono::Utc>> {
    attempts(delivery).iter().map(|a| assert_timestamp(&a["attempted_at"])).collect()
}

async fn a_failed_attempt_is_retried_five_seconds_later_and_then_succeeds(backend: Backend) {
    let app = spawn(backend).await;
    let project = app.project("flaky receiver").await;
    let receiver = Receiver::start().await;
    receiver.answer_next(&[500]);
    let (wid, _) = webhook(&app, &project, &receiver.url(), &["api_key.created"]).await;
    app.key(&project, &["read"]).await;

    let seen = receiver.wait_for(2, Duration::from_secs(20)).await;
    let gap = seen[1].at - seen[0].at;
    // 5 s plus up to 10 % jitter, plus scheduling slack.
    assert!(gap >= Duration::from_millis(4_900) && gap < Duration::from_secs(9), "the retry came {gap:?} later");
    assert_eq!(seen[0].delivery_id(), seen[1].delivery_id(), "a retry of the same delivery");
    assert_eq!(seen[0].header("webhook-id"), seen[1].header("webhook-id"), "webhook-id is the same on every retry");
    assert_eq!(seen[0].json(), seen[1].json());
    let did = seen[0].delivery_id().to_owned();

    let d =
        await_delivery(&app, &project, &wid, &did, ARRIVAL, "the delivery succeeds", |d| d["status"] == "succeeded")
            .await;
    let tries = attempts(&d);
    assert_eq!(tries.len(), 2, "two attempts logged: {d:#}");
    assert_eq!(tries[0]["status_code"], 500);
    assert!(tries[0]["error"].as_str().is_some_and(|e| !e.is_empty()), "the failure says why: {d:#}");
    assert_eq!(tries[0]["response_excerpt"], "receiver answered 500", "the response is logged");
    assert_eq!(tries[1]["status_code"], 200);
    assert_eq!(tries[1]["error"], Value::Null);
    assert!(tries.iter().all(|a| a["latency_ms"].is_u64()), "{d:#}");
    let times = attempt_times(&d);
    assert!(times[1] - times[0] >= chrono::Duration::milliseconds(4_900), "{times:?}");
    assert_eq!(d["next_attempt_at"], Value::Null, "nothing more is due: {d:#}");
    assert_eq!(receiver.count(), 2, "exactly two attempts reached the receiver");
}

async fn deliveries_to_a_dead_receiver_all_arrive_when_it_comes_back(backend: Backend) {
    let app = spawn(backend).await;
    let project = app.project("dead receiver").await;
    let mut receiver = Receiver::start().await;
    receiver.stop().await;
    let (wid, _) = webhook(&app, &project, &receiver.url(), &["api_key.created"]).await;
    let mut keys = BTreeSet::new();
    for _ in 0..3 {
        keys.insert(app.key(&project, &["read"]).await.0);
    }

    // The first try and the 5 s retry both fail; the next one is ~30 s later.
    let failed = await_deliveries(&app, &project, &wid, Duration::from_secs(25), "each delivery fails twice", |l| {
        l.len() == 3 && l.iter().all(|d| attempts(d).len() >= 2)
    })
    .await;
    for d in &failed {
        assert_eq!(d["status"], "pending", "a refused connection is retried: {d:#}");
        for a in attempts(d) {
            assert_eq!(a["status_code"], Value::Null, "no response: {d:#}");
            assert!(a["error"].as_str().is_some_and(|e| !e.is_empty()), "the error is logged: {d:#}");
        }
        let next = assert_timestamp(&d["next_attempt_at"]);
        let last = *attempt_times(d).last().expect("an attempt");
        let wait = next - last;
        assert!(
            wait >= chrono::Duration::seconds(29) && wait <= chrono::Duration::seconds(34),
            "next try {wait} later"
        );
    }

    receiver.restart().await;
    let started = Instant::now();
    receiver
        .wait_until(Duration::from_secs(45), "every delivery arrives once the receiver is back", |seen| {
            seen.iter().map(|r| r.delivery_id().to_owned()).collect::<BTreeSet<_>>().len() == 3
        })
        .await;
    println!("{backend:?}: the receiver got every delivery {:?} after it came back", started.elapsed());
    let list = await_deliveries(&app, &project, &wid, ARRIVAL, "every delivery succeeds", |l| {
        l.iter().all(|d| d["status"] == "succeeded")
    })
    .await;
    assert!(list.iter().all(|d| attempts(d).len() >= 3), "{list:#?}");
    let delivered: BTreeSet<String> =
        receiver.requests().iter().map(|r| r.json()["data"]["id"].as_str().expect("key id").to_owned()).collect();
    assert_eq!(delivered, keys, "each key's event arrived");
    assert_eq!(receiver.count(), 3, "none twice");
}

async fn gone_disables_the_webhook_at_once_and_fails_its_pending_deliveries(backend: Backend) {
    let app = spawn(backend).await;
    let project = app.project("gone").await;
    let gone = Receiver::start().await;
    let control = Receiver::start().await;
    gone.answer_next(&[500]);
    gone.answer(410);
    let (wid, _) = webhook(&app, &project, &gone.url(), &["api_key.created"]).await;
    webhook(&app, &project, &control.url(), &["api_key.created"]).await;

    app.key(&project, &["read"]).await;
    let first = gone.wait_for(1, ARRIVAL).await.remove(0);
    // Its 500 leaves the first delivery pending for a retry; the next one meets a 410.
    await_delivery(&app, &project, &wid, first.delivery_id(), ARRIVAL, "the 500 is logged", |d| attempts(d).len() == 1)
        .await;
    app.key(&project, &["read"]).await;
    let answered_gone = gone.wait_for(2, ARRIVAL).await.remove(1);
    let disabled_within = Duration::from_secs(3);
    let started = Instant::now();
    while get_webhook(&app, &project, &wid).await["active"] != false {
        assert!(started.elapsed() < disabled_within, "410 did not disable the webhook within {disabled_within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let list = deliveries(&app, &project, &wid).await;
    assert_eq!(list.len(), 2, "{list:#?}");
    for d in &list {
        assert_eq!(d["status"], "failed", "pending deliveries fail with the webhook: {d:#}");
        assert_eq!(d["next_attempt_at"], Value::Null, "{d:#}");
        assert_eq!(attempts(d).len(), 1, "{d:#}");
        let expected = if d["id"] == answered_gone.delivery_id() { 410 } else { 500 };
        assert_eq!(attempts(d)[0]["status_code"], expected, "{d:#}");
    }
    let listed = app.get(&hooks_path(&project), app.admin_key()).await;
    let shown = listed.body["data"].as_array().expect("webhooks").iter().find(|w| w["id"] == wid.as_str()).cloned();
    assert_eq!(shown.map(|w| w["active"].clone()), Some(Value::Bool(false)), "it stays listed, inactive");

    app.key(&project, &["read"]).await;
    control.wait_for(3, ARRIVAL).await;
    // Wait past the first delivery's 5 s retry time: neither it nor the new event may come.
    let quiet_until = first.at + Duration::from_millis(6_500);
    tokio::time::sleep(quiet_until.saturating_duration_since(Instant::now())).await;
    assert_eq!(gone.count(), 2, "a disabled webhook gets nothing more");
}

async fn private_destinations_are_refused_at_send_time_by_default(backend: Backend) {
    // TENGINE_WEBHOOK_ALLOW_PRIVATE unset.
    let app = TestApp::spawn(backend).await;
    let project = app.project("ssrf").await;
    let receiver = Receiver::start().await;
    let by_name = format!("http://localhost:{}/hook", receiver.port());
    for url in [receiver.url(), by_name] {
        // Accepted when created: the check is on the address resolved at send time.
        let (wid, _) = webhook(&app, &project, &url, &["*"]).await;
        let (_, did) = send_test(&app, &project, &wid).await;
        let d =
            await_delivery(&app, &project, &wid, &did, ARRIVAL, "an attempt is logged", |d| !attempts(d).is_empty())
                .await;
        let a = &attempts(&d)[0];
        assert_eq!(a["status_code"], Value::Null, "{url}: {d:#}");
        let error = a["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("not allowed") && error.contains("address"),
            "{url}: the error says the destination address is not allowed: {d:#}"
        );
    }
    assert_eq!(receiver.count(), 0, "no connection reached the receiver");
}

async fn recover_resends_each_failed_delivery_of_a_window_once(backend: Backend) {
    let app = spawn(backend).await;
    let project = app.project("down all weekend").await;
    let receiver = Receiver::start().await;
    receiver.answer(410);
    let (wid, _) = webhook(&app, &project, &receiver.url(), &["api_key.created"]).await;
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    app.key(&project, &["read"]).await;
    let gone = receiver.wait_for(1, ARRIVAL).await.remove(0);
    await_deliveries(&app, &project, &wid, ARRIVAL, "the delivery fails", |d| {
        d.len() == 1 && d[0]["status"] == "failed"
    })
    .await;
    // The receiver is back: turn the webhook on again and recover the window.
    receiver.answer(200);
    let path = format!("{}/{wid}", hooks_path(&project));
    app.patch_json(&path, app.admin_key(), &serde_json::json!({"active": true})).await.expect(reqwest::StatusCode::OK);
    let since = before.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let body = serde_json::json!({"since": since});
    let res = app.post_json(&format!("{path}/recover"), app.admin_key(), &body).await;
    assert_eq!(res.expect(reqwest::StatusCode::ACCEPTED).body, serde_json::json!({"recovered": 1, "has_more": false}));
    let again = receiver.wait_for(2, ARRIVAL).await.remove(1);
    assert_eq!(again.json(), gone.json(), "the same event");
    assert_ne!(again.delivery_id(), gone.delivery_id(), "as a new delivery");
    let res = app.post_json(&format!("{path}/recover"), app.admin_key(), &body).await;
    assert_eq!(
        res.expect(reqwest::StatusCode::ACCEPTED).body["recovered"],
        0,
        "each failed delivery is recovered once"
    );
    let until = serde_json::json!({"since": since, "until": since});
    let res = app.post_json(&format!("{path}/recover"), app.admin_key(), &until).await;
    assert_eq!(res.error(reqwest::StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"], "since");
}

/// The list's total and the `X-Tengine-Retained-Since` it names.
async fn total_and_horizon(app: &TestApp, path: &str) -> (u64, chrono::DateTime<chrono::Utc>) {
    let res = app.get(path, app.admin_key()).await;
    res.expect(reqwest::StatusCode::OK);
    let since =
        res.header("x-tengine-retained-since").unwrap_or_else(|| panic!("{path} names where its history starts"));
    let since = chrono::DateTime::parse_from_rfc3339(since).expect("RFC 3339").to_utc();
    (res.body["pagination"]["total"].as_u64().expect("a total"), since)
}

async fn the_retention_purge_deletes_only_finished_history_past_its_horizon(backend: Backend) {
    let mut options = allow_private();
    options.env.push(("TENGINE_RETENTION_DAYS".to_owned(), "7".to_owned()));
    let app = TestApp::spawn_with(backend, options).await;
    let project = app.project("a long history").await;
    let receiver = Receiver::start().await;
    let (wid, _) = webhook(&app, &project, &receiver.url(), &["api_key.created"]).await;
    app.key(&project, &["read"]).await;
    let sent = await_deliveries(&app, &project, &wid, ARRIVAL, "the delivery succeeds", |d| {
        d.len() == 1 && d[0]["status"] == "succeeded"
    })
    .await;
    let (delivery, event) = (sent[0]["id"].as_str().expect("an id"), sent[0]["event_id"].as_str().expect("an id"));

    // Copies of it minted long ago (an id carries its creation time), as a server running
    // for a year holds: one finished with its attempt, one still waiting to be retried.
    let tomorrow = match backend {
        Backend::Postgres => "created_at + interval '1 day'",
        Backend::Sqlite => "created_at + 86400000000",
    };
    for (n, status, next) in [(1, "succeeded", "NULL"), (2, "pending", tomorrow)] {
        let (old_event, old_delivery) = (format!("evt_{n:0>22}"), format!("del_{n:0>22}"));
        app.sql(&format!(
            "INSERT INTO events (id, account_id, project_id, type, data, created_at) \
             SELECT '{old_event}', account_id, project_id, type, data, created_at FROM events WHERE id = '{event}'"
        ));
        app.sql(&format!(
            "INSERT INTO deliveries \
             (id, event_id, webhook_id, event_type, status, attempt_count, next_attempt_at, created_at, attempts) \
             SELECT '{old_delivery}', '{old_event}', webhook_id, event_type, '{status}', attempt_count, {next}, \
             created_at, attempts FROM deliveries WHERE id = '{delivery}'"
        ));
        // PostgreSQL's server counts the rows it inserts in the inserting statement (no
        // trigger does), so rows written behind its back are counted here as it would.
        if backend == Backend::Postgres {
            // A list's counter is named by its table and its owner's id.
            for (table, owner, id) in
                [("events", "project_id", &old_event), ("deliveries", "webhook_id", &old_delivery)]
            {
                app.sql(&format!(
                    "INSERT INTO row_counts (scope, slot, n) SELECT '{table}:' || {owner}, 0, 1 FROM {table} \
                     WHERE id = '{id}' ON CONFLICT (scope, slot) DO UPDATE SET n = row_counts.n + 1"
                ));
            }
        }
    }
    let events_path = format!("/api/v1/projects/{project}/events");
    let deliveries_path = format!("{}/{wid}/deliveries", hooks_path(&project));
    let (events_before, since) = total_and_horizon(&app, &events_path).await;
    let (deliveries_before, _) = total_and_horizon(&app, &deliveries_path).await;
    let week_ago = chrono::Utc::now() - chrono::Duration::days(7);
    assert!((since - week_ago).num_seconds().abs() < 60, "the history starts {since}, not about {week_ago}");
    assert_eq!(deliveries_before, 3);

    let done = app.cli_json(&["purge"]).await;
    assert_eq!((done["deliveries"].as_u64(), done["events"].as_u64()), (Some(1), Some(1)), "{done}");
    let before = assert_timestamp(&done["before"]);
    assert!((before - week_ago).num_seconds().abs() < 60, "TENGINE_RETENTION_DAYS reached the command: {done}");

    let (events_after, _) = total_and_horizon(&app, &events_path).await;
    assert_eq!(events_after, events_before - 1, "only the finished old event went");
    let kept: BTreeSet<String> =
        deliveries(&app, &project, &wid).await.iter().map(|d| d["id"].as_str().expect("an id").to_owned()).collect();
    assert_eq!(kept, BTreeSet::from([delivery.to_owned(), format!("del_{:0>22}", 2)]), "the pending one stays");
    assert_eq!(total_and_horizon(&app, &deliveries_path).await.0, 2, "the total follows");
    let again = app.cli_json(&["purge"]).await;
    assert_eq!((again["deliveries"].as_u64(), again["events"].as_u64()), (Some(0), Some(0)), "{again}");

    let refused = app.cli(&["purge", "--retention-days", "0"]).await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("1..=3650"), "the error names the range");
}

async fn health_shows_the_last_day_the_newest_delivery_and_why_a_webhook_is_off(backend: Backend) {
    let app = spawn(backend).await;
    let project = app.project("watched").await;
    let receiver = Receiver::start().await;
    receiver.answer_next(&[500]);
    let (wid, _) = webhook(&app, &project, &receiver.url(), &["api_key.created"]).await;
    let path = format!("{}/{wid}", hooks_path(&project));
    let health = || async {
        let res = app.get(&format!("{path}/health"), app.admin_key()).await;
        res.expect(reqwest::StatusCode::OK);
        res.body
    };
    let quiet = health().await;
    assert_eq!(
        (quiet["attempts"].as_u64(), &quiet["success_rate"], &quiet["last_delivery"]),
        (Some(0), &Value::Null, &Value::Null)
    );
    assert_eq!((quiet["active"].as_bool(), &quiet["disabled"]), (Some(true), &Value::Null));

    app.key(&project, &["read"]).await;
    receiver.wait_for(1, ARRIVAL).await;
    app.key(&project, &["read"]).await;
    receiver.wait_for(2, ARRIVAL).await;
    let newest = deliveries(&app, &project, &wid).await[0].clone();
    let seen = crate::helpers::eventually(ARRIVAL, || async { health().await["attempts"] == 2 }).await;
    assert!(seen, "two attempts counted: {}", health().await);
    let h = health().await;
    assert_eq!(
        (h["succeeded"].as_u64(), h["failed"].as_u64(), h["success_rate"].as_f64()),
        (Some(1), Some(1), Some(0.5))
    );
    assert!(h["latency_ms_avg"].is_u64(), "{h}");
    assert_eq!(h["last_delivery"]["id"], newest["id"], "the newest delivery");
    assert_eq!(h["last_delivery"]["status"], "succeeded");
    assert!(h["failing_since"].is_null(), "the success after the failure cleared it: {h}");
    let since = assert_timestamp(&h["since"]);
    assert!((chrono::Utc::now() - since - chrono::Duration::hours(24)).num_seconds().abs() < 60, "{h}");

    // 410 switches it off, says so, and tells the account's webhooks that listen for it;
    // on again clears it; off by hand says so (and tells no one: people know what they did).
    let other = app.project("on call").await;
    let pager = Receiver::start().await;
    let (_, pager_secret) = webhook(&app, &other, &pager.url(), &["webhook.disabled"]).await;
    receiver.answer(410);
    send_test(&app, &project, &wid).await;
    let off = crate::helpers::eventually(ARRIVAL, || async { health().await["active"] == false }).await;
    assert!(off, "410 disabled it: {}", health().await);
    let h = health().await;
    assert_eq!(h["disabled"]["reason"], "gone", "{h}");
    assert_timestamp(&h["disabled"]["at"]);
    let told = pager.wait_for(1, ARRIVAL).await.remove(0);
    let event = told.json();
    assert_eq!((event["type"].as_str(), told.event_type()), (Some("webhook.disabled"), "webhook.disabled"));
    assert_eq!(event["data"]["webhook"]["id"], wid.as_str());
    assert_eq!(
        (event["data"]["webhook"]["active"].as_bool(), event["data"]["reason"].as_str()),
        (Some(false), Some("gone"))
    );
    assert!(event["data"]["webhook"].get("secret").is_none(), "never a secret: {event}");
    assert!(!told.text().contains(&pager_secret));
    app.patch_json(&path, app.admin_key(), &serde_json::json!({"active": true})).await.expect(reqwest::StatusCode::OK);
    assert_eq!(health().await["disabled"], Value::Null);
    app.patch_json(&path, app.admin_key(), &serde_json::json!({"active": false})).await.expect(reqwest::StatusCode::OK);
    assert_eq!(health().await["disabled"]["reason"], "manual");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(pager.count(), 1, "a switch-off by hand is not announced");

    let (_, reader) = app.key(&project, &["read"]).await;
    app.get(&format!("{path}/health"), &reader).await.error(reqwest::StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS");
    let missing = format!("{}/wh_0000000000000000000001/health", hooks_path(&project));
    app.get(&missing, app.admin_key()).await.error(reqwest::StatusCode::NOT_FOUND, "NOT_FOUND");
}

async fn a_throttled_webhook_gets_at_most_its_rate_per_second_and_loses_nothing(backend: Backend) {
    let app = spawn(backend).await;
    let project = app.project("gentle").await;
    let receiver = Receiver::start().await;
    let hooks = hooks_path(&project);
    let bad = app
        .post_json(
            &hooks,
            app.admin_key(),
            &serde_json::json!({"url": receiver.url(), "events": ["*"], "rate_limit": 0}),
        )
        .await;
    assert_eq!(bad.error(reqwest::StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"], "rate_limit");
    let made = app
        .post_json(
            &hooks,
            app.admin_key(),
            &serde_json::json!({"url": receiver.url(), "events": ["api_key.created"], "rate_limit": 2}),
        )
        .await;
    made.expect(reqwest::StatusCode::CREATED);
    assert_eq!(made.body["rate_limit"], 2);
    let wid = made.body["id"].as_str().expect("id").to_owned();
    for _ in 0..6 {
        app.key(&project, &["read"]).await;
    }
    let got = receiver.wait_for(6, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 6);
    let done = await_deliveries(&app, &project, &wid, ARRIVAL, "all six succeed", |d| {
        d.len() == 6 && d.iter().all(|d| d["status"] == "succeeded")
    })
    .await;
    // Each delivery was tried once (waiting is not failing), and at most two a second.
    let mut per_second: std::collections::BTreeMap<i64, usize> = Default::default();
    for d in &done {
        let tries = attempt_times(d);
        assert_eq!(tries.len(), 1, "one attempt each: {d:#}");
        *per_second.entry(tries[0].timestamp()).or_default() += 1;
    }
    assert!(per_second.values().all(|n| *n <= 2), "at most 2 per second: {per_second:?}");
    assert!(per_second.len() >= 3, "six at two a second take three seconds: {per_second:?}");

    let path = format!("{hooks}/{wid}");
    let lifted = app.patch_json(&path, app.admin_key(), &serde_json::json!({"rate_limit": null})).await;
    assert_eq!(lifted.expect(reqwest::StatusCode::OK).body["rate_limit"], Value::Null);
    let set = app.patch_json(&path, app.admin_key(), &serde_json::json!({"rate_limit": 10_000})).await;
    assert_eq!(set.expect(reqwest::StatusCode::OK).body["rate_limit"], 10_000);
    let over = app.patch_json(&path, app.admin_key(), &serde_json::json!({"rate_limit": 10_001})).await;
    assert_eq!(over.error(reqwest::StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"], "rate_limit");
}

async fn an_ordered_webhook_gets_its_events_in_creation_order_through_a_retry(backend: Backend) {
    let app = spawn(backend).await;
    let project = app.project("in order").await;
    let receiver = Receiver::start().await;
    let hooks = hooks_path(&project);
    let odd = serde_json::json!({"url": receiver.url(), "events": ["*"], "ordering": "sorted"});
    let bad = app.post_json(&hooks, app.admin_key(), &odd).await;
    assert_eq!(bad.error(reqwest::StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"], "ordering");
    let body = serde_json::json!({"url": receiver.url(), "events": ["api_key.created"], "ordering": "per_project"});
    let made = app.post_json(&hooks, app.admin_key(), &body).await;
    assert_eq!(made.expect(reqwest::StatusCode::CREATED).body["ordering"], "per_project");
    // The first delivery fails once: the others wait for its retry instead of overtaking it.
    receiver.answer_next(&[500]);
    let mut keys = Vec::new();
    for _ in 0..3 {
        keys.push(app.key(&project, &["read"]).await.0);
    }
    let got = receiver.wait_for(4, Duration::from_secs(15)).await;
    let order: Vec<String> =
        got.iter().map(|r| r.json()["data"]["id"].as_str().expect("a key id").to_owned()).collect();
    assert_eq!(order, vec![keys[0].clone(), keys[0].clone(), keys[1].clone(), keys[2].clone()], "in creation order");
    assert!(got[1].at - got[0].at >= Duration::from_millis(4_900), "the retry came after its delay");

    let wid = made.body["id"].as_str().expect("id");
    let path = format!("{hooks}/{wid}");
    let back = app.patch_json(&path, app.admin_key(), &serde_json::json!({"ordering": "none"})).await;
    assert_eq!(back.expect(reqwest::StatusCode::OK).body["ordering"], "none");
    let null = app.patch_json(&path, app.admin_key(), &serde_json::json!({"ordering": null})).await;
    assert_eq!(null.error(reqwest::StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"], "ordering");
}
