//! The five growing lists (projects, keys, webhooks, deliveries, events): cursor pages
//! agree with numbered pages both ways, unknown cursors are named, and totals (kept as
//! counters) follow every insert and delete.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use tengine_domain::{Cursor, EventType, KeyScope, Page, PageRequest};
use tengine_ports::{RepoError, Store};

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
    walk(|r| Box::pin(store.list_api_keys(p, r)), |k| k.id.to_string(), 5).await;
    for n in 0..4 {
        store_webhook(store, &new_webhook(acct.id, p, &["*"], at(n / 2))).await;
    }
    walk(|r| Box::pin(store.list_webhooks(p, r)), |w| w.id.to_string(), 4).await;
    let other = projects[1].id;
    let hook = webhook(store, acct.id, other, &["project.updated"]).await;
    for kind in
        [EventType::ProjectUpdated, EventType::ProjectCreated, EventType::ProjectUpdated, EventType::ProjectUpdated]
    {
        append(store, &new_event(acct.id, Some(other), kind)).await;
    }
    walk(|r| Box::pin(store.list_events(other, None, r)), |e| e.id.to_string(), 4).await;
    walk(|r| Box::pin(store.list_events(other, Some(EventType::ProjectUpdated), r)), |e| e.id.to_string(), 3).await;
    walk(|r| Box::pin(store.list_deliveries(hook.id, r)), |d| d.id.to_string(), 3).await;
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
    assert_unknown_cursor(store.list_api_keys(own.id, after(foreign.id.to_string())).await, "starting_after");
    assert_unknown_cursor(store.list_webhooks(own.id, after("wh_nothing".into())).await, "starting_after");
    assert_unknown_cursor(store.list_events(own.id, None, before("evt_nothing".into())).await, "ending_before");
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
    webhook(store, acct.id, a.id, &["*"]).await;
    assert_eq!(store.list_webhooks(a.id, PageRequest::new(1, 1)).await.expect("list").total, 2);
    append(store, &new_event(acct.id, Some(a.id), EventType::ProjectUpdated)).await;
    append(store, &new_event(acct.id, Some(a.id), EventType::ProjectCreated)).await;
    let events = store.list_events(a.id, None, PageRequest::new(1, 1)).await.expect("events");
    let updated =
        store.list_events(a.id, Some(EventType::ProjectUpdated), PageRequest::new(1, 1)).await.expect("typed");
    assert_eq!((events.total, updated.total), (2, 1));
    let deliveries = store.list_deliveries(w.id, PageRequest::new(1, 1)).await.expect("deliveries");
    assert_eq!((deliveries.total, deliveries.has_more), (2, true));
    let mut tx = store.begin().await.expect("begin");
    tx.delete_webhook(a.id, w.id).await.expect("delete webhook");
    tx.commit().await.expect("commit");
    assert_eq!(store.list_webhooks(a.id, PageRequest::new(1, 1)).await.expect("list").total, 1);
    let gone = store.list_deliveries(w.id, PageRequest::new(1, 1)).await.expect("deliveries");
    assert_eq!(gone.total, 0, "a deleted webhook's deliveries leave its total");
}
