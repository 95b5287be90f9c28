//! Connections kept out of the pool for the hot single statements: reads, and the
//! delivery queue's claims and completions (each one statement, in its own transaction,
//! so a connection that answered is idle and safe to hand on).
//!
//! sqlx pings every connection it takes back (a `Sync` and a wait for `ReadyForQuery`):
//! one more round trip to PostgreSQL after each query, which cost the authenticated
//! `GET /projects/{id}` about a fifth of its server CPU. Reads here borrow connections
//! from a small fair sub-pool instead: a read that succeeded hands its connection to the
//! next read without a round trip.
//!
//! What stays safe:
//! - a read that failed, or was cancelled mid-query, drops its connection the usual way
//!   (sqlx pings it, drains what is pending, and closes it if broken);
//! - reads hold at most three quarters of the pool, so transactions and workers always
//!   have the rest; reads wait their turn in order (a semaphore), for at most the pool's
//!   acquire timeout;
//! - a connection goes back to the pool (and its lifetime checks) within [`KEEP_FOR`] of
//!   when it was first taken.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
use tengine_ports::RepoError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::map_err;

/// How long a connection may go between visits to the pool.
const KEEP_FOR: Duration = Duration::from_secs(30);

/// The read sub-pool: idle connections and one permit per connection reads may hold.
#[derive(Debug)]
pub(crate) struct Kept {
    idle: Mutex<Idle>,
    permits: Arc<Semaphore>,
    /// Connections reads may hold at once (the permits' total).
    reads: usize,
    acquire_timeout: Duration,
}

#[derive(Debug, Default)]
struct Idle {
    conns: Vec<(PoolConnection<Postgres>, Instant)>,
    /// Set when the store closes: the pool waits for every connection to come back.
    closed: bool,
}

impl Kept {
    /// A sub-pool for reads of three quarters of a pool of `max_connections` (none for a
    /// pool of one: a read would then starve every transaction).
    pub(crate) fn new(max_connections: u32, acquire_timeout: Duration) -> Arc<Self> {
        let reads = usize::try_from(max_connections.saturating_mul(3) / 4).unwrap_or(0);
        Arc::new(Self {
            idle: Mutex::new(Idle { conns: Vec::with_capacity(reads), closed: false }),
            permits: Arc::new(Semaphore::new(reads)),
            reads,
            acquire_timeout,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many connections are kept idle here right now.
    pub(crate) fn idle(&self) -> usize {
        self.lock().conns.len()
    }

    /// Returns every kept connection to the pool and keeps none from now on.
    pub(crate) fn close(&self) {
        let drained = {
            let mut idle = self.lock();
            idle.closed = true;
            std::mem::take(&mut idle.conns)
        };
        drop(drained);
    }

    /// A connection for one read: an idle kept one if there is one, else one from the
    /// pool (straight from the pool when reads have no share of it; after `close` the
    /// idle list stays empty, so reads go to the closed pool and fail as it does).
    pub(crate) async fn acquire(self: &Arc<Self>, pool: &PgPool) -> Result<ReadConnection, RepoError> {
        if self.reads == 0 {
            let conn = pool.acquire().await.map_err(map_err)?;
            return Ok(ReadConnection { conn: Some(conn), since: Instant::now(), lease: None });
        }
        let permit = tokio::time::timeout(self.acquire_timeout, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| map_err(sqlx::Error::PoolTimedOut))?
            .map_err(|_| map_err(sqlx::Error::PoolClosed))?;
        let kept = self.lock().conns.pop();
        let (conn, since) = match kept {
            Some(found) => found,
            None => (pool.acquire().await.map_err(map_err)?, Instant::now()),
        };
        Ok(ReadConnection { conn: Some(conn), since, lease: Some((permit, Arc::clone(self))) })
    }
}

/// A connection lent for one read; [`ReadConnection::keep`] after success, or drop it
/// (the connection then goes back to the pool, tested by sqlx).
pub(crate) struct ReadConnection {
    conn: Option<PoolConnection<Postgres>>,
    since: Instant,
    lease: Option<(OwnedSemaphorePermit, Arc<Kept>)>,
}

impl ReadConnection {
    /// The read succeeded: keep the connection for the next read (or return it to the
    /// pool once it has been out long enough).
    pub(crate) fn keep(mut self) {
        let (Some(conn), Some((permit, kept))) = (self.conn.take(), self.lease.take()) else { return };
        if self.since.elapsed() < KEEP_FOR {
            let mut idle = kept.lock();
            if !idle.closed {
                idle.conns.push((conn, self.since));
            }
        }
        // The next read may go once the connection is back.
        drop(permit);
    }
}

impl Deref for ReadConnection {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        self.conn.as_deref().unwrap_or_else(|| unreachable!("a read connection is only emptied by `keep`"))
    }
}

impl DerefMut for ReadConnection {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn.as_deref_mut().unwrap_or_else(|| unreachable!("a read connection is only emptied by `keep`"))
    }
}
