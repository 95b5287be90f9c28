//! Tengine's domain: entities, ids, API keys, permissions and validation.
//!
//! Pure and synchronous: no I/O, no async runtime, no clock. Time and randomness come
//! in as arguments, so other programs can embed this crate.

pub mod account;
pub mod api_key;
pub mod base62;
pub mod delivery;
pub mod error;
pub mod event;
pub mod idempotency;
pub mod ids;
pub mod integration;
pub mod member;
pub mod member_session;
pub mod page;
pub mod permission;
pub mod principal;
pub mod project;
pub mod secret_key;
pub mod session;
pub mod time;
pub mod tool;
pub mod tool_call;
pub mod usage;
pub mod webhook;

pub use account::{Account, AccountName, Plan};
pub use api_key::{
    ApiKey, ApiKeyDigest, ApiKeyName, ApiKeySummary, KeyFormatError, KeyScope, PlainApiKey, PreviousSecret,
};
pub use error::{CollectFields, FieldError, ValidationError, Validator};
pub use event::{Event, EventType};
pub use ids::{
    AccountId, ApiKeyId, ConnectionId, DeliveryId, EventId, IntegrationId, ParseIdError, ProjectId, SessionId,
    SigningKeyId, ToolCallId, ToolId, WebhookId,
};
pub use member::{Member, MemberEmail, MemberId, MemberRole};
pub use page::{Cursor, Page, PageParams, PageRequest};
pub use permission::{Permission, PermissionSet};
pub use principal::{Denied, GrantError, Principal};
pub use project::{Project, ProjectDescription, ProjectName, ProjectPatch};
pub use tool::{NewTool, Tool, ToolDraft, ToolName, ToolPatch, ToolPatchDraft};
