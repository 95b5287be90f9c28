//! Transactions: atomicity, visibility, the bootstrap claim and concurrency.

use futures::future::join_all;
use tengine_domain::{KeyScope, PageRequest, Plan};
use tengine_ports::Store;

use crate::fixtures::{account, at, new_account, new_key, new_project};

/// The bootstrap claim succeeds once; a claim rolled back does not count.
pub async fn bootstrap_is_claimed_once<S: Store>(store: &S) {
    let mut tx = store.begin().await.expect("begin");
    assert!(tx.claim_bootstrap().await.expect("claim"));
    drop(tx);
    let mut tx = store.begin().await.expect("begin");
    assert!(tx.claim_bootstrap().await.expect("claim"), "a rolled-back claim does not count");
    tx.commit().await.expect("commit");
    let mut tx = store.begin().await.expect("begin");
    assert!(!tx.claim_bootstrap().await.expect("claim"));
    tx.commit().await.expect("commit");
}

/// Of many concurrent claims, exactly one wins.
pub async fn concurrent_bootstrap_claims_have_one_winner<S: Store>(store: &S) {
    let claims = join_all((0..8).map(|_| async {
        let mut tx = store.begin().await.expect("begin");
        let won = tx.claim_bootstrap().await.expect("claim");
        tx.commit().await.expect("commit");
        won
    }))
    .await;
    assert_eq!(claims.iter().filter(|won| **won).count(), 1, "{claims:?}");
}

/// Dropping a transaction without committing discards all of its writes.
pub async fn a_dropped_transaction_leaves_nothing_behind<S: Store>(store: &S) {
    let acct = new_account(Plan::Pro);
    let p = new_project(acct.id, at(1));
    let (k, plain) = new_key(acct.id, KeyScope::Project(p.id), at(2));
    let mut tx = store.begin().await.expect("begin");
    tx.insert_account(&acct).await.expect("insert account");
    tx.insert_project(&p).await.expect("insert project");
    tx.insert_api_key(&k).await.expect("insert key");
    drop(tx);

    assert_eq!(store.get_account(acct.id).await.expect("get"), None);
    assert_eq!(store.get_project(acct.id, p.id).await.expect("get"), None);
    assert_eq!(store.get_api_key(p.id, k.id).await.expect("get"), None);
    assert_eq!(store.find_by_digest(&plain.digest()).await.expect("find"), None);
    // The same rows can be written again: nothing half-done is left behind.
    let mut tx = store.begin().await.expect("begin");
    tx.insert_account(&acct).await.expect("insert account");
    tx.insert_project(&p).await.expect("insert project");
    tx.insert_api_key(&k).await.expect("insert key");
    tx.commit().await.expect("commit");
    assert_eq!(store.get_api_key(p.id, k.id).await.expect("get"), Some(k));
}

/// Writes are invisible to other readers until commit, and visible after.
pub async fn committed_writes_become_visible<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = new_project(acct.id, at(1));
    let (k, plain) = new_key(acct.id, KeyScope::Project(p.id), at(2));
    let mut tx = store.begin().await.expect("begin");
    tx.insert_project(&p).await.expect("insert project");
    tx.insert_api_key(&k).await.expect("insert key");
    assert_eq!(store.get_project(acct.id, p.id).await.expect("get"), None, "not before commit");
    tx.commit().await.expect("commit");

    assert_eq!(store.get_project(acct.id, p.id).await.expect("get"), Some(p.clone()));
    assert_eq!(store.find_by_digest(&plain.digest()).await.expect("find"), Some(k.clone()));
    let page = store.list_api_keys(acct.id, p.id, PageRequest::default()).await.expect("list");
    assert_eq!((page.items, page.total), (vec![k.into()], 1));
}

/// Reads through a transaction see its own uncommitted inserts, updates and deletes.
pub async fn reads_inside_a_transaction_see_its_own_writes<S: Store>(store: &S) {
    let acct = account(store).await;
    let mut p = new_project(acct.id, at(1));
    let (mut k, _) = new_key(acct.id, KeyScope::Project(p.id), at(2));
    let mut tx = store.begin().await.expect("begin");
    tx.insert_project(&p).await.expect("insert project");
    tx.insert_api_key(&k).await.expect("insert key");
    assert_eq!(tx.lock_project(acct.id, p.id).await.expect("lock"), Some(p.clone()));
    assert_eq!(tx.lock_api_key(k.id).await.expect("lock"), Some(k.clone()));

    p.name = "Renamed".parse().expect("name");
    p.updated_at = at(3);
    tx.update_project(&p).await.expect("update project");
    assert_eq!(tx.lock_project(acct.id, p.id).await.expect("lock"), Some(p.clone()));
    k.revoked_at = Some(at(3));
    k.updated_at = at(3);
    tx.update_api_key(&k).await.expect("update key");
    assert_eq!(tx.lock_api_key(k.id).await.expect("lock"), Some(k.clone()));

    tx.delete_project(acct.id, p.id, at(4)).await.expect("delete");
    assert_eq!(tx.lock_project(acct.id, p.id).await.expect("lock"), None);
    tx.commit().await.expect("commit");
    assert_eq!(store.get_project(acct.id, p.id).await.expect("get"), None);
}

/// Twenty tasks, each creating a project and a key in its own transaction at once,
/// all succeed.
pub async fn concurrent_transactions_all_succeed<S: Store>(store: &S) {
    let acct = account(store).await;
    let made = join_all((0..20).map(|i| async move {
        let p = new_project(acct.id, at(i));
        let (k, plain) = new_key(acct.id, KeyScope::Project(p.id), at(i));
        let mut tx = store.begin().await.expect("begin");
        tx.insert_project(&p).await.expect("insert project");
        assert_eq!(tx.lock_project(acct.id, p.id).await.expect("lock"), Some(p.clone()));
        tx.insert_api_key(&k).await.expect("insert key");
        tx.commit().await.expect("commit");
        (k, plain)
    }))
    .await;
    let page = store.list_projects(acct.id, None, PageRequest::new(1, 100)).await.expect("list");
    assert_eq!((page.items.len(), page.total), (20, 20));
    for (k, plain) in made {
        assert_eq!(store.find_by_digest(&plain.digest()).await.expect("find"), Some(k));
    }
}
