//! Webhooks: writes and reads, the fan-out of events to deliveries, single deliveries,
//! and the event log.

use std::collections::BTreeSet;

use tengine_domain::delivery::{DeliveryStatus, EventFilter, PreviousWebhookSecret, Webhook, WebhookSummary};
use tengine_domain::secret_key::SealedSecret;
use tengine_domain::{DeliveryId, Event, EventId, EventType, PageRequest, ProjectId, WebhookId};
use tengine_ports::{AttemptResult, RepoError, Store, WebhookEffect};
use uuid::Uuid;

use super::{assert_conflict, assert_not_found};
use crate::fixtures::{
    account, append, at, attempt, deliveries_of, new_event, new_webhook, project, store_webhook, webhook,
};

/// The expected listing order: newest first, ties broken by id, descending.
fn newest_first(mut webhooks: Vec<Webhook>) -> Vec<Webhook> {
    webhooks.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    webhooks
}

/// The ids of the events delivered to `webhook`.
async fn delivered<S: Store>(store: &S, webhook: &Webhook) -> BTreeSet<EventId> {
    deliveries_of(store, webhook).await.into_iter().map(|d| d.event_id).collect()
}

/// An event of `kind` at `secs`.
fn event_at(account: tengine_domain::AccountId, project: Option<ProjectId>, kind: EventType, secs: i64) -> Event {
    Event { created_at: at(secs), ..new_event(account, project, kind) }
}

/// Every field survives insert, lock, update and get; a webhook is only found under
/// its own project.
pub async fn a_webhook_round_trips_every_field<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let other = project(store, acct.id, at(0)).await;
    let mut w = new_webhook(acct.id, p.id, &["api_key.created", "project.updated"], at(1));
    w.previous_secret = Some(PreviousWebhookSecret {
        secret: SealedSecret::from_stored("an-older-secret".into()),
        expires_at: at(100),
    });
    w.failing_since = Some(at(50));
    let mut bare = new_webhook(acct.id, p.id, &["*"], at(2));
    bare.description = None;
    bare.active = false;
    store_webhook(store, &w).await;
    store_webhook(store, &bare).await;
    assert_eq!(store.get_webhook(p.id, w.id).await.expect("get"), Some(w.clone()));
    assert_eq!(store.get_webhook(p.id, bare.id).await.expect("get"), Some(bare));
    assert_eq!(store.get_webhook(other.id, w.id).await.expect("get"), None);
    let missing = WebhookId::from_uuid(Uuid::now_v7());
    assert_eq!(store.get_webhook(p.id, missing).await.expect("get"), None);

    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.lock_webhook(p.id, w.id).await.expect("lock"), Some(w.clone()));
    assert_eq!(tx.lock_webhook(other.id, w.id).await.expect("lock"), None);
    w.url = "http://10.0.0.1:8080/other#x".parse().expect("url");
    w.description = None;
    w.events = EventFilter::All;
    w.active = false;
    w.previous_secret = None;
    w.failing_since = None;
    w.updated_at = at(9);
    tx.update_webhook(&w).await.expect("update");
    assert_eq!(tx.lock_webhook(p.id, w.id).await.expect("lock"), Some(w.clone()));
    tx.commit().await.expect("commit");
    assert_eq!(store.get_webhook(p.id, w.id).await.expect("get"), Some(w.clone()));

    w.rotate_secret(SealedSecret::from_stored("a-brand-new-secret".into()), at(10));
    w.events = EventFilter::parse_list(&["usage.limit_exceeded"]).expect("events");
    w.description = Some("rotated".to_owned());
    w.failing_since = Some(at(11));
    let mut tx = store.begin().await.expect("begin");
    tx.update_webhook(&w).await.expect("update");
    tx.commit().await.expect("commit");
    assert_eq!(store.get_webhook(p.id, w.id).await.expect("get"), Some(w.clone()));

    let mut tx = store.begin().await.expect("begin");
    assert_conflict(tx.insert_webhook(&w).await);
    drop(tx);
    let mut tx = store.begin().await.expect("begin");
    assert_not_found(tx.update_webhook(&new_webhook(acct.id, p.id, &["*"], at(3))).await);
}

/// Lists are newest first (ties by id) with the project's total on every page.
pub async fn webhooks_are_listed_newest_first_with_pages_and_totals<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let other = project(store, acct.id, at(0)).await;
    let mut all = Vec::new();
    for secs in [3, 1, 3, 7, 1] {
        let w = new_webhook(acct.id, p.id, &["*"], at(secs));
        store_webhook(store, &w).await;
        all.push(w);
    }
    webhook(store, acct.id, other.id, &["*"]).await;
    let mut seen = Vec::new();
    for (page_no, len) in [(1, 2), (2, 2), (3, 1), (4, 0)] {
        let request = PageRequest::new(page_no, 2);
        let page = store.list_webhooks(acct.id, p.id, request.clone()).await.expect("list");
        assert_eq!((page.items.len(), page.total, page.request), (len, 5, request), "page {page_no}");
        seen.extend(page.items);
    }
    // A page shows each webhook as a list does, its secrets left out.
    assert_eq!(seen, newest_first(all).into_iter().map(WebhookSummary::from).collect::<Vec<_>>());
}

/// Deleting a webhook removes it, its deliveries and their attempts; other webhooks
/// keep theirs. Deleting a missing or foreign one is not found.
pub async fn deleting_a_webhook_removes_it_with_its_deliveries<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let other = project(store, acct.id, at(0)).await;
    let (w, kept) = (webhook(store, acct.id, p.id, &["*"]).await, webhook(store, acct.id, p.id, &["*"]).await);
    assert_eq!(append(store, &new_event(acct.id, Some(p.id), EventType::ApiKeyCreated)).await, 2);
    let jobs = store.claim_due("w1", at(10), std::time::Duration::from_secs(60), 10).await.expect("claim");
    let results: Vec<AttemptResult> = jobs
        .iter()
        .map(|j| AttemptResult {
            delivery_id: j.delivery_id,
            webhook_id: j.webhook.id,
            attempt: attempt(at(11), Some(500), 5, Some("HTTP 500"), None),
            status: DeliveryStatus::Pending,
            next_attempt_at: Some(at(20)),
            webhook_effect: WebhookEffect::Failing(at(11)),
            announcement: None,
        })
        .collect();
    store.complete(&results).await.expect("complete");
    let gone = deliveries_of(store, &w).await;
    assert_eq!(gone.len(), 1);

    let mut tx = store.begin().await.expect("begin");
    assert_not_found(tx.delete_webhook(other.id, w.id).await);
    drop(tx);
    let mut tx = store.begin().await.expect("begin");
    tx.delete_webhook(p.id, w.id).await.expect("delete");
    tx.commit().await.expect("commit");

    assert_eq!(store.get_webhook(p.id, w.id).await.expect("get"), None);
    let page = store.list_deliveries(w.account_id, p.id, w.id, PageRequest::default()).await;
    assert!(matches!(page, Err(RepoError::NotFound)), "a deleted webhook's deliveries: {page:?}");
    assert_eq!(store.get_delivery(w.id, gone[0].id).await.expect("get"), None);
    let left = deliveries_of(store, &kept).await;
    assert_eq!((left.len(), left[0].attempts.len()), (1, 1), "the other webhook keeps its delivery");
    let mut tx = store.begin().await.expect("begin");
    assert_not_found(tx.delete_webhook(p.id, w.id).await);
}

/// A project event reaches the project's subscribed active webhooks; account-wide
/// events reach every subscribed webhook of the account; inactive, unsubscribed,
/// other accounts' and deleted projects' webhooks get nothing; test events fan out
/// to none. Each delivery is pending and due at the event's time.
pub async fn events_fan_out_to_the_webhooks_that_receive_them<S: Store>(store: &S) {
    let acct = account(store).await;
    let (p1, p2) = (project(store, acct.id, at(0)).await, project(store, acct.id, at(0)).await);
    let gone = project(store, acct.id, at(0)).await;
    let stranger = account(store).await;
    let theirs = project(store, stranger.id, at(0)).await;
    let keys_p1 = webhook(store, acct.id, p1.id, &["api_key.created"]).await;
    let all_p1 = webhook(store, acct.id, p1.id, &["*"]).await;
    let keys_and_projects_p2 = webhook(store, acct.id, p2.id, &["api_key.created", "project.created"]).await;
    let mut off = new_webhook(acct.id, p1.id, &["*"], at(1));
    off.active = false;
    store_webhook(store, &off).await;
    let updates_p1 = webhook(store, acct.id, p1.id, &["project.updated"]).await;
    let on_gone = webhook(store, acct.id, gone.id, &["*"]).await;
    let foreign = webhook(store, stranger.id, theirs.id, &["*"]).await;
    let limits_p2 = webhook(store, acct.id, p2.id, &["usage.limit_exceeded"]).await;
    let mut tx = store.begin().await.expect("begin");
    tx.delete_project(acct.id, gone.id, at(2)).await.expect("delete project");
    tx.commit().await.expect("commit");

    let key_created = event_at(acct.id, Some(p1.id), EventType::ApiKeyCreated, 3);
    let project_created = event_at(acct.id, Some(p2.id), EventType::ProjectCreated, 4);
    let limit = event_at(acct.id, None, EventType::UsageLimitExceeded, 5);
    let test = event_at(acct.id, Some(p1.id), EventType::WebhookTest, 6);
    let updated = event_at(acct.id, Some(p1.id), EventType::ProjectUpdated, 7);
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.append_event(&key_created).await.expect("append"), 2);
    assert_eq!(tx.append_event(&project_created).await.expect("append"), 2);
    assert_eq!(tx.append_event(&limit).await.expect("append"), 2);
    assert_eq!(tx.append_event(&test).await.expect("append"), 0);
    tx.commit().await.expect("commit");
    assert_eq!(append(store, &updated).await, 2);

    let set = |events: &[&Event]| events.iter().map(|e| e.id).collect::<BTreeSet<_>>();
    assert_eq!(delivered(store, &keys_p1).await, set(&[&key_created]));
    assert_eq!(delivered(store, &all_p1).await, set(&[&key_created, &project_created, &limit, &updated]));
    assert_eq!(delivered(store, &keys_and_projects_p2).await, set(&[&project_created]));
    assert_eq!(delivered(store, &updates_p1).await, set(&[&updated]));
    assert_eq!(delivered(store, &limits_p2).await, set(&[&limit]));
    for nothing in [&off, &foreign] {
        assert!(delivered(store, nothing).await.is_empty());
    }
    // A deleted project's webhooks are out of sight with it.
    let gone = store.list_deliveries(on_gone.account_id, on_gone.project_id, on_gone.id, PageRequest::default()).await;
    assert!(matches!(gone, Err(RepoError::NotFound)), "{gone:?}");
    let ds = deliveries_of(store, &all_p1).await;
    let events = [&updated, &limit, &project_created, &key_created];
    for (d, e) in ds.iter().zip(events) {
        assert_eq!((d.event_id, d.event_type, d.webhook_id), (e.id, e.event_type, all_p1.id));
        assert_eq!((d.status, d.attempts.len()), (DeliveryStatus::Pending, 0));
        assert_eq!((d.next_attempt_at, d.created_at), (Some(e.created_at), e.created_at));
    }
}

/// One batch of events about several projects (as one transaction appends them) reaches
/// each project's webhooks and no other project's; with an account-wide event in the
/// batch, every webhook of the account is a candidate for that one.
pub async fn a_batch_of_several_projects_events_reaches_each_projects_webhooks<S: Store>(store: &S) {
    let acct = account(store).await;
    let (p1, p2) = (project(store, acct.id, at(0)).await, project(store, acct.id, at(0)).await);
    let p3 = project(store, acct.id, at(0)).await;
    let w1 = webhook(store, acct.id, p1.id, &["*"]).await;
    let w2 = webhook(store, acct.id, p2.id, &["*"]).await;
    let w3 = webhook(store, acct.id, p3.id, &["*"]).await;
    let e1 = event_at(acct.id, Some(p1.id), EventType::ProjectUpdated, 1);
    let e2 = event_at(acct.id, Some(p2.id), EventType::ProjectUpdated, 2);
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.append_events(&[e1.clone(), e2.clone()]).await.expect("append"), 2);
    tx.commit().await.expect("commit");
    let set = |events: &[&Event]| events.iter().map(|e| e.id).collect::<BTreeSet<_>>();
    assert_eq!(delivered(store, &w1).await, set(&[&e1]));
    assert_eq!(delivered(store, &w2).await, set(&[&e2]));
    assert!(delivered(store, &w3).await.is_empty());

    let e3 = event_at(acct.id, Some(p3.id), EventType::ProjectUpdated, 3);
    let wide = event_at(acct.id, Some(p1.id), EventType::ProjectCreated, 4);
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.append_events(&[e3.clone(), wide.clone()]).await.expect("append"), 4);
    tx.commit().await.expect("commit");
    assert_eq!(delivered(store, &w1).await, set(&[&e1, &wide]));
    assert_eq!(delivered(store, &w2).await, set(&[&e2, &wide]));
    assert_eq!(delivered(store, &w3).await, set(&[&e3, &wide]));
}

/// A stored event can be addressed to one webhook whatever its subscription; a
/// missing event or webhook is not found, a duplicate id a conflict.
pub async fn a_delivery_can_be_addressed_to_one_webhook<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let w = webhook(store, acct.id, p.id, &["project.deleted"]).await;
    let test = new_event(acct.id, Some(p.id), EventType::WebhookTest);
    let id = DeliveryId::from_uuid(Uuid::now_v7());
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.append_event(&test).await.expect("append"), 0);
    tx.insert_delivery(id, test.id, w.id, at(30)).await.expect("insert delivery");
    tx.commit().await.expect("commit");

    let d = store.get_delivery(w.id, id).await.expect("get").expect("stored");
    assert_eq!((d.id, d.event_id, d.event_type, d.webhook_id), (id, test.id, EventType::WebhookTest, w.id));
    assert_eq!(
        (d.status, d.attempts, d.next_attempt_at, d.created_at),
        (DeliveryStatus::Pending, vec![], Some(at(30)), at(30))
    );
    let other = webhook(store, acct.id, p.id, &["*"]).await;
    assert_eq!(store.get_delivery(other.id, id).await.expect("get"), None);

    let mut tx = store.begin().await.expect("begin");
    assert_conflict(tx.insert_delivery(id, test.id, w.id, at(31)).await);
    drop(tx);
    let fresh = || DeliveryId::from_uuid(Uuid::now_v7());
    let mut tx = store.begin().await.expect("begin");
    assert_not_found(tx.insert_delivery(fresh(), EventId::from_uuid(Uuid::now_v7()), w.id, at(31)).await);
    drop(tx);
    let mut tx = store.begin().await.expect("begin");
    assert_not_found(tx.insert_delivery(fresh(), test.id, WebhookId::from_uuid(Uuid::now_v7()), at(31)).await);
    drop(tx);
    assert_eq!(deliveries_of(store, &w).await.len(), 1);
}

/// The event log of a project is newest first (ties by id), with totals, optionally
/// of one type; events of other projects and account-wide ones without a project are
/// not in it.
pub async fn events_are_listed_newest_first_and_filtered_by_type<S: Store>(store: &S) {
    let acct = account(store).await;
    let (p, other) = (project(store, acct.id, at(0)).await, project(store, acct.id, at(0)).await);
    let mut mine = Vec::new();
    let mut tx = store.begin().await.expect("begin");
    for (kind, secs) in [
        (EventType::ProjectCreated, 1),
        (EventType::ApiKeyCreated, 4),
        (EventType::ApiKeyCreated, 2),
        (EventType::ProjectUpdated, 4),
        (EventType::ApiKeyCreated, 4),
    ] {
        let e = event_at(acct.id, Some(p.id), kind, secs);
        tx.append_event(&e).await.expect("append");
        mine.push(e);
    }
    tx.append_event(&event_at(acct.id, Some(other.id), EventType::ApiKeyCreated, 3)).await.expect("append");
    tx.append_event(&event_at(acct.id, None, EventType::UsageLimitExceeded, 3)).await.expect("append");
    tx.commit().await.expect("commit");
    mine.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));

    let page = store.list_events(acct.id, p.id, None, PageRequest::new(1, 100)).await.expect("list");
    assert_eq!((page.items.clone(), page.total), (mine.clone(), 5));
    let page = store.list_events(acct.id, p.id, None, PageRequest::new(2, 3)).await.expect("list");
    assert_eq!((page.items.as_slice(), page.total), (&mine[3..], 5));
    let keys: Vec<Event> = mine.iter().filter(|e| e.event_type == EventType::ApiKeyCreated).cloned().collect();
    let page =
        store.list_events(acct.id, p.id, Some(EventType::ApiKeyCreated), PageRequest::new(1, 2)).await.expect("list");
    assert_eq!((page.items.as_slice(), page.total), (&keys[..2], 3));
    let page =
        store.list_events(acct.id, p.id, Some(EventType::ProjectDeleted), PageRequest::default()).await.expect("list");
    assert_eq!((page.items.len(), page.total), (0, 0));
}

/// Deliveries are listed newest first with totals, each with its attempts oldest
/// first.
pub async fn deliveries_are_listed_newest_first_with_their_attempts_in_order<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let w = webhook(store, acct.id, p.id, &["*"]).await;
    let events: Vec<Event> =
        [1, 3, 2].into_iter().map(|secs| event_at(acct.id, Some(p.id), EventType::ApiKeyRevoked, secs)).collect();
    for e in &events {
        assert_eq!(append(store, e).await, 1);
    }
    let lease = std::time::Duration::from_secs(60);
    let first_try = |job: &tengine_ports::DeliveryJob| AttemptResult {
        delivery_id: job.delivery_id,
        webhook_id: w.id,
        // Microseconds, quotes and non-ASCII survive a page's JSON-carried attempts.
        attempt: attempt(
            at(11) + chrono::Duration::microseconds(123_457),
            None,
            15_000,
            Some("timed out: \"quoted\", ünïcode"),
            None,
        ),
        status: DeliveryStatus::Pending,
        next_attempt_at: Some(at(20)),
        webhook_effect: WebhookEffect::Failing(at(10)),
        announcement: None,
    };
    let jobs = store.claim_due("w1", at(10), lease, 10).await.expect("claim");
    assert_eq!(jobs.len(), 3);
    let results: Vec<_> = jobs.iter().map(first_try).collect();
    store.complete(&results).await.expect("complete");
    let jobs = store.claim_due("w1", at(20), lease, 10).await.expect("claim");
    let oldest = jobs.iter().find(|j| j.event.id == events[0].id).expect("the oldest is due again");
    let second = AttemptResult {
        attempt: attempt(at(21), Some(204), 42, None, Some("")),
        status: DeliveryStatus::Succeeded,
        next_attempt_at: None,
        webhook_effect: WebhookEffect::Healthy,
        announcement: None,
        ..first_try(oldest)
    };
    store.complete(std::slice::from_ref(&second)).await.expect("complete");

    let all = deliveries_of(store, &w).await;
    let order: Vec<EventId> = all.iter().map(|d| d.event_id).collect();
    assert_eq!(order, vec![events[1].id, events[2].id, events[0].id]);
    let done = &all[2];
    assert_eq!(done.attempts, vec![first_try(oldest).attempt, second.attempt]);
    assert_eq!((done.status, done.next_attempt_at), (DeliveryStatus::Succeeded, None));
    assert_eq!(store.get_delivery(w.id, done.id).await.expect("get").as_ref(), Some(done));
    let page = store.list_deliveries(acct.id, p.id, w.id, PageRequest::new(2, 2)).await.expect("list");
    assert_eq!((page.items.as_slice(), page.total), (&all[2..], 3));
    for d in &all[..2] {
        assert_eq!((d.attempts.len(), d.status, d.next_attempt_at), (1, DeliveryStatus::Pending, Some(at(20))));
    }
}

/// A dropped transaction leaves neither its event nor its deliveries.
pub async fn a_dropped_transaction_leaves_no_deliveries<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let w = webhook(store, acct.id, p.id, &["*"]).await;
    let stored = new_event(acct.id, Some(p.id), EventType::WebhookTest);
    assert_eq!(append(store, &stored).await, 0);
    let e = new_event(acct.id, Some(p.id), EventType::ApiKeyCreated);
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.append_event(&e).await.expect("append"), 1);
    tx.insert_delivery(DeliveryId::from_uuid(Uuid::now_v7()), stored.id, w.id, at(5)).await.expect("insert");
    drop(tx);

    let page = store.list_deliveries(acct.id, p.id, w.id, PageRequest::default()).await.expect("list");
    assert_eq!((page.items.len(), page.total), (0, 0));
    assert_eq!(store.next_due().await.expect("next due"), None);
    let claimed = store.claim_due("w1", at(100), std::time::Duration::from_secs(60), 10).await.expect("claim");
    assert!(claimed.is_empty());
    assert_eq!(append(store, &e).await, 1, "the event can be appended again, and fans out then");
}

/// Failing webhooks of an account's live projects (or one project), longest failing
/// first, at most `limit`; healthy ones, other accounts' and deleted projects' are not.
pub async fn failing_webhooks_are_listed_longest_failing_first<S: Store>(store: &S) {
    let acct = account(store).await;
    let other = account(store).await;
    let (p, q, gone) = (
        project(store, acct.id, at(0)).await,
        project(store, acct.id, at(0)).await,
        project(store, acct.id, at(0)).await,
    );
    let theirs = project(store, other.id, at(0)).await;
    let failing = |project: ProjectId, account, since: Option<i64>| {
        let mut w = new_webhook(account, project, &["*"], at(1));
        w.failing_since = since.map(at);
        w
    };
    let recent = failing(p.id, acct.id, Some(50));
    let oldest = failing(q.id, acct.id, Some(10));
    let healthy = failing(p.id, acct.id, None);
    let deleted = failing(gone.id, acct.id, Some(5));
    let foreign = failing(theirs.id, other.id, Some(1));
    for w in [&recent, &oldest, &healthy, &deleted, &foreign] {
        store_webhook(store, w).await;
    }
    let mut tx = store.begin().await.expect("begin");
    tx.delete_project(acct.id, gone.id, at(60)).await.expect("delete");
    tx.commit().await.expect("commit");

    let ids = |list: Vec<Webhook>| list.into_iter().map(|w| w.id).collect::<Vec<_>>();
    assert_eq!(ids(store.failing_webhooks(acct.id, None, 10).await.expect("list")), vec![oldest.id, recent.id]);
    assert_eq!(ids(store.failing_webhooks(acct.id, None, 1).await.expect("list")), vec![oldest.id]);
    assert_eq!(ids(store.failing_webhooks(acct.id, Some(p.id), 10).await.expect("list")), vec![recent.id]);
    assert!(store.failing_webhooks(acct.id, Some(theirs.id), 10).await.expect("list").is_empty());
}
