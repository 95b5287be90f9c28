//! The MCP use cases: scope, permissions, and disabled tools being invisible.
#![allow(clippy::unwrap_used)]

use serde_json::json;
use tengine_domain::tool::{NewTool, PrepareError, ToolDraft};
use tengine_domain::{KeyScope, Page, Permission, Principal, Project, Tool, ToolId};
use tengine_ports::{MockStore, MockToolCaller, UpstreamAnswer};
use uuid::Uuid;

use super::McpCallError;
use crate::test_support::{
    account_id, harness, harness_with_tool_caller, now, principal, project, project_id, test_keyring,
};
use crate::tool_calls::replay::RetryKey;
use crate::AppError;
use tengine_domain::tool_call::ToolCallStatus;

fn tool(n: u128, name: &str, enabled: bool) -> Tool {
    let d = ToolDraft {
        name: name.into(),
        description: "Fetch a contact".into(),
        input_schema: json!({"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}),
        base_url: "https://api.example.com".into(),
        http_method: "GET".into(),
        endpoint_path: "/v1/contacts/{id}".into(),
        enabled: Some(enabled),
        ..ToolDraft::default()
    };
    let new = NewTool::parse(d, false).unwrap();
    let keyring = test_keyring();
    let id = ToolId::from_uuid(Uuid::from_u128(n));
    Tool::new(id, account_id(), project_id(1), new, |s| keyring.seal_tool_secret(id, s, [4; 24]), now())
}

fn key(perms: &[Permission]) -> Principal {
    principal(perms, KeyScope::Project(project_id(1)))
}

fn project_1_exists(store: &mut MockStore) {
    store.expect_get_project().returning(|_, id| Ok((id == project_id(1)).then(|| Project { id, ..project(1) })));
}

/// Project 1's tools are `tools` (one page).
fn tools_are(store: &mut MockStore, tools: Vec<Tool>) {
    store.expect_list_tools().returning(move |_, page| Ok(Page::new(tools.clone(), tools.len() as u64, page)));
}

#[test]
fn the_project_is_the_keys_own_or_the_named_one_for_an_account_wide_key() {
    let app = harness(|_| {});
    let own = key(&[Permission::Read]);
    assert_eq!(app.mcp_project(&own, None).unwrap(), project_id(1));
    assert_eq!(app.mcp_project(&own, Some(project_id(1))).unwrap(), project_id(1));
    assert!(matches!(app.mcp_project(&own, Some(project_id(2))), Err(AppError::ProjectNotFound)));
    let wide = principal(&[Permission::Read], KeyScope::Account);
    assert_eq!(app.mcp_project(&wide, Some(project_id(2))).unwrap(), project_id(2));
    match app.mcp_project(&wide, None) {
        Err(AppError::Validation(v)) => assert_eq!(v.first().field, super::PROJECT_HEADER),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn listing_shows_only_enabled_tools_by_name_and_needs_read() {
    let app = harness(|s| {
        project_1_exists(s);
        s.expect_list_tools().returning(|_, page| {
            let items = vec![tool(1, "zeta", true), tool(2, "hidden", false), tool(3, "alpha", true)];
            Ok(Page::new(items, 3, page))
        });
    });
    let names: Vec<String> = app
        .mcp_tools(&key(&[Permission::Read]), project_id(1))
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.as_str().to_owned())
        .collect();
    assert_eq!(names, ["alpha", "zeta"]);
    assert!(matches!(app.mcp_tools(&key(&[]), project_id(1)).await, Err(AppError::Forbidden(_))));
}

#[tokio::test]
async fn listing_walks_every_page() {
    let app = harness(|s| {
        project_1_exists(s);
        s.expect_list_tools().times(2).returning(|_, page| {
            let n = u128::from(page.page());
            Ok(Page::new(vec![tool(n, &format!("t{n}"), true)], 101, page))
        });
    });
    let got = app.mcp_tools(&key(&[Permission::Read]), project_id(1)).await.unwrap();
    assert_eq!(got.len(), 2);
}

#[tokio::test]
async fn another_project_is_not_found_for_listing_and_calling() {
    let app = harness(project_1_exists);
    let wide = principal(&[Permission::Read, Permission::Write], KeyScope::Account);
    assert!(matches!(app.mcp_tools(&wide, project_id(2)).await, Err(AppError::ProjectNotFound)));
    let called = app.mcp_call(&wide, None, project_id(2), "crm-get", &json!({}), None).await;
    assert!(matches!(called, Err(McpCallError::App(AppError::ProjectNotFound))), "{called:?}");
}

#[tokio::test]
async fn a_read_only_key_cannot_call_and_nothing_is_loaded() {
    // No store expectation: the permission is checked first.
    let app = harness(|_| {});
    let called =
        app.mcp_call(&key(&[Permission::Read]), None, project_id(1), "crm-get", &json!({"id": "1"}), None).await;
    assert!(matches!(called, Err(McpCallError::App(AppError::Forbidden(_)))), "{called:?}");
}

#[tokio::test]
async fn a_disabled_or_unknown_tool_is_unknown_and_the_api_is_not_called() {
    for found in [None, Some(tool(1, "crm-get", false))] {
        let mut caller = MockToolCaller::new();
        caller.expect_call().never();
        let app = harness_with_tool_caller(test_keyring(), caller, move |s| {
            project_1_exists(s);
            tools_are(s, found.clone().into_iter().collect());
        });
        let called =
            app.mcp_call(&key(&[Permission::Write]), None, project_id(1), "crm-get", &json!({"id": "1"}), None).await;
        assert!(matches!(&called, Err(McpCallError::UnknownTool(n)) if n == "crm-get"), "{called:?}");
    }
}

#[tokio::test]
async fn arguments_off_the_schema_are_refused_naming_the_field() {
    let mut caller = MockToolCaller::new();
    caller.expect_call().never();
    let app = harness_with_tool_caller(test_keyring(), caller, |s| {
        project_1_exists(s);
        tools_are(s, vec![tool(1, "crm-get", true)]);
    });
    let called =
        app.mcp_call(&key(&[Permission::Write]), None, project_id(1), "crm-get", &json!({"id": 7}), None).await;
    match called {
        Err(McpCallError::Refused(PrepareError::InvalidArguments(v))) => {
            assert!(v.first().field.contains("id"), "{v}");
        }
        other => panic!("expected invalid arguments, got {other:?}"),
    }
}

#[tokio::test]
async fn an_enabled_tool_is_called_by_name() {
    let mut caller = MockToolCaller::new();
    caller.expect_call().withf(|r| r.url == "https://api.example.com/v1/contacts/42").times(1).returning(|_| {
        Ok(UpstreamAnswer {
            status: 200,
            content_type: Some("application/json".into()),
            body: br#"{"ok":true}"#.to_vec(),
        })
    });
    let app = harness_with_tool_caller(test_keyring(), caller, |s| {
        project_1_exists(s);
        tools_are(s, vec![tool(2, "crm-list", true), tool(1, "crm-get", true)]);
    });
    let done =
        app.mcp_call(&key(&[Permission::Write]), None, project_id(1), "crm-get", &json!({"id": "42"}), None).await;
    assert_eq!(done.unwrap().outcome.structured, Some(json!({"ok": true})));
}

/// An app whose tool `crm-get` answers `{"ok":true}` exactly `times` times.
fn answering_app(times: usize, log_payloads: bool) -> crate::Tengine {
    let mut caller = MockToolCaller::new();
    caller.expect_call().times(times).returning(|_| {
        Ok(UpstreamAnswer {
            status: 200,
            content_type: Some("application/json".into()),
            body: br#"{"ok":true}"#.to_vec(),
        })
    });
    harness_with_tool_caller(test_keyring(), caller, move |s| {
        project_1_exists(s);
        let mut t = tool(1, "crm-get", true);
        t.log_payloads = log_payloads;
        tools_are(s, vec![t]);
    })
}

#[tokio::test]
async fn a_retried_request_id_in_a_session_gets_the_first_result_and_the_api_is_called_once() {
    let app = answering_app(2, false);
    let who = key(&[Permission::Write]);
    let retry = RetryKey::Session { session: "s-1".into(), request: "n:7".into() };
    let args = json!({"id": "42"});
    let first = app.mcp_call(&who, None, project_id(1), "crm-get", &args, Some(&retry)).await.unwrap();
    let again = app.mcp_call(&who, None, project_id(1), "crm-get", &args, Some(&retry)).await.unwrap();
    assert!(!first.replayed && again.replayed);
    assert_eq!((again.call_id, again.outcome.clone()), (first.call_id, first.outcome.clone()));
    // The same id in another session is another call (the second of the two allowed).
    let other = RetryKey::Session { session: "s-2".into(), request: "n:7".into() };
    let fresh = app.mcp_call(&who, None, project_id(1), "crm-get", &args, Some(&other)).await.unwrap();
    assert!(!fresh.replayed);
    // Reusing the id for other arguments is refused, and nothing is sent.
    let reused = app.mcp_call(&who, None, project_id(1), "crm-get", &json!({"id": "43"}), Some(&retry)).await;
    assert!(matches!(reused, Err(McpCallError::App(AppError::IdempotencyKeyReused))), "{reused:?}");
}

#[tokio::test]
async fn a_malformed_idempotency_key_is_refused_before_anything_is_sent() {
    let app = answering_app(0, false);
    let who = key(&[Permission::Write]);
    for bad in ["", "tab\tkey", &"k".repeat(256)] {
        let retry = RetryKey::Client(bad.to_owned());
        let got = app.mcp_call(&who, None, project_id(1), "crm-get", &json!({"id": "1"}), Some(&retry)).await;
        match got {
            Err(McpCallError::App(AppError::Validation(v))) => assert_eq!(v.first().field, "_meta.idempotency_key"),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn calls_are_logged_with_payloads_only_when_the_tool_opts_in() {
    let who = key(&[Permission::Write]);
    for log_payloads in [false, true] {
        let app = answering_app(1, log_payloads);
        let done = app.mcp_call(&who, None, project_id(1), "crm-get", &json!({"id": "42"}), None).await.unwrap();
        // A refused call is logged too, naming the field but never the value sent.
        let refused = app.mcp_call(&who, None, project_id(1), "crm-get", &json!({"id": 12345}), None).await;
        assert!(matches!(refused, Err(McpCallError::Refused(_))));
        let (calls, usage) = app.call_log().drain();
        assert_eq!(calls.len(), 2);
        let (ok, no) = (&calls[0], &calls[1]);
        assert_eq!((ok.id, ok.status, ok.upstream_status), (done.call_id, ToolCallStatus::Succeeded, Some(200)));
        assert_eq!(ok.request_id, Some(done.request_id));
        assert_eq!((no.status, no.request_id), (ToolCallStatus::Refused, None));
        let error = no.error.clone().unwrap();
        assert!(error.contains("arguments/id") && !error.contains("12345"), "{error}");
        assert_eq!(ok.arguments.is_some(), log_payloads);
        assert_eq!(ok.result.is_some(), log_payloads);
        if let Some(sealed) = &ok.arguments {
            assert!(!sealed.as_stored().contains("42"), "sealed, not plain");
            let opened = test_keyring().open_call_payload(ok.id, "arguments", sealed).unwrap();
            assert_eq!(serde_json::from_slice::<serde_json::Value>(&opened).unwrap(), json!({"id": "42"}));
        }
        // One rollup row for the tool: two calls, one an error.
        assert_eq!(usage.len(), 1);
        assert_eq!((usage[0].counts.requests, usage[0].counts.errors), (2, 1));
    }
}

#[tokio::test]
async fn calls_within_a_second_read_the_tools_once_and_a_change_here_reads_them_again() {
    let mut caller = MockToolCaller::new();
    caller
        .expect_call()
        .times(3)
        .returning(|_| Ok(UpstreamAnswer { status: 200, content_type: None, body: b"ok".to_vec() }));
    let app = harness_with_tool_caller(test_keyring(), caller, |s| {
        s.expect_get_project().times(2).returning(|_, id| Ok(Some(Project { id, ..project(1) })));
        s.expect_list_tools().times(2).returning(|_, page| Ok(Page::new(vec![tool(1, "crm-get", true)], 1, page)));
    });
    let who = key(&[Permission::Read, Permission::Write]);
    let args = json!({"id": "1"});
    app.mcp_call(&who, None, project_id(1), "crm-get", &args, None).await.unwrap();
    assert_eq!(app.mcp_tools(&who, project_id(1)).await.unwrap().len(), 1);
    app.mcp_call(&who, None, project_id(1), "crm-get", &args, None).await.unwrap();
    // A change made through this instance is seen at once.
    app.tools_changed(project_id(1));
    app.mcp_call(&who, None, project_id(1), "crm-get", &args, None).await.unwrap();
}

#[tokio::test]
async fn a_cached_project_is_still_not_found_for_another_account() {
    let app = harness(|s| {
        project_1_exists(s);
        tools_are(s, vec![tool(1, "crm-get", true)]);
    });
    assert_eq!(app.mcp_tools(&key(&[Permission::Read]), project_id(1)).await.unwrap().len(), 1);
    let mut stranger = key(&[Permission::Read]);
    stranger.account_id = tengine_domain::AccountId::from_uuid(uuid::Uuid::from_u128(99));
    assert!(matches!(app.mcp_tools(&stranger, project_id(1)).await, Err(AppError::ProjectNotFound)));
}
