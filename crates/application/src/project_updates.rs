//! Updates of one project that arrive together share a transaction.
//!
//! An update locks its project's row until it commits, so concurrent updates of one
//! project run one at a time, each paying a transaction, four statements and a WAL
//! flush while the others wait on the lock. Here the updates that arrive while one of
//! the same project is being written wait in memory instead, and the next transaction
//! applies them all, in arrival order: the row is locked once, each patch applies to
//! what the one before left, the row is written once and the events in one statement.
//!
//! Each request still gets what it would have got alone: the project as its own patch
//! left it, and one `project.updated` event carrying that state (none for a no-op), in
//! the order the patches applied. Durability is unchanged: a request answers only after
//! the commit that holds its change. Nothing waits on a timer: a lone update is written
//! at once, and updates gather only behind one being written.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tengine_domain::error::error_chain;
use tengine_domain::{AccountId, EventType, Project, ProjectId, ProjectPatch};
use tengine_ports::RepoError;
use tokio::sync::oneshot;

use crate::events::project_data;
use crate::projects::not_found_as_project;
use crate::{AppError, Tengine};

/// The most updates one transaction applies; the rest wait for the next.
const MAX_BATCH: usize = 128;

/// A project's updates by the project: present while a writer runs for it, holding
/// those that arrived since its batch began.
type Waiting = HashMap<(AccountId, ProjectId), Vec<Pending>>;

/// The updates waiting for their project's writer.
#[derive(Default)]
pub(crate) struct ProjectUpdates {
    waiting: Mutex<Waiting>,
}

impl ProjectUpdates {
    fn lock(&self) -> MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many updates of a project wait behind the batch being written.
    #[cfg(test)]
    pub(crate) fn waiting(&self, account: AccountId, id: ProjectId) -> usize {
        self.lock().get(&(account, id)).map_or(0, Vec::len)
    }
}

/// One update waiting to be applied, and where its answer goes.
struct Pending {
    patch: ProjectPatch,
    done: oneshot::Sender<Result<Project, AppError>>,
}

/// Ends a project's writer if its task unwinds, so later updates start a new one
/// (those waiting get an error when their senders drop).
struct EndOnPanic<'a> {
    updates: &'a ProjectUpdates,
    key: (AccountId, ProjectId),
}

impl Drop for EndOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.updates.lock().remove(&self.key);
        }
    }
}

impl Tengine {
    /// Applies `patch` to the project, together with the other updates of it that wait
    /// behind the one being written; returns the project as this patch left it.
    pub(crate) async fn update_together(
        &self,
        account: AccountId,
        id: ProjectId,
        patch: ProjectPatch,
    ) -> Result<Project, AppError> {
        let (done, answer) = oneshot::channel();
        let pending = Pending { patch, done };
        let first = match self.project_updates.lock().entry((account, id)) {
            Entry::Occupied(mut waiting) => {
                waiting.get_mut().push(pending);
                None
            }
            Entry::Vacant(slot) => {
                slot.insert(Vec::new());
                Some(pending)
            }
        };
        if let Some(first) = first {
            // A task of its own, so a request that goes away mid-write (its client
            // disconnected) cannot strand the updates waiting behind it.
            let app = self.clone();
            tokio::spawn(async move { app.write_updates(account, id, vec![first]).await });
        }
        answer
            .await
            .map_err(|_| AppError::Unavailable(RepoError::Unavailable("the project's writer stopped".into())))?
    }

    /// Writes batches of a project's updates until none wait.
    async fn write_updates(&self, account: AccountId, id: ProjectId, mut batch: Vec<Pending>) {
        let _end = EndOnPanic { updates: &self.project_updates, key: (account, id) };
        loop {
            let (patches, dones): (Vec<ProjectPatch>, Vec<_>) = batch.into_iter().map(|p| (p.patch, p.done)).unzip();
            match self.apply_updates(account, id, &patches).await {
                // A request that went away is still applied; nobody to tell.
                Ok(states) => {
                    for (done, state) in dones.into_iter().zip(states) {
                        let _ = done.send(Ok(state));
                    }
                }
                Err(e) => {
                    let mut dones = dones;
                    let last = dones.pop();
                    for done in dones {
                        let _ = done.send(Err(same_error(&e)));
                    }
                    if let Some(last) = last {
                        let _ = last.send(Err(e));
                    }
                }
            }
            let mut waiting = self.project_updates.lock();
            let Entry::Occupied(mut next) = waiting.entry((account, id)) else { return };
            if next.get().is_empty() {
                next.remove();
                return;
            }
            let queued = next.get_mut();
            batch = queued.drain(..queued.len().min(MAX_BATCH)).collect();
        }
    }

    /// Applies `patches` in order in one transaction; the project after each.
    async fn apply_updates(
        &self,
        account: AccountId,
        id: ProjectId,
        patches: &[ProjectPatch],
    ) -> Result<Vec<Project>, AppError> {
        let mut tx = self.deps.store.begin().await?;
        let mut project = tx.lock_project(account, id).await?.ok_or(AppError::ProjectNotFound)?;
        let mut states = Vec::with_capacity(patches.len());
        let mut events = Vec::new();
        for patch in patches {
            if project.apply(patch.clone(), self.deps.clock.now()) {
                events.push(self.event(EventType::ProjectUpdated, account, Some(id), project_data(&project)));
            }
            states.push(project.clone());
        }
        if !events.is_empty() {
            tx.update_project_and_append(&project, &events).await.map_err(not_found_as_project)?;
            tx.commit().await?;
            tracing::info!(project_id = %id, updates = events.len(), "project updated");
        }
        Ok(states)
    }
}

/// The error a batch failed with, for each of its requests: they share one transaction,
/// so one outcome (the store's own error goes to the last of them; the others get its
/// kind and its causes' text, for their logs).
fn same_error(e: &AppError) -> AppError {
    match e {
        AppError::ProjectNotFound => AppError::ProjectNotFound,
        AppError::NotFound(what) => AppError::NotFound(what),
        AppError::Unavailable(cause) => AppError::Unavailable(RepoError::Unavailable(below(cause).into())),
        AppError::Internal(cause) => AppError::Internal(RepoError::Other(below(cause).into())),
        other => AppError::Internal(RepoError::Other(error_chain(other).into())),
    }
}

/// What a store error wraps, as one line: its copy wraps the same text.
fn below(e: &RepoError) -> String {
    std::error::Error::source(e).map_or_else(|| e.to_string(), error_chain)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use tengine_domain::{KeyScope, Permission};
    use tengine_ports::{MockStore, MockTransaction, Transaction};

    use super::*;
    use crate::test_support::*;

    fn rename(name: &str) -> ProjectPatch {
        ProjectPatch { name: Some(name.parse().unwrap()), description: None }
    }

    fn named(name: &str) -> Project {
        Project { name: name.parse().unwrap(), created_at: earlier(), updated_at: earlier(), ..project(1) }
    }

    /// Hands out `txs` in order, one per `begin`.
    fn transactions(store: &mut MockStore, txs: Vec<MockTransaction>) {
        let count = txs.len();
        let txs = Mutex::new(txs.into_iter());
        store
            .expect_begin()
            .times(count)
            .returning(move || Ok(Box::new(txs.lock().unwrap().next().unwrap()) as Box<dyn Transaction>));
    }

    /// Renames project 1, as an account-wide writer, in a task of its own.
    fn spawn_rename(app: &Tengine, name: &'static str) -> tokio::task::JoinHandle<Result<Project, AppError>> {
        let (app, who) = (app.clone(), principal(&[Permission::Write], KeyScope::Account));
        tokio::spawn(async move { app.update_project(&who, project_id(1), rename(name)).await })
    }

    /// Waits (briefly) until `ready` holds.
    async fn until(ready: impl Fn() -> bool) {
        for _ in 0..500 {
            if ready() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("timed out");
    }

    /// A transaction whose lock waits until `open` sends, after telling `entered`.
    fn gated() -> (MockTransaction, mpsc::Receiver<()>, mpsc::Sender<()>) {
        let (entered, has_entered) = mpsc::channel::<()>();
        let (open, gate) = mpsc::channel::<()>();
        let (entered, gate) = (Mutex::new(entered), Mutex::new(gate));
        let mut tx = MockTransaction::new();
        tx.expect_lock_project().times(1).returning(move |_, _| {
            entered.lock().unwrap().send(()).unwrap();
            gate.lock().unwrap().recv().unwrap();
            Ok(Some(named("p")))
        });
        (tx, has_entered, open)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn updates_that_wait_behind_one_being_written_share_the_next_transaction_in_arrival_order() {
        let (mut first, has_entered, open) = gated();
        first
            .expect_update_project_and_append()
            .times(1)
            .withf(|p, es| p.name.as_str() == "first" && es.len() == 1)
            .returning(|_, _| Ok(1));
        first.expect_commit().times(1).returning(|| Ok(()));
        let mut second = MockTransaction::new();
        second.expect_lock_project().times(1).returning(|_, _| Ok(Some(named("first"))));
        // The row is written once, as the last patch left it; one event per patch that
        // changed something, each with the state that patch made, in arrival order.
        second
            .expect_update_project_and_append()
            .times(1)
            .withf(|p, es| {
                p.name.as_str() == "third"
                    && es.iter().map(|e| e.data.as_str().contains("\"name\":\"second\"")).collect::<Vec<_>>()
                        == [true, false]
                    && es[1].data.as_str().contains("\"name\":\"third\"")
            })
            .returning(|_, _| Ok(2));
        second.expect_commit().times(1).returning(|| Ok(()));
        let app = harness(|s| transactions(s, vec![first, second]));
        let update = |name: &'static str| spawn_rename(&app, name);

        let a = update("first");
        tokio::task::spawn_blocking(move || has_entered.recv().unwrap()).await.unwrap();
        let b = update("second");
        until(|| app.project_updates.waiting(account_id(), project_id(1)) == 1).await;
        let c = update("third");
        until(|| app.project_updates.waiting(account_id(), project_id(1)) == 2).await;
        // The same name again changes nothing: no event, and its answer is the project
        // as the patch before it left it.
        let d = update("third");
        until(|| app.project_updates.waiting(account_id(), project_id(1)) == 3).await;
        open.send(()).unwrap();

        let mut names = Vec::new();
        for handle in [a, b, c, d] {
            names.push(handle.await.unwrap().unwrap().name.as_str().to_owned());
        }
        assert_eq!(names, ["first", "second", "third", "third"]);
        until(|| app.project_updates.lock().is_empty()).await;
    }

    #[test]
    fn a_failed_batchs_error_keeps_its_kind_and_causes_for_every_request() {
        let refused = || -> Box<dyn std::error::Error + Send + Sync> { "connection refused".into() };
        let copy = same_error(&AppError::Unavailable(RepoError::Unavailable(refused())));
        assert!(
            matches!(&copy, AppError::Unavailable(c) if error_chain(c) == "store unavailable: connection refused"),
            "{copy:?}"
        );
        let copy = same_error(&AppError::Internal(RepoError::Other(refused())));
        assert!(
            matches!(&copy, AppError::Internal(c) if error_chain(c) == "store error: connection refused"),
            "{copy:?}"
        );
        assert!(matches!(same_error(&AppError::ProjectNotFound), AppError::ProjectNotFound));
        assert!(matches!(same_error(&AppError::NotFound("webhook")), AppError::NotFound("webhook")));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_update_of_a_batch_that_fails_gets_the_error_and_later_ones_start_afresh() {
        let (mut first, has_entered, open) = gated();
        first.expect_update_project_and_append().returning(|_, _| Ok(1));
        first.expect_commit().returning(|| Ok(()));
        let mut gone = MockTransaction::new();
        gone.expect_lock_project().times(1).returning(|_, _| Ok(None));
        let app = harness(|s| {
            let mut txs = vec![first, gone].into_iter();
            let mut call = 0;
            s.expect_begin().times(3).returning(move || {
                call += 1;
                match call {
                    // The second batch cannot reach the store.
                    2 => Err(RepoError::Unavailable("down".into())),
                    _ => Ok(Box::new(txs.next().unwrap()) as Box<dyn Transaction>),
                }
            });
        });
        let update = |name: &'static str| spawn_rename(&app, name);

        let a = update("first");
        tokio::task::spawn_blocking(move || has_entered.recv().unwrap()).await.unwrap();
        let b = update("second");
        let c = update("third");
        until(|| app.project_updates.waiting(account_id(), project_id(1)) == 2).await;
        open.send(()).unwrap();

        assert_eq!(a.await.unwrap().unwrap().name.as_str().to_owned(), "first");
        for handle in [b, c] {
            assert!(matches!(handle.await.unwrap(), Err(AppError::Unavailable(_))));
        }
        until(|| app.project_updates.lock().is_empty()).await;
        // A project deleted meanwhile: not found, for this one and for what comes next.
        let gone = update("fourth").await.unwrap();
        assert!(matches!(gone, Err(AppError::ProjectNotFound)), "{gone:?}");
    }
}
