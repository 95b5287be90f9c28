//! Accounts.

use tengine_domain::{AccountId, Plan};
use tengine_ports::Store;
use uuid::Uuid;

use super::assert_conflict;
use crate::fixtures::new_account;

/// Every plan, with and without a custom limit, reads back as stored.
pub async fn accounts_round_trip_with_their_plans<S: Store>(store: &S) {
    let plans = [Plan::Free, Plan::Pro, Plan::Enterprise { limit: None }, Plan::Enterprise { limit: Some(50_000) }];
    let accounts: Vec<_> = plans.into_iter().map(new_account).collect();
    let mut tx = store.begin().await.expect("begin");
    for a in &accounts {
        tx.insert_account(a).await.expect("insert account");
    }
    tx.commit().await.expect("commit");
    for a in &accounts {
        assert_eq!(store.get_account(a.id).await.expect("get"), Some(a.clone()));
    }
    let missing = AccountId::from_uuid(Uuid::now_v7());
    assert_eq!(store.get_account(missing).await.expect("get"), None);
}

/// Inserting an account id twice is a conflict.
pub async fn a_duplicate_account_id_is_a_conflict<S: Store>(store: &S) {
    let a = new_account(Plan::Pro);
    let mut tx = store.begin().await.expect("begin");
    tx.insert_account(&a).await.expect("insert account");
    tx.commit().await.expect("commit");
    let mut tx = store.begin().await.expect("begin");
    assert_conflict(tx.insert_account(&a).await);
}
