//! The OpenAPI 3.1 document of the whole API, generated from the handlers' annotations
//! (`#[utoipa::path]`) and the DTOs' `ToSchema` derives; `GET /openapi.json` serves it and
//! `docs/openapi.json` is its committed copy (`cargo xtask openapi` rewrites it).

use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ArrayItems, Schema};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr, Required, Response};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::doc::schemas::{self, PermissionName};
use crate::doc::{responses, OPERATIONS_TAG};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tengine API",
        description = "The TengineAI REST API: projects, API keys, usage analytics, webhooks, \
                       the event log and custom tools. Every route under `/api/v1` needs `Authorization: Bearer <key>`; \
                       every error answers the envelope `{\"error\": {\"code\", \"message\", \"details\", \
                       \"request_id\"}}`. A known path called with another method answers 405 \
                       `METHOD_NOT_ALLOWED`, and an unknown path 404 `NOT_FOUND`, with that envelope.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(
        schemas(
            schemas::ErrorBody,
            schemas::ErrorObject,
            schemas::AnalyticsDate,
            schemas::GranularityName,
            schemas::EventTypeName,
            schemas::EventSubscription,
            schemas::ToolHttpMethod,
            schemas::ToolAuthStrategy,
            schemas::ToolMemberIdentity,
            crate::dto::event_types::IntegrationEventData,
            crate::dto::event_types::UsageAlertData,
            crate::dto::event_types::WebhookTestData,
            crate::dto::event_types::WebhookDisabledData,
        ),
        responses(
            responses::MalformedJson,
            responses::Unauthorized,
            responses::Forbidden,
            responses::ProjectNotFound,
            responses::NotFound,
            responses::PayloadTooLarge,
            responses::UnsupportedMediaType,
            responses::ValidationFailed,
            responses::RateLimited,
            responses::IdempotencyKeyInUse,
            responses::InternalError,
            responses::ServiceUnavailable,
        ),
    ),
    security(("bearerAuth" = [])),
    tags(
        (name = "Projects", description = "Projects of the account."),
        (name = "API keys", description = "Project-scoped API keys: create, rotate, revoke."),
        (name = "Analytics", description = "Usage analytics from hourly rollups."),
        (name = "Webhooks", description = "Webhook endpoints, their deliveries and redelivery."),
        (name = "Events", description = "The project's event log, for audit and recovery."),
        (name = "Integrations", description = "OAuth 2.1 clients of a project (MCP runtimes connect through them), their connections, and the consent decision."),
        (name = "Tools", description = "Custom tools: a project's own HTTP endpoints, described for models."),
        (name = "Tool calls", description = "The call log: every tool call made (or refused) through `/mcp`."),
        (name = "Member sessions", description = "Per-user MCP sessions: projects' signing keys and the exchange of member assertions."),
        (name = "Me", description = "Who the caller is, and console sign-in sessions."),
        (name = "Portal sessions", description = "Embeddable portals: one project's keys, webhooks and usage in another site's iframe."),
        (name = "Operations", description = "Health, readiness, metrics and this document; no authentication."),
        (name = "Webhook events", description = "What the server sends to webhooks: one request per event type (the `webhooks` section)."),
    )
)]
struct ApiDoc;

/// The bearer scheme, and no security on the operational routes.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("An API key: `tng_` + 40 base62 characters + a 6-character base62 CRC-32 checksum."))
            .build();
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearerAuth", SecurityScheme::Http(scheme));
        for op in operations(doc) {
            if is_operational(op) {
                op.security = Some(Vec::new());
            }
        }
    }
}

/// `X-Request-Id` on every response, and the rate-limit headers on authenticated ones.
/// (The shared error responses declare theirs in `responses`.)
struct CommonHeaders;

impl Modify for CommonHeaders {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for op in operations(doc) {
            let authenticated = !is_operational(op);
            for response in op.responses.responses.values_mut() {
                let RefOr::T(response) = response else { continue };
                add_headers(response, authenticated);
            }
        }
    }
}

/// `uniqueItems` on permission lists (utoipa has no attribute for it): the server refuses
/// duplicates.
struct UniqueItems;

impl Modify for UniqueItems {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let unique = [Ref::from_schema_name(PermissionName::name()).ref_location];
        let Some(components) = doc.components.as_mut() else { return };
        for schema in components.schemas.values_mut() {
            let RefOr::T(Schema::Object(object)) = schema else { continue };
            for property in object.properties.values_mut() {
                let RefOr::T(Schema::Array(array)) = property else { continue };
                if let ArrayItems::RefOrSchema(items) = &array.items {
                    if matches!(items.as_ref(), RefOr::Ref(r) if unique.contains(&r.ref_location)) {
                        array.unique_items = true;
                    }
                }
            }
        }
    }
}

/// The exact rules of the request bodies' text fields as patterns (utoipa's `pattern`
/// takes only a literal): names and descriptions are checked after trimming, so for them
/// the pattern, not `minLength`/`maxLength`, says what the server accepts. A webhook URL
/// is what the pattern says, not a strict RFC 3986 `uri`: the server keeps characters such
/// a URI would percent-encode.
struct TextPatterns;

impl Modify for TextPatterns {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let Some(components) = doc.components.as_mut() else { return };
        for (name, schema) in components.schemas.iter_mut() {
            let RefOr::T(Schema::Object(object)) = schema else { continue };
            // Tools have rules of their own (a `[a-z0-9_-]` name, a longer, required
            // description), stated on their fields.
            if !name.ends_with("Request") || name.contains("Tool") {
                continue;
            }
            for (field, property) in object.properties.iter_mut() {
                let RefOr::T(Schema::Object(property)) = property else { continue };
                let (pattern, trimmed) = match field.as_str() {
                    "name" => (schemas::NAME, true),
                    "description" => (schemas::DESCRIPTION, true),
                    "url" => (schemas::WEBHOOK_URL, false),
                    "secret" => (schemas::WEBHOOK_SECRET, false),
                    _ => continue,
                };
                property.pattern = Some(pattern.to_owned());
                if trimmed {
                    (property.min_length, property.max_length) = (None, None);
                }
            }
        }
    }
}

/// utoipa renders an `Option<Body>` request body as `oneOf: [null, Body]`; the server
/// takes an empty body instead (a JSON `null` is refused), so it becomes a body that is
/// not required.
struct OptionalBodies;

impl Modify for OptionalBodies {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for op in operations(doc) {
            let Some(body) = op.request_body.as_mut() else { continue };
            for content in body.content.values_mut() {
                let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema else { continue };
                let refs: Vec<_> = one_of.items.iter().filter(|i| matches!(i, RefOr::Ref(_))).cloned().collect();
                if let ([only], 2) = (refs.as_slice(), one_of.items.len()) {
                    content.schema = Some(only.clone());
                    body.required = Some(Required::False);
                }
            }
        }
    }
}

/// Documents `Idempotency-Key` on every POST of the API (SPEC section 4), with the 422 of
/// an invalid or reused key, the 409 of a duplicate still running and the 413 of a body
/// too large to fingerprint.
struct Idempotency;

impl Modify for Idempotency {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        for item in doc.paths.paths.values_mut() {
            let Some(op) = item.post.as_mut() else { continue };
            if is_operational(op) {
                continue;
            }
            let parameter = ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "1..=255 printable ASCII characters (SDKs send a random UUIDv4). Within 24 hours the same key \
                     and the same request replay the first response byte for byte with `Idempotent-Replayed: true`; \
                     the same key with another method, path or body is 422 `IDEMPOTENCY_KEY_REUSED`; a duplicate \
                     sent while the first is still running waits for it (409 `IDEMPOTENCY_KEY_IN_USE` after 10 s). \
                     Keys are per account. 5xx and 429 answers are not kept, so a retry runs again.",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(255))
                        .pattern(Some(schemas::IDEMPOTENCY_KEY)),
                ))
                .build();
            op.parameters.get_or_insert_with(Vec::new).push(parameter);
            // The middleware reads the body of any POST that carries a key, so a body over
            // the limit is refused even where the handler would ignore it.
            let responses = &mut op.responses.responses;
            responses.entry("413".into()).or_insert_with(|| RefOr::Ref(Ref::from_response_name("PayloadTooLarge")));
            responses.entry("422".into()).or_insert_with(|| RefOr::Ref(Ref::from_response_name("ValidationFailed")));
            responses.insert("409".into(), RefOr::Ref(Ref::from_response_name("IdempotencyKeyInUse")));
        }
    }
}

fn add_headers(response: &mut Response, authenticated: bool) {
    let (name, header) = responses::request_id_header();
    response.headers.insert(name.to_owned(), header);
    if authenticated {
        for (name, header) in responses::rate_limit_headers() {
            response.headers.insert(name.to_owned(), header);
        }
    }
}

/// OpenAPI 3.1's top-level `webhooks`: for each event type, the request a webhook
/// receives. utoipa has no field for the section, so it goes in as a top-level extension
/// (serialized in place, like any other top-level key).
struct WebhookPayloads;

/// The headers of every delivery: `(name, description)`.
const DELIVERY_HEADERS: [(&str, &str); 7] = [
    ("webhook-id", "The event id (Standard Webhooks); the same on every retry."),
    ("webhook-timestamp", "Unix seconds when this attempt was signed (Standard Webhooks)."),
    (
        "webhook-signature",
        "`v1,<base64 HMAC-SHA256>` of `{webhook-id}.{webhook-timestamp}.{body}`; two, space-separated, for 24 h after a secret rotation.",
    ),
    ("X-Tengine-Signature", "`sha256=<hex HMAC-SHA256(secret, body)>`; a second value after a comma for 24 h after a secret rotation."),
    ("X-Tengine-Event-Id", "The event id."),
    ("X-Tengine-Event-Type", "The event type."),
    ("X-Tengine-Timestamp", "Unix seconds when this attempt was signed."),
];

impl Modify for WebhookPayloads {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use crate::dto::event_types::{data_schema_name, reference};
        let parameters: Vec<_> = DELIVERY_HEADERS
            .iter()
            .map(|(name, description)| {
                serde_json::json!({"name": name, "in": "header", "required": true, "description": description, "schema": {"type": "string"}})
            })
            .collect();
        let mut hooks = serde_json::Map::new();
        for kind in tengine_domain::EventType::ALL {
            let operation_id: String = kind
                .as_str()
                .split(['.', '_'])
                .enumerate()
                .map(|(i, word)| if i == 0 { word.to_owned() } else { word[..1].to_uppercase() + &word[1..] })
                .chain(["Event".to_owned()])
                .collect();
            let post = serde_json::json!({
                "operationId": operation_id,
                "tags": ["Webhook events"],
                "summary": kind.as_str(),
                "description": kind.description(),
                "parameters": parameters,
                "requestBody": {
                    "required": true,
                    "content": {"application/json": {"schema": {
                        "allOf": [{"$ref": reference("Event")}],
                        "properties": {
                            "type": {"const": kind.as_str()},
                            "data": {"$ref": reference(data_schema_name(kind))},
                        },
                    }}},
                },
                "responses": {
                    "2XX": {"description": "Received: the delivery succeeded."},
                    "default": {"description": "Anything else, or no answer within 15 s: retried on the documented schedule (`410` disables the webhook)."},
                },
                "security": [],
            });
            hooks.insert(kind.as_str().to_owned(), serde_json::json!({ "post": post }));
        }
        doc.extensions.get_or_insert_with(Default::default).insert("webhooks".to_owned(), hooks.into());
    }
}

fn is_operational(op: &Operation) -> bool {
    op.tags.as_ref().is_some_and(|tags| tags.iter().any(|t| t == OPERATIONS_TAG))
}

fn operations(doc: &mut utoipa::openapi::OpenApi) -> impl Iterator<Item = &mut Operation> {
    doc.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ]
        .into_iter()
        .filter_map(Option::as_mut)
    })
}

/// The OpenAPI 3.1 document of the whole API: the routes' own operations (each route
/// is registered once, with its `#[utoipa::path]`), then what every operation shares.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = utoipa_axum::router::OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::routes::all(&crate::metrics_access::MetricsAccess::Open))
        .split_for_parts();
    let shared: [&dyn Modify; 7] =
        [&Security, &CommonHeaders, &UniqueItems, &TextPatterns, &OptionalBodies, &Idempotency, &WebhookPayloads];
    for modifier in shared {
        modifier.modify(&mut doc);
    }
    doc
}

/// The document as pretty-printed JSON with a trailing newline (the form of
/// `docs/openapi.json`), built once.
pub fn json() -> &'static str {
    crate::doc::DOCUMENT.get_or_init(|| {
        // Serializing a document of strings and maps cannot fail.
        let mut s = serde_json::to_string_pretty(&openapi()).unwrap_or_default();
        s.push('\n');
        s
    })
}

/// The event-type catalogue as JSON, built once from the document.
pub fn event_types_json() -> &'static str {
    crate::doc::EVENT_TYPES.get_or_init(|| {
        // Serializing a document of strings and maps cannot fail.
        let doc = serde_json::to_value(openapi()).unwrap_or_default();
        serde_json::to_string(&crate::dto::event_types::catalogue(&doc)).unwrap_or_default()
    })
}
