//! Schemas that exist only in the document: the error envelope, the string enums whose
//! values come from the domain, and the id and date patterns shared by the DTOs.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Map, Value};
use tengine_domain::{EventType, Permission};
use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{Ref, RefOr};
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
/// `tool_` + 22 base62 digits.
pub const TOOL_ID: &str = "^tool_[0-9A-Za-z]{22}$";
/// A full key: `tng_` + 40 random base62 characters + a 6-character checksum.
pub const API_KEY: &str = "^tng_[0-9A-Za-z]{46}$";
/// A key's displayed prefix: its first 12 characters.
pub const API_KEY_PREFIX: &str = "^tng_[0-9A-Za-z]{8}$";

/// A name (of a project or key): 1..=100 characters once Unicode whitespace (Rust's
/// `char::is_whitespace`) is trimmed, and no control character inside.
pub const NAME: &str = concat!(
    r"^[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*",
    r"[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]",
    r"(?:[^\u0000-\u001F\u007F-\u009F]{0,98}",
    r"[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?",
    r"[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
);
/// A description: at most 1000 characters once whitespace is trimmed; inside, no control
/// character but tab, line feed and carriage return.
pub const DESCRIPTION: &str = concat!(
    r"^[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*",
    r"(?:[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]",
    r"(?:[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]{0,998}",
    r"[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?)?",
    r"[\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$",
);
/// A webhook URL: `http://` or `https://`, a host without credentials, and no whitespace
/// or control character anywhere.
pub const WEBHOOK_URL: &str = concat!(
    r"^https?://[^/?#@:\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]",
    r"[^/?#@\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*",
    r"(?:[/?#][^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*)?$",
);
/// A webhook secret: 8..=256 characters, none of them a control character.
pub const WEBHOOK_SECRET: &str = r"^[^\u0000-\u001F\u007F-\u009F]{8,256}$";
/// An `Idempotency-Key`: 1..=255 printable ASCII characters (HTTP drops a header value's
/// surrounding spaces, so a sendable key starts and ends with a visible one).
pub const IDEMPOTENCY_KEY: &str = r"^[!-~](?:[ -~]{0,253}[!-~])?$";

/// Every error code of SPEC section 3, and `IDEMPOTENCY_KEY_IN_USE` (409, a duplicate
/// request still running).
pub const ERROR_CODES: [&str; 13] = [
    "INVALID_API_KEY",
    "INSUFFICIENT_PERMISSIONS",
    "PROJECT_NOT_FOUND",
    "NOT_FOUND",
    "VALIDATION_ERROR",
    "METHOD_NOT_ALLOWED",
    "PAYLOAD_TOO_LARGE",
    "UNSUPPORTED_MEDIA_TYPE",
    "IDEMPOTENCY_KEY_REUSED",
    "IDEMPOTENCY_KEY_IN_USE",
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
    /// A webhook's subscription: distinct event types, or `["*"]` alone for all.
    EventSubscription,
    "EventSubscription",
    OneOfBuilder::new()
        .item(
            ArrayBuilder::new()
                .items(RefOr::Ref(Ref::from_schema_name(EventTypeName::name())))
                .min_items(Some(1))
                .unique_items(true)
                .description(Some("Distinct event types."))
        )
        .item(
            ArrayBuilder::new()
                .items(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["*"])))
                .min_items(Some(1))
                .max_items(Some(1))
                .description(Some("`[\"*\"]`: every event type."))
        )
        .description(Some("A non-empty list of distinct event types, or `[\"*\"]` (alone) for every type."))
        .into()
);

doc_schema!(
    /// A tool's HTTP method.
    ToolHttpMethod,
    "ToolHttpMethod",
    string_enum(["GET", "POST", "PUT", "PATCH", "DELETE"], "The method of the tool's request (any letter case on input).")
);

doc_schema!(
    /// How a tool's calls authenticate.
    ToolAuthStrategy,
    "ToolAuthStrategy",
    string_enum(
        ["none", "static_bearer", "hmac_signature"],
        "`none`: no credentials; `static_bearer`: `Authorization: Bearer <secret>`; `hmac_signature`: \
         `X-Tengine-Signature: tng2=<hex HMAC-SHA256>` under the secret."
    )
);

doc_schema!(
    /// A member fact a tool's calls carry.
    ToolMemberIdentity,
    "ToolMemberIdentity",
    string_enum(["id", "email", "roles"], "Sent as `X-Tengine-Member-Id`, `-Email` or `-Roles`.")
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

/// The error envelope every failure uses: what `ApiError` serializes.
#[derive(Serialize, ToSchema)]
#[schema(
    example = json!({"error": {
        "code": "INVALID_API_KEY",
        "message": "The provided API key is invalid",
        "details": {"field": "authorization", "reason": "invalid", "value": "tng_4Xb9QeR2"},
        "request_id": "req_01936f0e4b9c7d2a8e5f1a3b6c9d0e12"
    }})
)]
pub struct ErrorBody {
    pub(crate) error: ErrorObject,
}

/// The error itself.
#[derive(Serialize, ToSchema)]
pub struct ErrorObject {
    #[schema(value_type = ErrorCode)]
    pub(crate) code: &'static str,
    /// A human-readable explanation; never contains internals or secrets.
    pub(crate) message: String,
    /// Machine-readable context. For a field error, `field`, `reason` and (when safe to echo)
    /// `value`, with `errors` listing every `{field, reason[, value]}` when several fail; for
    /// 403 the `permission` required (or `required_scope`); for 404 the `resource`; for 405
    /// the `method`; for 413 `limit_bytes`; for 429 `limit`, `remaining`, `reset_at` and
    /// `retry_after_seconds`.
    #[schema(value_type = Object)]
    pub(crate) details: Map<String, Value>,
    /// The same value as the `X-Request-Id` response header.
    #[schema(value_type = String, required = true, example = "req_01936f0e4b9c7d2a8e5f1a3b6c9d0e12")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) request_id: Option<String>,
}

/// What became of a call.
#[derive(ToSchema)]
#[schema(as = ToolCallStatus)]
#[allow(dead_code)]
pub enum ToolCallStatusName {
    /// The API answered 2xx.
    #[schema(rename = "succeeded")]
    Succeeded,
    /// The API answered otherwise, timed out, or could not be reached.
    #[schema(rename = "failed")]
    Failed,
    /// Nothing was sent: arguments that do not fit the schema, a template that cannot
    /// be rendered safely, or a tool that needs a member session.
    #[schema(rename = "refused")]
    Refused,
}
