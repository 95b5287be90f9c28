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
}

impl EventType {
    /// Every event type.
    pub const ALL: [EventType; 15] = [
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
        }
    }

    /// Whether the event is about the account rather than one project, so it reaches
    /// every subscribed webhook of the account.
    pub fn is_account_wide(&self) -> bool {
        matches!(self, EventType::ProjectCreated | EventType::UsageThresholdReached | EventType::UsageLimitExceeded)
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
    pub data: serde_json::Value,
    /// When it happened.
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>(), Ok(t));
        }
        assert!("project.exploded".parse::<EventType>().is_err());
    }
}

/// The API version events are rendered in.
pub const API_VERSION: &str = "v1";

/// An event as webhooks receive it and the event log lists it: the one place its wire
/// shape `{id, type, data, created_at, api_version}` is made.
#[derive(Debug, Clone, PartialEq)]
pub struct EventEnvelope {
    /// The event id (also `webhook-id` on deliveries).
    pub id: String,
    /// The event type's name.
    pub kind: &'static str,
    /// The payload.
    pub data: serde_json::Value,
    /// When it happened, RFC 3339.
    pub created_at: String,
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
            id: e.id.to_string(),
            kind: e.event_type.as_str(),
            created_at: crate::time::format(e.created_at),
            data: e.data,
            api_version: API_VERSION,
        }
    }
}

impl EventEnvelope {
    /// The JSON object, as delivered.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "type": self.kind,
            "data": self.data,
            "created_at": self.created_at,
            "api_version": self.api_version,
        })
    }
}
