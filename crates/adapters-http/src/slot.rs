//! What the router learns about a request for the edge to use afterwards: the matched
//! route template and the admission. Handlers and extractors fill it through the
//! request's extensions; the edge reads it once the answer is ready.

use std::sync::{Arc, OnceLock};

use axum::extract::MatchedPath;
use tengine_application::Admission;

/// The request's slot.
#[derive(Default)]
pub struct RequestSlot {
    /// The route template that matched (metrics are labelled by it, never by a raw path).
    pub route: OnceLock<MatchedPath>,
    /// The caller, its rate-limit decision and the project its usage counts against.
    pub auth: OnceLock<Admission>,
}

/// A shared handle to a request's [`RequestSlot`].
#[derive(Clone, Default)]
pub struct SlotHandle(pub Arc<RequestSlot>);

/// Notes the matched route template for the edge's metrics (from inside the router,
/// where axum has set it).
pub(crate) fn note_route(extensions: &axum::http::Extensions) -> Option<SlotHandle> {
    let slot = extensions.get::<SlotHandle>()?;
    if let Some(route) = extensions.get::<MatchedPath>() {
        let _ = slot.0.route.set(route.clone());
    }
    Some(slot.clone())
}
