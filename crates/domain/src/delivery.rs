//! Webhook endpoints, their subscriptions, deliveries and the retry schedule.

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};

use crate::error::{clean_text, FieldError, ValidationError};
use crate::event::EventType;
use crate::ids::{AccountId, DeliveryId, EventId, ProjectId, WebhookId};
use crate::secret_key::SealedSecret;

/// How long the previous secret still signs after a rotation.
pub const SECRET_OVERLAP: Duration = Duration::hours(24);

/// A webhook that has failed for this long without a success is disabled.
pub const DISABLE_AFTER: Duration = Duration::days(5);

/// The waits after each failed attempt; after the last, the delivery fails.
pub const RETRY_SCHEDULE_SECS: [i64; 8] = [5, 30, 120, 900, 3_600, 14_400, 43_200, 86_400];

/// A webhook URL: absolute `http(s)`, at most 2048 characters, with a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// Wraps a URL as stored: it was checked when it was set, and a rule added later
    /// must not make a stored webhook unreadable (every row of every webhooks page).
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, moved out (a response body takes it without a copy).
    pub fn into_string(self) -> String {
        self.0
    }
}

impl FromStr for WebhookUrl {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| -> ValidationError {
            FieldError::new("url", reason).with_value(s.chars().take(128).collect::<String>()).into()
        };
        if s.len() > 2048 {
            return Err(FieldError::new("url", "must be at most 2048 characters").into());
        }
        if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(bad("must not contain whitespace or control characters"));
        }
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .ok_or_else(|| bad("must be an absolute http:// or https:// URL"))?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit('@').next().unwrap_or("");
        if host.is_empty() || host.starts_with(':') {
            return Err(bad("must name a host"));
        }
        if authority.contains('@') {
            return Err(bad("must not contain credentials"));
        }
        Ok(Self(s.to_owned()))
    }
}

/// Which events a webhook wants: a list, or every type (`["*"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFilter {
    /// Every event type.
    All,
    /// Only these (non-empty, no duplicates).
    Only(Vec<EventType>),
}

impl EventFilter {
    /// Parses a client list: non-empty, known types or `*` alone, no duplicates.
    ///
    /// # Errors
    /// A `VALIDATION_ERROR` naming the element.
    pub fn parse_list<S: AsRef<str>>(items: &[S]) -> Result<Self, ValidationError> {
        if items.is_empty() {
            return Err(FieldError::new("events", "must list at least one event type, or \"*\"").into());
        }
        if items.len() == 1 && items[0].as_ref() == "*" {
            return Ok(EventFilter::All);
        }
        let mut out = Vec::with_capacity(items.len());
        for (i, raw) in items.iter().enumerate() {
            let raw = raw.as_ref();
            let field = format!("events[{i}]");
            if raw == "*" {
                return Err(FieldError::new(field, "\"*\" must be the only entry").into());
            }
            let t: EventType = raw.parse().map_err(|()| {
                ValidationError::from(
                    FieldError::new(field.clone(), "unknown event type")
                        .with_value(raw.chars().take(64).collect::<String>()),
                )
            })?;
            if out.contains(&t) {
                return Err(FieldError::new(field, "duplicate event type").with_value(raw).into());
            }
            out.push(t);
        }
        Ok(EventFilter::Only(out))
    }

    /// Whether `t` is wanted. `webhook.test` is sent whatever the filter.
    pub fn wants(&self, t: EventType) -> bool {
        match self {
            EventFilter::All => true,
            EventFilter::Only(list) => list.contains(&t),
        }
    }

    /// The wire names (`["*"]` for all).
    pub fn names(&self) -> Vec<&'static str> {
        match self {
            EventFilter::All => vec!["*"],
            EventFilter::Only(list) => list.iter().map(EventType::as_str).collect(),
        }
    }
}

/// A webhook description: at most 1000 characters after trimming.
pub fn parse_description(raw: &str) -> Result<String, ValidationError> {
    clean_text("description", raw, 0, 1000, true)
}

/// The secret before a rotation, still signing until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousWebhookSecret {
    /// The old secret, sealed.
    pub secret: SealedSecret,
    /// When it stops signing.
    pub expires_at: DateTime<Utc>,
}

/// A webhook endpoint of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Its id.
    pub id: WebhookId,
    /// The owning account.
    pub account_id: AccountId,
    /// The project it belongs to.
    pub project_id: ProjectId,
    /// Where deliveries go.
    pub url: WebhookUrl,
    /// A description, if any.
    pub description: Option<String>,
    /// What it subscribes to.
    pub events: EventFilter,
    /// Whether deliveries are made.
    pub active: bool,
    /// The signing secret, sealed (opened only to sign).
    pub secret: SealedSecret,
    /// The pre-rotation secret, while it still signs.
    pub previous_secret: Option<PreviousWebhookSecret>,
    /// Since when every delivery has failed (reset by a success).
    pub failing_since: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// At most this many deliveries per second (a throttle for receivers that cannot
    /// take bursts: deliveries wait, they never fail for it); `None` for no limit.
    pub rate_limit: Option<u32>,
    /// Whether its deliveries go one at a time, in creation order.
    pub ordering: DeliveryOrder,
}

/// What a list of webhooks shows of each: the webhook without its account and its
/// sealed secrets, which a page never returns (so a page neither reads nor carries them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSummary {
    /// Its id.
    pub id: WebhookId,
    /// The project it belongs to.
    pub project_id: ProjectId,
    /// Where deliveries go.
    pub url: WebhookUrl,
    /// A description, if any.
    pub description: Option<String>,
    /// What it subscribes to.
    pub events: EventFilter,
    /// Whether deliveries are made.
    pub active: bool,
    /// Since when every delivery has failed (reset by a success).
    pub failing_since: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// At most this many deliveries per second; `None` for no limit.
    pub rate_limit: Option<u32>,
    /// Whether its deliveries go one at a time, in creation order.
    pub ordering: DeliveryOrder,
}

impl From<Webhook> for WebhookSummary {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id,
            project_id: w.project_id,
            url: w.url,
            description: w.description,
            events: w.events,
            active: w.active,
            failing_since: w.failing_since,
            created_at: w.created_at,
            updated_at: w.updated_at,
            rate_limit: w.rate_limit,
            ordering: w.ordering,
        }
    }
}

/// The order a webhook's deliveries are sent in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DeliveryOrder {
    /// As they come, many at once (the default).
    #[default]
    Unordered,
    /// One at a time in creation order: the next waits until the one before it
    /// succeeded or failed for good.
    PerProject,
}

impl DeliveryOrder {
    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryOrder::Unordered => "none",
            DeliveryOrder::PerProject => "per_project",
        }
    }
}

impl FromStr for DeliveryOrder {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(DeliveryOrder::Unordered),
            "per_project" => Ok(DeliveryOrder::PerProject),
            _ => Err(FieldError::new("ordering", "must be \"none\" or \"per_project\"")
                .with_value(s.chars().take(64).collect::<String>())
                .into()),
        }
    }
}

/// The highest `rate_limit` accepted, in deliveries per second.
pub const MAX_RATE_LIMIT: u32 = 10_000;

/// Checks a webhook's `rate_limit`: a whole number of deliveries per second in
/// `1..=MAX_RATE_LIMIT`.
///
/// # Errors
/// A `VALIDATION_ERROR` naming `rate_limit`.
pub fn parse_rate_limit(n: i64) -> Result<u32, ValidationError> {
    u32::try_from(n).ok().filter(|n| (1..=MAX_RATE_LIMIT).contains(n)).ok_or_else(|| {
        FieldError::new(
            "rate_limit",
            format!("must be a whole number of deliveries per second from 1 to {MAX_RATE_LIMIT}"),
        )
        .with_value(n.to_string())
        .into()
    })
}

/// The one-second window a throttled delivery at `now` counts against, and when the
/// next one starts.
pub fn throttle_window(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    (start, start + Duration::seconds(1))
}

impl Webhook {
    /// The secrets a delivery at `now` is signed with: the current one first.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&SealedSecret> {
        let mut v = vec![&self.secret];
        if let Some(p) = &self.previous_secret {
            if p.expires_at > now {
                v.push(&p.secret);
            }
        }
        v
    }

    /// Whether an event of type `t` about `project` (of this webhook's account) fans
    /// out to this webhook. Test events never fan out; they are addressed directly.
    pub fn receives(&self, t: EventType, project: Option<ProjectId>) -> bool {
        let scoped = t.is_account_wide() || project == Some(self.project_id);
        self.active && scoped && t != EventType::WebhookTest && self.events.wants(t)
    }

    /// Whether its deliveries wait on more than their due time: a throttle's budget, an
    /// earlier delivery, or the webhook being switched on again. Stores queue these
    /// apart, so that the common claim never walks a backlog that is only waiting.
    pub fn paced(&self) -> bool {
        self.rate_limit.is_some() || self.ordering == DeliveryOrder::PerProject || !self.active
    }

    /// Sets a new secret; the old one keeps signing for [`SECRET_OVERLAP`].
    pub fn rotate_secret(&mut self, new: SealedSecret, now: DateTime<Utc>) {
        let old = std::mem::replace(&mut self.secret, new);
        self.previous_secret = Some(PreviousWebhookSecret { secret: old, expires_at: now + SECRET_OVERLAP });
        self.updated_at = now;
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// A receiver answered 2xx.
    Succeeded,
    /// Every retry failed, or the webhook was disabled.
    Failed,
}

impl DeliveryStatus {
    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }
}

impl FromStr for DeliveryStatus {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(DeliveryStatus::Pending),
            "succeeded" => Ok(DeliveryStatus::Succeeded),
            "failed" => Ok(DeliveryStatus::Failed),
            _ => Err(()),
        }
    }
}

/// Why a webhook stopped receiving deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisableReason {
    /// Its receiver answered `410 Gone`.
    Gone,
    /// Every delivery failed for [`DISABLE_AFTER`].
    Failing,
    /// Someone set `active: false`.
    Manual,
}

impl DisableReason {
    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            DisableReason::Gone => "gone",
            DisableReason::Failing => "failing",
            DisableReason::Manual => "manual",
        }
    }
}

impl FromStr for DisableReason {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [DisableReason::Gone, DisableReason::Failing, DisableReason::Manual]
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(())
    }
}

/// How long the health of a webhook looks back.
pub const HEALTH_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// A webhook's attempts over a window, summed from hourly rollups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    /// Attempts made.
    pub attempts: u64,
    /// Attempts the receiver answered 2xx.
    pub succeeded: u64,
    /// The attempts' latencies added up, in milliseconds.
    pub latency_ms_sum: u64,
}

impl DeliveryStats {
    /// The share of attempts that succeeded, when there were any.
    pub fn success_rate(&self) -> Option<f64> {
        // Counts stay far below 2^52, so the conversion is exact.
        #[allow(clippy::cast_precision_loss)]
        (self.attempts > 0).then(|| self.succeeded as f64 / self.attempts as f64)
    }

    /// The mean latency, when there were attempts.
    pub fn latency_ms_avg(&self) -> Option<u64> {
        self.latency_ms_sum.checked_div(self.attempts)
    }
}

/// One attempt to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// When it was made.
    pub attempted_at: DateTime<Utc>,
    /// The receiver's status code, if it answered.
    pub status_code: Option<u16>,
    /// How long it took, in milliseconds.
    pub latency_ms: u64,
    /// What went wrong, if anything (timeouts, refused addresses, non-2xx).
    pub error: Option<String>,
    /// The first 1 KiB of the response body.
    pub response_excerpt: Option<String>,
}

/// One event's delivery to one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Its id.
    pub id: DeliveryId,
    /// The event delivered.
    pub event_id: EventId,
    /// The event's type.
    pub event_type: EventType,
    /// The webhook.
    pub webhook_id: WebhookId,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Every attempt so far, oldest first.
    pub attempts: Vec<Attempt>,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// What an attempt's outcome means for the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: done.
    Delivered,
    /// Try again at this time.
    RetryAt(DateTime<Utc>),
    /// No retries left: the delivery failed.
    GiveUp,
    /// 410 Gone: fail it and disable the webhook.
    Gone,
}

/// Decides what follows attempt number `attempt` (1-based) that ended with `status`
/// (`None` for a network error or timeout). `jitter` in [0, 1) spreads retries by up
/// to 10 %; `retry_after` is the receiver's `Retry-After` in seconds, if any.
pub fn next_step(
    attempt: usize,
    status: Option<u16>,
    timed_out: bool,
    retry_after: Option<i64>,
    jitter: f64,
    now: DateTime<Utc>,
) -> Outcome {
    match status {
        Some(s) if (200..300).contains(&s) => return Outcome::Delivered,
        Some(410) => return Outcome::Gone,
        _ => {}
    }
    let Some(base) = RETRY_SCHEDULE_SECS.get(attempt.saturating_sub(1)).copied() else { return Outcome::GiveUp };
    let throttled = timed_out || matches!(status, Some(429 | 503));
    let mut delay = base as f64 * (1.0 + 0.1 * jitter.clamp(0.0, 1.0));
    if throttled {
        delay = delay.max(60.0);
    }
    if let Some(ra) = retry_after {
        delay = (ra as f64).clamp(delay, 2.0 * delay);
    }
    Outcome::RetryAt(now + Duration::milliseconds((delay * 1_000.0) as i64))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn urls_must_be_absolute_http_with_a_host() {
        for ok in ["https://example.com/hook", "http://127.0.0.1:9000/x?y=1", "https://[::1]:8443/"] {
            assert!(ok.parse::<WebhookUrl>().is_ok(), "{ok}");
        }
        for bad in [
            "ftp://x",
            "/relative",
            "https://",
            "https:///path",
            "https://a b",
            "http://user:pw@host/",
            "javascript:alert(1)",
        ] {
            assert!(bad.parse::<WebhookUrl>().is_err(), "{bad}");
        }
        assert!(format!("https://x.io/{}", "a".repeat(2040)).parse::<WebhookUrl>().is_err());
    }

    #[test]
    fn event_lists_are_validated() {
        assert_eq!(EventFilter::parse_list(&["*"]), Ok(EventFilter::All));
        assert!(EventFilter::parse_list::<&str>(&[]).is_err());
        assert!(EventFilter::parse_list(&["project.created", "*"]).is_err());
        assert!(EventFilter::parse_list(&["project.created", "project.created"]).is_err());
        let e = EventFilter::parse_list(&["api_key.created", "nope"]).unwrap_err();
        assert_eq!(e.first().field, "events[1]");
        let f = EventFilter::parse_list(&["api_key.created"]).unwrap();
        assert!(f.wants(EventType::ApiKeyCreated) && !f.wants(EventType::ProjectCreated));
    }

    #[test]
    fn the_retry_schedule_is_followed_then_gives_up() {
        let waits: Vec<i64> = (1..=8)
            .map(|n| match next_step(n, Some(500), false, None, 0.0, t0()) {
                Outcome::RetryAt(at) => (at - t0()).num_seconds(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(waits, RETRY_SCHEDULE_SECS.to_vec());
        assert_eq!(next_step(9, Some(500), false, None, 0.0, t0()), Outcome::GiveUp);
        assert_eq!(next_step(1, Some(204), false, None, 0.0, t0()), Outcome::Delivered);
        assert_eq!(next_step(3, Some(410), false, None, 0.0, t0()), Outcome::Gone);
    }

    #[test]
    fn throttling_waits_a_minute_and_retry_after_is_clamped() {
        let wait = |status, timed_out, ra| match next_step(1, status, timed_out, ra, 0.0, t0()) {
            Outcome::RetryAt(at) => (at - t0()).num_seconds(),
            other => panic!("{other:?}"),
        };
        assert_eq!(wait(Some(429), false, None), 60);
        assert_eq!(wait(None, true, None), 60);
        assert_eq!(wait(Some(503), false, Some(1_000)), 120, "clamped to twice the delay");
        assert_eq!(wait(Some(503), false, Some(1)), 60, "never below the delay");
        assert_eq!(wait(Some(500), false, Some(8)), 8);
        let jittered = wait(Some(500), false, None);
        assert_eq!(jittered, 5);
        match next_step(4, Some(500), false, None, 0.999, t0()) {
            Outcome::RetryAt(at) => assert!((at - t0()).num_seconds() <= 990),
            other => panic!("{other:?}"),
        }
    }

    fn webhook(secret: SealedSecret) -> Webhook {
        Webhook {
            id: WebhookId::from_uuid(uuid::Uuid::from_u128(1)),
            account_id: AccountId::from_uuid(uuid::Uuid::from_u128(2)),
            project_id: ProjectId::from_uuid(uuid::Uuid::from_u128(3)),
            url: "https://x.io/h".parse().unwrap(),
            description: None,
            events: EventFilter::All,
            active: true,
            secret,
            previous_secret: None,
            failing_since: None,
            rate_limit: None,
            ordering: DeliveryOrder::default(),
            created_at: t0(),
            updated_at: t0(),
        }
    }

    #[test]
    fn rotation_signs_with_both_secrets_for_a_day() {
        let s1 = SealedSecret::from_stored("first-secret".to_owned());
        let s2 = SealedSecret::from_stored("second-secret".to_owned());
        let mut w = webhook(s1.clone());
        w.rotate_secret(s2.clone(), t0());
        assert_eq!(w.signing_secrets(t0()), vec![&s2, &s1]);
        assert_eq!(w.signing_secrets(t0() + SECRET_OVERLAP), vec![&s2]);
        assert!(w.receives(EventType::ProjectCreated, None), "account-wide events reach every webhook");
        assert!(!w.receives(EventType::ApiKeyCreated, Some(ProjectId::from_uuid(uuid::Uuid::from_u128(9)))));
        w.active = false;
        assert!(!w.receives(EventType::ApiKeyCreated, Some(w.project_id)));
    }

    #[test]
    fn a_throttle_an_order_or_being_off_paces_a_webhook() {
        let mut w = webhook(SealedSecret::from_stored("s".to_owned()));
        assert!(!w.paced(), "a plain webhook's deliveries wait only on their due time");
        w.rate_limit = Some(5);
        assert!(w.paced());
        w.rate_limit = None;
        w.ordering = DeliveryOrder::PerProject;
        assert!(w.paced());
        w.ordering = DeliveryOrder::Unordered;
        w.active = false;
        assert!(w.paced());
    }
}
