//! Response bodies of the health routes.

use serde::Serialize;
use utoipa::ToSchema;

/// A health answer.
#[derive(Serialize, ToSchema)]
#[schema(as = HealthStatus)]
pub struct StatusBody {
    /// `ok` from `/healthz`, `ready` from `/readyz`.
    #[schema(value_type = String, example = "ok")]
    pub(crate) status: &'static str,
}
