//! Rows of idempotency records.

use tengine_ports::{IdempotencyClaim, RepoError, StoredResponse};

use crate::{narrow, Dialect};

/// What a claim reads of an existing `idempotency_keys` row.
#[derive(sqlx::FromRow)]
pub struct IdempotencyRow<D: Dialect> {
    fingerprint: Vec<u8>,
    response_status: Option<D::Int>,
    response_headers: Option<String>,
    response_body: Option<Vec<u8>>,
}

/// Response headers as stored: a JSON array of `[name, value]` pairs, in order.
///
/// # Errors
/// `RepoError::Other` if they cannot be serialized.
pub fn headers_json(headers: &[(String, String)]) -> Result<String, RepoError> {
    serde_json::to_string(headers).map_err(RepoError::other)
}

impl<D: Dialect> TryFrom<IdempotencyRow<D>> for IdempotencyClaim {
    type Error = RepoError;

    fn try_from(row: IdempotencyRow<D>) -> Result<Self, RepoError> {
        let fingerprint = <[u8; 32]>::try_from(row.fingerprint.as_slice()).map_err(RepoError::other)?;
        let response = match (row.response_status, row.response_headers, row.response_body) {
            (Some(status), Some(headers), Some(body)) => Some(StoredResponse {
                status: narrow(status)?,
                headers: serde_json::from_str(&headers).map_err(RepoError::other)?,
                body,
            }),
            (None, None, None) => None,
            _ => return Err(RepoError::other("a partly stored idempotent response")),
        };
        Ok(IdempotencyClaim::Existing { fingerprint, response })
    }
}
