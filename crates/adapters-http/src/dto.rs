//! Wire formats (request and response bodies) and their mapping to the domain.

use serde::{Deserialize, Deserializer, Serialize};
use tengine_domain::{time, ApiKey, Page, PlainApiKey, Project};

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A project as the API shows it.
#[derive(Debug, Serialize)]
pub struct ProjectBody {
    id: String,
    name: String,
    description: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<Project> for ProjectBody {
    fn from(p: Project) -> Self {
        Self {
            id: p.id.to_string(),
            name: p.name.as_str().to_owned(),
            description: p.description.map(|d| d.as_str().to_owned()),
            created_at: time::format(p.created_at),
            updated_at: time::format(p.updated_at),
        }
    }
}

/// An API key as the API shows it; `key` only in create and rotate responses.
#[derive(Debug, Serialize)]
pub struct ApiKeyBody {
    id: String,
    project_id: Option<String>,
    name: String,
    permissions: Vec<&'static str>,
    prefix: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    expires_at: Option<String>,
    created_at: String,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

impl ApiKeyBody {
    /// The metadata view, without a secret.
    pub fn new(k: ApiKey) -> Self {
        Self {
            id: k.id.to_string(),
            project_id: k.scope.project().map(|p| p.to_string()),
            name: k.name.as_str().to_owned(),
            permissions: k.permissions.names(),
            prefix: k.prefix,
            key: None,
            expires_at: k.expires_at.map(time::format),
            created_at: time::format(k.created_at),
            last_used_at: k.last_used_at.map(time::format),
            revoked_at: k.revoked_at.map(time::format),
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

#[derive(Debug, Serialize)]
struct PaginationBody {
    page: u32,
    per_page: u32,
    total: u64,
}

impl<T> ListBody<T> {
    /// Wraps a page of already-mapped items.
    pub fn new(page: Page<T>) -> Self {
        Self {
            pagination: PaginationBody {
                page: page.request.page(),
                per_page: page.request.per_page(),
                total: page.total,
            },
            data: page.items,
        }
    }
}
