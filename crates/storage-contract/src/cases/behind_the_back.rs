//! Rows changed behind the store's back (a manual edit, a partial restore), through a
//! hook each adapter's test provides: the store must stay usable around them.

use std::future::Future;
use std::time::Duration;

use tengine_domain::delivery::DeliveryStatus;
use tengine_domain::{DeliveryId, EventId, EventType};
use tengine_ports::Store;

use crate::fixtures::{account, append, at, deliveries_of, new_event, project, webhook};

const LEASE: Duration = Duration::from_secs(30);

/// A claimed delivery whose event row is gone is failed instead of sent or failing the
/// claim: the other deliveries of the same claim come through, and it is never
/// claimed again. `remove_event` deletes an event row past its foreign keys.
pub async fn a_claimed_delivery_whose_event_vanished_is_failed_and_the_rest_still_come_through<S, F, Fut>(
    store: &S,
    remove_event: F,
) where
    S: Store,
    F: Fn(EventId) -> Fut + Send + Sync,
    Fut: Future<Output = ()> + Send,
{
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let w = webhook(store, acct.id, p.id, &["*"]).await;
    let events: Vec<_> = (0..3).map(|_| new_event(acct.id, Some(p.id), EventType::ProjectUpdated)).collect();
    for e in &events {
        assert_eq!(append(store, e).await, 1);
    }
    remove_event(events[1].id).await;
    let by_event = |ds: &[tengine_domain::delivery::Delivery], e: EventId| {
        ds.iter().find(|d| d.event_id == e).map(|d| d.id).expect("a delivery of the event")
    };
    let stored = deliveries_of(store, &w).await;
    let (kept, orphan) =
        ([by_event(&stored, events[0].id), by_event(&stored, events[2].id)], by_event(&stored, events[1].id));

    let claimed = |worker: &'static str, now| async move {
        let jobs = store.claim_due(worker, at(now), LEASE, 10).await.expect("the claim still succeeds");
        let mut ids: Vec<DeliveryId> = jobs.iter().map(|j| j.delivery_id).collect();
        ids.sort();
        ids
    };
    assert_eq!(claimed("a", 10).await, kept, "the other deliveries of the claim come through");
    let failed = store.get_delivery(w.id, orphan).await.expect("get").expect("still listed");
    assert_eq!((failed.status, failed.next_attempt_at, failed.attempts.len()), (DeliveryStatus::Failed, None, 0));
    assert_eq!(store.pending_deliveries().await.expect("depth"), 2);
    assert_eq!(claimed("b", 100).await, kept, "after the lease, only the sendable ones are claimed again");
}
