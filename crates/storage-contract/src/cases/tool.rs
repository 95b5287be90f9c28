//! Custom tools: writes and reads, unique names among a project's live tools, and soft
//! deletion (of one tool, and of a project's tools with the project).

use chrono::{DateTime, Utc};
use serde_json::json;
use tengine_domain::secret_key::SealedSecret;
use tengine_domain::{AccountId, NewTool, PageRequest, ProjectId, Tool, ToolDraft, ToolId, ToolPatch, ToolPatchDraft};
use tengine_ports::{RepoError, Store};
use uuid::Uuid;

use super::{assert_conflict, assert_not_found};
use crate::fixtures::{account, at, project};

/// A tool named `name` of `project`, with every optional field set, created at `created`.
pub fn new_tool(account: AccountId, project: ProjectId, name: &str, created: DateTime<Utc>) -> Tool {
    let draft = ToolDraft {
        name: name.to_owned(),
        description: "Looks a contact up.\nReturns \"Ünïcode\" names.".to_owned(),
        input_schema: json!({"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}),
        base_url: "https://api.example.com:8443".to_owned(),
        http_method: "POST".to_owned(),
        endpoint_path: "/v1/contacts/{id}".to_owned(),
        headers_template: Some(json!({"X-Trace": "t-{id}", "Accept": "application/json"})),
        query_template: Some(json!({"expand": "notes", "who": "{tengine.member_id}"})),
        body_template: Some(json!({"id": "{id}", "n": [1, true, null]})),
        enabled: Some(false),
        require_member: Some(true),
        log_payloads: Some(true),
        inject_member_identity: Some(vec!["roles".into(), "id".into()]),
        auth_strategy: Some("hmac_signature".into()),
        encrypted_auth_secret: Some("s3cr3t-value".into()),
        timeout_ms: Some(2500),
        max_response_bytes: Some(1024),
    };
    let checked = NewTool::parse(draft, false).expect("a valid tool");
    let id = ToolId::from_uuid(Uuid::now_v7());
    Tool::new(id, account, project, checked, |_| SealedSecret::from_stored("sealed-secret".into()), created)
}

/// Inserts `tool` in its own transaction.
async fn insert<S: Store>(store: &S, tool: &Tool) -> Result<(), RepoError> {
    let mut tx = store.begin().await.expect("begin");
    tx.insert_tool(tool).await?;
    tx.commit().await.expect("commit");
    Ok(())
}

/// Every field survives insert, get, lock, update and list; a tool is only found under
/// its own project.
pub async fn a_tool_round_trips_every_field<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let other = project(store, acct.id, at(0)).await;
    let mut t = new_tool(acct.id, p.id, "crm-contacts-get_by_id", at(1));
    insert(store, &t).await.expect("insert");
    assert_eq!(store.get_tool(p.id, t.id).await.expect("get"), Some(t.clone()));
    assert_eq!(store.get_tool(other.id, t.id).await.expect("get"), None);
    assert_eq!(store.get_tool(p.id, ToolId::from_uuid(Uuid::now_v7())).await.expect("get"), None);

    let patch = ToolPatch::parse(
        ToolPatchDraft {
            name: Some("renamed".into()),
            description: Some("Another".into()),
            input_schema: Some(json!({"type": "object"})),
            base_url: Some("http://127.0.0.1:9".into()),
            http_method: Some("GET".into()),
            endpoint_path: Some("/v2".into()),
            headers_template: Some(serde_json::Value::Null),
            query_template: Some(json!({})),
            body_template: Some(serde_json::Value::Null),
            enabled: Some(true),
            require_member: Some(false),
            log_payloads: Some(false),
            inject_member_identity: Some(vec![]),
            auth_strategy: Some("none".into()),
            encrypted_auth_secret: None,
            timeout_ms: Some(30_000),
            max_response_bytes: Some(4 << 20),
        },
        true,
    )
    .expect("a valid patch");
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.lock_tool(p.id, t.id).await.expect("lock"), Some(t.clone()));
    assert_eq!(tx.lock_tool(other.id, t.id).await.expect("lock"), None);
    assert!(t.apply(patch, |_| unreachable!("no new secret"), at(9)).expect("apply"));
    assert_eq!((t.auth_secret.as_ref(), t.body_template.as_ref()), (None, None));
    tx.update_tool(&t).await.expect("update");
    assert_eq!(tx.lock_tool(p.id, t.id).await.expect("lock"), Some(t.clone()));
    tx.commit().await.expect("commit");
    assert_eq!(store.get_tool(p.id, t.id).await.expect("get"), Some(t.clone()));
    let page = store.list_tools(p.id, PageRequest::default()).await.expect("list");
    assert_eq!((page.items, page.total), (vec![t], 1));
}

/// Two live tools of a project never share a name; other projects, and names freed by
/// a deletion, are free to use.
pub async fn tool_names_are_unique_among_a_projects_live_tools<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let other = project(store, acct.id, at(0)).await;
    let first = new_tool(acct.id, p.id, "search", at(1));
    insert(store, &first).await.expect("insert");
    assert_conflict(insert(store, &new_tool(acct.id, p.id, "search", at(2))).await);
    insert(store, &new_tool(acct.id, other.id, "search", at(2))).await.expect("another project");

    let mut second = new_tool(acct.id, p.id, "lookup", at(3));
    insert(store, &second).await.expect("insert");
    second.name = first.name.clone();
    let mut tx = store.begin().await.expect("begin");
    assert_conflict(tx.update_tool(&second).await);
    drop(tx);

    let mut tx = store.begin().await.expect("begin");
    tx.delete_tool(p.id, first.id, at(4)).await.expect("delete");
    tx.update_tool(&second).await.expect("the name is free again");
    tx.commit().await.expect("commit");
    assert_eq!(store.get_tool(p.id, second.id).await.expect("get").map(|t| t.name), Some(first.name));
}

/// Live tools are listed newest first (ties by id, descending) with the total.
pub async fn tools_are_listed_newest_first_with_pages_and_totals<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let mut tools = Vec::new();
    for (i, secs) in [3, 1, 3, 2, 5].into_iter().enumerate() {
        let t = new_tool(acct.id, p.id, &format!("tool-{i}"), at(secs));
        insert(store, &t).await.expect("insert");
        tools.push(t);
    }
    let gone = tools.remove(4);
    let mut tx = store.begin().await.expect("begin");
    tx.delete_tool(p.id, gone.id, at(6)).await.expect("delete");
    tx.commit().await.expect("commit");
    tools.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));

    let first = store.list_tools(p.id, PageRequest::new(1, 3)).await.expect("list");
    assert_eq!((first.items.as_slice(), first.total), (&tools[..3], 4));
    let second = store.list_tools(p.id, PageRequest::new(2, 3)).await.expect("list");
    assert_eq!((second.items.as_slice(), second.total), (&tools[3..], 4));
    let empty = store.list_tools(project(store, acct.id, at(0)).await.id, PageRequest::default()).await;
    assert_eq!(empty.expect("list").total, 0);
}

/// A deleted tool is no longer read, locked, changed or deleted again.
pub async fn a_deleted_tool_is_gone_for_every_read_and_write<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let other = project(store, acct.id, at(0)).await;
    let t = new_tool(acct.id, p.id, "doomed", at(1));
    insert(store, &t).await.expect("insert");
    let mut tx = store.begin().await.expect("begin");
    assert_not_found(tx.delete_tool(other.id, t.id, at(2)).await);
    drop(tx);
    let mut tx = store.begin().await.expect("begin");
    tx.delete_tool(p.id, t.id, at(2)).await.expect("delete");
    tx.commit().await.expect("commit");

    assert_eq!(store.get_tool(p.id, t.id).await.expect("get"), None);
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.lock_tool(p.id, t.id).await.expect("lock"), None);
    assert_not_found(tx.update_tool(&t).await);
    assert_not_found(tx.delete_tool(p.id, t.id, at(3)).await);
}

/// Deleting a project soft-deletes its tools, and only its tools.
pub async fn deleting_a_project_deletes_its_tools<S: Store>(store: &S) {
    let acct = account(store).await;
    let doomed = project(store, acct.id, at(0)).await;
    let kept = project(store, acct.id, at(0)).await;
    let gone = new_tool(acct.id, doomed.id, "shared-name", at(1));
    let stays = new_tool(acct.id, kept.id, "shared-name", at(1));
    insert(store, &gone).await.expect("insert");
    insert(store, &stays).await.expect("insert");
    let mut tx = store.begin().await.expect("begin");
    tx.delete_project(acct.id, doomed.id, at(2)).await.expect("delete");
    tx.commit().await.expect("commit");

    assert_eq!(store.get_tool(doomed.id, gone.id).await.expect("get"), None);
    assert_eq!(store.list_tools(doomed.id, PageRequest::default()).await.expect("list").total, 0);
    assert_eq!(store.get_tool(kept.id, stays.id).await.expect("get"), Some(stays));
}

/// Live tools' secrets are walked in id order (tools without one, and deleted tools,
/// skipped) and replaced only while unchanged.
pub async fn tool_secrets_are_walked_in_id_order_and_replaced_only_if_unchanged<S: Store>(store: &S) {
    let acct = account(store).await;
    let p = project(store, acct.id, at(0)).await;
    let mut tools: Vec<Tool> = (0..3).map(|i| new_tool(acct.id, p.id, &format!("t{i}"), at(1))).collect();
    tools[1].auth_secret = None;
    tools[1].auth_strategy = tengine_domain::tool::AuthStrategy::None;
    let gone = new_tool(acct.id, p.id, "gone", at(1));
    for t in tools.iter().chain([&gone]) {
        insert(store, t).await.expect("insert");
    }
    let mut tx = store.begin().await.expect("begin");
    tx.delete_tool(p.id, gone.id, at(2)).await.expect("delete");
    tx.commit().await.expect("commit");

    let mut with_secret: Vec<&Tool> = tools.iter().filter(|t| t.auth_secret.is_some()).collect();
    with_secret.sort_by_key(|t| t.id);
    let first = store.tool_secrets_after(None, 1).await.expect("walk");
    assert_eq!(first, vec![(with_secret[0].id, with_secret[0].auth_secret.clone().expect("secret"))]);
    let rest = store.tool_secrets_after(Some(first[0].0), 10).await.expect("walk");
    assert_eq!(rest.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [with_secret[1].id]);

    let (id, old) = first[0].clone();
    let new = SealedSecret::from_stored("resealed".into());
    assert!(!store.replace_tool_secret(id, &new, &new).await.expect("replace"), "not the stored value");
    assert!(store.replace_tool_secret(id, &old, &new).await.expect("replace"));
    let got = store.get_tool(p.id, id).await.expect("get").expect("live");
    assert_eq!(got.auth_secret, Some(new));
}
