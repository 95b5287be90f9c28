//! Usage rollups: accumulation, sums over keys, hour ranges and project ownership.

use chrono::Duration;
use tengine_domain::{Plan, ProjectId};
use tengine_ports::Store;
use uuid::Uuid;

use crate::fixtures::{account, at, hour, key_id, new_account, project, sum_of, usage_counts, usage_delta};

/// A first delta creates the row; later ones, including several for one row in a
/// batch, add into every counter and histogram slot.
pub async fn usage_rows_are_created_then_accumulated_in_every_counter<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let k = key_id();
    let (c1, c2, c3) = (usage_counts(1), usage_counts(2), usage_counts(3));
    store.add_usage(&[usage_delta(acct.id, p.id, k, hour(0), c1.clone())]).await.expect("add");
    let read = store.usage_by_hour(p.id, None, hour(0), hour(1)).await.expect("read");
    assert_eq!(read, vec![(hour(0), c1.clone())]);

    store
        .add_usage(&[
            usage_delta(acct.id, p.id, k, hour(0), c2.clone()),
            usage_delta(acct.id, p.id, k, hour(0), c3.clone()),
        ])
        .await
        .expect("add");
    let total = sum_of([&c1, &c2, &c3]);
    let read = store.usage_by_hour(p.id, None, hour(0), hour(1)).await.expect("read");
    assert_eq!(read, vec![(hour(0), total.clone())]);
    let read = store.usage_by_hour(p.id, Some(k.into()), hour(0), hour(1)).await.expect("read");
    assert_eq!(read, vec![(hour(0), total)]);
}

/// Without a key the hour's rows are summed over keys; with one, only its row counts;
/// other projects never mix in.
pub async fn usage_is_summed_over_keys_or_read_for_one_key<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let other = project(store, acct.id, at(1)).await;
    let (k1, k2, k3) = (key_id(), key_id(), key_id());
    let c: Vec<_> = (1..=5).map(usage_counts).collect();
    store
        .add_usage(&[
            usage_delta(acct.id, p.id, k1, hour(0), c[0].clone()),
            usage_delta(acct.id, p.id, k2, hour(0), c[1].clone()),
            usage_delta(acct.id, p.id, k1, hour(1), c[2].clone()),
            usage_delta(acct.id, other.id, k1, hour(0), c[3].clone()),
            usage_delta(acct.id, other.id, k3, hour(0), c[4].clone()),
        ])
        .await
        .expect("add");

    let all = store.usage_by_hour(p.id, None, hour(0), hour(2)).await.expect("read");
    assert_eq!(all, vec![(hour(0), sum_of([&c[0], &c[1]])), (hour(1), c[2].clone())]);
    let first = store.usage_by_hour(p.id, Some(k1.into()), hour(0), hour(2)).await.expect("read");
    assert_eq!(first, vec![(hour(0), c[0].clone()), (hour(1), c[2].clone())]);
    let second = store.usage_by_hour(p.id, Some(k2.into()), hour(0), hour(2)).await.expect("read");
    assert_eq!(second, vec![(hour(0), c[1].clone())]);
    let foreign_key = store.usage_by_hour(p.id, Some(k3.into()), hour(0), hour(2)).await.expect("read");
    assert_eq!(foreign_key, vec![]);
}

/// Hours come back ascending, only those with rows, for `from <= hour < to`.
pub async fn usage_hours_are_ascending_within_from_inclusive_to_exclusive<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let k = key_id();
    let written = [5, 1, 3, 0, 4];
    let deltas: Vec<_> =
        written.iter().map(|h| usage_delta(acct.id, p.id, k, hour(*h), usage_counts(*h as u64))).collect();
    store.add_usage(&deltas).await.expect("add");
    let hours = |from, to| async move {
        let rows = store.usage_by_hour(p.id, None, from, to).await.expect("read");
        for (h, counts) in &rows {
            let n = (*h - hour(0)).num_hours();
            assert_eq!(*counts, usage_counts(n as u64), "the counters of hour {n}");
        }
        rows.into_iter().map(|(h, _)| (h - hour(0)).num_hours()).collect::<Vec<_>>()
    };
    assert_eq!(hours(hour(0), hour(6)).await, vec![0, 1, 3, 4, 5]);
    assert_eq!(hours(hour(1), hour(5)).await, vec![1, 3, 4]);
    assert_eq!(hours(hour(2), hour(3)).await, Vec::<i64>::new());
    assert_eq!(hours(hour(3), hour(3)).await, Vec::<i64>::new());
    assert_eq!(hours(hour(1) + Duration::seconds(1), hour(4)).await, vec![3], "an hour starting before `from` is out");
    assert_eq!(hours(hour(-24), hour(1) + Duration::microseconds(1)).await, vec![0, 1]);
}

/// A delta whose project belongs to another account, or does not exist, is dropped
/// without failing the rest of its batch.
pub async fn usage_for_another_accounts_or_a_missing_project_is_dropped<S: Store>(store: &S) {
    let mine = account(store).await;
    let theirs = account(store).await;
    let p = project(store, mine.id, at(0)).await;
    let q = project(store, theirs.id, at(0)).await;
    let stranger = new_account(Plan::Pro);
    let k = key_id();
    let missing = ProjectId::from_uuid(Uuid::now_v7());
    store
        .add_usage(&[
            usage_delta(mine.id, p.id, k, hour(0), usage_counts(1)),
            usage_delta(mine.id, q.id, k, hour(0), usage_counts(2)),
            usage_delta(theirs.id, q.id, k, hour(0), usage_counts(3)),
            usage_delta(stranger.id, p.id, k, hour(0), usage_counts(4)),
            usage_delta(mine.id, missing, k, hour(0), usage_counts(5)),
        ])
        .await
        .expect("add");
    let read = |id| async move { store.usage_by_hour(id, None, hour(0), hour(1)).await.expect("read") };
    assert_eq!(read(p.id).await, vec![(hour(0), usage_counts(1))]);
    assert_eq!(read(q.id).await, vec![(hour(0), usage_counts(3))]);
    assert_eq!(read(missing).await, vec![]);
}

/// Usage of a soft-deleted project is still recorded (requests in flight when it went).
pub async fn usage_of_a_soft_deleted_project_still_counts<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let mut tx = store.begin().await.expect("begin");
    tx.delete_project(acct.id, p.id, at(1)).await.expect("delete");
    tx.commit().await.expect("commit");
    let k = key_id();
    store.add_usage(&[usage_delta(acct.id, p.id, k, hour(0), usage_counts(1))]).await.expect("add");
    let read = store.usage_by_hour(p.id, Some(k.into()), hour(0), hour(1)).await.expect("read");
    assert_eq!(read, vec![(hour(0), usage_counts(1))]);
}

/// An empty batch, or one whose every delta is dropped, writes nothing and succeeds.
pub async fn adding_no_usage_is_a_no_op<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    store.add_usage(&[]).await.expect("add nothing");
    let stranger = new_account(Plan::Free);
    store
        .add_usage(&[usage_delta(stranger.id, p.id, key_id(), hour(0), usage_counts(1))])
        .await
        .expect("add only dropped deltas");
    let read = store.usage_by_hour(p.id, None, hour(-100), hour(100)).await.expect("read");
    assert_eq!(read, vec![]);
}

/// Concurrent flushes of the same rows in different orders all land (no deadlock, no
/// lost update).
pub async fn concurrent_usage_flushes_all_land<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let keys: Vec<_> = (0..10).map(|_| key_id()).collect();
    let batch: Vec<_> = (0..4)
        .flat_map(|h| keys.iter().map(move |k| usage_delta(acct.id, p.id, *k, hour(h), usage_counts(1))))
        .collect();
    let flushes = futures::future::join_all((0..8).map(|i| {
        let mut mine = batch.clone();
        if i % 2 == 1 {
            mine.reverse();
        }
        mine.rotate_left((i * 5) % batch.len());
        async move { store.add_usage(&mine).await }
    }))
    .await;
    for outcome in flushes {
        outcome.expect("flush");
    }
    let each = sum_of(&vec![usage_counts(1); 8]);
    let expected = sum_of(&vec![each.clone(); keys.len()]);
    let read = store.usage_by_hour(p.id, None, hour(0), hour(4)).await.expect("read");
    assert_eq!(read, (0..4).map(|h| (hour(h), expected.clone())).collect::<Vec<_>>());
    let one = store.usage_by_hour(p.id, Some(keys[3].into()), hour(2), hour(3)).await.expect("read");
    assert_eq!(one, vec![(hour(2), each)]);
}

/// The account overview's sums: per live project of the account (or one project),
/// summed over keys and the range's hours, busiest first; other accounts, deleted
/// projects and hours outside the range do not count.
pub async fn usage_is_summed_per_live_project_busiest_first<S: Store>(store: &S) {
    let acct = account(store).await;
    let other = account(store).await;
    let (quiet, busy, gone) = (
        project(store, acct.id, at(0)).await,
        project(store, acct.id, at(0)).await,
        project(store, acct.id, at(0)).await,
    );
    let theirs = project(store, other.id, at(0)).await;
    let (k1, k2) = (key_id(), key_id());
    store
        .add_usage(&[
            usage_delta(acct.id, quiet.id, k1, hour(0), usage_counts(1)),
            usage_delta(acct.id, busy.id, k1, hour(0), usage_counts(2)),
            usage_delta(acct.id, busy.id, k2, hour(1), usage_counts(3)),
            usage_delta(acct.id, busy.id, k2, hour(5), usage_counts(9)),
            usage_delta(acct.id, gone.id, k1, hour(0), usage_counts(7)),
            usage_delta(other.id, theirs.id, k1, hour(0), usage_counts(8)),
        ])
        .await
        .expect("add");
    let mut tx = store.begin().await.expect("begin");
    tx.delete_project(acct.id, gone.id, at(1)).await.expect("delete");
    tx.commit().await.expect("commit");

    let rows = store.usage_by_project(acct.id, None, hour(0), hour(2)).await.expect("read");
    let got: Vec<_> = rows.iter().map(|r| (r.project_id, r.requests, r.errors, r.rate_limited)).collect();
    let busy_sum = sum_of([&usage_counts(2), &usage_counts(3)]);
    let quiet_sum = usage_counts(1);
    assert_eq!(
        got,
        vec![
            (busy.id, busy_sum.requests, busy_sum.errors, busy_sum.rate_limited),
            (quiet.id, quiet_sum.requests, quiet_sum.errors, quiet_sum.rate_limited),
        ]
    );
    assert_eq!(rows[0].name, busy.name.as_str());
    let one = store.usage_by_project(acct.id, Some(quiet.id), hour(0), hour(2)).await.expect("read");
    assert_eq!(one.iter().map(|r| r.project_id).collect::<Vec<_>>(), vec![quiet.id]);
    let none = store.usage_by_project(acct.id, Some(theirs.id), hour(0), hour(2)).await.expect("read");
    assert!(none.is_empty(), "another account's project is not summed for this one");
}
