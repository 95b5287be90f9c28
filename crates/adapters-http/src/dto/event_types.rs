//! The event-type catalogue: every type, what it means and the JSON Schema of its
//! `data`, as `GET /api/v1/event-types` lists it and the OpenAPI document's `webhooks`
//! section describes each delivery.

use serde::Serialize;
use serde_json::{json, Map, Value};
use tengine_domain::EventType;
use utoipa::ToSchema;

use super::integrations::{ConnectionBody, IntegrationBody};
use super::WebhookBody;
use crate::doc::schemas::EventTypeName;

/// The JSON Schema dialect of OpenAPI 3.1 schemas, named in each catalogue schema.
const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The component schema that describes `kind`'s `data`: the API's own object where the
/// payload is one (a project, a key, a tool), else a schema of its own below.
pub fn data_schema_name(kind: EventType) -> &'static str {
    match kind {
        EventType::ProjectCreated | EventType::ProjectUpdated | EventType::ProjectDeleted => "Project",
        EventType::ApiKeyCreated | EventType::ApiKeyUpdated | EventType::ApiKeyRevoked => "ApiKey",
        EventType::IntegrationConnected | EventType::IntegrationDisconnected | EventType::IntegrationUpdated => {
            "IntegrationEventData"
        }
        EventType::UsageThresholdReached | EventType::UsageLimitExceeded => "UsageAlertData",
        EventType::WebhookTest => "WebhookTestData",
        EventType::WebhookDisabled => "WebhookDisabledData",
        EventType::ToolCreated | EventType::ToolUpdated | EventType::ToolDeleted => "Tool",
    }
}

/// `data` of the `integration.*` events.
#[allow(dead_code)] // Describes payloads the application writes; never built here.
#[derive(ToSchema)]
pub struct IntegrationEventData {
    /// The integration (never its client secret).
    #[schema(value_type = IntegrationBody)]
    integration: (),
    /// The connection concerned: the new one (`integration.connected`), the ended one
    /// (`integration.disconnected`), or one whose permissions narrowed.
    #[schema(value_type = ConnectionBody, required = false)]
    connection: Option<()>,
    /// Why a connection ended (`integration.disconnected`): `disconnected`,
    /// `permissions_removed`, `integration_deleted`, `token_revoked`, `code_reused` or
    /// `refresh_token_reused`.
    #[schema(value_type = String, required = false)]
    reason: Option<String>,
    /// What changed besides the settings: `secret_rotated`.
    #[schema(value_type = String, required = false)]
    change: Option<String>,
}

/// `data` of `usage.threshold_reached` and `usage.limit_exceeded`: the account's hour
/// window at the moment it was crossed.
#[allow(dead_code)] // Describes payloads the application writes; never built here.
#[derive(ToSchema)]
pub struct UsageAlertData {
    /// The account.
    #[schema(pattern = r"^acct_[0-9A-Za-z]{22}$")]
    account_id: String,
    /// Requests allowed per hour.
    limit: u64,
    /// Requests counted in the window.
    used: u64,
    /// Requests left in the window.
    remaining: u64,
    /// When the window began.
    #[schema(format = DateTime)]
    window_start: String,
    /// When a request will next be admitted if nothing else is.
    #[schema(format = DateTime)]
    reset_at: String,
}

/// `data` of `webhook.test`.
#[allow(dead_code)] // Describes payloads the application writes; never built here.
#[derive(ToSchema)]
pub struct WebhookTestData {
    /// The webhook tested.
    #[schema(pattern = r"^wh_[0-9A-Za-z]{22}$")]
    webhook_id: String,
    /// A fixed message.
    message: String,
}

/// `data` of `webhook.disabled`.
#[allow(dead_code)] // Describes payloads the application writes; never built here.
#[derive(ToSchema)]
pub struct WebhookDisabledData {
    /// The webhook, as it is now (`active: false`; never its secret).
    #[schema(value_type = WebhookBody)]
    webhook: (),
    /// `gone` (its receiver answered 410) or `failing` (every delivery failed for 5 days).
    #[schema(pattern = "^(gone|failing)$")]
    reason: String,
    /// When it was switched off.
    #[schema(format = DateTime)]
    disabled_at: String,
}

/// One entry of the catalogue.
#[derive(Serialize, ToSchema)]
#[schema(
    as = EventTypeInfo,
    example = json!({
        "type": "webhook.test",
        "description": "A test event sent by `POST .../webhooks/{id}/test`, whatever the subscription.",
        "scope": "project",
        "schema": {"type": "object", "required": ["webhook_id", "message"]}
    })
)]
pub struct EventTypeBody {
    /// The type, as in `type` of an event and in a webhook's `events`.
    #[serde(rename = "type")]
    #[schema(value_type = EventTypeName)]
    kind: &'static str,
    /// What it means and what `data` holds.
    description: &'static str,
    /// `project`: sent to the subscribed webhooks of the event's project; `account`: to
    /// every subscribed webhook of the account (`project.created` and the usage alerts).
    #[schema(pattern = "^(project|account)$")]
    scope: &'static str,
    /// The JSON Schema (2020-12, self-contained) of the event's `data`.
    #[schema(value_type = Object)]
    schema: Value,
}

/// `GET /api/v1/event-types`.
#[derive(Serialize, ToSchema)]
#[schema(as = EventTypeCatalogue)]
pub struct CatalogueBody {
    /// Every event type.
    data: Vec<EventTypeBody>,
}

/// The catalogue, from the OpenAPI document `doc` (as JSON): each payload's schema is
/// the document's own, with its references resolved.
pub fn catalogue(doc: &Value) -> CatalogueBody {
    {
        let components = doc.pointer("/components/schemas").and_then(Value::as_object).cloned().unwrap_or_default();
        let data = EventType::ALL
            .iter()
            .map(|&kind| {
                let mut schema = inline(&json!({"$ref": reference(data_schema_name(kind))}), &components);
                if let Value::Object(fields) = &mut schema {
                    fields.insert("$schema".to_owned(), Value::from(DIALECT));
                }
                EventTypeBody {
                    kind: kind.as_str(),
                    description: kind.description(),
                    scope: if kind.is_account_wide() { "account" } else { "project" },
                    schema,
                }
            })
            .collect();
        CatalogueBody { data }
    }
}

/// `#/components/schemas/{name}`.
pub fn reference(name: &str) -> String {
    format!("#/components/schemas/{name}")
}

/// `schema` with every `$ref` to a component replaced by the component, recursively (the
/// components have no cycles).
fn inline(schema: &Value, components: &Map<String, Value>) -> Value {
    match schema {
        Value::Object(fields) => {
            let target =
                fields.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/"));
            if let Some(found) = target.and_then(|name| components.get(name)) {
                return inline(found, components);
            }
            Value::Object(fields.iter().map(|(k, v)| (k.clone(), inline(v, components))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| inline(v, components)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> CatalogueBody {
        super::catalogue(&serde_json::to_value(crate::openapi::openapi()).expect("the document serializes"))
    }

    #[test]
    fn every_type_has_a_self_contained_schema_that_compiles() {
        let catalogue = catalogue();
        assert_eq!(catalogue.data.len(), EventType::ALL.len());
        for entry in &catalogue.data {
            let text = entry.schema.to_string();
            assert!(!text.contains("$ref"), "{} still refers elsewhere: {text}", entry.kind);
            assert_eq!(entry.schema["type"], "object", "{}", entry.kind);
            assert!(jsonschema::validator_for(&entry.schema).is_ok(), "{} compiles", entry.kind);
        }
    }

    #[test]
    fn schemas_accept_what_the_application_writes_and_refuse_what_it_never_does() {
        let catalogue = catalogue();
        let schema = |kind: EventType| {
            let entry = catalogue.data.iter().find(|e| e.kind == kind.as_str()).expect("listed");
            jsonschema::validator_for(&entry.schema).expect("compiles")
        };
        let project = tengine_domain::Project {
            id: tengine_domain::ProjectId::from_uuid(uuid::Uuid::from_u128(7)),
            account_id: tengine_domain::AccountId::from_uuid(uuid::Uuid::from_u128(1)),
            name: "Docs".parse().expect("a name"),
            description: None,
            created_at: chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("in range"),
            updated_at: chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("in range"),
        };
        let data = tengine_application::events::project_data(&project);
        assert!(schema(EventType::ProjectCreated).is_valid(&data), "{data}");
        assert!(!schema(EventType::ProjectCreated).is_valid(&json!({"id": 7})));
        let webhook = tengine_domain::delivery::Webhook {
            id: tengine_domain::WebhookId::from_uuid(uuid::Uuid::from_u128(9)),
            account_id: project.account_id,
            project_id: project.id,
            url: "https://hooks.example.com/in".parse().expect("a URL"),
            description: None,
            events: tengine_domain::delivery::EventFilter::All,
            active: true,
            secret: tengine_domain::secret_key::SealedSecret::from_stored("sealed".to_owned()),
            previous_secret: None,
            failing_since: Some(project.created_at),
            created_at: project.created_at,
            updated_at: project.created_at,
            rate_limit: Some(5),
            ordering: tengine_domain::delivery::DeliveryOrder::PerProject,
        };
        let id = tengine_domain::EventId::from_uuid(uuid::Uuid::from_u128(10));
        let reason = tengine_domain::delivery::DisableReason::Gone;
        let disabled = tengine_application::delivery::disabled_event(id, &webhook, reason, project.created_at);
        let data = disabled.data.to_value();
        assert!(schema(EventType::WebhookDisabled).is_valid(&data), "{data}");
        assert!(!data.to_string().contains("sealed"), "never the secret: {data}");
        let test = json!({"webhook_id": "wh_0000000000000000000001", "message": "hi"});
        assert!(schema(EventType::WebhookTest).is_valid(&test));
        assert!(!schema(EventType::WebhookTest).is_valid(&json!({"message": "hi"})));
    }
}
