//! The contract cases, one `pub async fn` per behaviour, each taking a fresh empty
//! store (and, in `behind_the_back`, the adapter's hook for editing rows directly).
//! Run them through [`crate::contract_tests!`].

mod account;
mod api_key;
mod behind_the_back;
mod delivery;
mod event;
mod idempotency;
mod integration;
mod list;
mod project;
mod rate_counter;
mod session;
mod tool;
mod tool_call;
mod transaction;
mod usage;
mod webhook;
mod webhook_secret;

pub use account::*;
pub use api_key::*;
pub use behind_the_back::*;
pub use delivery::*;
pub use event::*;
pub use idempotency::*;
pub use integration::*;
pub use list::*;
pub use project::*;
pub use rate_counter::*;
pub use session::*;
pub use tool::*;
pub use tool_call::*;
pub use transaction::*;
pub use usage::*;
pub use webhook::*;
pub use webhook_secret::*;

use tengine_ports::RepoError;

/// Panics unless `result` is a `Conflict`.
#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(result: Result<T, RepoError>) {
    assert!(matches!(result, Err(RepoError::Conflict(_))), "expected a conflict, got {result:?}");
}

/// Panics unless `result` is a `NotFound`.
#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, RepoError>) {
    assert!(matches!(result, Err(RepoError::NotFound)), "expected not found, got {result:?}");
}
