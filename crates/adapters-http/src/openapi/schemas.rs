//! Schemas that exist only in the document: the error envelope, the string enums whose
//! values come from the domain, and the id and date patterns shared by the DTOs.

use std::borrow::Cow;

use serde_json::{Map, Value};
use tengine_domain::{EventType, Permission};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// `proj_` + 22 base62 digits.
pub const PROJECT_ID: &str = "^proj_[0-9A-Za-z]{22}$";
/// `key_` + 22 base62 digits.
pub const API_KEY_ID: &str = "^key_[0-9A-Za-z]{22}$";
/// `wh_` + 22 base62 digits.
pub const WEBHOOK_ID: &str = "^wh_[0-9A-Za-z]{22}$";
/// `evt_` + 22 base62 digits.
pub const EVENT_ID: &str = "^evt_[0-9A-Za-z]{22}$";
/// `del_` + 22 base62 digits.
pub const DELIVERY_ID: &str = "^del_[0-9A-Za-z]{22}$";
/// A full key: `tng_` + 40 random base62 characters + a 6-character checksum.
pub const API_KEY: &str = "^tng_[0-9A-Za-z]{46}$";
/// A key's displayed prefix: its first 12 characters.
pub const API_KEY_PREFIX: &str = "^tng_[0-9A-Za-z]{8}$";

/// Every error code of SPEC section 3.
pub const ERROR_CODES: [&str; 12] = [
    "INVALID_API_KEY",
    "INSUFFICIENT_PERMISSIONS",
    "PROJECT_NOT_FOUND",
    "NOT_FOUND",
    "VALIDATION_ERROR",
    "METHOD_NOT_ALLOWED",
    "PAYLOAD_TOO_LARGE",
    "UNSUPPORTED_MEDIA_TYPE",
    "IDEMPOTENCY_KEY_REUSED",
    "RATE_LIMIT_EXCEEDED",
    "INTERNAL_ERROR",
    "SERVICE_UNAVAILABLE",
];

/// The delivery states (`DeliveryStatus::as_str`).
pub const DELIVERY_STATUSES: [&str; 3] = ["pending", "succeeded", "failed"];

/// The analytics bucket sizes (`Granularity::as_str`).
pub const GRANULARITIES: [&str; 4] = ["hour", "day", "week", "month"];

fn string_enum<E: Into<Value>>(values: impl IntoIterator<Item = E>, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values)).description(Some(description)).into()
}

/// Declares a documentation-only schema type with a fixed component name.
macro_rules! doc_schema {
    ($(#[$meta:meta])* $ty:ident, $name:literal, $schema:expr) => {
        $(#[$meta])*
        pub struct $ty;

        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }

        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

doc_schema!(
    /// A permission a key can hold.
    PermissionName,
    "Permission",
    string_enum(
        Permission::ALL.iter().map(Permission::as_str),
        "`read`: list/get projects, key metadata, analytics and events; `write`: create and update \
         projects; `webhook`: everything under a project's webhooks; `admin`: everything, including \
         key management and project deletion."
    )
);

doc_schema!(
    /// An event type.
    EventTypeName,
    "EventType",
    string_enum(EventType::ALL.iter().map(EventType::as_str), "An event type.")
);

doc_schema!(
    /// An entry of a webhook's subscription: an event type, or `*` alone for all.
    EventFilterName,
    "EventFilter",
    string_enum(
        EventType::ALL.iter().map(EventType::as_str).chain(["*"]),
        "An event type, or `*` (which must then be the only entry) for every type."
    )
);

doc_schema!(
    /// A delivery's state.
    DeliveryStatusName,
    "DeliveryStatus",
    string_enum(
        DELIVERY_STATUSES,
        "`pending`: waiting for its next attempt; `succeeded`: a receiver answered 2xx; \
         `failed`: every retry failed, or the webhook was disabled."
    )
);

doc_schema!(
    /// An analytics bucket size.
    GranularityName,
    "Granularity",
    string_enum(
        GRANULARITIES,
        "Bucket size: `hour`, `day` (UTC), `week` (ISO, starting Monday 00:00 UTC) or `month` (UTC)."
    )
);

doc_schema!(
    /// An error code.
    ErrorCode,
    "ErrorCode",
    string_enum(ERROR_CODES, "A machine-readable error code (SPEC section 3).")
);

doc_schema!(
    /// An analytics date: RFC 3339, or a plain UTC date.
    AnalyticsDate,
    "AnalyticsDate",
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                .description(Some("An RFC 3339 timestamp, e.g. `2026-11-01T00:00:00Z`.")),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
                .description(Some(
                    "A plain UTC date, e.g. `2026-11-01`; as `end_date` it means the end of that day."
                )),
        )
        .into()
);

/// The error envelope every failure uses (`ApiError` renders it; this type only describes it).
#[allow(dead_code)]
#[derive(ToSchema)]
#[schema(
    example = json!({"error": {
        "code": "INVALID_API_KEY",
        "message": "The provided API key is invalid",
        "details": {"field": "authorization", "reason": "invalid", "value": "tng_4Xb9QeR2"},
        "request_id": "req_01936f0e4b9c7d2a8e5f1a3b6c9d0e12"
    }})
)]
pub struct ErrorBody {
    error: ErrorObject,
}

/// The error itself.
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct ErrorObject {
    code: ErrorCode,
    /// A human-readable explanation; never contains internals or secrets.
    message: String,
    /// Machine-readable context. For a field error, `field`, `reason` and (when safe to echo)
    /// `value`, with `errors` listing every `{field, reason[, value]}` when several fail; for
    /// 403 the `permission` required (or `required_scope`); for 404 the `resource`; for 405
    /// the `method`; for 413 `limit_bytes`; for 429 `limit`, `remaining`, `reset_at` and
    /// `retry_after_seconds`.
    #[schema(value_type = Object)]
    details: Map<String, Value>,
    /// The same value as the `X-Request-Id` response header.
    #[schema(example = "req_01936f0e4b9c7d2a8e5f1a3b6c9d0e12")]
    request_id: String,
}
