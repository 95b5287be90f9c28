//! Webhooks: reading endpoints, deliveries and the event log, the delivery queue the
//! worker drains, the wake-up signal, and the outbound sender.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tengine_domain::delivery::{
    Attempt, Delivery, DeliveryStats, DeliveryStatus, DisableReason, Webhook, WebhookSummary,
};
use tengine_domain::secret_key::SealedSecret;
use tengine_domain::{AccountId, DeliveryId, Event, EventType, Page, PageRequest, ProjectId, WebhookId};

use crate::RepoError;

/// Reads webhooks, their deliveries and the event log.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait::async_trait]
pub trait WebhookRepository: Send + Sync {
    /// The webhook `id` of `project`.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn get_webhook(&self, project: ProjectId, id: WebhookId) -> Result<Option<Webhook>, RepoError>;

    /// Up to `limit` webhooks of `account`'s live projects (or only `project`) whose
    /// deliveries are failing now, longest failing first.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn failing_webhooks(
        &self,
        account: AccountId,
        project: Option<ProjectId>,
        limit: u32,
    ) -> Result<Vec<Webhook>, RepoError>;

    /// A page of the project's webhooks, newest first, as a list shows them.
    ///
    /// # Errors
    /// `NotFound` when `project` is not a live project of `account`; `Unavailable` when
    /// the store cannot be reached.
    async fn list_webhooks(
        &self,
        account: AccountId,
        project: ProjectId,
        page: PageRequest,
    ) -> Result<Page<WebhookSummary>, RepoError>;

    /// A page of a webhook's deliveries, newest first, with their attempts.
    ///
    /// # Errors
    /// `NotFound` when `webhook` is not a webhook of `project`, a live project of
    /// `account`; `Unavailable` when the store cannot be reached.
    async fn list_deliveries(
        &self,
        account: AccountId,
        project: ProjectId,
        webhook: WebhookId,
        page: PageRequest,
    ) -> Result<Page<Delivery>, RepoError>;

    /// One delivery of a webhook, with its attempts.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn get_delivery(&self, webhook: WebhookId, id: DeliveryId) -> Result<Option<Delivery>, RepoError>;

    /// `webhook`'s attempts since `since` (from its hourly rollups, whole hours: the
    /// hour holding `since` counts whole) and why and when it was last disabled, if it
    /// is off. `NotFound` when there is no such webhook.
    ///
    /// # Errors
    /// `NotFound`; `Unavailable` when the store cannot be reached.
    async fn webhook_stats(&self, webhook: WebhookId, since: DateTime<Utc>) -> Result<WebhookStats, RepoError>;

    /// A page of the project's events (and the account-wide events recorded for it),
    /// newest first, optionally of one type.
    ///
    /// # Errors
    /// `NotFound` when `project` is not a live project of `account`; `Unavailable` when
    /// the store cannot be reached.
    async fn list_events(
        &self,
        account: AccountId,
        project: ProjectId,
        kind: Option<EventType>,
        page: PageRequest,
    ) -> Result<Page<Event>, RepoError>;

    /// Up to `limit` webhooks' stored secrets, of every account, in id order after
    /// `after`: what re-sealing under a new server key walks through.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn webhook_secrets_after(
        &self,
        after: Option<WebhookId>,
        limit: u32,
    ) -> Result<Vec<StoredWebhookSecrets>, RepoError>;

    /// Replaces a webhook's stored secrets with `new` if they are still `old` (so a
    /// rotation made meanwhile is kept); whether they were replaced.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn replace_webhook_secrets(
        &self,
        old: &StoredWebhookSecrets,
        new: &StoredWebhookSecrets,
    ) -> Result<bool, RepoError>;
}

/// A webhook's secrets as stored (the current one and, after a rotation, the previous).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWebhookSecrets {
    /// The webhook.
    pub id: WebhookId,
    /// Its current secret.
    pub secret: SealedSecret,
    /// Its previous secret, if any (its expiry is left as it is).
    pub previous: Option<SealedSecret>,
}

/// Everything the worker needs to make one attempt, read in the claim.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryJob {
    /// The delivery.
    pub delivery_id: DeliveryId,
    /// The event to send.
    pub event: Event,
    /// The endpoint (url, secrets).
    pub webhook: Webhook,
    /// How many attempts were made before this one.
    pub attempts_so_far: usize,
    /// When the first attempt was due (the delivery's creation).
    pub created_at: DateTime<Utc>,
}

/// The result of one attempt, to record.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptResult {
    /// The delivery.
    pub delivery_id: DeliveryId,
    /// Its webhook.
    pub webhook_id: WebhookId,
    /// What happened.
    pub attempt: Attempt,
    /// The delivery's new status.
    pub status: DeliveryStatus,
    /// When to try again (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// What to do to the webhook.
    pub webhook_effect: WebhookEffect,
    /// With [`WebhookEffect::Disable`]: the `webhook.disabled` event to record (and fan
    /// out) in the same transaction, if this batch is what switches the webhook off.
    pub announcement: Option<Event>,
}

/// How an attempt changes its webhook's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookEffect {
    /// A success: clear `failing_since`.
    Healthy,
    /// A failure: set `failing_since` to this time if it is unset.
    Failing(DateTime<Utc>),
    /// Disable the webhook (410 Gone, or failing for 5 days), saying why; fail its
    /// pending deliveries.
    Disable(DisableReason),
}

/// The delivery queue: claims due work with a lease, records results in batches.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait::async_trait]
pub trait DeliveryQueue: Send + Sync {
    /// Claims up to `limit` pending deliveries due at `now` (and not leased by a live
    /// claim) for `lease`, so no other instance sends them meanwhile.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn claim_due(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<DeliveryJob>, RepoError>;

    /// Records attempt results, releases their claims and applies webhook effects, in
    /// one transaction.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn complete(&self, results: &[AttemptResult]) -> Result<(), RepoError>;

    /// Releases every claim `worker` holds (on shutdown), so others take them at once.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn release(&self, worker: &str) -> Result<(), RepoError>;

    /// How many deliveries are pending (the queue depth, for metrics).
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn pending_deliveries(&self) -> Result<u64, RepoError>;

    /// When the next pending delivery that is not leased is due, if any. A lease's end
    /// is not reported: a dead instance's claims are found by the worker's poll.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, RepoError>;

    /// Takes up to `want` of `webhook`'s send budget in the one-second `window` (at most
    /// `limit` per window, shared by every instance); returns how many it got.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn take_send_budget(
        &self,
        webhook: WebhookId,
        window: DateTime<Utc>,
        limit: u32,
        want: u32,
    ) -> Result<u32, RepoError>;

    /// Hands back deliveries `worker` claimed but will not send now, due again at
    /// `until` (a throttled webhook's excess waits for its next window; nothing is
    /// counted as an attempt).
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn postpone(&self, worker: &str, ids: &[DeliveryId], until: DateTime<Utc>) -> Result<(), RepoError>;

    /// One batch of the retention purge, in one short transaction: deletes up to `limit`
    /// finished deliveries created before `before` (their attempts with them), then up
    /// to `limit` events created before `before` that no delivery refers to any more.
    /// Pending deliveries and their events are kept, however old.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    async fn purge_delivered(&self, before: DateTime<Utc>, limit: u32) -> Result<Purged, RepoError>;
}

/// A webhook's recent record, for its health.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookStats {
    /// Its attempts in the window.
    pub stats: DeliveryStats,
    /// Why and when it was switched off, while it is off.
    pub disabled: Option<(DisableReason, DateTime<Utc>)>,
}

/// What one batch of the retention purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Finished deliveries (with their attempts).
    pub deliveries: u64,
    /// Events no delivery referred to.
    pub events: u64,
}

/// Wakes delivery workers when deliveries are committed (on every instance).
#[async_trait::async_trait]
pub trait DeliveryNotifier: Send + Sync {
    /// Resolves after the next notification, or at once if one came since the last wait.
    async fn wait(&self);
}

/// An outbound webhook request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// The URL.
    pub url: String,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: Vec<u8>,
}

/// What a receiver did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundResponse {
    /// Its status, if it answered.
    pub status: Option<u16>,
    /// Its `Retry-After` in seconds, if any.
    pub retry_after: Option<i64>,
    /// The first 1 KiB of its body.
    pub excerpt: Option<String>,
    /// Why no answer came, or a refused address.
    pub error: Option<String>,
    /// Whether the attempt timed out.
    pub timed_out: bool,
    /// How long it took.
    pub latency: Duration,
}

/// Sends webhook requests, refusing private addresses unless allowed.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait::async_trait]
pub trait WebhookSender: Send + Sync {
    /// POSTs `request`, never following redirects.
    async fn send(&self, request: OutboundRequest) -> OutboundResponse;
}
