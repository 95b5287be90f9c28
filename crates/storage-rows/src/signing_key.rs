//! Rows of `signing_keys`.

use tengine_domain::member_session::{PublicKey, SigningKey};
use tengine_ports::RepoError;

use crate::{at, Dialect};

/// The columns of [`SigningKeyRow`], in order.
pub const SIGNING_KEY_COLUMNS: &str = "id, account_id, project_id, kid, alg, format, public_key, created_at";

/// A row of `signing_keys`.
#[derive(sqlx::FromRow)]
pub struct SigningKeyRow<D: Dialect> {
    id: String,
    account_id: String,
    project_id: String,
    kid: String,
    alg: String,
    format: String,
    public_key: String,
    created_at: D::Timestamp,
}

/// A key's stored format and text.
pub fn stored_public_key(key: &PublicKey) -> (&'static str, String) {
    match key {
        PublicKey::Pem(p) => ("pem", p.clone()),
        PublicKey::Jwk(j) => ("jwk", j.to_string()),
    }
}

impl<D: Dialect> TryFrom<SigningKeyRow<D>> for SigningKey {
    type Error = RepoError;

    fn try_from(row: SigningKeyRow<D>) -> Result<Self, RepoError> {
        let key = match row.format.as_str() {
            "pem" => PublicKey::Pem(row.public_key),
            _ => PublicKey::Jwk(serde_json::from_str(&row.public_key).map_err(RepoError::other)?),
        };
        Ok(SigningKey {
            id: row.id.parse().map_err(RepoError::other)?,
            account_id: row.account_id.parse().map_err(RepoError::other)?,
            project_id: row.project_id.parse().map_err(RepoError::other)?,
            kid: row.kid,
            alg: row.alg.parse().map_err(RepoError::other)?,
            key,
            created_at: at::<D>(row.created_at)?,
        })
    }
}
