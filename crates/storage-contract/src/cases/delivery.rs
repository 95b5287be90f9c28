//! The delivery queue: leased claims, concurrent claimers, recorded results and their
//! effects on webhooks, releases and the next due time.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use tengine_domain::delivery::{DeliveryStatus, DisableReason, Webhook};
use tengine_domain::{DeliveryId, EventType, PageRequest};
use tengine_ports::{AttemptResult, DeliveryJob, Store, WebhookEffect};
use uuid::Uuid;

use crate::fixtures::{
    account, append, at, attempt, deliveries_of, new_event, new_webhook, project, store_webhook, webhook,
};

const LEASE: Duration = Duration::from_secs(30);

/// The delivery ids of some jobs, sorted.
fn ids(jobs: &[DeliveryJob]) -> Vec<DeliveryId> {
    let mut ids: Vec<DeliveryId> = jobs.iter().map(|j| j.delivery_id).collect();
    ids.sort();
    ids
}

/// A result for `job`.
fn result(
    job: &DeliveryJob,
    at_: DateTime<Utc>,
    code: u16,
    status: DeliveryStatus,
    next: Option<DateTime<Utc>>,
    effect: WebhookEffect,
) -> AttemptResult {
    AttemptResult {
        delivery_id: job.delivery_id,
        webhook_id: job.webhook.id,
        attempt: attempt(at_, Some(code), 25, (code >= 300).then_some("unexpected status"), Some("body")),
        status,
        next_attempt_at: next,
        webhook_effect: effect,
        announcement: None,
    }
}

/// Stores a pending delivery of a fresh test event to `webhook`, due at `due`.
async fn addressed<S: Store>(store: &S, webhook: &Webhook, due: DateTime<Utc>) -> DeliveryId {
    let event = new_event(webhook.account_id, Some(webhook.project_id), EventType::WebhookTest);
    let id = DeliveryId::from_uuid(Uuid::now_v7());
    let mut tx = store.begin().await.expect("begin");
    tx.append_event(&event).await.expect("append");
    tx.insert_delivery(id, event.id, webhook.id, due).await.expect("insert delivery");
    tx.commit().await.expect("commit");
    id
}

/// Only due deliveries of active webhooks are claimed, with the event and webhook in
/// full; a leased delivery is not claimed again until its lease ends; `limit` caps a
/// claim, earliest due first.
pub async fn claims_respect_due_time_activity_and_leases<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let w = webhook(store, acct.id, p.id, &["*"]).await;
    let mut off = new_webhook(acct.id, p.id, &["*"], at(1));
    off.active = false;
    store_webhook(store, &off).await;
    let e = new_event(acct.id, Some(p.id), EventType::ApiKeyCreated);
    assert_eq!(append(store, &e).await, 1);
    let later = addressed(store, &w, at(100)).await;
    addressed(store, &off, at(5)).await;

    assert!(store.claim_due("a", at(4), LEASE, 10).await.expect("claim").is_empty(), "not due yet");
    let jobs = store.claim_due("a", at(10), LEASE, 10).await.expect("claim");
    assert_eq!(jobs.len(), 1, "only the due delivery of the active webhook");
    let job = &jobs[0];
    assert_eq!((&job.event, &job.webhook, job.attempts_so_far, job.created_at), (&e, &w, 0, e.created_at));
    let first = job.delivery_id;
    assert!(store.claim_due("b", at(20), LEASE, 10).await.expect("claim").is_empty(), "leased until 40");
    assert!(store.claim_due("b", at(40), LEASE, 10).await.expect("claim").is_empty(), "the lease ends after 40");
    let retaken = store.claim_due("b", at(41), LEASE, 10).await.expect("claim");
    assert_eq!(ids(&retaken), vec![first], "retaken after the lease expired");
    assert!(store.claim_due("a", at(60), LEASE, 10).await.expect("claim").is_empty());

    let one = store.claim_due("c", at(200), LEASE, 1).await.expect("claim");
    assert_eq!(ids(&one), vec![first], "earliest due first");
    let next = store.claim_due("c", at(200), LEASE, 1).await.expect("claim");
    assert_eq!(ids(&next), vec![later]);
    assert!(store.claim_due("c", at(200), LEASE, 10).await.expect("claim").is_empty());
    assert!(store.claim_due("c", at(1_000), LEASE, 0).await.expect("claim").is_empty(), "a zero limit claims none");
}

/// Releasing a worker's claims makes them claimable at once; other workers' claims
/// stay.
pub async fn released_claims_are_claimable_at_once<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    webhook(store, acct.id, p.id, &["*"]).await;
    webhook(store, acct.id, p.id, &["*"]).await;
    assert_eq!(append(store, &new_event(acct.id, Some(p.id), EventType::ApiKeyCreated)).await, 2);
    let a = store.claim_due("a", at(10), LEASE, 1).await.expect("claim");
    let b = store.claim_due("b", at(10), LEASE, 1).await.expect("claim");
    assert_eq!((a.len(), b.len()), (1, 1));
    store.release("c").await.expect("release nothing");
    assert!(store.claim_due("c", at(11), LEASE, 10).await.expect("claim").is_empty());
    store.release("a").await.expect("release");
    let c = store.claim_due("c", at(11), LEASE, 10).await.expect("claim");
    assert_eq!(ids(&c), ids(&a), "only a's claim was released");
    assert_eq!(c[0].attempts_so_far, 0, "a release is not an attempt");
}

/// Four workers claiming 200 due deliveries at once take each exactly once.
pub async fn concurrent_claims_take_each_delivery_exactly_once<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    for _ in 0..4 {
        webhook(store, acct.id, p.id, &["api_key.created"]).await;
    }
    let mut tx = store.begin().await.expect("begin");
    for _ in 0..50 {
        let created = tx.append_event(&new_event(acct.id, Some(p.id), EventType::ApiKeyCreated)).await.expect("append");
        assert_eq!(created, 4);
    }
    tx.commit().await.expect("commit");

    let claims = join_all((0..4).map(|n| async move {
        let worker = format!("worker-{n}");
        let mut mine = Vec::new();
        loop {
            let jobs = store.claim_due(&worker, at(10), Duration::from_secs(300), 7).await.expect("claim");
            if jobs.is_empty() {
                return mine;
            }
            mine.extend(jobs.iter().map(|j| j.delivery_id));
        }
    }))
    .await;
    let total: usize = claims.iter().map(Vec::len).sum();
    let unique: BTreeSet<DeliveryId> = claims.into_iter().flatten().collect();
    assert_eq!((total, unique.len()), (200, 200), "every delivery claimed exactly once");
    assert!(store.claim_due("late", at(11), LEASE, 500).await.expect("claim").is_empty());
}

/// Completing records each attempt (numbered in order), sets status and due time,
/// drops the claim, and applies health effects in order: a failure sets
/// `failing_since` if unset, a success clears it.
pub async fn completing_records_attempts_statuses_and_webhook_health<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let w = webhook(store, acct.id, p.id, &["*"]).await;
    for _ in 0..3 {
        append(store, &new_event(acct.id, Some(p.id), EventType::ProjectUpdated)).await;
    }
    let jobs = store.claim_due("a", at(10), Duration::from_secs(60), 10).await.expect("claim");
    let [d1, d2, d3] = jobs.as_slice() else { panic!("three jobs: {jobs:?}") };
    let ok = result(d1, at(11), 200, DeliveryStatus::Succeeded, None, WebhookEffect::Healthy);
    let retry = result(d2, at(11), 500, DeliveryStatus::Pending, Some(at(16)), WebhookEffect::Failing(at(11)));
    let mut timeout = result(d3, at(12), 0, DeliveryStatus::Pending, Some(at(72)), WebhookEffect::Failing(at(12)));
    timeout.attempt = attempt(at(12), None, 15_000, Some("timed out"), None);
    store.complete(&[ok.clone(), retry.clone(), timeout.clone()]).await.expect("complete");

    let wid = w.id;
    let get = |id| async move { store.get_delivery(wid, id).await.expect("get").expect("stored") };
    let done = get(d1.delivery_id).await;
    assert_eq!((done.status, done.next_attempt_at, done.attempts), (DeliveryStatus::Succeeded, None, vec![ok.attempt]));
    let waiting = get(d3.delivery_id).await;
    assert_eq!((waiting.status, waiting.next_attempt_at), (DeliveryStatus::Pending, Some(at(72))));
    assert_eq!(waiting.attempts, vec![timeout.attempt]);
    let health = || async { store.get_webhook(p.id, w.id).await.expect("get").expect("stored").failing_since };
    assert_eq!(health().await, Some(at(11)), "the first failure after the success");

    // The claim was dropped: d2 is claimable when due, though its lease ran to 70.
    let again = store.claim_due("b", at(16), LEASE, 10).await.expect("claim");
    assert_eq!((ids(&again), again[0].attempts_so_far), (vec![d2.delivery_id], 1));
    let retry2 = result(&again[0], at(17), 503, DeliveryStatus::Pending, Some(at(100)), WebhookEffect::Failing(at(17)));
    store.complete(std::slice::from_ref(&retry2)).await.expect("complete");
    assert_eq!(health().await, Some(at(11)), "failing since the first failure");
    assert_eq!(get(d2.delivery_id).await.attempts, vec![retry.attempt, retry2.attempt]);

    let last = store.claim_due("b", at(100), LEASE, 10).await.expect("claim");
    assert_eq!(ids(&last), ids(&[d2.clone(), d3.clone()]));
    let gave_up = result(d3, at(101), 500, DeliveryStatus::Failed, None, WebhookEffect::Failing(at(101)));
    let success = result(d2, at(102), 204, DeliveryStatus::Succeeded, None, WebhookEffect::Healthy);
    store.complete(&[gave_up, success]).await.expect("complete");
    assert_eq!(health().await, None, "a success clears it");
    let mut outcomes: Vec<_> =
        deliveries_of(store, &w).await.iter().map(|d| (d.status.as_str(), d.attempts.len())).collect();
    outcomes.sort();
    assert_eq!(outcomes, vec![("failed", 2), ("succeeded", 1), ("succeeded", 3)]);
    assert_eq!(store.next_due().await.expect("next due"), None);
    store.complete(&[]).await.expect("an empty batch is a no-op");
}

/// Disabling a webhook deactivates it and fails its pending deliveries (claimed or
/// not); another webhook's deliveries stay pending.
pub async fn disabling_a_webhook_fails_its_pending_deliveries<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let (gone, other) = (webhook(store, acct.id, p.id, &["*"]).await, webhook(store, acct.id, p.id, &["*"]).await);
    for _ in 0..3 {
        append(store, &new_event(acct.id, Some(p.id), EventType::ApiKeyUpdated)).await;
    }
    let jobs = store.claim_due("a", at(10), LEASE, 10).await.expect("claim");
    assert_eq!(jobs.len(), 6);
    addressed(store, &gone, at(5)).await;
    let job = jobs.iter().find(|j| j.webhook.id == gone.id).expect("a delivery of the webhook");
    let rejected = result(job, at(11), 410, DeliveryStatus::Failed, None, WebhookEffect::Disable(DisableReason::Gone));
    store.complete(&[rejected]).await.expect("complete");

    let stored = store.get_webhook(p.id, gone.id).await.expect("get").expect("still listed");
    assert_eq!((stored.active, stored.failing_since), (false, None));
    let ds = deliveries_of(store, &gone).await;
    assert_eq!(ds.len(), 4);
    for d in &ds {
        assert_eq!((d.status, d.next_attempt_at), (DeliveryStatus::Failed, None), "{d:?}");
    }
    assert_eq!(ds.iter().map(|d| d.attempts.len()).sum::<usize>(), 1);
    let others = deliveries_of(store, &other).await;
    assert!(others.iter().all(|d| d.status == DeliveryStatus::Pending));
    let later = store.claim_due("b", at(100), LEASE, 10).await.expect("claim");
    assert_eq!(later.len(), 3);
    assert!(later.iter().all(|j| j.webhook.id == other.id));
    let page = store.list_webhooks(acct.id, p.id, PageRequest::default()).await.expect("list");
    assert_eq!(page.total, 2);
}

/// Failed deliveries of a window are taken for recovery once, oldest first, in batches;
/// pending ones and other webhooks' are left alone.
pub async fn failed_deliveries_are_taken_for_recovery_once<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let (gone, other) = (webhook(store, acct.id, p.id, &["*"]).await, webhook(store, acct.id, p.id, &["*"]).await);
    for _ in 0..3 {
        append(store, &new_event(acct.id, Some(p.id), EventType::ApiKeyUpdated)).await;
    }
    let jobs = store.claim_due("a", at(10), LEASE, 10).await.expect("claim");
    let job = jobs.iter().find(|j| j.webhook.id == gone.id).expect("a delivery of the webhook");
    let rejected = result(job, at(11), 410, DeliveryStatus::Failed, None, WebhookEffect::Disable(DisableReason::Gone));
    store.complete(&[rejected]).await.expect("complete");
    let failed: Vec<_> = deliveries_of(store, &gone).await.into_iter().map(|d| (d.id, d.event_id)).collect();
    assert_eq!(failed.len(), 3);
    let mut tx = store.begin().await.expect("begin");
    let window = (at(0) - chrono::Duration::days(1), at(0) + chrono::Duration::days(1));
    let first = tx.take_failed_deliveries(gone.id, window.0, window.1, at(20), 2).await.expect("take");
    let rest = tx.take_failed_deliveries(gone.id, window.0, window.1, at(20), 2).await.expect("take");
    let none = tx.take_failed_deliveries(gone.id, window.0, window.1, at(21), 2).await.expect("take");
    let elsewhere = tx.take_failed_deliveries(other.id, window.0, window.1, at(21), 10).await.expect("take");
    tx.commit().await.expect("commit");
    assert_eq!((first.len(), rest.len(), none.len(), elsewhere.len()), (2, 1, 0, 0), "each once; pending ones never");
    let mut taken: Vec<_> = first.into_iter().chain(rest).collect();
    let mut expected = failed;
    taken.sort();
    expected.sort();
    assert_eq!(taken, expected);
}

/// The next due time is the earliest next attempt of the pending deliveries of active
/// webhooks that are not leased (a lease's end is found by the worker's poll).
pub async fn next_due_is_the_earliest_unleased_pending_time<S: Store>(store: &S) {
    assert_eq!(store.next_due().await.expect("next due"), None);
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let w = webhook(store, acct.id, p.id, &["*"]).await;
    let mut off = new_webhook(acct.id, p.id, &["*"], at(1));
    off.active = false;
    store_webhook(store, &off).await;
    addressed(store, &off, at(5)).await;
    addressed(store, &w, at(50)).await;
    let soon = addressed(store, &w, at(20)).await;
    assert_eq!(store.next_due().await.expect("next due"), Some(at(20)));
    // Queue depth counts every pending delivery, of inactive webhooks too.
    assert_eq!(store.pending_deliveries().await.expect("depth"), 3);

    let lease = Duration::from_secs(60);
    assert_eq!(ids(&store.claim_due("a", at(30), lease, 10).await.expect("claim")), vec![soon]);
    assert_eq!(store.next_due().await.expect("next due"), Some(at(50)));
    assert_eq!(store.claim_due("a", at(55), lease, 10).await.expect("claim").len(), 1);
    assert_eq!(store.next_due().await.expect("next due"), None, "all leased: a lease's end is the poll's to find");
    store.release("a").await.expect("release");
    assert_eq!(store.next_due().await.expect("next due"), Some(at(20)));
}

/// The retention purge deletes finished deliveries minted before the horizon (their
/// attempts with them), then events no delivery refers to, at most `limit` of each per
/// call; pending deliveries, their events and anything newer stay; totals follow.
pub async fn the_retention_purge_keeps_pending_and_newer_deliveries<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let quiet = project(store, acct.id, at(1)).await;
    let w = webhook(store, acct.id, p.id, &["*"]).await;
    for _ in 0..3 {
        append(store, &new_event(acct.id, Some(p.id), EventType::ProjectUpdated)).await;
    }
    let unsent = new_event(acct.id, Some(quiet.id), EventType::ProjectUpdated);
    append(store, &unsent).await;
    let jobs = store.claim_due("a", at(10), LEASE, 10).await.expect("claim");
    let [d1, d2, d3] = jobs.as_slice() else { panic!("three jobs: {jobs:?}") };
    store
        .complete(&[
            result(d1, at(11), 200, DeliveryStatus::Succeeded, None, WebhookEffect::Healthy),
            result(d2, at(11), 500, DeliveryStatus::Failed, None, WebhookEffect::Failing(at(11))),
            result(d3, at(11), 500, DeliveryStatus::Pending, Some(at(99)), WebhookEffect::Failing(at(11))),
        ])
        .await
        .expect("complete");
    // Ids carry their millisecond: what is minted after the horizon is newer than it.
    let horizon = Utc::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let newer = new_event(acct.id, Some(p.id), EventType::ProjectUpdated);
    append(store, &newer).await;
    let fresh = store.claim_due("a", at(12), LEASE, 10).await.expect("claim");
    let [d5] = fresh.as_slice() else { panic!("one job: {fresh:?}") };
    store
        .complete(&[result(d5, at(13), 200, DeliveryStatus::Succeeded, None, WebhookEffect::Healthy)])
        .await
        .expect("complete");

    let first = store.purge_delivered(horizon, 1).await.expect("purge");
    assert_eq!((first.deliveries, first.events), (1, 1), "one of each, the oldest first");
    let rest = store.purge_delivered(horizon, 10).await.expect("purge");
    assert_eq!((rest.deliveries, rest.events), (1, 2), "the failed delivery, its event and the unsent event");
    let none = store.purge_delivered(horizon, 10).await.expect("purge");
    assert_eq!((none.deliveries, none.events), (0, 0));

    for gone in [d1, d2] {
        assert_eq!(store.get_delivery(w.id, gone.delivery_id).await.expect("get"), None);
    }
    let kept: BTreeSet<_> = deliveries_of(store, &w).await.into_iter().map(|d| (d.id, d.status.as_str())).collect();
    assert_eq!(kept, BTreeSet::from([(d3.delivery_id, "pending"), (d5.delivery_id, "succeeded")]));
    let deliveries = store.list_deliveries(acct.id, p.id, w.id, PageRequest::default()).await.expect("list");
    assert_eq!(deliveries.total, 2);
    let events = store.list_events(acct.id, p.id, None, PageRequest::default()).await.expect("list");
    let ids: BTreeSet<_> = events.items.iter().map(|e| e.id).collect();
    assert_eq!(ids, BTreeSet::from([d3.event.id, newer.id]), "the pending delivery's event and the newer one");
    assert_eq!(events.total, 2);
    let unsent_page = store.list_events(acct.id, quiet.id, None, PageRequest::default()).await.expect("list");
    assert_eq!((unsent_page.items.len(), unsent_page.total), (0, 0));
    assert_ne!(unsent.id, newer.id);
}

/// A webhook's health: its attempts summed by hour from the batches that recorded them
/// (the hour holding `since` counts whole), why and when the worker or a person switched
/// it off (cleared when it is on again), and the rollups go with the retention purge.
pub async fn a_webhooks_health_counts_its_attempts_and_says_why_it_is_off<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let w = webhook(store, acct.id, p.id, &["*"]).await;
    let stats = |since| async move { store.webhook_stats(w.id, since).await.expect("stats") };
    assert_eq!(stats(at(0)).await, tengine_ports::WebhookStats::default(), "nothing yet");
    for _ in 0..3 {
        append(store, &new_event(acct.id, Some(p.id), EventType::ProjectUpdated)).await;
    }
    let jobs = store.claim_due("a", at(10), LEASE, 10).await.expect("claim");
    let [d1, d2, d3] = jobs.as_slice() else { panic!("three jobs: {jobs:?}") };
    let mut timeout = result(d3, at(12), 0, DeliveryStatus::Pending, Some(at(99)), WebhookEffect::Failing(at(12)));
    timeout.attempt = attempt(at(12), None, 15_000, Some("timed out"), None);
    store
        .complete(&[
            result(d1, at(11), 200, DeliveryStatus::Succeeded, None, WebhookEffect::Healthy),
            result(d2, at(11), 500, DeliveryStatus::Pending, Some(at(99)), WebhookEffect::Failing(at(11))),
            timeout,
        ])
        .await
        .expect("complete");
    let day = stats(at(0)).await;
    assert_eq!((day.stats.attempts, day.stats.succeeded, day.stats.latency_ms_sum), (3, 1, 15_050));
    assert_eq!(day.disabled, None, "it is on");
    assert_eq!(stats(at(5)).await, day, "the hour holding `since` counts whole");
    assert_eq!(stats(at(7_200)).await.stats.attempts, 0, "nothing in later hours");

    // Another project's webhook hears of it (`webhook.disabled` is account-wide).
    let elsewhere = project(store, acct.id, at(1)).await;
    let listener = webhook(store, acct.id, elsewhere.id, &["webhook.disabled"]).await;
    let again = store.claim_due("b", at(100), LEASE, 10).await.expect("claim");
    let announce = |n: u128| {
        let id = tengine_domain::EventId::from_uuid(Uuid::from_u128(n));
        Some(tengine_domain::Event { id, ..new_event(acct.id, Some(p.id), EventType::WebhookDisabled) })
    };
    let mut gone =
        result(&again[0], at(101), 410, DeliveryStatus::Failed, None, WebhookEffect::Disable(DisableReason::Gone));
    gone.announcement = announce(1);
    let mut later =
        result(&again[1], at(102), 500, DeliveryStatus::Failed, None, WebhookEffect::Disable(DisableReason::Failing));
    later.announcement = announce(2);
    store.complete(&[gone.clone(), later]).await.expect("complete");
    let off = stats(at(0)).await;
    assert_eq!(off.stats.attempts, 5);
    assert_eq!(off.disabled, Some((DisableReason::Gone, at(101))), "the first reason of the batch");
    let heard = || async { deliveries_of(store, &listener).await.into_iter().map(|d| d.event_id).collect::<Vec<_>>() };
    let first = tengine_domain::EventId::from_uuid(Uuid::from_u128(1));
    assert_eq!(heard().await, vec![first], "announced once, the first");
    // A webhook already off is not announced again.
    gone.announcement = announce(3);
    store.complete(&[gone]).await.expect("complete");
    assert_eq!(heard().await, vec![first], "not announced twice");

    let mut tx = store.begin().await.expect("begin");
    let mut stored = tx.lock_webhook(p.id, w.id).await.expect("lock").expect("stored");
    stored.active = true;
    tx.update_webhook(&stored).await.expect("update");
    tx.commit().await.expect("commit");
    assert_eq!(stats(at(0)).await.disabled, None, "on again");
    let mut tx = store.begin().await.expect("begin");
    stored.active = false;
    stored.updated_at = at(300);
    tx.update_webhook(&stored).await.expect("update");
    tx.commit().await.expect("commit");
    assert_eq!(stats(at(0)).await.disabled, Some((DisableReason::Manual, at(300))), "switched off by hand");

    let missing = tengine_domain::WebhookId::from_uuid(Uuid::now_v7());
    assert!(matches!(store.webhook_stats(missing, at(0)).await, Err(tengine_ports::RepoError::NotFound)));
    store.purge_delivered(at(7_200), 10).await.expect("purge");
    assert_eq!(stats(at(0)).await.stats.attempts, 0, "the rollups before the horizon went");
}

/// A throttled webhook's budget is shared per second: taking it is atomic, a claim skips
/// the webhook while its second is used up (and the next due time says when it is not)
/// and takes no more than its budget, an older window counts against a newer one, and
/// postponed deliveries wait unclaimed.
pub async fn a_throttled_webhooks_budget_is_shared_per_second<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let mut w = webhook(store, acct.id, p.id, &["*"]).await;
    w.rate_limit = Some(2);
    let mut tx = store.begin().await.expect("begin");
    tx.update_webhook(&w).await.expect("update");
    tx.commit().await.expect("commit");
    assert_eq!(store.get_webhook(p.id, w.id).await.expect("get").expect("stored").rate_limit, Some(2));
    for _ in 0..3 {
        append(store, &new_event(acct.id, Some(p.id), EventType::ProjectUpdated)).await;
    }
    let (window, next) = tengine_domain::delivery::throttle_window(at(10));
    assert_eq!(store.take_send_budget(w.id, window, 2, 3).await.expect("budget"), 2, "two of three");
    assert_eq!(store.take_send_budget(w.id, window, 2, 1).await.expect("budget"), 0, "used up");
    let earlier = window - chrono::Duration::seconds(1);
    assert_eq!(
        store.take_send_budget(w.id, earlier, 2, 1).await.expect("budget"),
        0,
        "a slow clock counts against the newer second"
    );
    assert!(store.claim_due("a", at(10), LEASE, 10).await.expect("claim").is_empty(), "skipped while used up");
    assert_eq!(store.next_due().await.expect("next due"), Some(next), "due again when the next second starts");

    let jobs = store.claim_due("a", next, LEASE, 10).await.expect("claim");
    assert_eq!(jobs.len(), 2, "a new second: claimable again, as many as its budget");
    assert_eq!(jobs[0].webhook.rate_limit, Some(2), "the claim carries the throttle");
    let (_, after) = tengine_domain::delivery::throttle_window(next);
    let waiting: Vec<DeliveryId> = jobs[1..].iter().map(|j| j.delivery_id).collect();
    store.postpone("a", &waiting, after).await.expect("postpone");
    store.postpone("someone else", &[jobs[0].delivery_id], after).await.expect("not theirs: no change");
    for d in deliveries_of(store, &w).await.into_iter().filter(|d| waiting.contains(&d.id)) {
        assert_eq!((d.status, d.next_attempt_at, d.attempts.len()), (DeliveryStatus::Pending, Some(after), 0));
    }
    let again = store.claim_due("b", after, LEASE, 10).await.expect("claim");
    let never: Vec<DeliveryId> = deliveries_of(store, &w)
        .await
        .into_iter()
        .filter(|d| !jobs.iter().any(|j| j.delivery_id == d.id))
        .map(|d| d.id)
        .collect();
    assert_eq!(
        ids(&again),
        {
            let mut w = [waiting.clone(), never].concat();
            w.sort();
            w
        },
        "the postponed one, free, due then, with the one the budget left"
    );
}

/// A throttled, ordered or switched-off webhook's backlog is queued apart from the rest
/// and follows its webhook's settings as they change: throttling a webhook with a
/// backlog holds the backlog to the budget at once, lifting the throttle or the order
/// frees what was queued under it, a delivery addressed to the webhook later is claimed
/// too, and switching it off holds everything (not due, not claimed, not lost).
pub async fn a_webhooks_backlog_follows_its_throttle_and_order_as_they_change<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let mut w = webhook(store, acct.id, p.id, &["*"]).await;
    let update = |w: Webhook| async move {
        let mut tx = store.begin().await.expect("begin");
        tx.update_webhook(&w).await.expect("update");
        tx.commit().await.expect("commit");
    };
    for _ in 0..4 {
        append(store, &new_event(acct.id, Some(p.id), EventType::ProjectUpdated)).await;
    }
    w.rate_limit = Some(2);
    update(w.clone()).await;
    let held = store.claim_due("a", at(10), LEASE, 10).await.expect("claim");
    assert_eq!(held.len(), 2, "the backlog queued before the throttle is held to its budget");
    store.release("a").await.expect("release");

    w.rate_limit = None;
    update(w.clone()).await;
    let freed = store.claim_due("a", at(10), LEASE, 10).await.expect("claim");
    assert_eq!(freed.len(), 4, "the throttle lifted: everything queued under it goes");
    store.release("a").await.expect("release");

    w.ordering = tengine_domain::delivery::DeliveryOrder::PerProject;
    update(w.clone()).await;
    assert_eq!(store.claim_due("a", at(10), LEASE, 10).await.expect("claim").len(), 1, "ordered: the head only");
    store.release("a").await.expect("release");
    w.ordering = tengine_domain::delivery::DeliveryOrder::Unordered;
    update(w.clone()).await;
    let addressed_later = addressed(store, &w, at(10)).await;
    let all = store.claim_due("a", at(10), LEASE, 10).await.expect("claim");
    assert_eq!(all.len(), 5, "the order lifted: the backlog and the one addressed later");
    assert!(all.iter().any(|j| j.delivery_id == addressed_later));
    store.release("a").await.expect("release");

    w.active = false;
    update(w.clone()).await;
    assert!(store.claim_due("a", at(10), LEASE, 10).await.expect("claim").is_empty(), "switched off: none goes");
    assert_eq!(store.next_due().await.expect("next due"), None, "and none is due");
    assert_eq!(store.pending_deliveries().await.expect("depth"), 5, "but all are kept");
    w.active = true;
    update(w.clone()).await;
    assert_eq!(store.next_due().await.expect("next due"), Some(at(5)));
    assert_eq!(store.claim_due("a", at(10), LEASE, 10).await.expect("claim").len(), 5, "on again: all go");
}

/// An ordered webhook's deliveries are claimed one at a time in creation order: the next
/// waits while the one before is pending (in flight or waiting to retry) and goes once
/// that one succeeded or failed for good; the next due time never names a waiting one.
/// An unordered webhook of the same events is not held back.
pub async fn an_ordered_webhook_sends_one_at_a_time_in_creation_order<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let mut w = webhook(store, acct.id, p.id, &["*"]).await;
    w.ordering = tengine_domain::delivery::DeliveryOrder::PerProject;
    let mut tx = store.begin().await.expect("begin");
    tx.update_webhook(&w).await.expect("update");
    tx.commit().await.expect("commit");
    let free = webhook(store, acct.id, p.id, &["*"]).await;
    let mut events = Vec::new();
    for _ in 0..3 {
        let e = new_event(acct.id, Some(p.id), EventType::ProjectUpdated);
        append(store, &e).await;
        events.push(e.id);
    }
    let first = store.claim_due("a", at(10), LEASE, 10).await.expect("claim");
    let ordered: Vec<_> = first.iter().filter(|j| j.webhook.id == w.id).map(|j| j.event.id).collect();
    assert_eq!(ordered, vec![events[0]], "only the oldest of the ordered webhook");
    assert_eq!(first.iter().filter(|j| j.webhook.id == free.id).count(), 3, "the unordered one is not held back");
    let head = first.iter().find(|j| j.webhook.id == w.id).expect("the head").clone();
    let mut done: Vec<AttemptResult> = first
        .iter()
        .filter(|j| j.webhook.id == free.id)
        .map(|j| result(j, at(11), 200, DeliveryStatus::Succeeded, None, WebhookEffect::Healthy))
        .collect();
    done.push(result(&head, at(11), 500, DeliveryStatus::Pending, Some(at(50)), WebhookEffect::Failing(at(11))));
    store.complete(&done).await.expect("complete");
    assert!(store.claim_due("b", at(20), LEASE, 10).await.expect("claim").is_empty(), "the next waits for the retry");
    assert_eq!(store.next_due().await.expect("next due"), Some(at(50)), "never a waiting one");

    let retry = store.claim_due("b", at(50), LEASE, 10).await.expect("claim");
    assert_eq!(retry.iter().map(|j| j.event.id).collect::<Vec<_>>(), vec![events[0]]);
    let gave_up = result(&retry[0], at(51), 500, DeliveryStatus::Failed, None, WebhookEffect::Failing(at(51)));
    store.complete(&[gave_up]).await.expect("complete");
    let second = store.claim_due("c", at(52), LEASE, 10).await.expect("claim");
    assert_eq!(
        second.iter().map(|j| j.event.id).collect::<Vec<_>>(),
        vec![events[1]],
        "failed for good: the next goes"
    );
    store
        .complete(&[result(&second[0], at(53), 200, DeliveryStatus::Succeeded, None, WebhookEffect::Healthy)])
        .await
        .expect("complete");
    let third = store.claim_due("c", at(54), LEASE, 10).await.expect("claim");
    assert_eq!(third.iter().map(|j| j.event.id).collect::<Vec<_>>(), vec![events[2]]);
    let stored = store.get_webhook(p.id, w.id).await.expect("get").expect("stored");
    assert_eq!(stored.ordering, tengine_domain::delivery::DeliveryOrder::PerProject);
}
