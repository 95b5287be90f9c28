//! Projects: reads, listing, updates and soft deletion.

use tengine_domain::{EventType, KeyScope, PageRequest, Project, ProjectDescription, ProjectId, ProjectName};
use tengine_ports::Store;
use uuid::Uuid;

use super::{assert_conflict, assert_not_found};
use crate::fixtures::{account, at, deliveries_of, key, new_event, new_project, project, webhook};

/// The expected listing order: newest first, ties broken by id, descending.
fn newest_first(mut projects: Vec<Project>) -> Vec<Project> {
    projects.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    projects
}

/// A stored project, with or without a description, reads back unchanged.
pub async fn an_inserted_project_reads_back_unchanged<S: Store>(store: &S) {
    let acct = account(store).await;
    let with = project(store, acct.id, at(1)).await;
    let mut without = new_project(acct.id, at(2));
    without.description = None;
    without.updated_at = at(3);
    let mut tx = store.begin().await.expect("begin");
    tx.insert_project(&without).await.expect("insert");
    tx.commit().await.expect("commit");
    assert_eq!(store.get_project(acct.id, with.id).await.expect("get"), Some(with));
    assert_eq!(store.get_project(acct.id, without.id).await.expect("get"), Some(without));
    let missing = ProjectId::from_uuid(Uuid::now_v7());
    assert_eq!(store.get_project(acct.id, missing).await.expect("get"), None);
}

/// Names and descriptions stored under earlier, looser rules still read back (a project
/// named with a zero-width space before format characters were refused).
pub async fn text_stored_under_older_rules_still_reads_back<S: Store>(store: &S) {
    let acct = account(store).await;
    let mut old = new_project(acct.id, at(1));
    old.name = ProjectName::from_stored("pay\u{200B}pal".to_owned());
    old.description = Some(ProjectDescription::from_stored("\u{202E}txt".to_owned()));
    let mut tx = store.begin().await.expect("begin");
    tx.insert_project(&old).await.expect("insert");
    tx.commit().await.expect("commit");
    assert_eq!(store.get_project(acct.id, old.id).await.expect("a readable row"), Some(old.clone()));
    let page = store.list_projects(acct.id, None, PageRequest::default()).await.expect("a readable list");
    assert_eq!(page.items, vec![old]);
}

/// Another account's project is absent from get, list and lock.
pub async fn another_accounts_project_is_never_seen<S: Store>(store: &S) {
    let (mine, theirs) = (account(store).await, account(store).await);
    let p = project(store, theirs.id, at(1)).await;
    assert_eq!(store.get_project(mine.id, p.id).await.expect("get"), None);
    let page = store.list_projects(mine.id, None, PageRequest::default()).await.expect("list");
    assert!(page.items.is_empty());
    assert_eq!(page.total, 0);
    let page = store.list_projects(mine.id, Some(p.id), PageRequest::default()).await.expect("list");
    assert!(page.items.is_empty());
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.lock_project(mine.id, p.id).await.expect("lock"), None);
    assert_eq!(tx.lock_project(theirs.id, p.id).await.expect("lock"), Some(p));
}

/// Lists are newest first; projects created at the same instant are ordered by id.
pub async fn projects_are_listed_newest_first_with_ties_broken_by_id<S: Store>(store: &S) {
    let acct = account(store).await;
    let mut all = Vec::new();
    for secs in [5, 1, 5, 9, 5, 1] {
        all.push(project(store, acct.id, at(secs)).await);
    }
    let page = store.list_projects(acct.id, None, PageRequest::new(1, 100)).await.expect("list");
    assert_eq!(page.total, 6);
    assert_eq!(page.items, newest_first(all));
}

/// Pages hold `per_page` items from `offset`, and every page reports the full total.
pub async fn project_pages_report_the_total_and_honour_the_offset<S: Store>(store: &S) {
    let acct = account(store).await;
    let mut all = Vec::new();
    for secs in 0..5 {
        all.push(project(store, acct.id, at(secs)).await);
    }
    let expected = newest_first(all);
    let mut seen = Vec::new();
    for (page_no, len) in [(1, 2), (2, 2), (3, 1), (4, 0)] {
        let request = PageRequest::new(page_no, 2);
        let page = store.list_projects(acct.id, None, request.clone()).await.expect("list");
        assert_eq!((page.items.len(), page.total, page.request), (len, 5, request), "page {page_no}");
        seen.extend(page.items);
    }
    assert_eq!(seen, expected);
}

/// `only` narrows a list to one live project of the account.
pub async fn a_project_list_can_be_restricted_to_one_project<S: Store>(store: &S) {
    let acct = account(store).await;
    let p1 = project(store, acct.id, at(1)).await;
    let p2 = project(store, acct.id, at(2)).await;
    let page = store.list_projects(acct.id, Some(p1.id), PageRequest::default()).await.expect("list");
    assert_eq!((page.items, page.total), (vec![p1.clone()], 1));
    let page = store.list_projects(acct.id, Some(p1.id), PageRequest::new(2, 1)).await.expect("list");
    assert_eq!((page.items.len(), page.total), (0, 1), "a second page of one project is empty");
    let mut tx = store.begin().await.expect("begin");
    tx.delete_project(acct.id, p1.id, at(3)).await.expect("delete");
    tx.commit().await.expect("commit");
    let page = store.list_projects(acct.id, Some(p1.id), PageRequest::default()).await.expect("list");
    assert_eq!((page.items.len(), page.total), (0, 0));
    let page = store.list_projects(acct.id, None, PageRequest::default()).await.expect("list");
    assert_eq!((page.items, page.total), (vec![p2], 1));
}

/// An update writes name, description (including clearing it) and `updated_at`.
pub async fn updating_a_project_writes_name_description_and_updated_at<S: Store>(store: &S) {
    let acct = account(store).await;
    let mut p = project(store, acct.id, at(1)).await;
    p.name = "Renamed".parse().expect("name");
    p.description = None;
    p.updated_at = at(7);
    let mut tx = store.begin().await.expect("begin");
    tx.update_project(&p).await.expect("update");
    tx.commit().await.expect("commit");
    assert_eq!(store.get_project(acct.id, p.id).await.expect("get"), Some(p.clone()));
    p.description = Some("Back again".parse().expect("description"));
    p.updated_at = at(8);
    let mut tx = store.begin().await.expect("begin");
    tx.update_project(&p).await.expect("update");
    tx.commit().await.expect("commit");
    assert_eq!(store.get_project(acct.id, p.id).await.expect("get"), Some(p));
}

/// A project's change and its events written together: the row as given, the events
/// in its log and fanned out to its webhooks, with or without webhooks; events about
/// another project too; a missing, deleted or foreign project is not found and appends
/// nothing, even if the transaction then commits.
pub async fn a_project_update_and_its_events_are_written_together<S: Store>(store: &S) {
    let acct = account(store).await;
    let mut p = project(store, acct.id, at(1)).await;
    let bare = project(store, acct.id, at(2)).await;
    let hook = webhook(store, acct.id, p.id, &["project.updated"]).await;
    let other = webhook(store, acct.id, bare.id, &["project.updated"]).await;
    p.name = "Together".parse().expect("name");
    p.updated_at = at(9);
    let updated = |id| new_event(acct.id, Some(id), EventType::ProjectUpdated);
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.update_project_and_append(&p, &[updated(p.id), updated(p.id)]).await.expect("write"), 2);
    tx.commit().await.expect("commit");
    assert_eq!(store.get_project(acct.id, p.id).await.expect("get"), Some(p.clone()));
    assert_eq!(store.list_events(acct.id, p.id, None, PageRequest::default()).await.expect("events").total, 2);
    assert_eq!(deliveries_of(store, &hook).await.len(), 2);

    // A project without webhooks (its update's statement returns no candidate).
    let mut q = bare.clone();
    q.description = Some("No webhooks here".parse().expect("description"));
    q.updated_at = at(10);
    let quiet = project(store, acct.id, at(3)).await;
    let mut quiet_changed = quiet.clone();
    quiet_changed.updated_at = at(10);
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.update_project_and_append(&quiet_changed, &[updated(quiet.id)]).await.expect("write"), 0);
    // Events about another project than the one written still fan out.
    assert_eq!(tx.update_project_and_append(&q, &[updated(bare.id), updated(p.id)]).await.expect("write"), 2);
    tx.commit().await.expect("commit");
    assert_eq!(store.get_project(acct.id, quiet.id).await.expect("get"), Some(quiet_changed));
    assert_eq!(store.get_project(acct.id, bare.id).await.expect("get"), Some(q));
    assert_eq!(store.list_events(acct.id, quiet.id, None, PageRequest::default()).await.expect("events").total, 1);
    assert_eq!((deliveries_of(store, &hook).await.len(), deliveries_of(store, &other).await.len()), (3, 1));

    let gone = project(store, acct.id, at(4)).await;
    let mut tx = store.begin().await.expect("begin");
    tx.delete_project(acct.id, gone.id, at(5)).await.expect("delete");
    tx.commit().await.expect("commit");
    let stranger = account(store).await;
    let mut foreign = p.clone();
    foreign.account_id = stranger.id;
    // Each with events about itself (the foreign one's are about `p`, which is live and
    // has a webhook, so what a refused write appended would show), and a missing one
    // whose events are about `p`: a change and events about different projects, which
    // PostgreSQL writes in two statements rather than one.
    let absent = new_project(acct.id, at(6));
    for (missing, about) in [(gone.clone(), gone.id), (absent.clone(), absent.id), (foreign, p.id), (absent, p.id)] {
        let mut tx = store.begin().await.expect("begin");
        assert_not_found(tx.update_project_and_append(&missing, &[updated(about)]).await);
        tx.commit().await.expect("commit");
    }
    assert_eq!(store.list_events(acct.id, p.id, None, PageRequest::default()).await.expect("events").total, 3);
    assert_eq!(deliveries_of(store, &hook).await.len(), 3);
    assert_eq!(store.get_project(acct.id, p.id).await.expect("get"), Some(p));
}

/// A deleted project leaves get, list and lock; its keys stop being found; changing
/// it again is not found. Other projects and account-wide keys are untouched.
pub async fn a_soft_deleted_project_disappears_with_its_keys<S: Store>(store: &S) {
    let acct = account(store).await;
    let doomed = project(store, acct.id, at(1)).await;
    let kept = project(store, acct.id, at(2)).await;
    let (doomed_key, doomed_secret) = key(store, acct.id, KeyScope::Project(doomed.id), at(3)).await;
    let (_, kept_secret) = key(store, acct.id, KeyScope::Project(kept.id), at(3)).await;
    let (_, wide_secret) = key(store, acct.id, KeyScope::Account, at(3)).await;

    let mut tx = store.begin().await.expect("begin");
    tx.delete_project(acct.id, doomed.id, at(4)).await.expect("delete");
    tx.commit().await.expect("commit");

    assert_eq!(store.get_project(acct.id, doomed.id).await.expect("get"), None);
    let page = store.list_projects(acct.id, None, PageRequest::default()).await.expect("list");
    assert_eq!((page.items, page.total), (vec![kept.clone()], 1));
    assert_eq!(store.find_by_digest(&doomed_secret.digest()).await.expect("find"), None);
    assert!(store.find_by_digest(&kept_secret.digest()).await.expect("find").is_some());
    assert!(store.find_by_digest(&wide_secret.digest()).await.expect("find").is_some());

    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.lock_project(acct.id, doomed.id).await.expect("lock"), None);
    assert_not_found(tx.update_project(&doomed).await);
    assert_not_found(tx.delete_project(acct.id, doomed.id, at(5)).await);
    // The key record itself is still there for audit; only lookups by secret skip it.
    assert_eq!(tx.lock_api_key(doomed_key.id).await.expect("lock"), Some(doomed_key));
}

/// Updating or deleting a missing project, or another account's, is not found and
/// changes nothing.
pub async fn changing_a_missing_or_foreign_project_is_not_found<S: Store>(store: &S) {
    let (mine, theirs) = (account(store).await, account(store).await);
    let p = project(store, theirs.id, at(1)).await;
    let missing = new_project(mine.id, at(1));
    let mut hijacked = p.clone();
    hijacked.account_id = mine.id;
    hijacked.name = "Hijacked".parse().expect("name");
    let mut tx = store.begin().await.expect("begin");
    assert_not_found(tx.update_project(&missing).await);
    assert_not_found(tx.delete_project(mine.id, missing.id, at(2)).await);
    assert_not_found(tx.update_project(&hijacked).await);
    assert_not_found(tx.delete_project(mine.id, p.id, at(2)).await);
    tx.commit().await.expect("commit");
    assert_eq!(store.get_project(theirs.id, p.id).await.expect("get"), Some(p));
}

/// Inserting a project id twice is a conflict.
pub async fn a_duplicate_project_id_is_a_conflict<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(1)).await;
    let mut tx = store.begin().await.expect("begin");
    assert_conflict(tx.insert_project(&p).await);
}
