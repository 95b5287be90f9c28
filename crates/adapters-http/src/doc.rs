//! The documentation types the handlers' `#[utoipa::path]` annotations share:
//! parameters, reusable responses and schemas. A leaf: it depends on no other module.

pub mod params;
pub mod responses;
pub mod schemas;

use std::sync::OnceLock;

/// The tag of the unauthenticated operational routes.
pub const OPERATIONS_TAG: &str = "Operations";

/// The rendered OpenAPI document, set once when the router is built (`GET /openapi.json`
/// serves it).
pub(crate) static DOCUMENT: OnceLock<String> = OnceLock::new();

/// The event-type catalogue as JSON, set with [`DOCUMENT`] (`GET /api/v1/event-types`
/// serves it).
pub(crate) static EVENT_TYPES: OnceLock<String> = OnceLock::new();
