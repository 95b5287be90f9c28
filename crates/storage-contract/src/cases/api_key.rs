//! API key records: reads, listing, lookups by secret, updates and last-use stamps.

use tengine_domain::{
    ApiKey, ApiKeyId, ApiKeySummary, KeyScope, PageRequest, Permission, PermissionSet, PreviousSecret, ProjectId,
};
use tengine_ports::Store;
use uuid::Uuid;

use super::{assert_conflict, assert_not_found};
use crate::fixtures::{account, at, key, new_key, project, secret, store_key};

/// A key with every optional field set, and an account-wide key, read back unchanged
/// through every read path.
pub async fn an_inserted_key_reads_back_unchanged<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(1)).await;
    let (mut full, plain) = new_key(acct.id, KeyScope::Project(p.id), at(2));
    let old = secret();
    full.permissions = [Permission::Read, Permission::Webhook].into_iter().collect();
    full.previous = Some(PreviousSecret { digest: old.digest(), expires_at: at(100) });
    full.expires_at = Some(at(1_000));
    full.updated_at = at(3);
    full.last_used_at = Some(at(4));
    full.revoked_at = Some(at(5));
    store_key(store, &full).await;
    let (wide, wide_plain) = key(store, acct.id, KeyScope::Account, at(2)).await;

    assert_eq!(store.get_api_key(p.id, full.id).await.expect("get"), Some(full.clone()));
    assert_eq!(store.find_by_digest(&plain.digest()).await.expect("find"), Some(full.clone()));
    assert_eq!(store.find_by_digest(&wide_plain.digest()).await.expect("find"), Some(wide.clone()));
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.lock_api_key(full.id).await.expect("lock"), Some(full));
    assert_eq!(tx.lock_api_key(wide.id).await.expect("lock"), Some(wide));
    let missing = ApiKeyId::from_uuid(Uuid::now_v7());
    assert_eq!(tx.lock_api_key(missing).await.expect("lock"), None);
}

/// `get_api_key` answers only under the key's own project.
pub async fn a_key_is_only_found_under_its_own_project<S: Store>(store: &S) {
    let acct = account(store).await;
    let (p1, p2) = (project(store, acct.id, at(1)).await, project(store, acct.id, at(2)).await);
    let (k, _) = key(store, acct.id, KeyScope::Project(p1.id), at(3)).await;
    let (wide, _) = key(store, acct.id, KeyScope::Account, at(3)).await;
    assert_eq!(store.get_api_key(p1.id, k.id).await.expect("get"), Some(k.clone()));
    assert_eq!(store.get_api_key(p2.id, k.id).await.expect("get"), None);
    assert_eq!(store.get_api_key(p1.id, wide.id).await.expect("get"), None);
    let nowhere = ProjectId::from_uuid(Uuid::now_v7());
    assert_eq!(store.get_api_key(nowhere, k.id).await.expect("get"), None);
}

/// Key lists are newest first (ties by id), paged with totals, revoked keys included,
/// other projects' keys excluded.
pub async fn keys_are_listed_newest_first_with_pages_and_totals<S: Store>(store: &S) {
    let acct = account(store).await;
    let (p, other) = (project(store, acct.id, at(1)).await, project(store, acct.id, at(1)).await);
    let mut all: Vec<ApiKey> = Vec::new();
    for secs in [3, 7, 3, 5, 3] {
        let (mut k, _) = new_key(acct.id, KeyScope::Project(p.id), at(secs));
        if secs == 5 {
            k.revoked_at = Some(at(6));
        }
        store_key(store, &k).await;
        all.push(k);
    }
    key(store, acct.id, KeyScope::Project(other.id), at(9)).await;
    key(store, acct.id, KeyScope::Account, at(9)).await;
    all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    // A page shows each key as a list does, digests left out.
    let all: Vec<ApiKeySummary> = all.into_iter().map(ApiKeySummary::from).collect();

    let page = store.list_api_keys(acct.id, p.id, PageRequest::new(1, 100)).await.expect("list");
    assert_eq!((&page.items, page.total), (&all, 5));
    let mut seen = Vec::new();
    for (page_no, len) in [(1, 2), (2, 2), (3, 1), (4, 0)] {
        let request = PageRequest::new(page_no, 2);
        let page = store.list_api_keys(acct.id, p.id, request.clone()).await.expect("list");
        assert_eq!((page.items.len(), page.total, page.request), (len, 5, request), "page {page_no}");
        seen.extend(page.items);
    }
    assert_eq!(seen, all);
}

/// Ids, current digests and previous digests are each unique.
pub async fn a_duplicate_key_id_or_digest_is_a_conflict<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(1)).await;
    let (mut first, _) = new_key(acct.id, KeyScope::Project(p.id), at(2));
    first.previous = Some(PreviousSecret { digest: secret().digest(), expires_at: at(50) });
    store_key(store, &first).await;

    let (mut same_id, _) = new_key(acct.id, KeyScope::Project(p.id), at(3));
    same_id.id = first.id;
    let (mut same_digest, _) = new_key(acct.id, KeyScope::Account, at(3));
    same_digest.digest = first.digest;
    let (mut same_previous, _) = new_key(acct.id, KeyScope::Account, at(3));
    same_previous.previous = first.previous;
    for dup in [&same_id, &same_digest, &same_previous] {
        let mut tx = store.begin().await.expect("begin");
        assert_conflict(tx.insert_api_key(dup).await);
    }

    // Rotating another key onto an existing secret is refused too.
    let (mut second, _) = key(store, acct.id, KeyScope::Project(p.id), at(4)).await;
    second.digest = first.digest;
    let mut tx = store.begin().await.expect("begin");
    assert_conflict(tx.update_api_key(&second).await);
}

/// Lookups by secret match the current digest and, until cleared, the previous one.
pub async fn keys_are_found_by_current_and_previous_digest<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(1)).await;
    let (mut k, old) = key(store, acct.id, KeyScope::Project(p.id), at(2)).await;
    let new = secret();
    k.rotate(&new, chrono::Duration::seconds(60), at(3));
    let mut tx = store.begin().await.expect("begin");
    tx.update_api_key(&k).await.expect("update");
    tx.commit().await.expect("commit");

    assert_eq!(store.find_by_digest(&new.digest()).await.expect("find"), Some(k.clone()));
    assert_eq!(store.find_by_digest(&old.digest()).await.expect("find"), Some(k.clone()));
    assert_eq!(store.find_by_digest(&secret().digest()).await.expect("find"), None);

    k.previous = None;
    let mut tx = store.begin().await.expect("begin");
    tx.update_api_key(&k).await.expect("update");
    tx.commit().await.expect("commit");
    assert_eq!(store.find_by_digest(&old.digest()).await.expect("find"), None);
    assert_eq!(store.find_by_digest(&new.digest()).await.expect("find"), Some(k));
}

/// An update writes every mutable field and keeps `last_used_at`; a missing key is
/// not found.
pub async fn updating_a_key_round_trips_every_field<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(1)).await;
    let (mut k, old) = new_key(acct.id, KeyScope::Project(p.id), at(2));
    k.last_used_at = Some(at(3));
    store_key(store, &k).await;

    let new = secret();
    k.name = "Renamed key".parse().expect("name");
    k.permissions = [Permission::Write].into_iter().collect();
    k.prefix = new.display_prefix().to_owned();
    k.digest = new.digest();
    k.previous = Some(PreviousSecret { digest: old.digest(), expires_at: at(90) });
    k.expires_at = Some(at(500));
    k.revoked_at = Some(at(10));
    k.updated_at = at(10);
    let mut tx = store.begin().await.expect("begin");
    tx.update_api_key(&k).await.expect("update");
    tx.commit().await.expect("commit");
    assert_eq!(store.get_api_key(p.id, k.id).await.expect("get"), Some(k.clone()));

    k.previous = None;
    k.expires_at = None;
    k.revoked_at = None;
    k.permissions = PermissionSet::all();
    k.updated_at = at(11);
    let mut tx = store.begin().await.expect("begin");
    tx.update_api_key(&k).await.expect("update");
    tx.commit().await.expect("commit");
    assert_eq!(store.get_api_key(p.id, k.id).await.expect("get"), Some(k));

    let (missing, _) = new_key(acct.id, KeyScope::Account, at(2));
    let mut tx = store.begin().await.expect("begin");
    assert_not_found(tx.update_api_key(&missing).await);
}

/// `touch_last_used` applies a batch, keeps the latest of duplicates, ignores unknown
/// keys and never moves a stamp backwards.
pub async fn last_used_only_moves_forward<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(1)).await;
    let (k1, _) = key(store, acct.id, KeyScope::Project(p.id), at(2)).await;
    let (k2, _) = key(store, acct.id, KeyScope::Account, at(2)).await;
    let last_used = |id: ApiKeyId| async move {
        let mut tx = store.begin().await.expect("begin");
        tx.lock_api_key(id).await.expect("lock").expect("key exists").last_used_at
    };

    store.touch_last_used(&[]).await.expect("empty batch");
    store.touch_last_used(&[(k1.id, at(50))]).await.expect("touch");
    assert_eq!(last_used(k1.id).await, Some(at(50)));
    store.touch_last_used(&[(k1.id, at(30))]).await.expect("touch");
    assert_eq!(last_used(k1.id).await, Some(at(50)), "never backwards");

    let unknown = ApiKeyId::from_uuid(Uuid::now_v7());
    let batch = [(k1.id, at(70)), (k2.id, at(20)), (unknown, at(99)), (k1.id, at(60))];
    store.touch_last_used(&batch).await.expect("touch");
    assert_eq!(last_used(k1.id).await, Some(at(70)));
    assert_eq!(last_used(k2.id).await, Some(at(20)));
    assert_eq!(store.get_api_key(p.id, k1.id).await.expect("get").and_then(|k| k.last_used_at), Some(at(70)));
}
