//! Prefixed, time-sortable identifiers (`proj_` + a UUIDv7 in 22 base62 digits).
//!
//! Each resource has its own newtype, so a `ProjectId` can never be passed where an
//! `ApiKeyId` is expected. The domain never creates ids from a clock: an `IdGenerator`
//! port hands it UUIDs.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::base62;

/// The error returned when a string is not an id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {kind} id")]
pub struct ParseIdError {
    /// Which kind of id was expected (for example `project`).
    pub kind: &'static str,
}

macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// The textual prefix of this kind of id.
            pub const PREFIX: &'static str = $prefix;
            /// The resource name used in error details.
            pub const KIND: &'static str = $kind;

            /// Wraps a UUID (normally a v7 from the id generator).
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// The smallest id minted at or after `at`: a UUIDv7 sorts by its
            /// millisecond timestamp first, so ids below it were minted earlier (range
            /// reads and purges by creation time use the primary key).
            pub fn first_at(at: chrono::DateTime<chrono::Utc>) -> Self {
                let ms = u128::try_from(at.timestamp_millis()).unwrap_or(0).min((1 << 48) - 1);
                Self(Uuid::from_u128(ms << 80))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // From the stack: ids are written on every item of every page.
                let mut digits = [0u8; base62::U128_WIDTH];
                base62::encode_into(self.0.as_u128(), &mut digits);
                f.write_str(Self::PREFIX)?;
                f.write_str(std::str::from_utf8(&digits).map_err(|_| fmt::Error)?)
            }
        }

        /// Serialized as its text, written without a `String` (every item of every page
        /// has one or more ids).
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let err = ParseIdError { kind: Self::KIND };
                let body = s.strip_prefix(Self::PREFIX).ok_or(err.clone())?;
                if body.len() != base62::U128_WIDTH {
                    return Err(err);
                }
                base62::decode(body)
                    .map(|v| Self(Uuid::from_u128(v)))
                    .ok_or(err)
            }
        }
    };
}

define_id!(
    /// Identifies an account (tenant).
    AccountId, "acct_", "account"
);
define_id!(
    /// Identifies a project.
    ProjectId, "proj_", "project"
);
define_id!(
    /// Identifies an API key record (not its secret).
    ApiKeyId, "key_", "api_key"
);
define_id!(
    /// Identifies a webhook endpoint.
    WebhookId, "wh_", "webhook"
);
define_id!(
    /// Identifies an event in the outbox and event log.
    EventId, "evt_", "event"
);
define_id!(
    /// Identifies one delivery of an event to one webhook.
    DeliveryId, "del_", "delivery"
);
define_id!(
    /// Identifies an integration of a project.
    IntegrationId, "int_", "integration"
);
define_id!(
    /// Identifies a connection: one grant of an integration, and every token issued from it.
    ConnectionId, "conn_", "connection"
);
define_id!(
    /// Identifies a custom tool of a project.
    ToolId, "tool_", "tool"
);
define_id!(
    /// Identifies one logged tool call.
    ToolCallId, "call_", "tool_call"
);
define_id!(
    /// Identifies a browser session (a portal session's public id).
    SessionId, "ps_", "portal_session"
);
define_id!(
    /// Identifies a project's registered public key for member assertions.
    SigningKeyId, "sk_", "signing_key"
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// An id is written to JSON as its text, and the text parses back to it.
        #[test]
        fn ids_serialize_as_their_text(value in any::<u128>()) {
            let id = ProjectId::from_uuid(Uuid::from_u128(value));
            let json = serde_json::to_string(&id).expect("serializes");
            prop_assert_eq!(&json, &format!("\"proj_{}\"", base62::encode_fixed(value, base62::U128_WIDTH)));
            prop_assert_eq!(json.trim_matches('"').parse::<ProjectId>(), Ok(id));
        }

        /// An id minted in millisecond `ms` (version 7, any random bits) sorts, as a
        /// value and as text, at or after `first_at(ms)` and before `first_at(ms + 1)`.
        #[test]
        fn first_at_bounds_the_ids_minted_in_its_millisecond(ms in 0_i64..(1 << 47), random in any::<u128>()) {
            let at = |ms| chrono::DateTime::from_timestamp_millis(ms).expect("in range");
            let minted = (u128::try_from(ms).expect("non-negative") << 80) | (0x7 << 76) | (random & ((1 << 76) - 1));
            let id = EventId::from_uuid(Uuid::from_u128(minted));
            let (lo, hi) = (EventId::first_at(at(ms)), EventId::first_at(at(ms + 1)));
            prop_assert!(lo <= id && id < hi);
            prop_assert!(lo.to_string() <= id.to_string() && id.to_string() < hi.to_string());
        }
    }

    #[test]
    fn display_has_prefix_and_fixed_width() {
        let id = ProjectId::from_uuid(Uuid::from_u128(1));
        assert_eq!(id.to_string(), "proj_0000000000000000000001");
    }

    #[test]
    fn other_kinds_and_garbage_are_refused() {
        let key = ApiKeyId::from_uuid(Uuid::from_u128(42)).to_string();
        assert!(key.parse::<ProjectId>().is_err());
        for bad in ["", "proj_", "proj_123", "proj_000000000000000000000!", "PROJ_0000000000000000000001"] {
            assert!(bad.parse::<ProjectId>().is_err(), "{bad}");
        }
        // 22 digits can exceed u128::MAX; that must be an error, not a panic.
        assert!("proj_zzzzzzzzzzzzzzzzzzzzzz".parse::<ProjectId>().is_err());
    }

    proptest! {
        #[test]
        fn ids_round_trip_and_sort_like_their_uuids(a: u128, b: u128) {
            let (ia, ib) = (ProjectId::from_uuid(Uuid::from_u128(a)), ProjectId::from_uuid(Uuid::from_u128(b)));
            prop_assert_eq!(ia.to_string().parse::<ProjectId>(), Ok(ia));
            prop_assert_eq!(a.cmp(&b), ia.to_string().cmp(&ib.to_string()));
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(s in "\\PC{0,40}") {
            let _ = s.parse::<ApiKeyId>();
        }
    }
}
