//! Shared rate counters: syncs, the previous window, admissions up to a limit, and
//! purging of old windows.

use chrono::{DateTime, Utc};
use futures::future::join_all;
use tengine_domain::{AccountId, EventType};
use tengine_ports::{RateDelta, Store};
use uuid::Uuid;

use crate::fixtures::{account, hour};

fn some_account() -> AccountId {
    AccountId::from_uuid(Uuid::now_v7())
}

fn rate(account: AccountId, window_start: DateTime<Utc>, delta: u64) -> RateDelta {
    RateDelta { account_id: account, window_start, delta }
}

/// Totals add up across syncs; each result carries the window an hour earlier (0 when
/// it has no counter); a delta of 0 only reads.
pub async fn rate_counters_add_up_across_syncs_and_report_the_previous_window<S: Store>(store: &S) {
    let a = some_account();
    let sync = |deltas: Vec<RateDelta>| async move { store.sync_rate_counters(&deltas).await.expect("sync") };
    assert_eq!(sync(vec![rate(a, hour(9), 5)]).await, vec![(5, 0)]);
    assert_eq!(sync(vec![rate(a, hour(10), 3)]).await, vec![(3, 5)]);
    assert_eq!(sync(vec![rate(a, hour(10), 4)]).await, vec![(7, 5)]);
    assert_eq!(sync(vec![rate(a, hour(10), 0)]).await, vec![(7, 5)]);
    assert_eq!(sync(vec![rate(a, hour(9), 0)]).await, vec![(5, 0)]);
    assert_eq!(sync(vec![rate(a, hour(12), 0)]).await, vec![(0, 0)], "two hours on, nothing");
    assert_eq!(sync(vec![rate(some_account(), hour(10), 0)]).await, vec![(0, 0)]);
    assert_eq!(sync(vec![]).await, Vec::<(u64, u64)>::new());
}

/// Results follow the input order; repeated rows add up and report the final total;
/// a previous window written in the same batch counts in full.
pub async fn rate_sync_results_follow_input_order<S: Store>(store: &S) {
    let (a, b, c) = (some_account(), some_account(), some_account());
    store.sync_rate_counters(&[rate(c, hour(9), 6)]).await.expect("sync");
    let results = store
        .sync_rate_counters(&[
            rate(b, hour(10), 2),
            rate(a, hour(10), 1),
            rate(a, hour(9), 10),
            rate(b, hour(10), 3),
            rate(c, hour(10), 0),
            rate(a, hour(8), 0),
        ])
        .await
        .expect("sync");
    assert_eq!(results, vec![(5, 0), (1, 10), (10, 0), (5, 0), (0, 6), (0, 0)]);
    let again = store.sync_rate_counters(&[rate(c, hour(10), 0), rate(a, hour(10), 0)]).await.expect("sync");
    assert_eq!(again, vec![(0, 6), (1, 10)]);
}

/// `pending` is always added; one more only while `total + 1 + carried <= limit`,
/// whether the counter exists yet or not.
pub async fn admit_one_admits_up_to_the_limit_counting_pending_and_carried<S: Store>(store: &S) {
    let a = some_account();
    let w = hour(10);
    let admit = |window, pending, carried, limit| async move {
        store.admit_one(a, window, pending, carried, limit).await.expect("admit")
    };
    assert_eq!(admit(w, 0, 0, 10).await, (true, 1), "a new counter");
    assert_eq!(admit(w, 3, 0, 10).await, (true, 5));
    assert_eq!(admit(w, 0, 5, 10).await, (false, 5), "5 + 1 + 5 > 10");
    assert_eq!(admit(w, 0, 4, 10).await, (true, 6), "6 + 4 = 10");
    assert_eq!(admit(w, 4, 0, 10).await, (false, 10), "pending is kept");
    assert_eq!(admit(w, 0, 0, 10).await, (false, 10));
    assert_eq!(admit(w, 0, 0, 11).await, (true, 11));
    let read = store.sync_rate_counters(&[rate(a, w, 0)]).await.expect("sync");
    assert_eq!(read, vec![(11, 0)]);

    assert_eq!(admit(hour(20), 9, 0, 10).await, (true, 10), "new and exactly full");
    assert_eq!(admit(hour(21), 9, 1, 10).await, (false, 9), "new and refused");
    assert_eq!(admit(hour(22), 0, 0, 0).await, (false, 0), "a zero limit");
    assert_eq!(admit(hour(23), 0, 3, 5).await, (true, 1));
}

/// Fifty concurrent admissions against a limit of 20 admit exactly 20 (15 when 5 are
/// carried from elsewhere), each seeing a different total.
pub async fn concurrent_admissions_never_pass_the_limit<S: Store>(store: &S) {
    let a = some_account();
    for (window, carried, expected) in [(hour(10), 0, 20), (hour(11), 5, 15)] {
        let outcomes = join_all((0..50).map(|_| store.admit_one(a, window, 0, carried, 20))).await;
        let mut admitted: Vec<u64> =
            outcomes.into_iter().map(|o| o.expect("admit")).filter(|(ok, _)| *ok).map(|(_, total)| total).collect();
        admitted.sort_unstable();
        assert_eq!(admitted, (1..=expected).collect::<Vec<_>>());
        let read = store.sync_rate_counters(&[rate(a, window, 0)]).await.expect("sync");
        assert_eq!(read[0].0, expected);
    }
}

/// Concurrent syncs of the same counters in different orders all land (no deadlock,
/// no lost update).
pub async fn concurrent_rate_syncs_all_land<S: Store>(store: &S) {
    let accounts: Vec<_> = (0..10).map(|_| some_account()).collect();
    let batch: Vec<_> = accounts.iter().flat_map(|a| [rate(*a, hour(9), 1), rate(*a, hour(10), 2)]).collect();
    let syncs = join_all((0..8).map(|i| {
        let mut mine = batch.clone();
        if i % 2 == 1 {
            mine.reverse();
        }
        mine.rotate_left((i * 3) % batch.len());
        async move { store.sync_rate_counters(&mine).await }
    }))
    .await;
    for outcome in syncs {
        assert_eq!(outcome.expect("sync").len(), batch.len());
    }
    let reads: Vec<_> = accounts.iter().map(|a| rate(*a, hour(10), 0)).collect();
    let totals = store.sync_rate_counters(&reads).await.expect("read");
    assert_eq!(totals, vec![(16, 8); accounts.len()]);
}

/// Purging drops counters and alert claims of windows before the cut, and only those.
pub async fn old_rate_windows_are_purged<S: Store>(store: &S) {
    let acct = account(store).await;
    let deltas: Vec<_> = (0..5).map(|h| rate(acct.id, hour(h), 1)).collect();
    store.sync_rate_counters(&deltas).await.expect("sync");
    let mut tx = store.begin().await.expect("begin");
    for h in 0..5 {
        assert!(tx.claim_usage_alert(acct.id, EventType::UsageLimitExceeded, hour(h)).await.expect("claim"));
    }
    tx.commit().await.expect("commit");

    store.purge_rate_windows(hour(2)).await.expect("purge");
    let reads: Vec<_> = deltas.iter().map(|d| RateDelta { delta: 0, ..*d }).collect();
    let totals = store.sync_rate_counters(&reads).await.expect("read");
    assert_eq!(totals, vec![(0, 0), (0, 0), (1, 0), (1, 1), (1, 1)]);
    let mut tx = store.begin().await.expect("begin");
    for h in 0..5 {
        let claimed = tx.claim_usage_alert(acct.id, EventType::UsageLimitExceeded, hour(h)).await.expect("claim");
        assert_eq!(claimed, h < 2, "hour {h}: purged claims can be made again, kept ones cannot");
    }
}
