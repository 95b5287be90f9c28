//! Fault injection: the database going away under load, SIGTERM under load, and a
//! storm of concurrent idempotent POSTs. Each test is bounded in time and request count
//! and prints what it saw (run with `--nocapture` to read the numbers). The outage test
//! runs its own PostgreSQL 15 cluster (`/usr/lib/postgresql/15/bin`; as root, owned by
//! the `postgres` OS user) and never touches the shared one.

mod idempotency;
mod pg_outage;
mod sigterm;
mod support;
