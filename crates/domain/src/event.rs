//! Events: what happened, recorded in the outbox in the same transaction as the change,
//! for the event log and webhook delivery.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::ids::{AccountId, EventId, ProjectId};

/// Every event type a webhook can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// A project was created.
    ProjectCreated,
    /// A project was updated.
    ProjectUpdated,
    /// A project was deleted.
    ProjectDeleted,
    /// An API key was created.
    ApiKeyCreated,
    /// An API key was updated or rotated.
    ApiKeyUpdated,
    /// An API key was revoked.
    ApiKeyRevoked,
    /// An integration was connected.
    IntegrationConnected,
    /// An integration was disconnected.
    IntegrationDisconnected,
    /// An integration was updated.
    IntegrationUpdated,
    /// The account used 80 % of its hourly allowance.
    UsageThresholdReached,
    /// The account was refused for the first time in a window.
    UsageLimitExceeded,
    /// A test delivery.
    WebhookTest,
    /// A custom tool was created.
    ToolCreated,
    /// A custom tool was updated.
    ToolUpdated,
    /// A custom tool was deleted.
    ToolDeleted,
    /// A webhook was switched off by its failures or a 410.
    WebhookDisabled,
}

impl EventType {
    /// Every event type.
    pub const ALL: [EventType; 16] = [
        EventType::ProjectCreated,
        EventType::ProjectUpdated,
        EventType::ProjectDeleted,
        EventType::ApiKeyCreated,
        EventType::ApiKeyUpdated,
        EventType::ApiKeyRevoked,
        EventType::IntegrationConnected,
        EventType::IntegrationDisconnected,
        EventType::IntegrationUpdated,
        EventType::UsageThresholdReached,
        EventType::UsageLimitExceeded,
        EventType::WebhookTest,
        EventType::ToolCreated,
        EventType::ToolUpdated,
        EventType::ToolDeleted,
        EventType::WebhookDisabled,
    ];

    /// The wire name, e.g. `project.created`.
    pub fn as_str(&self) -> &'static str {
        match self {
            EventType::ProjectCreated => "project.created",
            EventType::ProjectUpdated => "project.updated",
            EventType::ProjectDeleted => "project.deleted",
            EventType::ApiKeyCreated => "api_key.created",
            EventType::ApiKeyUpdated => "api_key.updated",
            EventType::ApiKeyRevoked => "api_key.revoked",
            EventType::IntegrationConnected => "integration.connected",
            EventType::IntegrationDisconnected => "integration.disconnected",
            EventType::IntegrationUpdated => "integration.updated",
            EventType::UsageThresholdReached => "usage.threshold_reached",
            EventType::UsageLimitExceeded => "usage.limit_exceeded",
            EventType::WebhookTest => "webhook.test",
            EventType::ToolCreated => "tool.created",
            EventType::ToolUpdated => "tool.updated",
            EventType::ToolDeleted => "tool.deleted",
            EventType::WebhookDisabled => "webhook.disabled",
        }
    }

    /// What the event means, for the event-type catalogue.
    pub fn description(&self) -> &'static str {
        match self {
            EventType::ProjectCreated => "A project was created. `data` is the project.",
            EventType::ProjectUpdated => "A project's name or description changed. `data` is the project as it now is.",
            EventType::ProjectDeleted => "A project was deleted, with its keys, webhooks and tools. `data` is the project as it was.",
            EventType::ApiKeyCreated => "An API key was created. `data` is the key's metadata (never the secret).",
            EventType::ApiKeyUpdated => {
                "An API key was renamed, had its permissions or expiry changed, or was rotated. `data` is the key's metadata."
            }
            EventType::ApiKeyRevoked => "An API key was revoked and no longer authenticates. `data` is the key's metadata.",
            EventType::IntegrationConnected => {
                "A user approved an OAuth integration for the project. `data` holds the integration and the new connection."
            }
            EventType::IntegrationDisconnected => {
                "A connection ended (revoked, narrowed to nothing, its integration deleted, or a reused code or refresh \
                 token). `data` holds the integration, the connection and `reason`."
            }
            EventType::IntegrationUpdated => {
                "An integration changed: its settings (`data.integration`), a connection's permissions narrowed \
                 (`data.connection`), or its client secret rotated (`data.change`)."
            }
            EventType::UsageThresholdReached => {
                "The account used 80 % of its hourly request allowance. Sent to every subscribed webhook of the account."
            }
            EventType::UsageLimitExceeded => {
                "The account's requests were refused for the first time in an hour window. Sent to every subscribed \
                 webhook of the account."
            }
            EventType::WebhookTest => "A test event sent by `POST .../webhooks/{id}/test`, whatever the subscription.",
            EventType::ToolCreated => "A custom tool was registered. `data` is the tool (never its auth secret).",
            EventType::ToolUpdated => "A custom tool changed. `data` is the tool as it now is.",
            EventType::ToolDeleted => "A custom tool was deleted. `data` is the tool as it was.",
            EventType::WebhookDisabled => {
                "The server switched a webhook off: its receiver answered 410, or every delivery failed for 5 days. \
                 Sent to the account's other webhooks subscribed to it. `data` holds the webhook, `reason` \
                 (`gone` or `failing`) and `disabled_at`."
            }
        }
    }

    /// Whether the event is about the account rather than one project, so it reaches
    /// every subscribed webhook of the account.
    pub fn is_account_wide(&self) -> bool {
        matches!(
            self,
            EventType::ProjectCreated
                | EventType::UsageThresholdReached
                | EventType::UsageLimitExceeded
                | EventType::WebhookDisabled
        )
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s).ok_or(())
    }
}

/// One event in the outbox. `data` never holds a key or webhook secret.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event's id (also the Standard Webhooks `webhook-id`).
    pub id: EventId,
    /// The account it belongs to.
    pub account_id: AccountId,
    /// The project it is about, if any.
    pub project_id: Option<ProjectId>,
    /// Its type.
    pub event_type: EventType,
    /// The payload's `data` object.
    pub data: EventData,
    /// When it happened.
    pub created_at: DateTime<Utc>,
}

/// An event's `data` as JSON text, checked once: stored, listed and delivered as it is,
/// never parsed into a tree and written out again (a page of the event log carries 20).
#[derive(Clone)]
pub struct EventData(Box<serde_json::value::RawValue>);

impl EventData {
    /// Checks that `json` is one JSON value.
    ///
    /// # Errors
    /// The parser's error when it is not.
    pub fn from_json(json: String) -> Result<Self, serde_json::Error> {
        serde_json::value::RawValue::from_string(json).map(Self)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// The payload as a tree, for code that reads its fields.
    pub fn to_value(&self) -> serde_json::Value {
        // The text was checked on the way in, so it parses.
        serde_json::from_str(self.as_str()).unwrap_or_default()
    }
}

impl From<serde_json::Value> for EventData {
    fn from(v: serde_json::Value) -> Self {
        // A `Value` always serializes (its map keys are strings).
        Self(serde_json::value::to_raw_value(&v).unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned()))
    }
}

impl PartialEq for EventData {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl std::fmt::Debug for EventData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for EventData {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// How long finished deliveries, their attempts and the events behind them are kept
/// (`TENGINE_RETENTION_DAYS`): whole days, from one to ten years' worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    days: u16,
}

impl Retention {
    /// Thirty days, as the reference keeps its event log.
    pub const DEFAULT: Retention = Retention { days: 30 };
    /// The longest retention accepted (ten years).
    pub const MAX_DAYS: u16 = 3_650;

    /// `days` as a retention.
    ///
    /// # Errors
    /// A message naming the accepted range when `days` is outside it.
    pub fn days(days: u32) -> Result<Self, String> {
        match u16::try_from(days) {
            Ok(d @ 1..=Self::MAX_DAYS) => Ok(Self { days: d }),
            _ => Err(format!("retention must be 1..={} days, not {days}", Self::MAX_DAYS)),
        }
    }

    /// The number of days.
    pub fn as_days(&self) -> u16 {
        self.days
    }

    /// The oldest moment still kept at `now`: what is older may be purged.
    pub fn horizon(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::days(i64::from(self.days))
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_whole_days_within_ten_years() {
        assert_eq!(Retention::default().as_days(), 30);
        assert!(Retention::days(0).is_err());
        assert!(Retention::days(3_651).is_err());
        assert!(Retention::days(u32::MAX).is_err());
        let week = Retention::days(7).expect("in range");
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("in range");
        assert_eq!(now - week.horizon(now), chrono::Duration::days(7));
    }

    #[test]
    fn names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>(), Ok(t));
        }
        assert!("project.exploded".parse::<EventType>().is_err());
    }

    #[test]
    fn event_data_is_checked_once_and_written_as_it_was_read() {
        assert!(EventData::from_json("{\"id\": ".to_owned()).is_err());
        assert!(EventData::from_json("{} {}".to_owned()).is_err());
        let text = r#"{"n":1,"name":"Ünïcode \"quoted\""}"#;
        let data = EventData::from_json(text.to_owned()).expect("one JSON value");
        assert_eq!(data.as_str(), text);
        assert_eq!(data.to_value()["n"], 1);
        let spaced = EventData::from_json(r#"{ "b": 1, "a": 2 }"#.to_owned()).expect("one JSON value");
        assert_eq!(serde_json::to_string(&spaced).expect("serialize"), r#"{ "b": 1, "a": 2 }"#);
        assert_eq!(EventData::from(data.to_value()), data);
    }
}

/// The API version events are rendered in.
pub const API_VERSION: &str = "v1";

/// An event as webhooks receive it and the event log lists it: the one place its wire
/// shape `{id, type, data, created_at, api_version}` is made.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EventEnvelope {
    /// The event id (also `webhook-id` on deliveries).
    pub id: EventId,
    /// The event type's name.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The payload.
    pub data: EventData,
    /// When it happened, RFC 3339.
    pub created_at: crate::time::Stamp,
    /// [`API_VERSION`].
    pub api_version: &'static str,
}

impl From<&Event> for EventEnvelope {
    fn from(e: &Event) -> Self {
        Self::from(e.clone())
    }
}

/// Moves the payload instead of copying it (a page of the event log is 20 of them).
impl From<Event> for EventEnvelope {
    fn from(e: Event) -> Self {
        Self {
            id: e.id,
            kind: e.event_type.as_str(),
            created_at: crate::time::Stamp(e.created_at),
            data: e.data,
            api_version: API_VERSION,
        }
    }
}
