//! Builders for the records the contract cases store. Timestamps are whole
//! microseconds (what every store keeps); ids are fresh UUIDv7s.

use chrono::{DateTime, Duration, Utc};
use tengine_domain::base62;
use tengine_domain::delivery::{Attempt, Delivery, EventFilter, Webhook};
use tengine_domain::secret_key::SealedSecret;
use tengine_domain::usage::{UsageCounts, HISTOGRAM_LEN};
use tengine_domain::{
    Account, AccountId, ApiKey, ApiKeyId, DeliveryId, Event, EventId, EventType, KeyScope, PageRequest, PermissionSet,
    PlainApiKey, Plan, Project, ProjectId, WebhookId,
};
use tengine_ports::{Store, UsageDelta};
use uuid::Uuid;

/// A fixed instant plus `secs` seconds, with a sub-second part in whole microseconds.
pub fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 123_456_000).expect("a valid instant") + Duration::seconds(secs)
}

/// A whole hour (a fixed one plus `n` hours): the start of a rollup or rate window.
pub fn hour(n: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_699_999_200, 0).expect("a valid instant") + Duration::hours(n)
}

/// Usage counters whose every field and histogram slot holds a different value,
/// derived from `seed`, so a swapped or dropped column shows.
pub fn usage_counts(seed: u64) -> UsageCounts {
    let mut histogram = [0; HISTOGRAM_LEN];
    for (i, slot) in (0u64..).zip(histogram.iter_mut()) {
        *slot = seed * 100 + i + 1;
    }
    UsageCounts {
        requests: seed * 1_000 + 1,
        errors: seed * 1_000 + 2,
        rate_limited: seed * 1_000 + 3,
        latency_sum_us: seed * 1_000_000 + 4,
        histogram,
    }
}

/// The sum of some counters.
pub fn sum_of<'a>(counts: impl IntoIterator<Item = &'a UsageCounts>) -> UsageCounts {
    let mut total = UsageCounts::default();
    for c in counts {
        total.merge(c);
    }
    total
}

/// A usage delta for `key` of `project` (claimed to be `account`'s) in `hour`.
pub fn usage_delta(
    account: AccountId,
    project: ProjectId,
    key: ApiKeyId,
    hour: DateTime<Utc>,
    counts: UsageCounts,
) -> UsageDelta {
    UsageDelta { hour, account_id: account, project_id: project, subject: key.into(), counts }
}

/// A fresh id for a key that need not be stored (rollups do not require one).
pub fn key_id() -> ApiKeyId {
    ApiKeyId::from_uuid(Uuid::now_v7())
}

/// An event record (not stored) of `account`, about `project` if given.
pub fn new_event(account: AccountId, project: Option<ProjectId>, event_type: EventType) -> Event {
    Event {
        id: EventId::from_uuid(Uuid::now_v7()),
        account_id: account,
        project_id: project,
        event_type,
        data:
            serde_json::json!({"project": {"id": project.map(|p| p.to_string()), "name": "Ünïcode \"quoted\""}, "n": 1})
                .into(),
        created_at: at(5),
    }
}

/// A fresh random API key secret.
pub fn secret() -> PlainApiKey {
    let random = base62::encode_fixed(Uuid::new_v4().as_u128(), base62::U128_WIDTH)
        + &base62::encode_fixed(Uuid::new_v4().as_u128(), base62::U128_WIDTH);
    PlainApiKey::from_random(&random[..40]).expect("40 base62 characters")
}

/// An account record (not stored) on `plan`.
pub fn new_account(plan: Plan) -> Account {
    Account {
        id: AccountId::from_uuid(Uuid::now_v7()),
        name: "Acme Inc".parse().expect("a valid name"),
        plan,
        created_at: at(0),
    }
}

/// A project record (not stored) of `account`, created at `created`.
pub fn new_project(account: AccountId, created: DateTime<Utc>) -> Project {
    Project {
        id: ProjectId::from_uuid(Uuid::now_v7()),
        account_id: account,
        name: "Project".parse().expect("a valid name"),
        description: Some("A project\nfor tests".parse().expect("a valid description")),
        created_at: created,
        updated_at: created,
    }
}

/// A key record (not stored) with a fresh secret, and that secret.
pub fn new_key(account: AccountId, scope: KeyScope, created: DateTime<Utc>) -> (ApiKey, PlainApiKey) {
    let plain = secret();
    let key = ApiKey {
        id: ApiKeyId::from_uuid(Uuid::now_v7()),
        account_id: account,
        scope,
        name: "Key".parse().expect("a valid name"),
        permissions: PermissionSet::all(),
        prefix: plain.display_prefix().to_owned(),
        digest: plain.digest(),
        previous: None,
        expires_at: None,
        created_at: created,
        updated_at: created,
        last_used_at: None,
        revoked_at: None,
    };
    (key, plain)
}

/// Stores a fresh free-plan account.
pub async fn account<S: Store>(store: &S) -> Account {
    let account = new_account(Plan::Free);
    let mut tx = store.begin().await.expect("begin");
    tx.insert_account(&account).await.expect("insert account");
    tx.commit().await.expect("commit");
    account
}

/// Stores a fresh project of `account` created at `created`.
pub async fn project<S: Store>(store: &S, account: AccountId, created: DateTime<Utc>) -> Project {
    let project = new_project(account, created);
    let mut tx = store.begin().await.expect("begin");
    tx.insert_project(&project).await.expect("insert project");
    tx.commit().await.expect("commit");
    project
}

/// Stores `key`.
pub async fn store_key<S: Store>(store: &S, key: &ApiKey) {
    let mut tx = store.begin().await.expect("begin");
    tx.insert_api_key(key).await.expect("insert key");
    tx.commit().await.expect("commit");
}

/// Stores a fresh key and returns it with its secret.
pub async fn key<S: Store>(
    store: &S,
    account: AccountId,
    scope: KeyScope,
    created: DateTime<Utc>,
) -> (ApiKey, PlainApiKey) {
    let (key, plain) = new_key(account, scope, created);
    store_key(store, &key).await;
    (key, plain)
}

/// A webhook record (not stored) of `project`, subscribed to `events` (wire names, or
/// `["*"]`), active, created at `created`.
pub fn new_webhook(account: AccountId, project: ProjectId, events: &[&str], created: DateTime<Utc>) -> Webhook {
    Webhook {
        id: WebhookId::from_uuid(Uuid::now_v7()),
        account_id: account,
        project_id: project,
        url: "https://hooks.example.com/tengine?team=1".parse().expect("a valid url"),
        description: Some("Ünïcode, \"quoted\"".to_owned()),
        events: EventFilter::parse_list(events).expect("valid event types"),
        active: true,
        // Storage keeps sealed secrets as opaque text.
        secret: SealedSecret::from_stored("tengine-sealed:v1:0011223344556677:c2VhbGVk".to_owned()),
        previous_secret: None,
        failing_since: None,
        created_at: created,
        updated_at: created,
        rate_limit: None,
        ordering: tengine_domain::delivery::DeliveryOrder::default(),
    }
}

/// Stores `webhook`.
pub async fn store_webhook<S: Store>(store: &S, webhook: &Webhook) {
    let mut tx = store.begin().await.expect("begin");
    tx.insert_webhook(webhook).await.expect("insert webhook");
    tx.commit().await.expect("commit");
}

/// Stores a fresh active webhook of `project` subscribed to `events`.
pub async fn webhook<S: Store>(store: &S, account: AccountId, project: ProjectId, events: &[&str]) -> Webhook {
    let webhook = new_webhook(account, project, events, at(1));
    store_webhook(store, &webhook).await;
    webhook
}

/// Appends and commits `event`; returns how many deliveries it fanned out to.
pub async fn append<S: Store>(store: &S, event: &Event) -> usize {
    let mut tx = store.begin().await.expect("begin");
    let created = tx.append_event(event).await.expect("append event");
    tx.commit().await.expect("commit");
    created
}

/// An attempt record.
pub fn attempt(
    attempted_at: DateTime<Utc>,
    status_code: Option<u16>,
    latency_ms: u64,
    error: Option<&str>,
    response_excerpt: Option<&str>,
) -> Attempt {
    Attempt {
        attempted_at,
        status_code,
        latency_ms,
        error: error.map(str::to_owned),
        response_excerpt: response_excerpt.map(str::to_owned),
    }
}

/// Every delivery of `webhook` (at most 100), newest first.
pub async fn deliveries_of<S: Store>(store: &S, webhook: &Webhook) -> Vec<Delivery> {
    let (account, project) = (webhook.account_id, webhook.project_id);
    store.list_deliveries(account, project, webhook.id, PageRequest::new(1, 100)).await.expect("list deliveries").items
}

/// The migrations in `dir` older than `version`, as a migrator: the schema an older
/// release left, to fill before testing the migration that follows. The files are
/// copied unchanged into `scratch` (created), so their checksums match the full set's
/// when it runs afterwards.
///
/// # Panics
/// When `dir` cannot be read or `scratch` written: a broken test setup.
pub async fn migrator_before(
    dir: &std::path::Path,
    version: i64,
    scratch: &std::path::Path,
) -> sqlx::migrate::Migrator {
    std::fs::create_dir_all(scratch).expect("create the scratch folder");
    for entry in std::fs::read_dir(dir).expect("read the migrations") {
        let path = entry.expect("a migration").path();
        let name = path.file_name().and_then(|n| n.to_str()).expect("a file name").to_owned();
        let older = name.split('_').next().and_then(|v| v.parse::<i64>().ok()).is_some_and(|v| v < version);
        if older {
            std::fs::copy(&path, scratch.join(&name)).expect("copy a migration");
        }
    }
    sqlx::migrate::Migrator::new(scratch).await.expect("the older migrations")
}

/// The attempts the migration tests fold into one delivery, oldest first: a time to
/// the microsecond, no status, then a quote and a non-ASCII character in an excerpt.
pub fn attempts_to_migrate() -> [Attempt; 2] {
    [
        attempt(at(100) + Duration::microseconds(1), None, 3000, Some("timed out"), None),
        attempt(at(160), Some(200), 12, None, Some("{\"ok\":\"qu\\\"oted ü\"}")),
    ]
}

/// A webhook with two pending deliveries, written through ports that read no attempts,
/// so it works on a schema from before `attempts_on_the_delivery`.
pub async fn webhook_with_two_deliveries<S: Store>(store: &S) -> Webhook {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let w = webhook(store, acct.id, p.id, &["*"]).await;
    for _ in 0..2 {
        assert_eq!(append(store, &new_event(acct.id, Some(p.id), EventType::ProjectUpdated)).await, 1);
    }
    w
}

/// After the attempts migration: delivery `with` of `webhook` reads back exactly
/// [`attempts_to_migrate`], `without` none, and the page shows both.
pub async fn assert_attempts_moved<S: Store>(store: &S, webhook: &Webhook, with: &str, without: &str) {
    let read = |id: &str| {
        let id: DeliveryId = id.parse().expect("a delivery id");
        async move { store.get_delivery(webhook.id, id).await.expect("read").expect("kept") }
    };
    assert_eq!(read(with).await.attempts, attempts_to_migrate().to_vec());
    assert_eq!(read(without).await.attempts, Vec::<Attempt>::new());
    assert_eq!(deliveries_of(store, webhook).await.iter().map(|d| d.attempts.len()).sum::<usize>(), 2, "the page too");
}
