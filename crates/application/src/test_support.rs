//! Fixtures for the use-case tests: a `Tengine` over mocked ports with a fixed clock.
#![allow(clippy::unwrap_used)]

use std::fmt::Debug;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tengine_domain::secret_key::{Keyring, ServerKey};
use tengine_domain::{
    AccountId, ApiKey, ApiKeyId, Denied, KeyScope, Page, PageRequest, Permission, PlainApiKey, Principal, Project,
    ProjectId,
};
use tengine_ports::{
    MockClock, MockIdGenerator, MockSecretGenerator, MockStore, MockToolCaller, MockTransaction, RepoError,
};
use uuid::Uuid;

use crate::{AppError, Deps, Tengine};

pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

pub fn account_id() -> AccountId {
    AccountId::from_uuid(Uuid::from_u128(100))
}

pub fn project_id(n: u128) -> ProjectId {
    ProjectId::from_uuid(Uuid::from_u128(n))
}

pub fn plain(n: u8) -> PlainApiKey {
    let c = tengine_domain::base62::ALPHABET[usize::from(n % 62)] as char;
    PlainApiKey::from_random(&c.to_string().repeat(40)).unwrap()
}

pub fn bearer(n: u8) -> String {
    format!("Bearer {}", plain(n).expose_secret())
}

pub fn api_key(n: u8, scope: KeyScope, perms: &[Permission]) -> ApiKey {
    let secret = plain(n);
    ApiKey {
        id: ApiKeyId::from_uuid(Uuid::from_u128(u128::from(n) + 1000)),
        account_id: account_id(),
        scope,
        name: "key".parse().unwrap(),
        permissions: perms.iter().copied().collect(),
        prefix: secret.display_prefix().to_owned(),
        digest: secret.digest(),
        previous: None,
        expires_at: None,
        created_at: now(),
        updated_at: now(),
        last_used_at: None,
        revoked_at: None,
    }
}

pub fn project(n: u128) -> Project {
    Project {
        id: project_id(n),
        account_id: account_id(),
        name: "p".parse().unwrap(),
        description: None,
        created_at: now(),
        updated_at: now(),
    }
}

pub fn principal(perms: &[Permission], scope: KeyScope) -> Principal {
    Principal {
        account_id: account_id(),
        key_id: ApiKeyId::from_uuid(Uuid::from_u128(7)),
        scope,
        permissions: perms.iter().copied().collect(),
        expires_at: None,
        session: None,
        oauth: None,
    }
}

/// A `Tengine` whose store is set up by `setup`; any unexpected store call panics,
/// which is how tests show a refused request touched nothing.
pub fn harness(setup: impl FnOnce(&mut MockStore)) -> Tengine {
    harness_with_keyring(test_keyring(), setup)
}

/// The server keys of [`harness`].
pub fn test_keyring() -> Keyring {
    Keyring::new(ServerKey::from_bytes([2; 32]), vec![])
}

/// Like [`harness`], with other server keys.
pub fn harness_with_keyring(keyring: Keyring, setup: impl FnOnce(&mut MockStore)) -> Tengine {
    harness_with_tool_caller(keyring, MockToolCaller::new(), setup)
}

/// Like [`harness_with_keyring`], with a tool caller; the default one panics if called.
pub fn harness_with_tool_caller(
    keyring: Keyring,
    tool_caller: MockToolCaller,
    setup: impl FnOnce(&mut MockStore),
) -> Tengine {
    let mut store = MockStore::new();
    setup(&mut store);
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    let mut ids = MockIdGenerator::new();
    ids.expect_next_uuid().returning(|| Uuid::from_u128(0xABCD));
    let mut secrets = MockSecretGenerator::new();
    secrets.expect_api_key().returning(|| plain(9));
    secrets.expect_webhook_secret().returning(|| tengine_domain::webhook::WebhookSecret::from_random(&[5; 24]));
    secrets.expect_nonce().returning(|| [3; 24]);
    Tengine::new(Deps {
        store: Arc::new(store),
        clock: Arc::new(clock),
        ids: Arc::new(ids),
        secrets: Arc::new(secrets),
        limiter: Arc::new(crate::SlidingWindowLimiter::local()),
        keyring: Arc::new(keyring),
        tool_caller: Arc::new(tool_caller),
    })
}

/// Expects one transaction, set up by `setup`, that may commit.
pub fn expect_tx(store: &mut MockStore, setup: impl FnOnce(&mut MockTransaction) + Send + 'static) {
    let mut tx = MockTransaction::new();
    setup(&mut tx);
    tx.expect_append_event().returning(|_| Ok(0));
    tx.expect_append_events().returning(|_| Ok(0));
    tx.expect_commit().returning(|| Ok(()));
    let mut tx = Some(tx);
    store.expect_begin().times(1).returning(move || Ok(Box::new(tx.take().expect("one transaction"))));
}

/// Expects one transaction, set up by `setup`, that must not commit (a commit panics).
pub fn expect_tx_without_commit(store: &mut MockStore, setup: impl FnOnce(&mut MockTransaction)) {
    let mut tx = MockTransaction::new();
    setup(&mut tx);
    tx.expect_append_event().returning(|_| Ok(0));
    tx.expect_append_events().returning(|_| Ok(0));
    let mut tx = Some(tx);
    store.expect_begin().times(1).returning(move || Ok(Box::new(tx.take().expect("one transaction"))));
}

/// A day before [`now`]: when stored fixtures last changed, so a write at `now` shows.
pub fn earlier() -> DateTime<Utc> {
    now() - Duration::days(1)
}

/// The id the mocked id generator hands out.
pub fn fresh_uuid() -> Uuid {
    Uuid::from_u128(0xABCD)
}

/// An empty page answering `request`.
pub fn empty_page<T>(request: PageRequest) -> Page<T> {
    Page::new(Vec::new(), 0, request)
}

/// A store outage.
pub fn outage() -> RepoError {
    RepoError::Unavailable("connection refused".into())
}

/// Each single permission and whether it suffices for a use case needing `read`.
pub const NEEDS_READ: [(Permission, bool); 4] =
    [(Permission::Read, true), (Permission::Write, false), (Permission::Webhook, false), (Permission::Admin, true)];

/// Each single permission and whether it suffices for a use case needing `write`.
pub const NEEDS_WRITE: [(Permission, bool); 4] =
    [(Permission::Read, false), (Permission::Write, true), (Permission::Webhook, false), (Permission::Admin, true)];

/// Each single permission and whether it suffices for a use case needing `admin`.
pub const NEEDS_ADMIN: [(Permission, bool); 4] =
    [(Permission::Read, false), (Permission::Write, false), (Permission::Webhook, false), (Permission::Admin, true)];

/// Asserts one cell of the permission matrix: success when `allowed`, otherwise a 403
/// naming `required`.
#[track_caller]
pub fn assert_gate<T: Debug>(
    use_case: &str,
    required: Permission,
    (held, allowed): (Permission, bool),
    result: Result<T, AppError>,
) {
    match (&result, allowed) {
        (Ok(_), true) => {}
        (Err(AppError::Forbidden(Denied::Missing(p))), false) if *p == required => {}
        _ => panic!(
            "{use_case} by a key holding only {held}: expected {}, got {result:?}",
            if allowed { "success".to_owned() } else { format!("Forbidden(Missing({required}))") }
        ),
    }
}

/// Asserts `result` is a 403 for `denied`.
#[track_caller]
pub fn assert_denied<T: Debug>(case: &str, denied: Denied, result: Result<T, AppError>) {
    assert!(
        matches!(&result, Err(AppError::Forbidden(d)) if *d == denied),
        "{case}: expected Forbidden({denied:?}), got {result:?}"
    );
}

/// Asserts `result` is a 404 for the project.
#[track_caller]
pub fn assert_project_not_found<T: Debug>(case: &str, result: Result<T, AppError>) {
    assert!(matches!(result, Err(AppError::ProjectNotFound)), "{case}: expected ProjectNotFound, got {result:?}");
}

/// Asserts `result` is a 422 whose first error is on `field`.
#[track_caller]
pub fn assert_invalid<T: Debug>(case: &str, field: &str, result: Result<T, AppError>) {
    assert!(
        matches!(&result, Err(AppError::Validation(v)) if v.first().field == field),
        "{case}: expected Validation on {field}, got {result:?}"
    );
}
