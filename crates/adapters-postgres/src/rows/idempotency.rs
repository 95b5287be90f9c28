//! Rows of idempotency records.

use tengine_ports::{IdempotencyClaim, RepoError, StoredResponse};

/// The columns of [`IdempotencyRow`], in order.
macro_rules! idempotency_columns {
    () => {
        "fingerprint, response_status, response_headers, response_body"
    };
}

pub(crate) use idempotency_columns;

/// What a claim reads of an existing `idempotency_keys` row.
#[derive(sqlx::FromRow)]
pub(crate) struct IdempotencyRow {
    fingerprint: Vec<u8>,
    response_status: Option<i32>,
    response_headers: Option<String>,
    response_body: Option<Vec<u8>>,
}

/// Response headers as stored: a JSON array of `[name, value]` pairs, in order.
pub(crate) fn headers_json(headers: &[(String, String)]) -> Result<String, RepoError> {
    serde_json::to_string(headers).map_err(RepoError::other)
}

impl TryFrom<IdempotencyRow> for IdempotencyClaim {
    type Error = RepoError;

    fn try_from(row: IdempotencyRow) -> Result<Self, RepoError> {
        let fingerprint = <[u8; 32]>::try_from(row.fingerprint.as_slice()).map_err(RepoError::other)?;
        let response = match (row.response_status, row.response_headers, row.response_body) {
            (Some(status), Some(headers), Some(body)) => Some(StoredResponse {
                status: u16::try_from(status).map_err(RepoError::other)?,
                headers: serde_json::from_str(&headers).map_err(RepoError::other)?,
                body,
            }),
            (None, None, None) => None,
            _ => return Err(RepoError::other("a partly stored idempotent response")),
        };
        Ok(IdempotencyClaim::Existing { fingerprint, response })
    }
}
