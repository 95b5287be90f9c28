//! Who may read `/metrics`: its text shows traffic per route across every tenant, so it
//! is an operator's credential, never a tenant's API key.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The shortest metrics token accepted (a guessable token is no protection).
pub const MIN_TOKEN_LEN: usize = 16;

/// The bearer token `/metrics` requires, kept as its SHA-256 so that comparing takes the
/// same time whatever the length or content of what a client presents.
#[derive(Clone)]
pub struct MetricsToken([u8; 32]);

impl MetricsToken {
    /// Whether `presented` is the token (constant time).
    pub fn matches(&self, presented: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented).into();
        self.0.ct_eq(&digest).into()
    }
}

impl TryFrom<&str> for MetricsToken {
    type Error = String;

    fn try_from(token: &str) -> Result<Self, String> {
        if token.len() < MIN_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "must be at least {MIN_TOKEN_LEN} printable ASCII characters without spaces (e.g. `openssl rand -hex 32`)"
            ));
        }
        Ok(Self(Sha256::digest(token.as_bytes()).into()))
    }
}

impl fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetricsToken(***)")
    }
}

/// How `/metrics` answers on one listener.
#[derive(Clone, Debug, Default)]
pub enum MetricsAccess {
    /// Served to anyone who can reach the listener.
    #[default]
    Open,
    /// Served to `Authorization: Bearer <token>` only; anyone else gets a 401.
    Token(MetricsToken),
    /// Not served here (404, like any unknown route).
    Off,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::MetricsToken;

    #[test]
    fn a_token_matches_itself_only() {
        let token = MetricsToken::try_from("0123456789abcdef-scrape").unwrap();
        assert!(token.matches(b"0123456789abcdef-scrape"));
        assert!(!token.matches(b"0123456789abcdef-scrapf"));
        assert!(!token.matches(b"0123456789abcdef"));
        assert!(!token.matches(b""));
        assert_eq!(format!("{token:?}"), "MetricsToken(***)");
    }

    #[test]
    fn short_or_blank_tokens_are_refused() {
        assert!(MetricsToken::try_from("short").is_err());
        assert!(MetricsToken::try_from("sixteen chars ok").is_err(), "spaces would not survive a header");
    }
}
