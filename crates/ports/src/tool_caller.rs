//! The outbound side of a tool call: sending the prepared request to the project's API.

use tengine_domain::tool::{CallFailure, OutboundRequest};

/// What the API answered: enough for [`tengine_domain::tool::shape_response`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body's first bytes: at most `max_response_bytes + 1`, so a cut answer shows.
    pub body: Vec<u8>,
}

/// Sends prepared tool requests to the project's API.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait::async_trait]
pub trait ToolCaller: Send + Sync {
    /// Sends `request` once (no redirects followed) and reads at most
    /// `request.max_response_bytes + 1` bytes of the answer, all within `request.timeout`.
    /// Any status is an answer, not an error.
    ///
    /// # Errors
    /// `Timeout` when the answer (its body included) did not come in time;
    /// `RefusedAddress` when the destination is an address calls may not reach;
    /// `Unreachable` when no connection could be made or the request could not be sent.
    async fn call(&self, request: &OutboundRequest) -> Result<UpstreamAnswer, CallFailure>;
}
