//! `/projects/{id}/webhooks/{wid}/deliveries`: a webhook's deliveries, and redelivery.

use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tengine_application::Guarded;
use tengine_domain::delivery::Delivery;
use tengine_domain::{time, DeliveryId};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::webhooks::ids;
use super::{list_response, path_id};
use crate::doc::params::{DeliveryPath, PageQuery, WebhookPath};
use crate::doc::responses::{QueryErrors, ResourceErrors};
use crate::doc::schemas::{DeliveryStatusName, EventTypeName};
use crate::error::ApiError;
use crate::extract::{ApiPath, Auth, Query};
use crate::idempotency::Idempotency;
use crate::state::AppState;

/// The delivery routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(deliveries)).routes(routes!(redeliver))
}

/// One attempt to deliver.
#[derive(Serialize, ToSchema)]
#[schema(as = DeliveryAttempt)]
struct AttemptBody {
    /// When it was made.
    #[schema(format = DateTime)]
    attempted_at: String,
    /// The receiver's status code, or null when no response arrived.
    #[schema(required = true, minimum = 100, maximum = 599)]
    status_code: Option<u16>,
    /// How long it took.
    latency_ms: u64,
    /// Why it failed without a response (timeout, refused address, ...), or null.
    #[schema(required = true)]
    error: Option<String>,
    /// The first 1 KiB of the response body, or null.
    #[schema(required = true)]
    response_excerpt: Option<String>,
}

/// A delivery with its attempts.
#[derive(Serialize, ToSchema)]
#[schema(as = Delivery)]
pub struct DeliveryBody {
    /// The delivery's id.
    #[schema(pattern = r"^del_[0-9A-Za-z]{22}$")]
    id: String,
    /// The event delivered.
    #[schema(pattern = r"^evt_[0-9A-Za-z]{22}$")]
    event_id: String,
    /// The event's type.
    #[schema(value_type = EventTypeName)]
    event_type: &'static str,
    /// Where it stands.
    #[schema(value_type = DeliveryStatusName)]
    status: &'static str,
    /// Every attempt so far, oldest first.
    attempts: Vec<AttemptBody>,
    /// When the next attempt is due, or null when none is.
    #[schema(format = DateTime, required = true)]
    next_attempt_at: Option<String>,
    /// When it was created.
    #[schema(format = DateTime)]
    created_at: String,
}

impl From<Delivery> for DeliveryBody {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id.to_string(),
            event_id: d.event_id.to_string(),
            event_type: d.event_type.as_str(),
            status: d.status.as_str(),
            attempts: d
                .attempts
                .into_iter()
                .map(|a| AttemptBody {
                    attempted_at: time::format(a.attempted_at),
                    status_code: a.status_code,
                    latency_ms: a.latency_ms,
                    error: a.error,
                    response_excerpt: a.response_excerpt,
                })
                .collect(),
            next_attempt_at: d.next_attempt_at.map(time::format),
            created_at: time::format(d.created_at),
        }
    }
}

/// A page of deliveries.
type DeliveryList = crate::dto::ListSchema<DeliveryBody>;

/// Lists a webhook's deliveries with their attempts, newest first. Needs `webhook`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/webhooks/{webhook_id}/deliveries",
    operation_id = "listDeliveries",
    tag = "Webhooks",
    summary = "List deliveries",
    params(WebhookPath, PageQuery),
    responses(
        (status = 200, description = "A page of deliveries.", body = DeliveryList, headers(("Link" = String, description = "RFC 8288 links to the first, prev, next and last pages."))),
        ResourceErrors,
        QueryErrors,
    )
)]
async fn deliveries(
    State(s): State<AppState>,
    Auth(who): Auth,
    ApiPath((pid, wid)): ApiPath<(String, String)>,
    uri: OriginalUri,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let (pid, wid) = ids(&pid, &wid)?;
    let page = Query::parse(q.as_deref(), &["page", "per_page"])?.page()?;
    let list = s.tengine.list_deliveries(&who, pid, wid, page).await?.map(DeliveryBody::from);
    Ok(list_response(list, uri.path()))
}

/// Queues a new delivery of the same event to this webhook. Needs `webhook`.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    operation_id = "redeliver",
    tag = "Webhooks",
    summary = "Redeliver an event",
    params(DeliveryPath),
    responses(
        (status = 202, description = "The new delivery, pending.", body = DeliveryBody),
        ResourceErrors,
    )
)]
async fn redeliver(
    State(s): State<AppState>,
    Auth(who): Auth,
    idempotency: Idempotency,
    ApiPath((pid, wid, did)): ApiPath<(String, String, String)>,
) -> Result<Response, ApiError> {
    let (pid, wid) = ids(&pid, &wid)?;
    let did: DeliveryId = path_id(&did, DeliveryId::KIND)?;
    idempotency
        .run(&s, &who, Guarded::Webhooks { project: pid }, async {
            let delivery = s.tengine.redeliver(&who, pid, wid, did).await?;
            Ok((StatusCode::ACCEPTED, Json(DeliveryBody::from(delivery))).into_response())
        })
        .await
}
