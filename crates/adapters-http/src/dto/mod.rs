//! Wire formats (request and response bodies) and their mapping to the domain.

mod analytics;
mod deliveries;
pub mod event_types;
mod events;
mod health;
mod integrations;
mod sessions;
mod tool_calls;
mod tools;
mod webhooks;

pub use analytics::{
    AccountAnalyticsBody, AnalyticsBody, CountsBody, FailingWebhookBody, ProjectTotalsBody, TotalsBody,
};
pub use deliveries::{AttemptBody, DeliveryBody};
pub use events::EventBody;
pub use health::StatusBody;
pub use integrations::{ConnectionBody, IntegrationBody, RegistrationPolicyBody};
pub use sessions::{ConsoleSessionBody, MeBody, PortalExchangeBody, PortalSessionBody, ThemeBody};
pub use tool_calls::ToolCallBody;
pub use tools::ToolBody;
pub use webhooks::{TestBody, WebhookBody, WebhookHealthBody};

use std::borrow::Cow;
use std::marker::PhantomData;

use serde::{Deserialize, Deserializer, Serialize};
use tengine_domain::time::Stamp;
use tengine_domain::{ApiKey, ApiKeyId, ApiKeySummary, Page, PlainApiKey, Project, ProjectId, ValidationError};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::doc::schemas::PermissionName;

/// A field of a PATCH body: absent (left unchanged), `null`, or a value. Declare it
/// with `#[serde(default)]` so that an absent field is [`Patch::Absent`].
#[derive(Debug, Default)]
pub enum Patch<T> {
    /// Not in the body.
    #[default]
    Absent,
    /// `null`.
    Null,
    /// A value.
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(d).map(|v| v.map_or(Patch::Null, Patch::Value))
    }
}

impl<T> Patch<T> {
    /// A field that cannot be cleared: `null` is refused, a value is parsed.
    ///
    /// # Errors
    /// `must not be null` on `field`, or what `parse` refuses.
    pub fn required<U>(
        self,
        field: &str,
        parse: impl FnOnce(T) -> Result<U, ValidationError>,
    ) -> Result<Option<U>, ValidationError> {
        match self {
            Patch::Absent => Ok(None),
            Patch::Null => Err(ValidationError::field(field, "must not be null")),
            Patch::Value(v) => parse(v).map(Some),
        }
    }

    /// A field that `null` clears: `Some(None)`.
    ///
    /// # Errors
    /// What `parse` refuses.
    pub fn nullable<U>(
        self,
        parse: impl FnOnce(T) -> Result<U, ValidationError>,
    ) -> Result<Option<Option<U>>, ValidationError> {
        match self {
            Patch::Absent => Ok(None),
            Patch::Null => Ok(Some(None)),
            Patch::Value(v) => parse(v).map(|u| Some(Some(u))),
        }
    }
}

/// An optional integer field, written `3600` or `3600.0`: JSON has one number type, and
/// JSON Schema's `integer` is any number without a fractional part.
pub fn optional_integer<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::de::Error;
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else { return Ok(None) };
    if let Some(i) = n.as_i64() {
        return Ok(Some(i));
    }
    // i64::MAX as f64 rounds up to 2^63, which is out of range.
    match n.as_f64() {
        Some(f) if f.fract() != 0.0 => Err(D::Error::custom(format!("must be a whole number, not {n}"))),
        Some(f) if f >= i64::MIN as f64 && f < i64::MAX as f64 => Ok(Some(f as i64)),
        _ => Err(D::Error::custom(format!("{n} is out of range"))),
    }
}

/// A project as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(
    as = Project,
    example = json!({
        "id": "proj_2cqkZJ8Xf3vTqW1bN0aYhE",
        "name": "My Project",
        "description": "A sample project",
        "created_at": "2026-11-28T12:00:00Z",
        "updated_at": "2026-11-28T12:00:00Z"
    })
)]
pub struct ProjectBody {
    /// The project's id.
    #[schema(value_type = String, pattern = r"^proj_[0-9A-Za-z]{22}$")]
    id: ProjectId,
    /// The name, trimmed: 1..=100 characters, no control characters.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// The description (at most 1000 characters), or null.
    #[schema(max_length = 1000, required = true)]
    description: Option<String>,
    /// When it was created (RFC 3339, UTC).
    #[schema(value_type = String, format = DateTime)]
    created_at: Stamp,
    /// When it was last changed (RFC 3339, UTC).
    #[schema(value_type = String, format = DateTime)]
    updated_at: Stamp,
}

impl From<Project> for ProjectBody {
    fn from(p: Project) -> Self {
        Self {
            id: p.id,
            name: p.name.into_string(),
            description: p.description.map(|d| d.into_string()),
            created_at: Stamp(p.created_at),
            updated_at: Stamp(p.updated_at),
        }
    }
}

/// An API key as the API shows it; `key` only in create and rotate responses.
#[derive(Debug, Serialize, ToSchema)]
#[schema(
    as = ApiKey,
    example = json!({
        "id": "key_2cqkZN1a9RkLmP4sT7uVwX",
        "project_id": "proj_2cqkZJ8Xf3vTqW1bN0aYhE",
        "name": "Production Key",
        "permissions": ["read", "write"],
        "prefix": "tng_7Hk2pQ9x",
        "key": "tng_7Hk2pQ9xR4mT1vW8yZ3bC6dF0gJ5kL2nP7qS9uX1zA0aB3c",
        "expires_at": null,
        "created_at": "2026-11-28T12:00:00Z",
        "last_used_at": null,
        "revoked_at": null
    })
)]
pub struct ApiKeyBody {
    /// The key record's id (not its secret).
    #[schema(value_type = String, pattern = r"^key_[0-9A-Za-z]{22}$")]
    id: ApiKeyId,
    /// The project the key is scoped to; null for an account-wide key.
    #[schema(value_type = Option<String>, pattern = r"^proj_[0-9A-Za-z]{22}$", required = true)]
    project_id: Option<ProjectId>,
    /// The key's display name.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// What the key may do (`admin` implies all others).
    #[schema(value_type = Vec<PermissionName>, min_items = 1)]
    permissions: Vec<&'static str>,
    /// The first 12 characters of the key, to recognise it.
    #[schema(pattern = r"^tng_[0-9A-Za-z]{8}$")]
    prefix: String,
    /// The full secret key. Present only in the create and rotate responses; it is never
    /// shown again (the server keeps only a digest).
    #[schema(value_type = String, pattern = r"^tng_[0-9A-Za-z]{46}$")]
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    /// When the key stops working, or null for never.
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    expires_at: Option<Stamp>,
    /// When it was created.
    #[schema(value_type = String, format = DateTime)]
    created_at: Stamp,
    /// When it last authenticated a request (updated at most once a minute), or null.
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    last_used_at: Option<Stamp>,
    /// When it was revoked, or null.
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    revoked_at: Option<Stamp>,
}

impl ApiKeyBody {
    /// The metadata view, without a secret: of a stored key or of a list's summary.
    pub fn new(k: impl Into<ApiKeySummary>) -> Self {
        let k = k.into();
        Self {
            id: k.id,
            project_id: k.scope.project(),
            name: k.name.into_string(),
            permissions: k.permissions.names(),
            prefix: k.prefix,
            key: None,
            expires_at: k.expires_at.map(Stamp),
            created_at: Stamp(k.created_at),
            last_used_at: k.last_used_at.map(Stamp),
            revoked_at: k.revoked_at.map(Stamp),
        }
    }

    /// The view that shows the secret, once.
    pub fn with_secret(k: ApiKey, secret: &PlainApiKey) -> Self {
        Self { key: Some(secret.expose_secret().to_owned()), ..Self::new(k) }
    }
}

/// A list response: `{"data": [...], "pagination": {...}}`.
#[derive(Debug, Serialize)]
pub struct ListBody<T> {
    data: Vec<T>,
    pagination: PaginationBody,
}

/// The schema of a `ListBody<T>`, named after its items (`ProjectList` for `Project`):
/// utoipa would give every instance of a generic struct the same component name.
pub struct ListSchema<T>(PhantomData<T>);

impl<T: ToSchema> PartialSchema for ListSchema<T> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .description(Some(format!("A page of `{}` items, newest first.", T::name())))
            .property(
                "data",
                ArrayBuilder::new()
                    .items(Ref::from_schema_name(T::name()))
                    .description(Some("The page's items, newest first.")),
            )
            .property("pagination", Ref::from_schema_name(PaginationBody::name()))
            .required("data")
            .required("pagination")
            .into()
    }
}

impl<T: ToSchema> ToSchema for ListSchema<T> {
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("{}List", T::name()))
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(schemas);
        schemas.push((PaginationBody::name().into_owned(), PaginationBody::schema()));
    }
}

/// Where a list page sits.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Pagination)]
struct PaginationBody {
    /// The 1-based page number; absent on a page read by cursor (`starting_after` or
    /// `ending_before`).
    #[schema(minimum = 1)]
    #[serde(skip_serializing_if = "Option::is_none")]
    page: Option<u32>,
    /// Items per page.
    #[schema(minimum = 1, maximum = 100)]
    per_page: u32,
    /// The number of items across all pages (kept as a counter: reading it costs the same
    /// at any size).
    total: u64,
    /// Whether more items lie beyond this page in its direction: older ones for a page
    /// number or `starting_after`, newer ones for `ending_before`. Always sent by this
    /// server; optional in the schema because the hosted reference API does not send it, so
    /// clients fall back to `page * per_page < total`.
    #[schema(required = false)]
    has_more: bool,
}

impl<T> ListBody<T> {
    /// Wraps a page of already-mapped items.
    pub fn new(page: Page<T>) -> Self {
        Self {
            pagination: PaginationBody {
                page: page.request.cursor().is_none().then(|| page.request.page()),
                per_page: page.request.per_page(),
                total: page.total,
                has_more: page.has_more,
            },
            data: page.items,
        }
    }

    /// How many items the page holds (to size its JSON buffer).
    pub(crate) fn len(&self) -> usize {
        self.data.len()
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "super::optional_integer")]
        n: Option<i64>,
    }

    fn n(json: &str) -> Result<Option<i64>, String> {
        serde_json::from_str::<Body>(json).map(|b| b.n).map_err(|e| e.to_string())
    }

    #[test]
    fn an_integer_may_be_written_with_a_zero_fraction() {
        // Found by schemathesis: `{"grace_period_seconds": 367.0}` is a JSON Schema integer.
        assert_eq!(n(r#"{"n": 367.0}"#), Ok(Some(367)));
        assert_eq!(n(r#"{"n": 3600}"#), Ok(Some(3600)));
        assert_eq!(n(r#"{"n": -1}"#), Ok(Some(-1)));
        assert_eq!(n(r#"{"n": 1e3}"#), Ok(Some(1000)));
        assert_eq!(n(r#"{"n": null}"#), Ok(None));
        assert_eq!(n("{}"), Ok(None));
    }

    #[test]
    fn fractions_huge_numbers_and_other_types_are_refused() {
        for json in [r#"{"n": 1.5}"#, r#"{"n": 1e300}"#, r#"{"n": 18446744073709551615}"#, r#"{"n": "1"}"#] {
            assert!(n(json).is_err(), "{json}");
        }
    }
}
