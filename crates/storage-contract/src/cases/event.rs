//! The event outbox and usage-alert claims: both live and die with their transaction.

use futures::future::join_all;
use tengine_domain::EventType;
use tengine_ports::Store;

use super::assert_conflict;
use crate::fixtures::{account, at, hour, new_event, project};

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
