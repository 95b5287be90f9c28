//! The headers of an outbound tool call and its `tng2` signature.
//!
//! # The signature (`auth_strategy: hmac_signature`)
//!
//! ```text
//! X-Tengine-Signature: tng2=<lowercase hex HMAC-SHA256(secret, canonical string)>
//! ```
//!
//! The key is the secret's bytes (ASCII, as registered). The canonical string is six
//! lines joined by a single `\n` (LF), with no trailing newline:
//!
//! ```text
//! tng2
//! <X-Tengine-Timestamp: Unix seconds, decimal>
//! <X-Tengine-Request-Id: the UUID, lowercase, hyphenated>
//! <HTTP method, upper case>
//! <path and query exactly as on the request line, e.g. /v1/items/a%2Fb?page=2>
//! <lowercase hex SHA-256 of the body bytes (of the empty string when there is no body)>
//! ```
//!
//! A verifier recomputes it from the request it received, compares in constant time
//! with any `tng2=` value of the header (values are comma-separated, for rotations),
//! and refuses a timestamp more than its tolerance (300 s is advised) away from its
//! clock; remembering request ids seen within the tolerance also stops replays.
//! `docs/tool-signing.md` is the same specification with test vectors.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::fields::{MemberIdentity, ToolName, ToolSecret};
use crate::member::Member;
use crate::webhook::VerifyError;
use crate::ProjectId;

/// The scheme's name: the first line of the canonical string and the value's prefix.
pub const SCHEME: &str = "tng2";

/// `X-Tengine-Signature`.
pub const SIGNATURE_HEADER: &str = "X-Tengine-Signature";
/// `X-Tengine-Project-Id`.
pub const PROJECT_ID_HEADER: &str = "X-Tengine-Project-Id";
/// `X-Tengine-Tool`.
pub const TOOL_HEADER: &str = "X-Tengine-Tool";
/// `X-Tengine-Request-Id`.
pub const REQUEST_ID_HEADER: &str = "X-Tengine-Request-Id";
/// `X-Tengine-Timestamp`.
pub const TIMESTAMP_HEADER: &str = "X-Tengine-Timestamp";
/// `X-Tengine-Member-Id`.
pub const MEMBER_ID_HEADER: &str = "X-Tengine-Member-Id";
/// `X-Tengine-Member-Email`.
pub const MEMBER_EMAIL_HEADER: &str = "X-Tengine-Member-Email";
/// `X-Tengine-Member-Roles`.
pub const MEMBER_ROLES_HEADER: &str = "X-Tengine-Member-Roles";

/// The canonical string that is signed (see the module documentation).
pub fn canonical_string(timestamp: i64, request_id: &str, method: &str, path_and_query: &str, body: &[u8]) -> String {
    let body_hash = hex::encode(Sha256::digest(body));
    format!("{SCHEME}\n{timestamp}\n{request_id}\n{}\n{path_and_query}\n{body_hash}", method.to_ascii_uppercase())
}

fn mac(secret: &[u8], canonical: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length; this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("hmac accepts any key"));
    m.update(canonical.as_bytes());
    m
}

/// The `X-Tengine-Signature` value: `tng2=<hex>`.
pub fn sign(
    secret: &ToolSecret,
    timestamp: i64,
    request_id: Uuid,
    method: &str,
    path_and_query: &str,
    body: &[u8],
) -> String {
    let canonical = canonical_string(timestamp, &request_id.to_string(), method, path_and_query, body);
    format!("{SCHEME}={}", hex::encode(mac(secret.expose_secret().as_bytes(), &canonical).finalize().into_bytes()))
}

/// What a receiver read from a signed request.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// `X-Tengine-Timestamp`.
    pub timestamp: &'a str,
    /// `X-Tengine-Request-Id`.
    pub request_id: &'a str,
    /// `X-Tengine-Signature`.
    pub signature: &'a str,
    /// The request's method.
    pub method: &'a str,
    /// The path and query of the request line.
    pub path_and_query: &'a str,
    /// The body bytes.
    pub body: &'a [u8],
}

/// Checks a `tng2` signature as the project's API would: the timestamp within
/// `tolerance_secs` of `now` and any `tng2=` value matching, compared in constant time.
///
/// # Errors
/// `Malformed` for a bad timestamp or no `tng2=` value, `Stale` outside the tolerance,
/// `NoMatch` when no value matches.
pub fn verify(
    secret: &[u8],
    req: &SignedRequest<'_>,
    now: DateTime<Utc>,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let ts: i64 = req.timestamp.trim().parse().map_err(|_| VerifyError::Malformed)?;
    if now.timestamp().abs_diff(ts) > tolerance_secs.unsigned_abs() {
        return Err(VerifyError::Stale);
    }
    let canonical = canonical_string(ts, req.request_id.trim(), req.method, req.path_and_query, req.body);
    let mut any = false;
    for value in req.signature.split(',').map(str::trim) {
        let Some(sig) = value.strip_prefix("tng2=").and_then(|h| hex::decode(h).ok()) else { continue };
        any = true;
        if mac(secret, &canonical).verify_slice(&sig).is_ok() {
            return Ok(());
        }
    }
    Err(if any { VerifyError::NoMatch } else { VerifyError::Malformed })
}

/// The `X-Tengine-*` headers of a call, in a fixed order: project, tool, request id,
/// timestamp, then the member's id, email and roles as `inject` asks and as known.
pub fn identity_headers(
    project_id: ProjectId,
    tool: &ToolName,
    request_id: Uuid,
    timestamp: i64,
    member: Option<&Member>,
    inject: MemberIdentity,
) -> Vec<(&'static str, String)> {
    let mut out = vec![
        (PROJECT_ID_HEADER, project_id.to_string()),
        (TOOL_HEADER, tool.as_str().to_owned()),
        (REQUEST_ID_HEADER, request_id.to_string()),
        (TIMESTAMP_HEADER, timestamp.to_string()),
    ];
    if let Some(m) = member {
        if inject.id {
            out.push((MEMBER_ID_HEADER, m.id.as_str().to_owned()));
        }
        if let (true, Some(email)) = (inject.email, &m.email) {
            out.push((MEMBER_EMAIL_HEADER, email.as_str().to_owned()));
        }
        if inject.roles {
            out.push((MEMBER_ROLES_HEADER, m.roles_joined()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST_ID: &str = "0190a4b2-7c3d-7e8f-9a0b-1c2d3e4f5a6b";

    fn secret() -> ToolSecret {
        "tool-secret-0123456789".parse().expect("valid")
    }

    fn rid() -> Uuid {
        REQUEST_ID.parse().expect("a uuid")
    }

    #[test]
    fn the_canonical_string_and_signature_match_the_documented_vectors() {
        // Python: hmac.new(b"tool-secret-0123456789", canonical.encode(), hashlib.sha256).hexdigest()
        let body = br#"{"city":"Oslo","days":3}"#;
        let path = "/v1/weather/Oslo?units=metric&q=a%20b";
        assert_eq!(
            canonical_string(1_800_000_000, REQUEST_ID, "post", path, body),
            "tng2\n1800000000\n0190a4b2-7c3d-7e8f-9a0b-1c2d3e4f5a6b\nPOST\n/v1/weather/Oslo?units=metric&q=a%20b\n\
             9e464220cba076199d02c269c6ce08af3044386d0159da63fe40d9171aa9c38f"
        );
        assert_eq!(
            sign(&secret(), 1_800_000_000, rid(), "POST", path, body),
            "tng2=17936faeebfb99a288a68b9cf5f7545c8639082b784dfcb34fc834a30f19af92"
        );
        assert_eq!(
            sign(&secret(), 1_800_000_000, rid(), "GET", "/v1/contacts/42", b""),
            "tng2=e4bfd0f34c4d2904a867c2ab4a5abdd8579eb9c6fba4e93eaaf9f05aab26fe41"
        );
    }

    #[test]
    fn verify_accepts_the_signature_and_refuses_any_change() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).expect("a time");
        let sig = sign(&secret(), at.timestamp(), rid(), "POST", "/a?b=1", b"{}");
        let req = SignedRequest {
            timestamp: "1800000000",
            request_id: REQUEST_ID,
            signature: &sig,
            method: "POST",
            path_and_query: "/a?b=1",
            body: b"{}",
        };
        let key = secret().expose_secret().as_bytes().to_vec();
        assert_eq!(verify(&key, &req, at, 300), Ok(()));
        let rotated = format!("tng2=00ff,{sig}");
        assert_eq!(verify(&key, &SignedRequest { signature: &rotated, ..req }, at, 300), Ok(()));
        for changed in [
            SignedRequest { body: b"{ }", ..req },
            SignedRequest { path_and_query: "/a?b=2", ..req },
            SignedRequest { method: "PUT", ..req },
            SignedRequest { request_id: "0190a4b2-7c3d-7e8f-9a0b-1c2d3e4f5a6c", ..req },
            SignedRequest { timestamp: "1800000001", ..req },
        ] {
            assert_eq!(verify(&key, &changed, at, 300), Err(VerifyError::NoMatch));
        }
        assert_eq!(verify(b"another-secret", &req, at, 300), Err(VerifyError::NoMatch));
        let later = at + chrono::Duration::seconds(301);
        assert_eq!(verify(&key, &req, later, 300), Err(VerifyError::Stale));
        assert_eq!(
            verify(&key, &SignedRequest { signature: "sha256=00", ..req }, at, 300),
            Err(VerifyError::Malformed)
        );
        assert_eq!(verify(&key, &SignedRequest { timestamp: "soon", ..req }, at, 300), Err(VerifyError::Malformed));
    }

    #[test]
    fn identity_headers_carry_only_what_the_tool_asks_for() {
        let project = ProjectId::from_uuid(Uuid::from_u128(1));
        let tool: ToolName = "crm-get".parse().expect("valid");
        let member = Member::parse("u-1", Some("ada@example.com"), &["admin", "ops"]).expect("valid");
        let names = |h: Vec<(&'static str, String)>| h.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        let base = [PROJECT_ID_HEADER, TOOL_HEADER, REQUEST_ID_HEADER, TIMESTAMP_HEADER];
        assert_eq!(names(identity_headers(project, &tool, rid(), 5, Some(&member), MemberIdentity::default())), base);
        let all = MemberIdentity { id: true, email: true, roles: true };
        let h = identity_headers(project, &tool, rid(), 5, Some(&member), all);
        assert_eq!(
            h[4..],
            [
                (MEMBER_ID_HEADER, "u-1".to_owned()),
                (MEMBER_EMAIL_HEADER, "ada@example.com".to_owned()),
                (MEMBER_ROLES_HEADER, "admin,ops".to_owned()),
            ]
        );
        assert_eq!(h[0].1, "proj_0000000000000000000001");
        assert_eq!(names(identity_headers(project, &tool, rid(), 5, None, all)), base);
    }
}
