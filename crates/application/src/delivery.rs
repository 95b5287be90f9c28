//! The delivery worker's logic: claim due deliveries, sign and send them concurrently,
//! decide what follows each attempt, and record the results in one batch.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;

use tengine_domain::delivery::{
    next_step, throttle_window, Attempt, DeliveryOrder, DeliveryStatus, DisableReason, Outcome, Webhook, DISABLE_AFTER,
};
use tengine_domain::secret_key::Keyring;
use tengine_domain::webhook::{self, WebhookSecret};
use tengine_domain::{DeliveryId, Event, EventId, EventType, WebhookId};
use tengine_ports::{
    AttemptResult, Clock, DeliveryJob, DeliveryQueue, IdGenerator, OutboundRequest, OutboundResponse, RepoError,
    WebhookEffect, WebhookSender,
};

/// The envelope's `api_version`.
pub use tengine_domain::event::API_VERSION;

/// At most this many finished attempts are recorded in one statement.
const COMPLETE_CHUNK: usize = 32;

/// How long after one attempt finishes the worker waits for more to record with it.
/// Sends of one claim finish within a few hundred microseconds of each other, but not in
/// one poll: recorded as each poll found them, a claim of ten took two or three
/// statements, each with the fixed cost of a whole completion.
const COMPLETE_GATHER: Duration = Duration::from_millis(1);

/// The next group of finished attempts: the first, then whatever else finishes within
/// [`COMPLETE_GATHER`] of it, up to [`COMPLETE_CHUNK`]; `None` when all are done.
async fn gather<T>(results: &mut (impl futures::Stream<Item = T> + Unpin)) -> Option<Vec<T>> {
    let first = results.next().await?;
    let mut chunk = Vec::with_capacity(COMPLETE_CHUNK);
    chunk.push(first);
    let window = tokio::time::sleep(COMPLETE_GATHER);
    tokio::pin!(window);
    while chunk.len() < COMPLETE_CHUNK {
        tokio::select! {
            biased;
            next = results.next() => match next {
                Some(result) => chunk.push(result),
                None => break,
            },
            // Polled after the attempts (`biased`), so what is ready is never left out.
            () = &mut window => break,
        }
    }
    Some(chunk)
}

/// How long after a throttled webhook's next second starts its worker wakes.
const THROTTLE_WAKE_MARGIN: chrono::Duration = chrono::Duration::milliseconds(10);

/// Bodies larger than this are never built (SPEC: 256 KiB).
pub const MAX_BODY: usize = 256 * 1024;

/// Tuning of one worker.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Names this instance's claims (unique per process).
    pub worker_id: String,
    /// Deliveries claimed per round.
    pub batch: usize,
    /// Sends in flight at once.
    pub concurrency: usize,
    /// How long a claim lasts; a dead instance's claims are retaken after it.
    pub lease: Duration,
}

/// What one round of the worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Deliveries claimed (sent, failed to build, or handed back to wait).
    pub handled: usize,
    /// The soonest a delivery this round touched is due again: a retry, a throttled
    /// one's next second, or at once for the delivery queued behind a finished head of
    /// an ordered webhook. The worker sleeps until then without asking the store.
    pub wake_at: Option<DateTime<Utc>>,
}

impl Round {
    /// Takes `at` into account.
    pub fn wake(&mut self, at: Option<DateTime<Utc>>) {
        self.wake_at = soonest(self.wake_at, at);
    }
}

/// The sooner of two optional times (either when the other is absent).
pub fn soonest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// When a delivery is due again after `result`: its retry, or, when it finished a
/// head of an ordered webhook, at once (the next one in line is due).
fn due_again(result: &AttemptResult, ordered: bool) -> Option<DateTime<Utc>> {
    match result.status {
        DeliveryStatus::Pending => Some(result.next_attempt_at.unwrap_or(result.attempt.attempted_at)),
        DeliveryStatus::Succeeded | DeliveryStatus::Failed if ordered => Some(result.attempt.attempted_at),
        DeliveryStatus::Succeeded | DeliveryStatus::Failed => None,
    }
}

/// What became of one claimed job.
enum Sent {
    /// It was sent (or could not be built) and judged.
    Done(AttemptResult),
    /// Its budget's second ended (at the time given) before it could be sent.
    Late(DeliveryId, DateTime<Utc>),
}

/// Sends due deliveries; one per process, any number per database.
pub struct DeliveryWorker {
    queue: Arc<dyn DeliveryQueue>,
    sender: Arc<dyn WebhookSender>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    keyring: Arc<Keyring>,
    config: WorkerConfig,
}

/// The JSON body of a delivery: `{id, type, data, created_at, api_version}`.
pub fn envelope(event: &tengine_domain::Event) -> Vec<u8> {
    serde_json::to_vec(&tengine_domain::event::EventEnvelope::from(event)).unwrap_or_default()
}

/// The signed request for one attempt at `now`, its secrets opened with `keyring`, or
/// why it cannot be built.
pub fn build_request(job: &DeliveryJob, keyring: &Keyring, now: DateTime<Utc>) -> Result<OutboundRequest, String> {
    let body = envelope(&job.event);
    if body.len() > MAX_BODY {
        return Err(format!("payload of {} bytes exceeds the {MAX_BODY}-byte limit", body.len()));
    }
    let secrets = job
        .webhook
        .signing_secrets(now)
        .into_iter()
        .map(|s| keyring.open(job.webhook.id, s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            // An operator problem (a missing previous key), not the receiver's: log it.
            tracing::error!(webhook_id = %job.webhook.id, error = %e, "cannot open the webhook's secret");
            format!("the webhook's secret cannot be decrypted ({e})")
        })?;
    let event_id = job.event.id.to_string();
    let delivery_id = job.delivery_id.to_string();
    let secrets: Vec<_> = secrets.iter().collect();
    let headers = signed_headers(&secrets, &event_id, job.event.event_type.as_str(), Some(&delivery_id), now, &body);
    Ok(OutboundRequest { url: job.webhook.url.as_str().to_owned(), headers, body })
}

/// The headers of one delivery of `body` (an event envelope) signed under `secrets` (the
/// newest first) at `now`: both signature schemes and the event's headers, the same
/// whether the worker sends it or `tengine listen` forwards it (which has no delivery id).
pub fn signed_headers(
    secrets: &[&WebhookSecret],
    event_id: &str,
    event_type: &str,
    delivery_id: Option<&str>,
    now: DateTime<Utc>,
    body: &[u8],
) -> Vec<(String, String)> {
    let sigs = webhook::sign(secrets, event_id, now, body);
    let ts = now.timestamp().to_string();
    let mut headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        ("user-agent".to_owned(), concat!("Tengine-Webhooks/", env!("CARGO_PKG_VERSION")).to_owned()),
        ("x-tengine-signature".to_owned(), sigs.tengine),
        ("x-tengine-event-id".to_owned(), event_id.to_owned()),
        ("x-tengine-event-type".to_owned(), event_type.to_owned()),
        ("x-tengine-timestamp".to_owned(), ts.clone()),
    ];
    if let Some(id) = delivery_id {
        headers.push(("x-tengine-delivery-id".to_owned(), id.to_owned()));
    }
    headers.extend([
        ("webhook-id".to_owned(), event_id.to_owned()),
        ("webhook-timestamp".to_owned(), ts),
        ("webhook-signature".to_owned(), sigs.standard),
    ]);
    headers
}

/// The `webhook.disabled` event announcing that `webhook` was switched off at `at`: sent
/// to the account's other webhooks subscribed to it.
pub fn disabled_event(id: EventId, webhook: &Webhook, reason: DisableReason, at: DateTime<Utc>) -> Event {
    let mut off = webhook.clone();
    off.active = false;
    Event {
        id,
        account_id: webhook.account_id,
        project_id: Some(webhook.project_id),
        event_type: EventType::WebhookDisabled,
        data: serde_json::json!({
            "webhook": crate::events::webhook_data(&off),
            "reason": reason.as_str(),
            "disabled_at": tengine_domain::time::format(at),
        })
        .into(),
        created_at: at,
    }
}

/// What one attempt's response means for the delivery and its webhook: the attempt is
/// stamped with when it was `sent`, what follows is reckoned from `now` (its end).
pub fn judge(job: &DeliveryJob, response: &OutboundResponse, sent: DateTime<Utc>, now: DateTime<Utc>) -> AttemptResult {
    let attempt_no = job.attempts_so_far + 1;
    // A stable per-delivery jitter, so retries of many deliveries spread out.
    let jitter = (job.delivery_id.as_uuid().as_u128() % 1_000) as f64 / 1_000.0;
    let outcome = next_step(attempt_no, response.status, response.timed_out, response.retry_after, jitter, now);
    let error = response.error.clone().or_else(|| match response.status {
        Some(s) if !(200..300).contains(&s) => Some(format!("receiver answered {s}")),
        _ => None,
    });
    let attempt = Attempt {
        attempted_at: sent,
        status_code: response.status,
        latency_ms: u64::try_from(response.latency.as_millis()).unwrap_or(u64::MAX),
        error,
        response_excerpt: response.excerpt.clone(),
    };
    let failing = || {
        let since = job.webhook.failing_since.unwrap_or(now);
        if now - since >= DISABLE_AFTER {
            WebhookEffect::Disable(DisableReason::Failing)
        } else {
            WebhookEffect::Failing(now)
        }
    };
    let (status, next_attempt_at, webhook_effect) = match outcome {
        Outcome::Delivered => (DeliveryStatus::Succeeded, None, WebhookEffect::Healthy),
        Outcome::Gone => (DeliveryStatus::Failed, None, WebhookEffect::Disable(DisableReason::Gone)),
        Outcome::GiveUp => (DeliveryStatus::Failed, None, failing()),
        Outcome::RetryAt(at) => match failing() {
            disable @ WebhookEffect::Disable(_) => (DeliveryStatus::Failed, None, disable),
            effect => (DeliveryStatus::Pending, Some(at), effect),
        },
    };
    AttemptResult {
        delivery_id: job.delivery_id,
        webhook_id: job.webhook.id,
        attempt,
        status,
        next_attempt_at,
        webhook_effect,
        announcement: None,
    }
}

impl DeliveryWorker {
    /// A worker over the queue, the sender, the clock and the id source, opening secrets
    /// with `keyring`.
    pub fn new(
        queue: Arc<dyn DeliveryQueue>,
        sender: Arc<dyn WebhookSender>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
        keyring: Arc<Keyring>,
        config: WorkerConfig,
    ) -> Self {
        Self { queue, sender, clock, ids, keyring, config }
    }

    /// This worker's settings.
    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    /// Claims one batch, sends it, records the results; says how many it handled and
    /// when what it did makes a delivery due again.
    ///
    /// # Errors
    /// `Unavailable` when the store is down (claims then expire and are retaken).
    pub async fn run_once(&self) -> Result<Round, RepoError> {
        let now = self.clock.now();
        let jobs = self.queue.claim_due(&self.config.worker_id, now, self.config.lease, self.config.batch).await?;
        if jobs.is_empty() {
            return Ok(Round::default());
        }
        let handled = jobs.len();
        // The budget is of the second the sends start in, not the one the claim began in.
        let (jobs, postponed) = self.throttle(jobs, self.clock.now()).await?;
        // Woken a little after the next second starts, so a clock read at the wake-up
        // cannot still fall in the second whose budget is spent.
        let mut round = Round { handled, wake_at: postponed.map(|next| next + THROTTLE_WAKE_MARGIN) };
        // Record results as they come (in small groups), so a crash re-sends only what
        // was really in flight, not a whole batch that had already been delivered.
        let mut results = std::pin::pin!(futures::stream::iter(jobs)
            .map(|(job, deadline)| async move {
                let ordered = job.webhook.ordering == DeliveryOrder::PerProject;
                (self.attempt(job, deadline).await, ordered)
            })
            .buffer_unordered(self.config.concurrency.max(1)));
        while let Some(chunk) = gather(&mut results).await {
            let mut done = Vec::with_capacity(chunk.len());
            let mut late = Vec::new();
            for (sent, ordered) in chunk {
                match sent {
                    Sent::Done(result) => {
                        round.wake(due_again(&result, ordered));
                        done.push(result);
                    }
                    Sent::Late(id, due) => {
                        round.wake(Some(due));
                        late.push((id, due));
                    }
                }
            }
            if !done.is_empty() {
                self.queue.complete(&done).await?;
            }
            // Each late one is due when its budget's second ended: already, so at once.
            if let Some(due) = late.iter().map(|(_, due)| *due).max() {
                let ids: Vec<DeliveryId> = late.into_iter().map(|(id, _)| id).collect();
                self.queue.postpone(&self.config.worker_id, &ids, due).await?;
            }
        }
        Ok(round)
    }

    /// Keeps, of each throttled webhook's claimed jobs (in due order), what its budget for
    /// this second allows, and hands the rest back due when the next second starts: they
    /// wait, nothing is counted against them.
    /// Returns the jobs to send now, each throttled one with the end of the second its
    /// budget is for, and, if some were handed back, when they are due.
    async fn throttle(
        &self,
        jobs: Vec<DeliveryJob>,
        now: DateTime<Utc>,
    ) -> Result<(Vec<(DeliveryJob, Option<DateTime<Utc>>)>, Option<DateTime<Utc>>), RepoError> {
        let mut wanted: BTreeMap<WebhookId, (u32, u32)> = BTreeMap::new();
        for job in &jobs {
            if let Some(limit) = job.webhook.rate_limit {
                wanted.entry(job.webhook.id).or_insert((limit, 0)).1 += 1;
            }
        }
        if wanted.is_empty() {
            return Ok((jobs.into_iter().map(|job| (job, None)).collect(), None));
        }
        let (window, next) = throttle_window(now);
        let mut budget = BTreeMap::new();
        for (webhook, (limit, want)) in wanted {
            budget.insert(webhook, self.queue.take_send_budget(webhook, window, limit, want).await?);
        }
        let mut later = Vec::new();
        let mut keep = Vec::with_capacity(jobs.len());
        for job in jobs {
            match budget.get_mut(&job.webhook.id) {
                Some(0) => later.push(job.delivery_id),
                Some(left) => {
                    *left -= 1;
                    keep.push((job, Some(next)));
                }
                None => keep.push((job, None)),
            }
        }
        if later.is_empty() {
            return Ok((keep, None));
        }
        self.queue.postpone(&self.config.worker_id, &later, next).await?;
        Ok((keep, Some(next)))
    }

    /// Sends `job` and judges the answer, unless its budget's second ended at
    /// `deadline` before the send could start: a send is counted in the second it starts.
    async fn attempt(&self, job: DeliveryJob, deadline: Option<DateTime<Utc>>) -> Sent {
        let now = self.clock.now();
        if let Some(deadline) = deadline.filter(|d| now >= *d) {
            return Sent::Late(job.delivery_id, deadline);
        }
        let response = match build_request(&job, &self.keyring, now) {
            Ok(request) => self.sender.send(request).await,
            Err(error) => OutboundResponse {
                status: None,
                retry_after: None,
                excerpt: None,
                error: Some(error),
                timed_out: false,
                latency: Duration::ZERO,
            },
        };
        let mut result = judge(&job, &response, now, self.clock.now());
        if let WebhookEffect::Disable(reason) = result.webhook_effect {
            let id = EventId::from_uuid(self.ids.next_uuid());
            result.announcement = Some(disabled_event(id, &job.webhook, reason, result.attempt.attempted_at));
        }
        Sent::Done(result)
    }

    /// Releases this worker's claims (on shutdown).
    ///
    /// # Errors
    /// `Unavailable` when the store is down.
    pub async fn release(&self) -> Result<(), RepoError> {
        self.queue.release(&self.config.worker_id).await
    }

    /// When the next delivery is due, if any.
    ///
    /// # Errors
    /// `Unavailable` when the store is down.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>, RepoError> {
        self.queue.next_due().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::*;
    use tengine_domain::delivery::{EventFilter, Webhook};
    use tengine_domain::webhook::WebhookSecret;
    use tengine_domain::{DeliveryId, Event, EventId, EventType, WebhookId};
    use uuid::Uuid;

    fn ring() -> Keyring {
        Keyring::new(tengine_domain::secret_key::ServerKey::from_bytes([4; 32]), vec![])
    }

    fn job(failing_since: Option<DateTime<Utc>>, attempts_so_far: usize) -> DeliveryJob {
        let secret =
            ring().seal(WebhookId::from_uuid(Uuid::from_u128(6)), &"receiver-secret".parse().unwrap(), [1; 24]);
        DeliveryJob {
            delivery_id: DeliveryId::from_uuid(Uuid::from_u128(77)),
            event: Event {
                id: EventId::from_uuid(Uuid::from_u128(5)),
                account_id: account_id(),
                project_id: Some(project_id(1)),
                event_type: EventType::ApiKeyCreated,
                data: serde_json::json!({"id": "key_x"}).into(),
                created_at: now(),
            },
            webhook: Webhook {
                id: WebhookId::from_uuid(Uuid::from_u128(6)),
                account_id: account_id(),
                project_id: project_id(1),
                url: "http://127.0.0.1:9/hook".parse().unwrap(),
                description: None,
                events: EventFilter::All,
                active: true,
                secret,
                previous_secret: None,
                failing_since,
                created_at: now(),
                updated_at: now(),
                rate_limit: None,
                ordering: tengine_domain::delivery::DeliveryOrder::default(),
            },
            attempts_so_far,
            created_at: now(),
        }
    }

    fn response(status: Option<u16>) -> OutboundResponse {
        OutboundResponse {
            status,
            retry_after: None,
            excerpt: None,
            error: None,
            timed_out: false,
            latency: Duration::from_millis(3),
        }
    }

    #[test]
    fn requests_carry_both_signature_schemes_that_verify() {
        let j = job(None, 0);
        let r = build_request(&j, &ring(), now()).unwrap();
        let header = |n: &str| r.headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap();
        let secret: &WebhookSecret = &"receiver-secret".parse().unwrap();
        webhook::verify_tengine(secret, &r.body, &header("x-tengine-signature")).unwrap();
        webhook::verify_standard(
            secret,
            &header("webhook-id"),
            &header("webhook-timestamp"),
            &r.body,
            &header("webhook-signature"),
            now(),
            300,
        )
        .unwrap();
        assert_eq!(header("webhook-id"), j.event.id.to_string());
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["type"], "api_key.created");
        assert_eq!(body["api_version"], API_VERSION);
        assert!(!String::from_utf8_lossy(&r.body).contains("receiver-secret"));
    }

    #[test]
    fn a_secret_sealed_under_an_unknown_key_fails_the_attempt_without_sending() {
        let other = Keyring::new(tengine_domain::secret_key::ServerKey::from_bytes([5; 32]), vec![]);
        let error = build_request(&job(None, 0), &other, now()).unwrap_err();
        assert!(error.contains("cannot be decrypted"), "{error}");
    }

    #[test]
    fn outcomes_set_status_retry_and_webhook_health() {
        let ok = judge(&job(Some(now()), 0), &response(Some(200)), now(), now());
        assert_eq!((ok.status, ok.webhook_effect), (DeliveryStatus::Succeeded, WebhookEffect::Healthy));
        let retry = judge(&job(None, 0), &response(Some(500)), now(), now());
        assert_eq!(retry.status, DeliveryStatus::Pending);
        assert_eq!(retry.webhook_effect, WebhookEffect::Failing(now()));
        assert!(retry.next_attempt_at.unwrap() > now());
        assert_eq!(retry.attempt.error.as_deref(), Some("receiver answered 500"));
        let gone = judge(&job(None, 0), &response(Some(410)), now(), now());
        assert_eq!(
            (gone.status, gone.webhook_effect),
            (DeliveryStatus::Failed, WebhookEffect::Disable(DisableReason::Gone))
        );
        let last = judge(&job(None, 8), &response(Some(500)), now(), now());
        assert_eq!(last.status, DeliveryStatus::Failed);
    }

    #[test]
    fn a_webhook_failing_for_five_days_is_disabled() {
        let since = now() - DISABLE_AFTER;
        let r = judge(&job(Some(since), 3), &response(None), now(), now());
        assert_eq!(
            (r.status, r.webhook_effect),
            (DeliveryStatus::Failed, WebhookEffect::Disable(DisableReason::Failing))
        );
        let recent = judge(&job(Some(now() - chrono::Duration::days(4)), 3), &response(None), now(), now());
        assert_eq!(recent.webhook_effect, WebhookEffect::Failing(now()));
    }

    /// A worker named `w` over mocks, ten jobs a round, four sends at once.
    fn worker(
        queue: tengine_ports::MockDeliveryQueue,
        sender: tengine_ports::MockWebhookSender,
        clock: tengine_ports::MockClock,
    ) -> DeliveryWorker {
        let config =
            WorkerConfig { worker_id: "w".to_owned(), batch: 10, concurrency: 4, lease: Duration::from_secs(60) };
        DeliveryWorker::new(
            Arc::new(queue),
            Arc::new(sender),
            Arc::new(clock),
            Arc::new(tengine_ports::MockIdGenerator::new()),
            Arc::new(ring()),
            config,
        )
    }

    #[tokio::test]
    async fn a_throttled_webhook_sends_its_budget_and_the_rest_waits_for_the_next_second() {
        let throttled = |n: u128| {
            let mut j = job(None, 0);
            j.delivery_id = DeliveryId::from_uuid(Uuid::from_u128(n));
            j.webhook.rate_limit = Some(2);
            j
        };
        let mut free = job(None, 0);
        free.delivery_id = DeliveryId::from_uuid(Uuid::from_u128(9));
        free.webhook.id = WebhookId::from_uuid(Uuid::from_u128(60));
        free.webhook.secret = ring().seal(free.webhook.id, &"receiver-secret".parse().unwrap(), [1; 24]);
        let jobs = vec![throttled(1), throttled(2), free, throttled(3)];
        let later: Vec<DeliveryId> = [2, 3].iter().map(|n| DeliveryId::from_uuid(Uuid::from_u128(*n))).collect();
        let mut queue = tengine_ports::MockDeliveryQueue::new();
        queue.expect_claim_due().times(1).return_once(move |_, _, _, _| Ok(jobs));
        // One of the two this second was taken by another instance already.
        queue
            .expect_take_send_budget()
            .times(1)
            .withf(|_, window, limit, want| (*window, *limit, *want) == (throttle_window(now()).0, 2, 3))
            .returning(|_, _, _, _| Ok(1));
        queue
            .expect_postpone()
            .times(1)
            .withf(move |worker, ids, until| {
                worker == "w" && ids == later.as_slice() && *until == throttle_window(now()).1
            })
            .returning(|_, _, _| Ok(()));
        queue.expect_complete().returning(|results| {
            assert!(results.iter().all(|r| r.delivery_id.as_uuid().as_u128() % 8 == 1), "{results:?}");
            Ok(())
        });
        let mut sender = tengine_ports::MockWebhookSender::new();
        sender.expect_send().times(2).returning(|_| OutboundResponse {
            status: Some(200),
            retry_after: None,
            excerpt: None,
            error: None,
            timed_out: false,
            latency: Duration::from_millis(3),
        });
        let mut clock = tengine_ports::MockClock::new();
        clock.expect_now().returning(now);
        let worker = worker(queue, sender, clock);
        let round = worker.run_once().await.unwrap();
        assert_eq!(round.handled, 4, "every claimed job counts as handled");
        assert_eq!(
            round.wake_at,
            Some(throttle_window(now()).1 + THROTTLE_WAKE_MARGIN),
            "the handed-back ones are due next second"
        );
    }

    #[tokio::test]
    async fn a_throttled_send_that_would_start_after_its_budgets_second_is_handed_back_unsent() {
        let mut throttled = job(None, 0);
        throttled.webhook.rate_limit = Some(2);
        let id = throttled.delivery_id;
        let (_, second_ends) = throttle_window(now());
        let mut queue = tengine_ports::MockDeliveryQueue::new();
        queue.expect_claim_due().times(1).return_once(move |_, _, _, _| Ok(vec![throttled]));
        queue.expect_take_send_budget().times(1).returning(|_, _, _, _| Ok(1));
        queue
            .expect_postpone()
            .times(1)
            .withf(move |_, ids, until| ids == [id].as_slice() && *until == second_ends)
            .returning(|_, _, _| Ok(()));
        queue.expect_complete().never();
        let mut sender = tengine_ports::MockWebhookSender::new();
        sender.expect_send().never();
        // The claim and the budget are read in one second; the send would start in the next.
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let mut clock = tengine_ports::MockClock::new();
        clock.expect_now().returning(move || {
            if reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 {
                now()
            } else {
                second_ends
            }
        });
        let worker = worker(queue, sender, clock);
        let round = worker.run_once().await.unwrap();
        assert_eq!(round.handled, 1);
        assert_eq!(round.wake_at, Some(second_ends), "due again at once, with the next second's budget");
    }

    #[test]
    fn a_round_wakes_for_its_retries_and_for_the_next_in_line_of_an_ordered_webhook() {
        let ok = judge(&job(None, 0), &response(Some(200)), now(), now());
        let retry = judge(&job(None, 0), &response(Some(500)), now(), now());
        assert_eq!(due_again(&ok, false), None, "a success of an unordered webhook leaves nothing due");
        assert_eq!(due_again(&ok, true), Some(now()), "the next of an ordered webhook is due at once");
        assert_eq!(due_again(&retry, true), retry.next_attempt_at, "a retry is due at its time");
        let mut round = Round::default();
        for at in [retry.next_attempt_at, None, Some(now())] {
            round.wake(at);
        }
        assert_eq!(round.wake_at, Some(now()), "the soonest wins");
    }

    #[tokio::test]
    async fn results_are_recorded_in_groups_gathered_briefly_and_capped() {
        let (tx, mut results) = futures::channel::mpsc::unbounded::<usize>();
        for i in 0..40 {
            tx.unbounded_send(i).expect("send");
        }
        assert_eq!(gather(&mut results).await.map(|g| g.len()), Some(COMPLETE_CHUNK), "a group is capped");
        assert_eq!(gather(&mut results).await.map(|g| g.len()), Some(40 - COMPLETE_CHUNK));
        // One that finishes well after the window goes into the next group, which waits
        // for nothing once every attempt is in.
        tx.unbounded_send(40).expect("send");
        let late = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            tx.unbounded_send(41).expect("send");
            tx.unbounded_send(42).expect("send");
        });
        assert_eq!(gather(&mut results).await, Some(vec![40]));
        assert_eq!(gather(&mut results).await, Some(vec![41, 42]), "those that finish together go together");
        late.await.expect("sender");
        assert_eq!(gather(&mut results).await, None);
    }
}
