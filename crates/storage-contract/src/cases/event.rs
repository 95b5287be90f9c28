//! The event outbox and usage-alert claims: both live and die with their transaction.

use futures::future::join_all;
use tengine_domain::{EventType, PageRequest, Project};
use tengine_ports::Store;

use super::assert_conflict;
use crate::fixtures::{account, at, hour, new_event, new_project, project, webhook};

/// An event appended in a dropped transaction leaves nothing (its id can be used
/// again); a committed one stays (its id is then taken).
pub async fn an_appended_event_commits_with_its_transaction<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let about_project = new_event(acct.id, Some(p.id), EventType::ProjectUpdated);
    let account_wide = new_event(acct.id, None, EventType::UsageLimitExceeded);

    let mut tx = store.begin().await.expect("begin");
    tx.append_event(&about_project).await.expect("append");
    tx.append_event(&account_wide).await.expect("append");
    drop(tx);

    let mut tx = store.begin().await.expect("begin");
    tx.append_event(&about_project).await.expect("a rolled-back event left nothing behind");
    tx.append_event(&account_wide).await.expect("append");
    tx.commit().await.expect("commit");

    let mut tx = store.begin().await.expect("begin");
    assert_conflict(tx.append_event(&about_project).await);
    drop(tx);
    let mut tx = store.begin().await.expect("begin");
    assert_conflict(tx.append_event(&account_wide).await);
}

/// An alert is claimed once per account, kind and window; a rolled-back claim does
/// not count.
pub async fn usage_alerts_are_claimed_once_per_kind_and_window<S: Store>(store: &S) {
    let acct = account(store).await;
    let other = account(store).await;
    let (threshold, exceeded) = (EventType::UsageThresholdReached, EventType::UsageLimitExceeded);

    let mut tx = store.begin().await.expect("begin");
    assert!(tx.claim_usage_alert(acct.id, threshold, hour(0)).await.expect("claim"));
    drop(tx);

    let mut tx = store.begin().await.expect("begin");
    assert!(
        tx.claim_usage_alert(acct.id, threshold, hour(0)).await.expect("claim"),
        "a rolled-back claim does not count"
    );
    assert!(!tx.claim_usage_alert(acct.id, threshold, hour(0)).await.expect("claim"));
    tx.commit().await.expect("commit");

    let mut tx = store.begin().await.expect("begin");
    assert!(!tx.claim_usage_alert(acct.id, threshold, hour(0)).await.expect("claim"));
    assert!(tx.claim_usage_alert(acct.id, exceeded, hour(0)).await.expect("claim"));
    assert!(tx.claim_usage_alert(acct.id, threshold, hour(1)).await.expect("claim"));
    assert!(tx.claim_usage_alert(other.id, threshold, hour(0)).await.expect("claim"));
    tx.commit().await.expect("commit");
}

/// Of many concurrent claims of one alert, exactly one wins.
pub async fn concurrent_alert_claims_have_one_winner<S: Store>(store: &S) {
    let acct = account(store).await;
    let claims = join_all((0..8).map(|_| async {
        let mut tx = store.begin().await.expect("begin");
        let won = tx.claim_usage_alert(acct.id, EventType::UsageLimitExceeded, hour(0)).await.expect("claim");
        tx.commit().await.expect("commit");
        won
    }))
    .await;
    assert_eq!(claims.iter().filter(|won| **won).count(), 1, "{claims:?}");
}

/// A group commit's batch (several projects and events in one transaction, as
/// concurrent creates are written) lands as the single writes would: every row, every
/// total, and a delivery for each webhook that receives an event (account-wide ones
/// included) and none across accounts; a
/// duplicate in a batch fails it whole.
pub async fn a_batch_of_projects_and_events_lands_like_single_writes<S: Store>(store: &S) {
    let (one, two) = (account(store).await, account(store).await);
    let old = project(store, one.id, at(0)).await;
    let other = project(store, two.id, at(0)).await;
    let updates = webhook(store, one.id, old.id, &["project.updated"]).await;
    let everything = webhook(store, two.id, other.id, &["*"]).await;
    let fresh = [
        new_project(one.id, at(1)),
        new_project(one.id, at(2)),
        Project { description: None, ..new_project(two.id, at(3)) },
    ];
    let events = [
        new_event(one.id, Some(fresh[0].id), EventType::ProjectCreated),
        new_event(one.id, Some(old.id), EventType::ProjectUpdated),
        new_event(two.id, Some(other.id), EventType::ProjectUpdated),
        new_event(two.id, Some(fresh[2].id), EventType::ProjectCreated),
        new_event(two.id, None, EventType::UsageLimitExceeded),
    ];

    let mut tx = store.begin().await.expect("begin");
    tx.insert_projects(&[]).await.expect("an empty batch of projects");
    assert_eq!(tx.append_events(&[]).await.expect("an empty batch of events"), 0);
    tx.insert_projects(&fresh).await.expect("insert projects");
    assert_eq!(tx.append_events(&events).await.expect("append events"), 4, "deliveries created");
    tx.commit().await.expect("commit");

    for p in &fresh {
        assert_eq!(store.get_project(p.account_id, p.id).await.expect("get").as_ref(), Some(p));
    }
    let total =
        |account| async move { store.list_projects(account, None, PageRequest::new(1, 1)).await.expect("list").total };
    assert_eq!((total(one.id).await, total(two.id).await), (3, 2));
    let to_updates =
        store.list_deliveries(one.id, old.id, updates.id, PageRequest::new(1, 10)).await.expect("deliveries");
    assert_eq!(to_updates.items.iter().map(|d| d.event_id).collect::<Vec<_>>(), [events[1].id]);
    let mut to_everything: Vec<_> = store
        .list_deliveries(two.id, other.id, everything.id, PageRequest::new(1, 10))
        .await
        .expect("deliveries")
        .items
        .iter()
        .map(|d| d.event_id)
        .collect();
    to_everything.sort_unstable_by_key(ToString::to_string);
    let mut expected = vec![events[2].id, events[3].id, events[4].id];
    expected.sort_unstable_by_key(ToString::to_string);
    assert_eq!(to_everything, expected);
    let logged = store.list_events(one.id, fresh[0].id, None, PageRequest::new(1, 10)).await.expect("events");
    assert_eq!(logged.items.iter().map(|e| e.id).collect::<Vec<_>>(), [events[0].id]);

    let late = new_project(one.id, at(4));
    let mut tx = store.begin().await.expect("begin");
    assert_conflict(tx.insert_projects(&[late.clone(), fresh[1].clone()]).await);
    drop(tx);
    assert_eq!(store.get_project(one.id, late.id).await.expect("get"), None, "a failed batch leaves nothing");
}
