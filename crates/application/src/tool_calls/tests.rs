//! One test per rule of `call_tool`, over a mocked tool caller.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use tengine_domain::member::Member;
use tengine_domain::secret_key::{Keyring, SealedSecret, ServerKey};
use tengine_domain::tool::{CallFailure, CallRefused, NewTool, PrepareError, ToolDraft};
use tengine_domain::{KeyScope, Permission, Principal, Tool, ToolId};
use tengine_ports::{MockToolCaller, UpstreamAnswer};
use uuid::Uuid;

use super::CallToolError;
use crate::test_support::{account_id, harness_with_tool_caller, now, principal, project_id, test_keyring};
use crate::Tengine;

const SECRET: &str = "sk_live_0123456789abcdef";

fn tool_id() -> ToolId {
    ToolId::from_uuid(Uuid::from_u128(55))
}

/// A tool of project 1 that sends `Authorization: Bearer <SECRET>`.
fn tool(edit: impl FnOnce(&mut ToolDraft)) -> Tool {
    let mut d = ToolDraft {
        name: "crm-get".into(),
        description: "Fetch a contact".into(),
        input_schema: json!({"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}),
        base_url: "https://api.example.com".into(),
        http_method: "GET".into(),
        endpoint_path: "/v1/contacts/{id}".into(),
        auth_strategy: Some("static_bearer".into()),
        encrypted_auth_secret: Some(SECRET.into()),
        timeout_ms: Some(250),
        ..ToolDraft::default()
    };
    edit(&mut d);
    let new = NewTool::parse(d, false).unwrap();
    let keyring = test_keyring();
    Tool::new(tool_id(), account_id(), project_id(1), new, |s| keyring.seal_tool_secret(tool_id(), s, [4; 24]), now())
}

fn writer() -> Principal {
    principal(&[Permission::Write], KeyScope::Project(project_id(1)))
}

/// A `Tengine` whose tool caller is set up by `setup`; no store access is expected.
fn calling(setup: impl FnOnce(&mut MockToolCaller)) -> Tengine {
    let mut caller = MockToolCaller::new();
    setup(&mut caller);
    harness_with_tool_caller(test_keyring(), caller, |_| {})
}

fn answering(status: u16, content_type: &str, body: &[u8]) -> impl FnOnce(&mut MockToolCaller) {
    let answer = UpstreamAnswer { status, content_type: Some(content_type.to_owned()), body: body.to_vec() };
    move |c| {
        c.expect_call().times(1).returning(move |_| Ok(answer.clone()));
    }
}

fn args() -> Value {
    json!({"id": "42"})
}

#[tokio::test]
async fn a_2xx_json_answer_is_the_structured_result() {
    let mut caller = MockToolCaller::new();
    caller
        .expect_call()
        .withf(|r| {
            r.url == "https://api.example.com/v1/contacts/42"
                && r.headers.iter().any(|(n, v)| n == "Authorization" && v == &format!("Bearer {SECRET}"))
                && r.headers
                    .iter()
                    .any(|(n, v)| n == "X-Tengine-Request-Id" && v == &Uuid::from_u128(0xABCD).to_string())
        })
        .times(1)
        .returning(|_| {
            Ok(UpstreamAnswer {
                status: 200,
                content_type: Some("application/json".into()),
                body: br#"{"name":"Ada"}"#.to_vec(),
            })
        });
    let app = harness_with_tool_caller(test_keyring(), caller, |_| {});
    let done = app.call_tool(&writer(), None, &tool(|_| {}), &args()).await.unwrap();
    assert!(!done.outcome.is_error);
    assert_eq!(done.outcome.structured, Some(json!({"name": "Ada"})));
    assert_eq!((done.upstream_status, done.failure), (Some(200), None));
    assert_eq!(done.request_id, Uuid::from_u128(0xABCD));
}

#[tokio::test]
async fn an_upstream_500_is_a_tool_error_with_its_status() {
    let app = calling(answering(500, "text/plain", b"database down"));
    let done = app.call_tool(&writer(), None, &tool(|_| {}), &args()).await.unwrap();
    assert!(done.outcome.is_error);
    assert_eq!(done.outcome.text, "The API answered HTTP 500.\ndatabase down");
    assert_eq!(done.upstream_status, Some(500));
}

#[tokio::test]
async fn a_timeout_is_a_tool_error_naming_the_limit() {
    let app = calling(|c| {
        c.expect_call().times(1).returning(|r| Err(CallFailure::Timeout(r.timeout.get())));
    });
    let done = app.call_tool(&writer(), None, &tool(|_| {}), &args()).await.unwrap();
    assert!(done.outcome.is_error);
    assert!(done.outcome.text.contains("within 250 ms"), "{}", done.outcome.text);
    assert_eq!((done.upstream_status, done.failure), (None, Some(CallFailure::Timeout(250))));
}

#[tokio::test]
async fn a_refused_address_is_a_tool_error() {
    let app = calling(|c| {
        c.expect_call().times(1).returning(|_| Err(CallFailure::RefusedAddress));
    });
    let done = app.call_tool(&writer(), None, &tool(|_| {}), &args()).await.unwrap();
    assert!(done.outcome.is_error);
    assert!(done.outcome.text.contains("not allowed"), "{}", done.outcome.text);
    assert_eq!(done.failure, Some(CallFailure::RefusedAddress));
}

#[tokio::test]
async fn a_disabled_tool_is_refused_without_calling_the_api() {
    // The mock has no expectation: a call would panic.
    let app = calling(|_| {});
    let err = app.call_tool(&writer(), None, &tool(|d| d.enabled = Some(false)), &args()).await.unwrap_err();
    assert!(matches!(err, CallToolError::Refused(PrepareError::Refused(CallRefused::Disabled))), "{err:?}");
}

#[tokio::test]
async fn a_member_only_tool_is_refused_without_a_member_and_called_with_one() {
    let member_only = tool(|d| {
        d.require_member = Some(true);
        d.inject_member_identity = Some(vec!["id".into()]);
    });
    let err = calling(|_| {}).call_tool(&writer(), None, &member_only, &args()).await.unwrap_err();
    assert!(matches!(err, CallToolError::Refused(PrepareError::Refused(CallRefused::MemberRequired))), "{err:?}");

    let member = Member::parse("user-7", None, &["ops"]).unwrap();
    let app = calling(|c| {
        c.expect_call()
            .withf(|r| r.headers.iter().any(|(n, v)| n == "X-Tengine-Member-Id" && v == "user-7"))
            .times(1)
            .returning(|_| Ok(UpstreamAnswer { status: 204, content_type: None, body: Vec::new() }));
    });
    assert!(!app.call_tool(&writer(), Some(&member), &member_only, &args()).await.unwrap().outcome.is_error);
}

#[tokio::test]
async fn arguments_that_do_not_fit_the_schema_are_refused_without_calling() {
    let err = calling(|_| {}).call_tool(&writer(), None, &tool(|_| {}), &json!({"id": 42})).await.unwrap_err();
    assert!(matches!(err, CallToolError::Refused(PrepareError::InvalidArguments(_))), "{err:?}");
}

#[tokio::test]
async fn a_key_without_write_or_of_another_project_calls_nothing() {
    let reader = principal(&[Permission::Read], KeyScope::Project(project_id(1)));
    let err = calling(|_| {}).call_tool(&reader, None, &tool(|_| {}), &args()).await.unwrap_err();
    assert!(matches!(err, CallToolError::Forbidden(_)), "{err:?}");
    let elsewhere = principal(&[Permission::Write], KeyScope::Project(project_id(2)));
    let err = calling(|_| {}).call_tool(&elsewhere, None, &tool(|_| {}), &args()).await.unwrap_err();
    assert!(matches!(err, CallToolError::NotFound), "{err:?}");
    let other_account = Principal { account_id: tengine_domain::AccountId::from_uuid(Uuid::from_u128(1)), ..writer() };
    let err = calling(|_| {}).call_tool(&other_account, None, &tool(|_| {}), &args()).await.unwrap_err();
    assert!(matches!(err, CallToolError::NotFound), "{err:?}");
}

#[tokio::test]
async fn the_secret_never_reaches_the_outcome_even_when_the_api_echoes_it() {
    let echoed = json!({"headers": {"authorization": format!("Bearer {SECRET}")}}).to_string();
    let app = calling(answering(200, "application/json", echoed.as_bytes()));
    let done = app.call_tool(&writer(), None, &tool(|_| {}), &args()).await.unwrap();
    let shown = format!("{done:?} {}", done.outcome.structured.clone().unwrap_or_default());
    assert!(!shown.contains(SECRET), "{shown}");

    let app = app_echoing_error();
    let done = app.call_tool(&writer(), None, &tool(|_| {}), &args()).await.unwrap();
    assert!(done.outcome.is_error && !done.outcome.text.contains(SECRET), "{}", done.outcome.text);
}

fn app_echoing_error() -> Tengine {
    calling(answering(401, "text/plain", format!("bad token {SECRET}").as_bytes()))
}

#[tokio::test]
async fn a_secret_that_does_not_open_is_an_error_that_names_no_secret() {
    let mut broken = tool(|_| {});
    broken.auth_secret = Some(SealedSecret::from_stored(SECRET.to_owned()));
    let err = calling(|_| {}).call_tool(&writer(), None, &broken, &args()).await.unwrap_err();
    assert!(matches!(err, CallToolError::SecretUnavailable(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains(SECRET));

    // Under another server key, the sealed secret does not open either.
    let other = Keyring::new(ServerKey::from_bytes([9; 32]), vec![]);
    let app = harness_with_tool_caller(other, MockToolCaller::new(), |_| {});
    let err = app.call_tool(&writer(), None, &tool(|_| {}), &args()).await.unwrap_err();
    assert!(matches!(err, CallToolError::SecretUnavailable(_)), "{err:?}");
}
