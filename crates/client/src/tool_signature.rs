//! Verifying Tengine's calls to your API: the `tng2` signature of a tool with
//! `"auth_strategy": "hmac_signature"`, checked with the code the server signs with.
//! `docs/tool-signing.md` specifies the canonical string and gives test vectors.

use chrono::{DateTime, Utc};
use tengine_domain::tool::signing::{self, SignedRequest};

pub use tengine_domain::tool::signing::canonical_string;
pub use tengine_domain::webhook::VerifyError;

/// The tolerance the specification advises between the call's timestamp and your clock.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Why a call was refused.
#[derive(Debug, thiserror::Error)]
pub enum ToolVerifyError {
    /// A header the signature needs is absent (its lower-case name).
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// The signature does not match, is malformed, or the timestamp is outside the tolerance.
    #[error("signature verification failed: {0}")]
    Invalid(VerifyError),
}

/// The `X-Tengine-*` facts of a verified call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCall<'h> {
    /// `X-Tengine-Project-Id`.
    pub project_id: Option<&'h str>,
    /// `X-Tengine-Tool`: the tool's name.
    pub tool: Option<&'h str>,
    /// `X-Tengine-Request-Id`: remember it for the tolerance to refuse replays.
    pub request_id: &'h str,
    /// `X-Tengine-Timestamp`, in Unix seconds.
    pub timestamp: i64,
    /// `X-Tengine-Member-Id`, when the tool injects it.
    pub member_id: Option<&'h str>,
    /// `X-Tengine-Member-Email`, when the tool injects it.
    pub member_email: Option<&'h str>,
    /// `X-Tengine-Member-Roles` (comma-separated), when the tool injects it.
    pub member_roles: Option<&'h str>,
}

/// Verifies a call against the clock: `method`, `path_and_query` (the request target
/// exactly as received, still percent-encoded) and the raw `body`; `header` looks a
/// header up by its lower-case name.
///
/// # Errors
/// [`ToolVerifyError`] when the call is not authentic or not recent.
pub fn verify<'h>(
    secret: &str,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    header: impl Fn(&str) -> Option<&'h str>,
    tolerance_secs: i64,
) -> Result<VerifiedCall<'h>, ToolVerifyError> {
    verify_at(secret, method, path_and_query, body, header, tolerance_secs, Utc::now())
}

/// [`verify`] with the current time given (for tests).
///
/// # Errors
/// [`ToolVerifyError`] when the call is not authentic or not within `tolerance_secs` of `now`.
pub fn verify_at<'h>(
    secret: &str,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    header: impl Fn(&str) -> Option<&'h str>,
    tolerance_secs: i64,
    now: DateTime<Utc>,
) -> Result<VerifiedCall<'h>, ToolVerifyError> {
    let need = |name: &'static str| header(name).ok_or(ToolVerifyError::MissingHeader(name));
    let signature = need("x-tengine-signature")?;
    let timestamp = need("x-tengine-timestamp")?;
    let request_id = need("x-tengine-request-id")?;
    let req = SignedRequest { timestamp, request_id, signature, method, path_and_query, body };
    signing::verify(secret.as_bytes(), &req, now, tolerance_secs).map_err(ToolVerifyError::Invalid)?;
    Ok(VerifiedCall {
        project_id: header("x-tengine-project-id"),
        tool: header("x-tengine-tool"),
        request_id: request_id.trim(),
        // `signing::verify` parsed it already.
        timestamp: timestamp.trim().parse().map_err(|_| ToolVerifyError::Invalid(VerifyError::Malformed))?,
        member_id: header("x-tengine-member-id"),
        member_email: header("x-tengine-member-email"),
        member_roles: header("x-tengine-member-roles"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "tool-secret-0123456789";
    const REQUEST_ID: &str = "0190a4b2-7c3d-7e8f-9a0b-1c2d3e4f5a6b";
    const POST_TARGET: &str = "/v1/weather/Oslo?units=metric&q=a%20b";
    const POST_BODY: &[u8] = br#"{"city":"Oslo","days":3}"#;
    const POST_SIG: &str = "tng2=17936faeebfb99a288a68b9cf5f7545c8639082b784dfcb34fc834a30f19af92";
    const GET_SIG: &str = "tng2=e4bfd0f34c4d2904a867c2ab4a5abdd8579eb9c6fba4e93eaaf9f05aab26fe41";

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_030, 0).expect("a time")
    }

    fn headers(sig: &str) -> Vec<(&'static str, String)> {
        vec![
            ("x-tengine-signature", sig.to_owned()),
            ("x-tengine-timestamp", "1800000000".to_owned()),
            ("x-tengine-request-id", REQUEST_ID.to_owned()),
            ("x-tengine-tool", "weather".to_owned()),
            ("x-tengine-member-id", "u-1".to_owned()),
        ]
    }

    fn check(h: &[(&'static str, String)], method: &str, target: &str, body: &[u8]) -> Result<(), ToolVerifyError> {
        let lookup = |n: &str| h.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str());
        verify_at(SECRET, method, target, body, lookup, DEFAULT_TOLERANCE_SECS, at()).map(|_| ())
    }

    #[test]
    fn both_documented_vectors_verify() {
        let h = headers(POST_SIG);
        let lookup = |n: &str| h.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str());
        let call = verify_at(SECRET, "POST", POST_TARGET, POST_BODY, lookup, 300, at()).expect("authentic");
        assert_eq!((call.request_id, call.timestamp, call.tool), (REQUEST_ID, 1_800_000_000, Some("weather")));
        assert_eq!((call.member_id, call.member_email), (Some("u-1"), None));
        check(&headers(GET_SIG), "GET", "/v1/contacts/42", b"").expect("authentic");
        assert_eq!(
            canonical_string(1_800_000_000, REQUEST_ID, "GET", "/v1/contacts/42", b""),
            "tng2\n1800000000\n0190a4b2-7c3d-7e8f-9a0b-1c2d3e4f5a6b\nGET\n/v1/contacts/42\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn a_tampered_request_is_refused() {
        let h = headers(POST_SIG);
        for (method, target, body) in [
            ("POST", POST_TARGET, &br#"{"city":"Oslo","days":4}"#[..]),
            ("POST", "/v1/weather/Oslo?units=imperial&q=a%20b", POST_BODY),
            ("PUT", POST_TARGET, POST_BODY),
        ] {
            let err = check(&h, method, target, body).expect_err("tampered");
            assert!(matches!(err, ToolVerifyError::Invalid(VerifyError::NoMatch)), "{err:?}");
        }
        let mut other_id = headers(POST_SIG);
        other_id[2].1 = "0190a4b2-7c3d-7e8f-9a0b-1c2d3e4f5a6c".to_owned();
        assert!(matches!(check(&other_id, "POST", POST_TARGET, POST_BODY), Err(ToolVerifyError::Invalid(_))));
    }

    #[test]
    fn a_rotation_list_stale_time_or_missing_header_is_handled() {
        check(&headers(&format!("tng2=00ff, {POST_SIG}")), "POST", POST_TARGET, POST_BODY).expect("any value matches");
        let h = headers(POST_SIG);
        let lookup = |n: &str| h.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str());
        let later = at() + chrono::Duration::seconds(300);
        let err = verify_at(SECRET, "POST", POST_TARGET, POST_BODY, lookup, 300, later).expect_err("stale");
        assert!(matches!(err, ToolVerifyError::Invalid(VerifyError::Stale)), "{err:?}");
        let err = check(&h[1..], "POST", POST_TARGET, POST_BODY).expect_err("no signature");
        assert!(matches!(err, ToolVerifyError::MissingHeader("x-tengine-signature")), "{err:?}");
    }
}
