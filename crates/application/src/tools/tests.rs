#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use serde_json::json;
use tengine_domain::{Event, KeyScope, Permission, ToolDraft, ToolPatchDraft};
use tengine_ports::{MockStore, MockTransaction, RepoError};

use super::*;
use crate::test_support::*;
use crate::Guarded;

const SECRET: &str = "tool-secret-0123456789";

fn draft() -> ToolDraft {
    ToolDraft {
        name: "crm-contacts-get_by_id".into(),
        description: "Looks a contact up.".into(),
        input_schema: json!({"type": "object", "properties": {"id": {"type": "string"}}}),
        base_url: "https://api.example.com".into(),
        http_method: "GET".into(),
        endpoint_path: "/contacts/{id}".into(),
        auth_strategy: Some("static_bearer".into()),
        encrypted_auth_secret: Some(SECRET.into()),
        ..ToolDraft::default()
    }
}

fn new_tool() -> NewTool {
    NewTool::parse(draft(), false).unwrap()
}

fn changes(d: ToolPatchDraft) -> ToolPatch {
    ToolPatch::parse(d, false).unwrap()
}

fn admin() -> Principal {
    principal(&[Permission::Admin], KeyScope::Account)
}

fn tool_id() -> ToolId {
    ToolId::from_uuid(fresh_uuid())
}

/// The tool `draft()` makes, as stored a day ago.
fn stored() -> Tool {
    let new = NewTool::parse(draft(), false).unwrap();
    let seal = |s: &_| test_keyring().seal_tool_secret(tool_id(), s, [1; 24]);
    Tool::new(tool_id(), account_id(), project_id(1), new, seal, earlier())
}

/// A transaction that finds the project and, if `tool`, the stored tool.
fn tx_with(tx: &mut MockTransaction, tool: bool) {
    tx.expect_lock_project().returning(|_, id| Ok(Some(project(id.as_uuid().as_u128()))));
    if tool {
        tx.expect_lock_tool().returning(|_, _| Ok(Some(stored())));
    }
}

/// Keeps the events appended in a transaction.
fn capture_events(store: &mut MockStore, events: &Arc<Mutex<Vec<Event>>>, setup: impl FnOnce(&mut MockTransaction)) {
    let mut tx = MockTransaction::new();
    setup(&mut tx);
    let seen = events.clone();
    tx.expect_append_event().returning(move |e| {
        seen.lock().unwrap().push(e.clone());
        Ok(0)
    });
    tx.expect_commit().returning(|| Ok(()));
    let mut tx = Some(tx);
    store.expect_begin().times(1).returning(move || Ok(Box::new(tx.take().unwrap())));
}

#[tokio::test]
async fn listing_and_getting_tools_need_read() {
    for cell in NEEDS_READ {
        let app = harness(|s| {
            if cell.1 {
                s.expect_get_project().returning(|_, id| Ok(Some(project(id.as_uuid().as_u128()))));
                s.expect_list_tools().returning(|_, page| Ok(empty_page(page)));
                s.expect_get_tool().returning(|_, _| Ok(Some(stored())));
            }
        });
        let who = principal(&[cell.0], KeyScope::Account);
        assert_gate(
            "list_tools",
            Permission::Read,
            cell,
            app.list_tools(&who, project_id(1), PageRequest::default()).await,
        );
        assert_gate("get_tool", Permission::Read, cell, app.get_tool(&who, project_id(1), tool_id()).await);
    }
}

#[tokio::test]
async fn creating_updating_and_deleting_tools_need_admin() {
    for cell in NEEDS_ADMIN {
        let who = principal(&[cell.0], KeyScope::Account);
        let app = harness(|s| {
            if cell.1 {
                expect_tx(s, |tx| {
                    tx_with(tx, false);
                    tx.expect_insert_tool().returning(|_| Ok(()));
                });
            }
        });
        assert_gate("create_tool", Permission::Admin, cell, app.create_tool(&who, project_id(1), new_tool()).await);
        let app = harness(|s| {
            if cell.1 {
                expect_tx(s, |tx| {
                    tx_with(tx, true);
                    tx.expect_update_tool().returning(|_| Ok(()));
                });
            }
        });
        let patch = changes(ToolPatchDraft { enabled: Some(false), ..ToolPatchDraft::default() });
        assert_gate(
            "update_tool",
            Permission::Admin,
            cell,
            app.update_tool(&who, project_id(1), tool_id(), patch).await,
        );
        let app = harness(|s| {
            if cell.1 {
                expect_tx(s, |tx| {
                    tx_with(tx, true);
                    tx.expect_delete_tool().returning(|_, _, _| Ok(()));
                });
            }
        });
        assert_gate("delete_tool", Permission::Admin, cell, app.delete_tool(&who, project_id(1), tool_id()).await);
    }
}

#[tokio::test]
async fn another_project_is_not_found_for_a_project_scoped_key_and_touches_no_storage() {
    let app = harness(|_| {});
    let who = principal(&[Permission::Admin], KeyScope::Project(project_id(1)));
    let other = project_id(2);
    assert_project_not_found("list_tools", app.list_tools(&who, other, PageRequest::default()).await);
    assert_project_not_found("get_tool", app.get_tool(&who, other, tool_id()).await);
    assert_project_not_found("create_tool", app.create_tool(&who, other, new_tool()).await);
    let patch = ToolPatch::default();
    assert_project_not_found("update_tool", app.update_tool(&who, other, tool_id(), patch).await);
    assert_project_not_found("delete_tool", app.delete_tool(&who, other, tool_id()).await);
    assert_project_not_found("replay", app.authorize(&who, &Guarded::Tools { project: other }).await);
}

#[tokio::test]
async fn idempotent_replays_of_a_tool_creation_need_admin() {
    for cell in NEEDS_ADMIN {
        let app = harness(|s| {
            if cell.1 {
                s.expect_get_project().returning(|_, id| Ok(Some(project(id.as_uuid().as_u128()))));
            }
        });
        let who = principal(&[cell.0], KeyScope::Account);
        assert_gate(
            "authorize",
            Permission::Admin,
            cell,
            app.authorize(&who, &Guarded::Tools { project: project_id(1) }).await,
        );
    }
}

#[tokio::test]
async fn a_created_tool_has_its_secret_sealed_to_its_id_and_no_event_carries_it() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let written = Arc::new(Mutex::new(None));
    let keep = written.clone();
    let app = harness(|s| {
        capture_events(s, &events, move |tx| {
            tx_with(tx, false);
            tx.expect_insert_tool().times(1).returning(move |t| {
                *keep.lock().unwrap() = Some(t.clone());
                Ok(())
            });
        });
    });
    let tool = app.create_tool(&admin(), project_id(1), new_tool()).await.unwrap();
    assert_eq!(written.lock().unwrap().as_ref(), Some(&tool));
    assert_eq!((tool.id, tool.project_id, tool.created_at), (tool_id(), project_id(1), now()));
    let sealed = tool.auth_secret.as_ref().unwrap();
    assert!(!sealed.as_stored().contains(SECRET));
    assert_eq!(test_keyring().open_tool_secret(tool.id, sealed).unwrap().expose_secret(), SECRET);
    let events = events.lock().unwrap();
    assert_eq!(events.iter().map(|e| e.event_type).collect::<Vec<_>>(), [EventType::ToolCreated]);
    let payload = events[0].data.as_str();
    assert!(!payload.contains(SECRET) && !payload.contains(sealed.as_stored()), "{payload}");
    assert_eq!(events[0].data.to_value()["has_auth_secret"], json!(true));
    assert_eq!(events[0].data.to_value()["name"], json!("crm-contacts-get_by_id"));
}

#[tokio::test]
async fn an_invalid_definition_names_every_refused_field() {
    let app = harness(|_| {});
    let bad = ToolDraft { name: "Bad Name".into(), timeout_ms: Some(30_001), http_method: "HEAD".into(), ..draft() };
    let Err(v) = app.tool_definition(bad) else { panic!("expected a validation error") };
    let mut fields: Vec<&str> = v.errors().map(|f| f.field.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["http_method", "name", "timeout_ms"]);
}

#[tokio::test]
async fn plain_http_base_urls_need_the_allow_private_setting() {
    let local = || ToolDraft { base_url: "http://127.0.0.1:9".into(), ..draft() };
    let strict = harness(|_| {});
    let err = strict.tool_definition(local()).expect_err("plain http refused");
    assert_eq!(err.first().field, "base_url");
    let http = ToolPatchDraft { base_url: Some("http://127.0.0.1:9".into()), ..Default::default() };
    assert_eq!(strict.tool_changes(http.clone()).expect_err("refused").first().field, "base_url");
    let relaxed = harness(|s| {
        expect_tx(s, |tx| {
            tx_with(tx, false);
            tx.expect_insert_tool().returning(|_| Ok(()));
        });
    })
    .with_tools_allow_private(true);
    let tool = relaxed.create_tool(&admin(), project_id(1), relaxed.tool_definition(local()).unwrap()).await.unwrap();
    assert_eq!(tool.base_url.as_str(), "http://127.0.0.1:9");
    assert!(relaxed.tool_changes(http).is_ok());
}

#[tokio::test]
async fn a_name_already_used_in_the_project_is_a_validation_error_on_name() {
    let app = harness(|s| {
        expect_tx_without_commit(s, |tx| {
            tx_with(tx, false);
            tx.expect_insert_tool().returning(|_| Err(RepoError::Conflict("tools_project_name_key".into())));
        });
    });
    let result = app.create_tool(&admin(), project_id(1), new_tool()).await;
    assert_invalid("create_tool", "name", result);
    let app = harness(|s| {
        expect_tx_without_commit(s, |tx| {
            tx_with(tx, true);
            tx.expect_update_tool().returning(|_| Err(RepoError::Conflict("tools_project_name_key".into())));
        });
    });
    let rename = changes(ToolPatchDraft { name: Some("taken".into()), ..ToolPatchDraft::default() });
    assert_invalid("update_tool", "name", app.update_tool(&admin(), project_id(1), tool_id(), rename).await);
}

#[tokio::test]
async fn a_no_op_patch_writes_nothing_and_records_no_event() {
    let app = harness(|s| {
        expect_tx_without_commit(s, |tx| tx_with(tx, true));
    });
    let same = changes(ToolPatchDraft {
        enabled: Some(true),
        name: Some("crm-contacts-get_by_id".into()),
        ..Default::default()
    });
    assert_eq!(app.update_tool(&admin(), project_id(1), tool_id(), same).await.unwrap(), stored());
}

#[tokio::test]
async fn a_new_secret_is_sealed_and_the_update_event_does_not_carry_it() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let app = harness(|s| {
        capture_events(s, &events, |tx| {
            tx_with(tx, true);
            tx.expect_update_tool().times(1).returning(|_| Ok(()));
        });
    });
    let patch =
        changes(ToolPatchDraft { encrypted_auth_secret: Some("a-brand-new-secret".into()), ..Default::default() });
    let tool = app.update_tool(&admin(), project_id(1), tool_id(), patch).await.unwrap();
    let opened = test_keyring().open_tool_secret(tool.id, tool.auth_secret.as_ref().unwrap()).unwrap();
    assert_eq!((opened.expose_secret(), tool.updated_at), ("a-brand-new-secret", now()));
    let events = events.lock().unwrap();
    assert_eq!(events[0].event_type, EventType::ToolUpdated);
    assert!(!events[0].data.as_str().contains("a-brand-new-secret"));
}

#[tokio::test]
async fn a_change_breaking_a_rule_between_fields_is_refused_and_writes_nothing() {
    let app = harness(|s| {
        expect_tx_without_commit(s, |tx| tx_with(tx, true));
    });
    let body = changes(ToolPatchDraft { body_template: Some(json!({"a": 1})), ..Default::default() });
    assert_invalid("GET with a body", "body_template", app.update_tool(&admin(), project_id(1), tool_id(), body).await);
}

#[tokio::test]
async fn a_missing_tool_is_not_found() {
    let app = harness(|s| {
        s.expect_get_project().returning(|_, id| Ok(Some(project(id.as_uuid().as_u128()))));
        s.expect_get_tool().returning(|_, _| Ok(None));
        expect_tx_without_commit(s, |tx| {
            tx_with(tx, false);
            tx.expect_lock_tool().returning(|_, _| Ok(None));
        });
    });
    let result = app.get_tool(&admin(), project_id(1), tool_id()).await;
    assert!(matches!(result, Err(AppError::NotFound("tool"))), "{result:?}");
    let result = app.delete_tool(&admin(), project_id(1), tool_id()).await;
    assert!(matches!(result, Err(AppError::NotFound("tool"))), "{result:?}");
}

#[tokio::test]
async fn deleting_a_tool_records_its_last_state_without_the_secret() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let app = harness(|s| {
        capture_events(s, &events, |tx| {
            tx_with(tx, true);
            tx.expect_delete_tool()
                .withf(|p, id, at| *p == project_id(1) && *id == tool_id() && *at == now())
                .times(1)
                .returning(|_, _, _| Ok(()));
        });
    });
    app.delete_tool(&admin(), project_id(1), tool_id()).await.unwrap();
    let events = events.lock().unwrap();
    assert_eq!(events[0].event_type, EventType::ToolDeleted);
    assert_eq!(events[0].data.to_value()["id"], json!(tool_id().to_string()));
    assert!(!events[0].data.as_str().contains(SECRET));
}
