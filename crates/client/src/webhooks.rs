//! Verifying webhook deliveries (both signature schemes), with the same code the
//! server signs with, and reading an event's `data` as the model its `type` names.

use chrono::{DateTime, Utc};
use tengine_domain::webhook::{verify_standard, verify_tengine, WebhookSecret};

use crate::models::{
    ApiKey, Event, IntegrationEventData, Project, Tool, UsageAlertData, WebhookDisabledData, WebhookTestData,
};

/// Why a delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The secret is not a valid webhook secret.
    #[error("invalid secret")]
    Secret,
    /// Neither signature scheme's headers are present.
    #[error("missing signature headers")]
    MissingHeaders,
    /// The signature does not match, or the timestamp is outside the tolerance.
    #[error("signature verification failed: {0}")]
    Invalid(tengine_domain::webhook::VerifyError),
    /// The body is not an event.
    #[error("payload is not a Tengine event: {0}")]
    Payload(String),
}

/// Verifies a delivery and returns its event. `header` looks a header up by its
/// lower-case name. The Standard Webhooks headers are preferred (they carry a signed
/// timestamp, checked against `tolerance_secs`); `X-Tengine-Signature` is the fallback.
///
/// # Errors
/// [`VerifyError`] when the delivery is not authentic.
pub fn verify<'h>(
    payload: &[u8],
    header: impl Fn(&str) -> Option<&'h str>,
    secret: &str,
    tolerance_secs: i64,
) -> Result<Event, VerifyError> {
    let secret: WebhookSecret = secret.parse().map_err(|_| VerifyError::Secret)?;
    match (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
        header("x-tengine-signature"),
    ) {
        (Some(id), Some(ts), Some(sig), _) => {
            verify_standard(&secret, id, ts, payload, sig, Utc::now(), tolerance_secs).map_err(VerifyError::Invalid)?
        }
        (_, _, _, Some(sig)) => verify_tengine(&secret, payload, sig).map_err(VerifyError::Invalid)?,
        _ => return Err(VerifyError::MissingHeaders),
    }
    serde_json::from_slice(payload).map_err(|e| VerifyError::Payload(e.to_string()))
}

/// [`verify`], with the event's `data` read as the model of its `type`.
///
/// # Errors
/// [`VerifyError`] when the delivery is not authentic, or `Payload` when the `data` of a
/// known type does not have that type's shape.
pub fn verify_typed<'h>(
    payload: &[u8],
    header: impl Fn(&str) -> Option<&'h str>,
    secret: &str,
    tolerance_secs: i64,
) -> Result<TypedEvent, VerifyError> {
    TypedEvent::try_from(verify(payload, header, secret, tolerance_secs)?)
        .map_err(|e| VerifyError::Payload(e.to_string()))
}

/// An event's `data` as the model its `type` names.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventPayload {
    /// `project.created`, `project.updated`, `project.deleted`.
    Project(Project),
    /// `api_key.created`, `api_key.updated`, `api_key.revoked`: the key's metadata (never its secret).
    ApiKey(ApiKey),
    /// `tool.created`, `tool.updated`, `tool.deleted` (never the tool's auth secret).
    Tool(Tool),
    /// `integration.connected`, `integration.disconnected`, `integration.updated`.
    Integration(IntegrationEventData),
    /// `usage.threshold_reached`, `usage.limit_exceeded`.
    UsageAlert(UsageAlertData),
    /// `webhook.test`.
    WebhookTest(WebhookTestData),
    /// `webhook.disabled`: the server switched a webhook off (`gone` after a 410, `failing`
    /// after 5 days of failures); `webhook` never carries its secret.
    WebhookDisabled(WebhookDisabledData),
    /// A type this version of the crate does not know: `data` as sent.
    Unknown(serde_json::Value),
}

impl EventPayload {
    /// Reads `data` as the model that `kind` (an event's `type`) names.
    ///
    /// # Errors
    /// When `data` does not have the shape of a known `kind`'s model.
    pub fn from_data(kind: &str, data: &serde_json::Value) -> Result<Self, serde_json::Error> {
        use serde::Deserialize as _;
        Ok(match kind {
            "project.created" | "project.updated" | "project.deleted" => Self::Project(Project::deserialize(data)?),
            "api_key.created" | "api_key.updated" | "api_key.revoked" => Self::ApiKey(ApiKey::deserialize(data)?),
            "tool.created" | "tool.updated" | "tool.deleted" => Self::Tool(Tool::deserialize(data)?),
            "integration.connected" | "integration.disconnected" | "integration.updated" => {
                Self::Integration(IntegrationEventData::deserialize(data)?)
            }
            "usage.threshold_reached" | "usage.limit_exceeded" => Self::UsageAlert(UsageAlertData::deserialize(data)?),
            "webhook.test" => Self::WebhookTest(WebhookTestData::deserialize(data)?),
            "webhook.disabled" => Self::WebhookDisabled(WebhookDisabledData::deserialize(&*with_ordering(data))?),
            _ => Self::Unknown(data.clone()),
        })
    }
}

/// `webhook.disabled` data whose webhook has an `ordering` (`""` when absent, as the Python
/// SDK reads it): events recorded before ordered delivery existed, and the server's event
/// data so far, leave it out, while the model requires it.
fn with_ordering(data: &serde_json::Value) -> std::borrow::Cow<'_, serde_json::Value> {
    let missing =
        data.get("webhook").and_then(serde_json::Value::as_object).is_some_and(|w| !w.contains_key("ordering"));
    if !missing {
        return std::borrow::Cow::Borrowed(data);
    }
    let mut filled = data.clone();
    if let Some(webhook) = filled.get_mut("webhook").and_then(serde_json::Value::as_object_mut) {
        webhook.insert("ordering".to_owned(), serde_json::Value::String(String::new()));
    }
    std::borrow::Cow::Owned(filled)
}

impl Event {
    /// `data` as the model this event's `type` names ([`EventPayload::Unknown`] for a
    /// type this version of the crate does not know).
    ///
    /// # Errors
    /// When `data` does not have the shape of a known type's model.
    pub fn payload(&self) -> Result<EventPayload, serde_json::Error> {
        EventPayload::from_data(&self.kind, &self.data)
    }
}

/// An event with its `data` typed: what [`verify_typed`] returns.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TypedEvent {
    /// The event's id (also `webhook-id` on deliveries).
    pub id: String,
    /// The event's type, e.g. `project.created`.
    pub kind: String,
    /// The event's payload, typed.
    pub data: EventPayload,
    /// When it happened.
    pub created_at: DateTime<Utc>,
    /// The API version of the payload.
    pub api_version: String,
}

impl TryFrom<Event> for TypedEvent {
    type Error = serde_json::Error;

    fn try_from(event: Event) -> Result<Self, Self::Error> {
        let data = event.payload()?;
        Ok(Self { id: event.id, kind: event.kind, data, created_at: event.created_at, api_version: event.api_version })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tengine_domain::webhook::sign;

    use super::*;

    const SECRET: &str = "whsec_MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1u";

    /// A delivery of an event of `kind` with `data`, and its signature headers.
    fn delivery(kind: &str, data: serde_json::Value) -> (Vec<u8>, Vec<(&'static str, String)>) {
        let body = serde_json::to_vec(&json!({
            "id": "evt_01",
            "type": kind,
            "data": data,
            "created_at": "2030-01-01T00:00:00Z",
            "api_version": "2024-01-01",
        }))
        .expect("json");
        let secret: WebhookSecret = SECRET.parse().expect("secret");
        let now = Utc::now();
        let sigs = sign(&[&secret], "evt_01", now, &body);
        let headers = vec![
            ("webhook-id", "evt_01".to_owned()),
            ("webhook-timestamp", now.timestamp().to_string()),
            ("webhook-signature", sigs.standard),
            ("x-tengine-signature", sigs.tengine),
        ];
        (body, headers)
    }

    fn typed(body: &[u8], headers: &[(&'static str, String)]) -> Result<TypedEvent, VerifyError> {
        verify_typed(body, |n| headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str()), SECRET, 300)
    }

    fn project() -> serde_json::Value {
        json!({"id": "proj_1", "name": "My Project", "description": null,
               "created_at": "2030-01-01T00:00:00Z", "updated_at": "2030-01-01T00:00:00Z"})
    }

    #[test]
    fn a_project_event_reads_as_a_project() {
        let (body, headers) = delivery("project.created", project());
        let event = typed(&body, &headers).expect("authentic");
        assert_eq!(
            (event.id.as_str(), event.kind.as_str(), event.api_version.as_str()),
            ("evt_01", "project.created", "2024-01-01")
        );
        let EventPayload::Project(p) = event.data else { panic!("not a project: {:?}", event.data) };
        assert_eq!((p.id.as_str(), p.name.as_str(), p.description), ("proj_1", "My Project", None));
        // The untyped verifier still answers the same event, and `payload` types it too.
        let lookup = |n: &str| headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str());
        let plain = verify(&body, lookup, SECRET, 300).expect("authentic");
        assert!(matches!(plain.payload(), Ok(EventPayload::Project(p)) if p.name == "My Project"));
    }

    #[test]
    fn every_family_reads_as_its_model() {
        let key = json!({"id": "key_1", "project_id": "proj_1", "name": "ci", "permissions": ["read"],
                         "prefix": "tng_abcdefgh", "expires_at": null, "created_at": "2030-01-01T00:00:00Z",
                         "last_used_at": null, "revoked_at": "2030-01-02T00:00:00Z"});
        let (body, headers) = delivery("api_key.revoked", key);
        let EventPayload::ApiKey(k) = typed(&body, &headers).expect("authentic").data else { panic!("not a key") };
        assert_eq!((k.name.as_str(), k.key, k.revoked_at.is_some()), ("ci", None, true));

        let alert = json!({"account_id": "acct_1", "limit": 1000, "used": 800, "remaining": 200,
                           "window_start": "2030-01-01T00:00:00Z", "reset_at": "2030-01-01T01:00:00Z"});
        let (body, headers) = delivery("usage.threshold_reached", alert);
        let EventPayload::UsageAlert(a) = typed(&body, &headers).expect("authentic").data else {
            panic!("not an alert")
        };
        assert_eq!((a.limit, a.used, a.remaining), (1000, 800, 200));

        let integration = json!({"id": "int_1", "project_id": "proj_1", "name": "Claude", "client_id": "int_1",
                                 "client_type": "public", "redirect_uris": ["http://127.0.0.1/cb"],
                                 "permissions": ["read"], "dynamic": false,
                                 "created_at": "2030-01-01T00:00:00Z", "updated_at": "2030-01-01T00:00:00Z"});
        let connection = json!({"id": "conn_1", "integration_id": "int_1", "project_id": "proj_1",
                                "approved_by": "key_1", "permissions": ["read"], "scope": "read", "resource": null,
                                "created_at": "2030-01-01T00:00:00Z", "last_used_at": null,
                                "revoked_at": "2030-01-02T00:00:00Z"});
        let data = json!({"integration": integration, "connection": connection, "reason": "token_revoked"});
        let (body, headers) = delivery("integration.disconnected", data);
        let EventPayload::Integration(i) = typed(&body, &headers).expect("authentic").data else { panic!("not one") };
        assert_eq!((i.integration.name.as_str(), i.reason.as_deref()), ("Claude", Some("token_revoked")));
        assert_eq!(i.connection.map(|c| c.id), Some("conn_1".to_owned()));

        let tool = json!({"id": "tool_1", "project_id": "proj_1", "name": "weather", "description": "Forecast",
                          "input_schema": {"type": "object", "properties": {"city_name": {"type": "string"}}},
                          "base_url": "https://api.example.com", "http_method": "GET", "endpoint_path": "/w",
                          "headers_template": {}, "query_template": {"q": "{{city_name}}"}, "body_template": null,
                          "enabled": true, "require_member": false, "log_payloads": false,
                          "inject_member_identity": [], "auth_strategy": "none", "has_auth_secret": false,
                          "timeout_ms": 10000, "max_response_bytes": 65536,
                          "created_at": "2030-01-01T00:00:00Z", "updated_at": "2030-01-01T00:00:00Z"});
        let (body, headers) = delivery("tool.deleted", tool);
        let EventPayload::Tool(t) = typed(&body, &headers).expect("authentic").data else { panic!("not a tool") };
        assert_eq!((t.name.as_str(), t.body_template), ("weather", None));
        assert_eq!(t.input_schema["properties"]["city_name"]["type"], "string");

        let (body, headers) = delivery("webhook.test", json!({"webhook_id": "wh_1", "message": "hello"}));
        let EventPayload::WebhookTest(w) = typed(&body, &headers).expect("authentic").data else { panic!("not one") };
        assert_eq!(w.webhook_id, "wh_1");
    }

    #[test]
    fn a_webhook_disabled_event_reads_with_its_webhook() {
        let webhook = json!({"id": "wh_1", "project_id": "proj_1", "url": "https://example.com/hook",
                             "description": null, "events": ["*"], "active": false,
                             "failing_since": "2029-12-27T00:00:00Z",
                             "created_at": "2029-12-01T00:00:00Z", "updated_at": "2030-01-01T00:00:00Z"});
        let data = json!({"webhook": webhook, "reason": "failing", "disabled_at": "2030-01-01T00:00:00Z"});
        let (body, headers) = delivery("webhook.disabled", data);
        let event = typed(&body, &headers).expect("authentic");
        assert_eq!(event.kind, "webhook.disabled");
        let EventPayload::WebhookDisabled(d) = event.data else { panic!("not one: {:?}", event.data) };
        assert_eq!((d.reason.as_str(), d.webhook.id.as_str(), d.webhook.active), ("failing", "wh_1", false));
        assert_eq!((d.webhook.secret, d.disabled_at.to_rfc3339()), (None, "2030-01-01T00:00:00+00:00".to_owned()));
        assert!(d.webhook.failing_since.is_some());
        // Without `rate_limit` and `ordering` (the server's event data leaves them out): read as unstated.
        assert_eq!((d.webhook.rate_limit, d.webhook.ordering.as_str()), (None, ""));

        let mut stated = webhook.clone();
        stated["rate_limit"] = json!(5);
        stated["ordering"] = json!("per_project");
        let data = json!({"webhook": stated, "reason": "gone", "disabled_at": "2030-01-01T00:00:00Z"});
        let (body, headers) = delivery("webhook.disabled", data);
        let EventPayload::WebhookDisabled(d) = typed(&body, &headers).expect("authentic").data else {
            panic!("not one")
        };
        assert_eq!((d.webhook.rate_limit, d.webhook.ordering.as_str()), (Some(5), "per_project"));

        // A webhook without its id is not this type's shape.
        let (body, headers) = delivery(
            "webhook.disabled",
            json!({"webhook": {}, "reason": "gone", "disabled_at": "2030-01-01T00:00:00Z"}),
        );
        assert!(matches!(typed(&body, &headers), Err(VerifyError::Payload(_))));
    }

    #[test]
    fn an_unknown_type_keeps_its_data_as_sent() {
        let data = json!({"anything": [1, 2], "nested_key": {"x": true}});
        let (body, headers) = delivery("project.archived", data.clone());
        let event = typed(&body, &headers).expect("authentic");
        assert_eq!(event.kind, "project.archived");
        assert_eq!(event.data, EventPayload::Unknown(data));
    }

    #[test]
    fn a_tampered_delivery_is_refused_and_a_misshapen_payload_is_an_error() {
        let (body, mut headers) = delivery("project.created", project());
        let mut tampered = body.clone();
        tampered.extend_from_slice(b" ");
        assert!(matches!(typed(&tampered, &headers), Err(VerifyError::Invalid(_))));
        headers[2].1 = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned();
        assert!(matches!(typed(&body, &headers), Err(VerifyError::Invalid(_))));

        // Authentic, but a project without a name: `verify` answers it, the typed reading refuses.
        let (body, headers) = delivery("project.updated", json!({"id": "proj_1"}));
        assert!(matches!(typed(&body, &headers), Err(VerifyError::Payload(_))));
        let lookup = |n: &str| headers.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str());
        assert!(verify(&body, lookup, SECRET, 300).expect("authentic").payload().is_err());
    }
}
