//! Idempotency records: claims, replays of the stored response, releases, takeovers
//! of stale claims, expiry, per-account keys, concurrent claims and purging.

use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
use tengine_domain::AccountId;
use tengine_ports::{IdempotencyClaim, Store, StoredResponse};
use uuid::Uuid;

use crate::fixtures::at;

/// How long a claim without a response is trusted, in these cases.
const LEASE_SECS: i64 = 60;
/// How long a record lives, in these cases.
const LIFETIME_SECS: i64 = 86_400;

fn some_account() -> AccountId {
    AccountId::from_uuid(Uuid::now_v7())
}

/// 32 bytes that differ per `seed` and per position.
fn bytes(seed: u8) -> [u8; 32] {
    let mut out = [0; 32];
    for (i, b) in (0u8..).zip(out.iter_mut()) {
        *b = seed.wrapping_mul(37).wrapping_add(i.wrapping_mul(11));
    }
    out
}

/// Claims `key` at `now` with the cases' lease and lifetime.
async fn claim<S: Store>(
    store: &S,
    account: AccountId,
    key: [u8; 32],
    fingerprint: [u8; 32],
    now: DateTime<Utc>,
) -> IdempotencyClaim {
    store
        .claim_idempotency(
            account,
            key,
            fingerprint,
            now,
            now - Duration::seconds(LEASE_SECS),
            now - Duration::seconds(LIFETIME_SECS),
        )
        .await
        .expect("claim")
}

/// What a claim of a key with this fingerprint and response sees.
fn existing(fingerprint: [u8; 32], response: Option<StoredResponse>) -> IdempotencyClaim {
    IdempotencyClaim::Existing { fingerprint, response }
}

/// A response whose headers are out of alphabetical order, repeat a name and carry
/// non-ASCII text, and whose body is not UTF-8.
fn response() -> StoredResponse {
    StoredResponse {
        status: 201,
        headers: vec![
            ("location".to_owned(), "/projects/proj_1".to_owned()),
            ("content-type".to_owned(), "application/json".to_owned()),
            ("x-note".to_owned(), "a \"quoted\", Ünïcode [value]".to_owned()),
            ("location".to_owned(), "second".to_owned()),
        ],
        body: vec![0, 159, 146, 150, 255, b'{', b'}', 0],
    }
}

/// A new key is claimed; later claims see the first fingerprint and no response
/// while the first request runs.
pub async fn a_new_idempotency_key_is_claimed_then_seen_in_progress<S: Store>(store: &S) {
    let a = some_account();
    assert_eq!(claim(store, a, bytes(1), bytes(10), at(0)).await, IdempotencyClaim::Claimed);
    assert_eq!(claim(store, a, bytes(1), bytes(11), at(1)).await, existing(bytes(10), None));
    assert_eq!(claim(store, a, bytes(1), bytes(10), at(2)).await, existing(bytes(10), None));
    assert_eq!(claim(store, a, bytes(2), bytes(10), at(2)).await, IdempotencyClaim::Claimed, "another key");
}

/// After completion a claim carries the exact response: status, headers in order and
/// body bytes; an empty response round-trips too, and a second completion changes
/// nothing.
pub async fn a_completed_idempotency_key_replays_its_exact_response<S: Store>(store: &S) {
    let a = some_account();
    assert_eq!(claim(store, a, bytes(1), bytes(10), at(0)).await, IdempotencyClaim::Claimed);
    store.complete_idempotency(a, bytes(1), &response()).await.expect("complete");
    assert_eq!(claim(store, a, bytes(1), bytes(10), at(1)).await, existing(bytes(10), Some(response())));

    let empty = StoredResponse { status: 204, headers: Vec::new(), body: Vec::new() };
    assert_eq!(claim(store, a, bytes(2), bytes(20), at(0)).await, IdempotencyClaim::Claimed);
    store.complete_idempotency(a, bytes(2), &empty).await.expect("complete");
    assert_eq!(claim(store, a, bytes(2), bytes(20), at(1)).await, existing(bytes(20), Some(empty.clone())));

    store.complete_idempotency(a, bytes(2), &response()).await.expect("a second completion");
    assert_eq!(claim(store, a, bytes(2), bytes(20), at(2)).await, existing(bytes(20), Some(empty)));
    store.complete_idempotency(a, bytes(3), &response()).await.expect("completing a missing key is a no-op");
    assert_eq!(claim(store, a, bytes(3), bytes(30), at(2)).await, IdempotencyClaim::Claimed);
}

/// Releasing a running claim lets the key be claimed again; releasing a completed
/// record (or a missing one) leaves it alone.
pub async fn releasing_an_idempotency_key_lets_it_be_claimed_again<S: Store>(store: &S) {
    let a = some_account();
    assert_eq!(claim(store, a, bytes(1), bytes(10), at(0)).await, IdempotencyClaim::Claimed);
    store.release_idempotency(a, bytes(1)).await.expect("release");
    assert_eq!(claim(store, a, bytes(1), bytes(11), at(1)).await, IdempotencyClaim::Claimed);
    assert_eq!(claim(store, a, bytes(1), bytes(10), at(2)).await, existing(bytes(11), None));

    store.complete_idempotency(a, bytes(1), &response()).await.expect("complete");
    store.release_idempotency(a, bytes(1)).await.expect("release a completed record");
    store.release_idempotency(a, bytes(2)).await.expect("release a missing record");
    assert_eq!(claim(store, a, bytes(1), bytes(10), at(3)).await, existing(bytes(11), Some(response())));
}

/// A claim without a response whose lock is older than the stale cut belongs to a
/// dead instance and is taken over; a completed record never is.
pub async fn a_stale_idempotency_claim_is_taken_over<S: Store>(store: &S) {
    let a = some_account();
    assert_eq!(claim(store, a, bytes(1), bytes(10), at(0)).await, IdempotencyClaim::Claimed);
    assert_eq!(claim(store, a, bytes(1), bytes(11), at(LEASE_SECS)).await, existing(bytes(10), None), "at the cut");
    assert_eq!(claim(store, a, bytes(1), bytes(11), at(LEASE_SECS + 1)).await, IdempotencyClaim::Claimed);
    assert_eq!(
        claim(store, a, bytes(1), bytes(12), at(LEASE_SECS + 2)).await,
        existing(bytes(11), None),
        "the takeover holds a fresh lock"
    );

    assert_eq!(claim(store, a, bytes(2), bytes(20), at(0)).await, IdempotencyClaim::Claimed);
    store.complete_idempotency(a, bytes(2), &response()).await.expect("complete");
    assert_eq!(claim(store, a, bytes(2), bytes(21), at(LEASE_SECS * 10)).await, existing(bytes(20), Some(response())));
}

/// A record older than the expiry cut counts as absent: the claim replaces it and
/// drops its response.
pub async fn an_expired_idempotency_record_is_replaced<S: Store>(store: &S) {
    let a = some_account();
    assert_eq!(claim(store, a, bytes(1), bytes(10), at(0)).await, IdempotencyClaim::Claimed);
    store.complete_idempotency(a, bytes(1), &response()).await.expect("complete");
    assert_eq!(
        claim(store, a, bytes(1), bytes(11), at(LIFETIME_SECS)).await,
        existing(bytes(10), Some(response())),
        "at the cut"
    );
    assert_eq!(claim(store, a, bytes(1), bytes(11), at(LIFETIME_SECS + 1)).await, IdempotencyClaim::Claimed);
    assert_eq!(claim(store, a, bytes(1), bytes(12), at(LIFETIME_SECS + 2)).await, existing(bytes(11), None));
    let later = StoredResponse { status: 200, headers: Vec::new(), body: b"new".to_vec() };
    store.complete_idempotency(a, bytes(1), &later).await.expect("complete the new claim");
    assert_eq!(claim(store, a, bytes(1), bytes(12), at(LIFETIME_SECS + 3)).await, existing(bytes(11), Some(later)));
}

/// The same key hash under another account is another record.
pub async fn idempotency_keys_are_per_account<S: Store>(store: &S) {
    let (a, b) = (some_account(), some_account());
    assert_eq!(claim(store, a, bytes(1), bytes(10), at(0)).await, IdempotencyClaim::Claimed);
    store.complete_idempotency(a, bytes(1), &response()).await.expect("complete");
    assert_eq!(claim(store, b, bytes(1), bytes(20), at(1)).await, IdempotencyClaim::Claimed);
    assert_eq!(claim(store, b, bytes(1), bytes(10), at(2)).await, existing(bytes(20), None));
    store.release_idempotency(b, bytes(1)).await.expect("release");
    assert_eq!(claim(store, a, bytes(1), bytes(10), at(3)).await, existing(bytes(10), Some(response())));
}

/// Twenty concurrent claims of a new key, then of a stale one, have exactly one
/// winner; every other claim sees the winner's fingerprint.
pub async fn concurrent_idempotency_claims_have_one_winner<S: Store>(store: &S) {
    let a = some_account();
    for now in [at(0), at(LEASE_SECS * 2)] {
        let claims = join_all((0..20u8).map(|i| claim(store, a, bytes(1), bytes(100 + i), now))).await;
        let winners: Vec<u8> =
            (0..20u8).zip(&claims).filter(|(_, c)| **c == IdempotencyClaim::Claimed).map(|(i, _)| i).collect();
        assert_eq!(winners.len(), 1, "one winner at {now}: {claims:?}");
        let winner = bytes(100 + winners[0]);
        for c in &claims {
            assert!(*c == IdempotencyClaim::Claimed || *c == existing(winner, None), "{c:?}");
        }
    }
}

/// Purging deletes the records created before the cut, finished or not, and only
/// those, and returns how many; a purged key can be claimed again.
pub async fn old_idempotency_records_are_purged<S: Store>(store: &S) {
    let (a, b) = (some_account(), some_account());
    for (n, acct) in [(1u8, a), (2, b), (3, a), (4, b), (5, a)] {
        assert_eq!(claim(store, acct, bytes(n), bytes(n + 10), at(i64::from(n) * 10)).await, IdempotencyClaim::Claimed);
    }
    store.complete_idempotency(a, bytes(1), &response()).await.expect("complete");
    store.complete_idempotency(a, bytes(5), &response()).await.expect("complete");

    assert_eq!(store.purge_idempotency(at(10)).await.expect("purge"), 0, "nothing before the first");
    assert_eq!(store.purge_idempotency(at(31)).await.expect("purge"), 3);
    assert_eq!(store.purge_idempotency(at(31)).await.expect("purge again"), 0);
    assert_eq!(claim(store, b, bytes(4), bytes(99), at(45)).await, existing(bytes(14), None));
    assert_eq!(claim(store, a, bytes(5), bytes(99), at(55)).await, existing(bytes(15), Some(response())));
    for (n, acct) in [(1u8, a), (2, b), (3, a)] {
        assert_eq!(claim(store, acct, bytes(n), bytes(99), at(60)).await, IdempotencyClaim::Claimed, "key {n}");
    }
    assert_eq!(store.purge_idempotency(at(1_000)).await.expect("purge all"), 5);
}
