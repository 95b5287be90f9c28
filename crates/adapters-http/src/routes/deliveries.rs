//! `/projects/{id}/webhooks/{wid}/deliveries`: a webhook's deliveries, and redelivery.

use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use tengine_application::Guarded;
use tengine_domain::DeliveryId;
use tengine_domain::{ProjectId, WebhookId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::keyset_response;
use crate::doc::params::{DeliveryPath, KeysetQuery, WebhookPath};
use crate::doc::responses::{QueryErrors, ResourceErrors};
use crate::dto::DeliveryBody;
use crate::error::ApiError;
use crate::extract::{Auth, Ids, Query, CURSOR_PARAMS};
use crate::idempotency::Idempotency;
use crate::state::AppState;

/// The delivery routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(deliveries)).routes(routes!(redeliver))
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
    params(WebhookPath, KeysetQuery),
    responses(
        (status = 200, description = "A page of deliveries.", body = DeliveryList, headers(
            ("Link" = String, description = "RFC 8288 links to the first, prev, next and last pages."),
            ("X-Tengine-Retained-Since" = String, description = "RFC 3339: everything since this moment is kept (`TENGINE_RETENTION_DAYS`, 30 by default); finished deliveries and their events before it may have been purged."),
        )),
        ResourceErrors,
        QueryErrors,
    )
)]
async fn deliveries(
    State(s): State<AppState>,
    Auth(who): Auth,
    Ids((pid, wid)): Ids<(ProjectId, WebhookId)>,
    uri: OriginalUri,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let page = Query::parse(q.as_deref(), &CURSOR_PARAMS)?.cursor_page()?;
    let list = s.tengine.list_deliveries(&who, pid, wid, page).await?;
    let mut response = keyset_response(list, |d| d.id.to_string(), DeliveryBody::from, uri.path(), "");
    super::retained_since(&mut response, &s.tengine);
    Ok(response)
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
    Ids((pid, wid, did)): Ids<(ProjectId, WebhookId, DeliveryId)>,
) -> Result<Response, ApiError> {
    idempotency
        .run(&s, &who, Guarded::Webhooks { project: pid }, async {
            let delivery = s.tengine.redeliver(&who, pid, wid, did).await?;
            Ok((StatusCode::ACCEPTED, Json(DeliveryBody::from(delivery))).into_response())
        })
        .await
}
