//! Group commit for creating projects: creates that arrive together share a transaction.
//!
//! A create is two inserts (the project and its `project.created` event) and a commit.
//! Under load the cost is not the rows but everything around them: a transaction, a
//! commit (a WAL flush) and a statement per row each, and in PostgreSQL every concurrent
//! transaction takes a key-share lock on the same account row (a multixact). So creates
//! queue here, and a writer takes every create waiting (up to [`MAX_BATCH`]) and
//! writes them in one transaction, one statement per table where the backend can.
//!
//! Durability is unchanged: a request answers only after the commit that holds its
//! project. Nothing waits on a timer: a lone create is written at once, and creates pile
//! up only while [`IN_FLIGHT`] batches are being written.

use std::sync::{Arc, OnceLock};

use tengine_domain::{Event, Project};
use tengine_ports::{RepoError, Store};
use tokio::sync::{mpsc, oneshot, Semaphore};

/// The most creates one transaction holds; bounds a batch's statement size and latency.
pub const MAX_BATCH: usize = 128;

/// Batches written at once: one inserts while the other waits for its WAL flush. (One
/// ran at 0.82x of two in PostgreSQL; four, no faster than two.)
const IN_FLIGHT: usize = 2;

/// Creates waiting for the writer before a new one waits for room (backpressure).
const QUEUE: usize = 4 * MAX_BATCH;

/// One create waiting to be written, and where its outcome goes.
struct Pending {
    project: Project,
    event: Event,
    done: oneshot::Sender<Result<(), RepoError>>,
}

/// The queue of creates and its writer, started on first use (inside the runtime).
#[derive(Default)]
pub(crate) struct ProjectWriter {
    queue: OnceLock<mpsc::Sender<Pending>>,
}

impl ProjectWriter {
    /// Writes `project` and its creation `event`, possibly together with concurrent
    /// creates; returns once they are committed.
    ///
    /// # Errors
    /// The store's error for this create (a batch that fails is retried one by one, so
    /// one create's error is never another's).
    pub(crate) async fn write(&self, store: &Arc<dyn Store>, project: Project, event: Event) -> Result<(), RepoError> {
        let queue = self.queue.get_or_init(|| start(Arc::clone(store)));
        let (done, outcome) = oneshot::channel();
        queue.send(Pending { project, event, done }).await.map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

/// The writer is gone: only if its task panicked or the runtime is shutting down.
fn stopped() -> RepoError {
    RepoError::Unavailable("the project writer stopped".into())
}

/// Spawns the writer and returns its queue.
fn start(store: Arc<dyn Store>) -> mpsc::Sender<Pending> {
    let (queue, mut waiting) = mpsc::channel::<Pending>(QUEUE);
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    tokio::spawn(async move {
        loop {
            // A batch is gathered only when a transaction can take it, so creates pile up
            // while every permit is busy and the next batch takes them all.
            let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else { return };
            let Some(first) = waiting.recv().await else { return };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match waiting.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                write_batch(store.as_ref(), batch).await;
                drop(permit);
            });
        }
    });
    queue
}

/// Writes a batch in one transaction; if that fails, each create alone, so every
/// request gets its own outcome.
async fn write_batch(store: &dyn Store, batch: Vec<Pending>) {
    let (mut projects, mut events, mut dones) = (Vec::new(), Vec::new(), Vec::new());
    for Pending { project, event, done } in batch {
        projects.push(project);
        events.push(event);
        dones.push(done);
    }
    // A create whose request went away is still written; nobody to tell, so sends to a
    // closed channel are ignored.
    let error = match write_together(store, &projects, &events).await {
        Ok(()) => {
            for done in dones {
                let _ = done.send(Ok(()));
            }
            return;
        }
        Err(e) => e,
    };
    if let [_] = projects.as_slice() {
        if let Some(done) = dones.pop() {
            let _ = done.send(Err(error));
        }
        return;
    }
    tracing::warn!(creates = projects.len(), error = %error, "a batch of project creates failed; writing them one by one");
    for ((project, event), done) in projects.iter().zip(&events).zip(dones) {
        let _ = done.send(write_together(store, std::slice::from_ref(project), std::slice::from_ref(event)).await);
    }
}

/// The projects and their events in one transaction.
async fn write_together(store: &dyn Store, projects: &[Project], events: &[Event]) -> Result<(), RepoError> {
    let mut tx = store.begin().await?;
    tx.insert_projects(projects).await?;
    tx.append_events(events).await?;
    tx.commit().await
}
