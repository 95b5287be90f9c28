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
use crate::AppError;

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
            Ok(Page { items, total: 3, request: page })
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
            Ok(Page { items: vec![tool(n, &format!("t{n}"), true)], total: 101, request: page })
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
            s.expect_find_tool_by_name().returning(move |_, _| Ok(found.clone()));
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
        s.expect_find_tool_by_name().returning(|_, _| Ok(Some(tool(1, "crm-get", true))));
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
        s.expect_find_tool_by_name()
            .withf(|p, n| *p == project_id(1) && n == "crm-get")
            .returning(|_, _| Ok(Some(tool(1, "crm-get", true))));
    });
    let done =
        app.mcp_call(&key(&[Permission::Write]), None, project_id(1), "crm-get", &json!({"id": "42"}), None).await;
    assert_eq!(done.unwrap().outcome.structured, Some(json!({"ok": true})));
}
