//! The five growing lists (projects, keys, webhooks, deliveries, events): cursor pages
//! agree with numbered pages both ways, unknown cursors are named, and totals (kept as
//! counters) follow every insert and delete.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use tengine_domain::{Cursor, DeliveryId, EventId, EventType, KeyScope, Page, PageRequest};
use tengine_ports::{RepoError, Store};
use uuid::Uuid;

use crate::fixtures::{account, append, at, key, new_event, new_webhook, project, store_webhook, webhook};

/// One read of a list (a boxed future: the cases must stay `Send` for every store).
type Listing<'s, T> = Pin<Box<dyn Future<Output = Result<Page<T>, RepoError>> + Send + 's>>;

/// Walks `list` forwards with `starting_after` and back with `ending_before`, two items
/// at a time, and checks both walks read exactly the numbered listing of `expected` items.
async fn walk<'s, T: Clone + PartialEq + Debug>(
    list: impl Fn(PageRequest) -> Listing<'s, T>,
    id: impl Fn(&T) -> String,
    expected: u64,
) {
    let all = list(PageRequest::new(1, 100)).await.expect("numbered list").items;
    assert_eq!(all.len() as u64, expected, "the numbered listing");
    let mut forth = Vec::new();
    let mut page = list(PageRequest::new(1, 2)).await.expect("page 1");
    loop {
        assert_eq!(page.total, expected, "every page carries the total");
        forth.extend(page.items.iter().cloned());
        if !page.has_more {
            break;
        }
        let last = id(page.items.last().expect("a page with more is not empty"));
        page = list(PageRequest::keyset(Cursor::After(last), 2)).await.expect("starting_after");
    }
    assert_eq!(forth, all, "starting_after walks the list in order");
    let Some(oldest) = all.last() else { return };
    let mut back = vec![oldest.clone()];
    let mut cursor = id(oldest);
    loop {
        let page = list(PageRequest::keyset(Cursor::Before(cursor), 2)).await.expect("ending_before");
        back.splice(0..0, page.items.iter().cloned());
        if !page.has_more {
            break;
        }
        cursor = id(page.items.first().expect("a page with more is not empty"));
    }
    assert_eq!(back, all, "ending_before walks the list back in order");
    let past_the_end = list(PageRequest::keyset(Cursor::After(id(oldest)), 2)).await.expect("after the last");
    assert_eq!((past_the_end.items.len(), past_the_end.has_more), (0, false));
    assert_eq!(usize::try_from(past_the_end.total).ok(), Some(all.len()), "an empty page still has the total");
}

/// Panics unless `result` names `field` as an unknown cursor.
#[track_caller]
fn assert_unknown_cursor<T: Debug>(result: Result<T, RepoError>, field: &str) {
    assert!(
        matches!(result, Err(RepoError::UnknownCursor(f)) if f == field),
        "expected {field} unknown, got {result:?}"
    );
}

/// Every growing list pages by cursor both ways exactly as by number, ties in
/// `created_at` broken by id.
pub async fn cursor_pages_walk_every_list_like_the_numbered_pages<S: Store>(store: &S) {
    let acct = account(store).await;
    let mut projects = Vec::new();
    for n in 0..5 {
        projects.push(project(store, acct.id, at(n / 2)).await);
    }
    walk(|p| Box::pin(store.list_projects(acct.id, None, p)), |p| p.id.to_string(), 5).await;
    let p = projects[0].id;
    for n in 0..5 {
        key(store, acct.id, KeyScope::Project(p), at(n / 2)).await;
    }
    walk(|r| Box::pin(store.list_api_keys(acct.id, p, r)), |k| k.id.to_string(), 5).await;
    for n in 0..4 {
        store_webhook(store, &new_webhook(acct.id, p, &["*"], at(n / 2))).await;
    }
    walk(|r| Box::pin(store.list_webhooks(acct.id, p, r)), |w| w.id.to_string(), 4).await;
    let other = projects[1].id;
    let hook = webhook(store, acct.id, other, &["project.updated"]).await;
    for kind in
        [EventType::ProjectUpdated, EventType::ProjectCreated, EventType::ProjectUpdated, EventType::ProjectUpdated]
    {
        append(store, &new_event(acct.id, Some(other), kind)).await;
    }
    walk(|r| Box::pin(store.list_events(acct.id, other, None, r)), |e| e.id.to_string(), 4).await;
    walk(|r| Box::pin(store.list_events(acct.id, other, Some(EventType::ProjectUpdated), r)), |e| e.id.to_string(), 3)
        .await;
    walk(|r| Box::pin(store.list_deliveries(acct.id, other, hook.id, r)), |d| d.id.to_string(), 3).await;
}

/// A cursor that is not an item of the list (another owner's, or soft-deleted) is named,
/// never read as a position.
pub async fn a_cursor_outside_the_list_is_named<S: Store>(store: &S) {
    let (mine, theirs) = (account(store).await, account(store).await);
    let own = project(store, mine.id, at(1)).await;
    let foreign = project(store, theirs.id, at(1)).await;
    let after = |id: String| PageRequest::keyset(Cursor::After(id), 5);
    let before = |id: String| PageRequest::keyset(Cursor::Before(id), 5);
    assert_unknown_cursor(store.list_projects(mine.id, None, after(foreign.id.to_string())).await, "starting_after");
    assert_unknown_cursor(store.list_projects(mine.id, None, before(foreign.id.to_string())).await, "ending_before");
    assert_unknown_cursor(store.list_api_keys(mine.id, own.id, after(foreign.id.to_string())).await, "starting_after");
    assert_unknown_cursor(store.list_webhooks(mine.id, own.id, after("wh_nothing".into())).await, "starting_after");
    assert_unknown_cursor(
        store.list_events(mine.id, own.id, None, before("evt_nothing".into())).await,
        "ending_before",
    );
    // A project-scoped key's list holds its own project only.
    assert_unknown_cursor(
        store.list_projects(mine.id, Some(own.id), after(foreign.id.to_string())).await,
        "starting_after",
    );
    let only = store.list_projects(mine.id, Some(own.id), after(own.id.to_string())).await.expect("its own id");
    assert_eq!((only.items.len(), only.total, only.has_more), (0, 1, false));
    // The last item of a list is a cursor with nothing after it.
    let last = store.list_projects(mine.id, None, after(own.id.to_string())).await.expect("after the last");
    assert_eq!((last.items.len(), last.total), (0, 1));
}

/// A nested list (keys, webhooks, events, deliveries) is read in one statement that also
/// checks its owner: another account's project, a deleted project, or a webhook named
/// under the wrong project is `NotFound`, full page or empty, never its rows.
pub async fn nested_lists_are_read_only_under_their_live_owner<S: Store>(store: &S) {
    let (mine, theirs) = (account(store).await, account(store).await);
    let (own, other) = (project(store, mine.id, at(0)).await, project(store, mine.id, at(0)).await);
    let empty = project(store, mine.id, at(0)).await;
    key(store, mine.id, KeyScope::Project(own.id), at(1)).await;
    let hook = webhook(store, mine.id, own.id, &["*"]).await;
    append(store, &new_event(mine.id, Some(own.id), EventType::ProjectUpdated)).await;
    let first = PageRequest::new(1, 20);
    let keyset = |id: String| PageRequest::keyset(Cursor::After(id), 20);
    let not_found = |what: &str, result: Result<u64, RepoError>| {
        assert!(matches!(result, Err(RepoError::NotFound)), "{what}: {result:?}");
    };

    // The owner's own lists, full and empty, answer.
    assert_eq!(total(store.list_api_keys(mine.id, own.id, first.clone()).await).ok(), Some(1));
    assert_eq!(total(store.list_webhooks(mine.id, own.id, first.clone()).await).ok(), Some(1));
    let events = store.list_events(mine.id, own.id, None, first.clone()).await.expect("events");
    assert_eq!(events.total, 1);
    let deliveries = store.list_deliveries(mine.id, own.id, hook.id, first.clone()).await.expect("deliveries");
    assert_eq!(deliveries.total, 1);
    assert_eq!(store.list_api_keys(mine.id, empty.id, first.clone()).await.expect("empty").total, 0);
    assert_eq!(store.list_events(mine.id, empty.id, None, first.clone()).await.expect("empty").total, 0);

    // Another account's view of the same rows.
    not_found("keys", total(store.list_api_keys(theirs.id, own.id, first.clone()).await));
    not_found("webhooks", total(store.list_webhooks(theirs.id, own.id, first.clone()).await));
    not_found("events", total(store.list_events(theirs.id, own.id, None, first.clone()).await));
    let typed = store.list_events(theirs.id, own.id, Some(EventType::ProjectUpdated), first.clone()).await;
    not_found("typed events", total(typed));
    let foreign = store.list_deliveries(theirs.id, own.id, hook.id, first.clone()).await;
    not_found("deliveries", total(foreign));
    let by_cursor = store.list_events(theirs.id, own.id, None, keyset(events.items[0].id.to_string())).await;
    not_found("events by cursor", total(by_cursor));
    // A webhook named under another project of the same account.
    let misplaced = store.list_deliveries(mine.id, other.id, hook.id, first.clone()).await;
    not_found("misplaced webhook", total(misplaced));

    // A deleted project takes its lists with it.
    let mut tx = store.begin().await.expect("begin");
    tx.delete_project(mine.id, own.id, at(2)).await.expect("soft delete");
    tx.commit().await.expect("commit");
    not_found("keys of a deleted project", total(store.list_api_keys(mine.id, own.id, first.clone()).await));
    let gone = store.list_deliveries(mine.id, own.id, hook.id, first).await;
    not_found("deliveries of a deleted project", total(gone));
}

/// A page's total, or the error.
fn total<T>(page: Result<Page<T>, RepoError>) -> Result<u64, RepoError> {
    page.map(|p| p.total)
}

/// Totals come from counters kept in the same transaction as the rows: they follow
/// inserts, soft deletes and deletes, and a rolled-back insert counts nothing.
pub async fn list_totals_follow_inserts_and_deletes<S: Store>(store: &S) {
    let acct = account(store).await;
    let a = project(store, acct.id, at(1)).await;
    let b = project(store, acct.id, at(2)).await;
    assert_eq!(store.list_projects(acct.id, None, PageRequest::new(1, 1)).await.expect("list").total, 2);
    let mut tx = store.begin().await.expect("begin");
    tx.insert_project(&crate::fixtures::new_project(acct.id, at(3))).await.expect("insert");
    drop(tx);
    assert_eq!(
        store.list_projects(acct.id, None, PageRequest::new(1, 1)).await.expect("list").total,
        2,
        "a rolled-back insert counts nothing"
    );
    let mut tx = store.begin().await.expect("begin");
    tx.delete_project(acct.id, b.id, at(4)).await.expect("soft delete");
    tx.commit().await.expect("commit");
    assert_eq!(
        store.list_projects(acct.id, None, PageRequest::new(1, 1)).await.expect("list").total,
        1,
        "a soft-deleted project leaves the total"
    );
    let w = webhook(store, acct.id, a.id, &["*"]).await;
    let v = webhook(store, acct.id, a.id, &["*"]).await;
    assert_eq!(store.list_webhooks(acct.id, a.id, PageRequest::new(1, 1)).await.expect("list").total, 2);
    append(store, &new_event(acct.id, Some(a.id), EventType::ProjectUpdated)).await;
    append(store, &new_event(acct.id, Some(a.id), EventType::ProjectCreated)).await;
    let events = store.list_events(acct.id, a.id, None, PageRequest::new(1, 1)).await.expect("events");
    let updated =
        store.list_events(acct.id, a.id, Some(EventType::ProjectUpdated), PageRequest::new(1, 1)).await.expect("typed");
    assert_eq!((events.total, updated.total), (2, 1));
    let deliveries = store.list_deliveries(acct.id, a.id, w.id, PageRequest::new(1, 1)).await.expect("deliveries");
    assert_eq!((deliveries.total, deliveries.has_more), (2, true));
    // One statement that fans events out to both webhooks counts each one's share.
    let mut tx = store.begin().await.expect("begin");
    let more: Vec<_> = (0..3).map(|_| new_event(acct.id, Some(a.id), EventType::ProjectUpdated)).collect();
    assert_eq!(tx.append_events(&more).await.expect("fan out"), 6);
    tx.commit().await.expect("commit");
    for hook in [w.id, v.id] {
        let deliveries = store.list_deliveries(acct.id, a.id, hook, PageRequest::new(1, 1)).await.expect("deliveries");
        assert_eq!(deliveries.total, 5, "each webhook's total counts its deliveries of a many-row fan-out");
    }
    // A single delivery (a re-send) counts too, and one that is refused counts nothing.
    let mut tx = store.begin().await.expect("begin");
    tx.insert_delivery(DeliveryId::from_uuid(Uuid::now_v7()), more[0].id, v.id, at(5)).await.expect("re-send");
    let missing =
        tx.insert_delivery(DeliveryId::from_uuid(Uuid::now_v7()), EventId::from_uuid(Uuid::now_v7()), v.id, at(5));
    assert!(matches!(missing.await, Err(RepoError::NotFound)), "a delivery of no stored event");
    tx.commit().await.expect("commit");
    let deliveries = store.list_deliveries(acct.id, a.id, v.id, PageRequest::new(1, 1)).await.expect("deliveries");
    assert_eq!(deliveries.total, 6, "a single insert counts once, a refused one not at all");
    // Projects written together (the group commit's batch) each count.
    let mut tx = store.begin().await.expect("begin");
    let batch: Vec<_> = (10..13).map(|n| crate::fixtures::new_project(acct.id, at(n))).collect();
    tx.insert_projects(&batch).await.expect("insert batch");
    tx.commit().await.expect("commit");
    assert_eq!(store.list_projects(acct.id, None, PageRequest::new(1, 1)).await.expect("list").total, 4);
    let mut tx = store.begin().await.expect("begin");
    tx.delete_webhook(a.id, w.id).await.expect("delete webhook");
    tx.commit().await.expect("commit");
    assert_eq!(store.list_webhooks(acct.id, a.id, PageRequest::new(1, 1)).await.expect("list").total, 1);
    let gone = store.list_deliveries(acct.id, a.id, w.id, PageRequest::new(1, 1)).await;
    assert!(matches!(gone, Err(RepoError::NotFound)), "a deleted webhook has no deliveries to list: {gone:?}");
}
