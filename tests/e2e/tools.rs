//! Custom tools over HTTP: CRUD, validation naming each field, permissions, the
//! write-only secret (never answered, never in events or logs, sealed at rest),
//! pagination, plain-`http` base URLs behind `TENGINE_TOOLS_ALLOW_PRIVATE`, a
//! project's deletion taking its tools with it, and `tengine secrets rotate` re-sealing
//! tool secrets.

use reqwest::StatusCode;
use serde_json::{json, Value};

use tengine_domain::secret_key::ServerKey;

use crate::helpers::{assert_id, assert_timestamp, ids, Backend, Options, TestApp};

both!(
    a_tool_is_created_read_listed_updated_and_deleted,
    an_invalid_tool_is_refused_with_every_bad_field_named,
    a_name_is_unique_in_a_project_and_free_again_after_deletion,
    reading_tools_needs_read_and_changing_them_needs_admin,
    the_auth_secret_is_never_answered_nor_in_events_nor_logs_and_sealed_at_rest,
    tools_are_paged_newest_first,
    plain_http_base_urls_need_tools_allow_private,
    deleting_a_project_deletes_its_tools,
    webhooks_can_subscribe_to_tool_events,
);

const SECRET: &str = "tool-secret-e2e-0123456789";

fn tools_path(project: &str) -> String {
    format!("/api/v1/projects/{project}/tools")
}

/// A valid definition named `name`, authenticated with [`SECRET`].
pub(crate) fn definition(name: &str) -> Value {
    json!({
        "name": name,
        "description": "Looks up a CRM contact by id.",
        "input_schema": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
        "base_url": "https://api.example.com",
        "http_method": "POST",
        "endpoint_path": "/v1/contacts/{id}",
        "headers_template": {"X-Trace": "t-{id}"},
        "query_template": {"expand": "notes"},
        "body_template": {"id": "{id}", "n": 1},
        "inject_member_identity": ["email", "id"],
        "auth_strategy": "hmac_signature",
        "encrypted_auth_secret": SECRET,
        "timeout_ms": 2500
    })
}

async fn create(app: &TestApp, project: &str, body: &Value) -> Value {
    let res = app.post_json(&tools_path(project), app.admin_key(), body).await;
    res.expect(StatusCode::CREATED);
    res.body
}

fn refused_fields(details: &Value) -> Vec<String> {
    let mut fields: Vec<String> = details["errors"]
        .as_array()
        .expect("field errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field").to_owned())
        .collect();
    fields.sort();
    fields
}

async fn a_tool_is_created_read_listed_updated_and_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("tools").await;
    let res = app.post_json(&tools_path(&project), app.admin_key(), &definition("crm-contacts-get_by_id")).await;
    res.expect(StatusCode::CREATED);
    let tool = res.body.clone();
    assert_id(&tool["id"], "tool_");
    let id = tool["id"].as_str().expect("id");
    assert_eq!(res.header("location"), Some(format!("{}/{id}", tools_path(&project)).as_str()));
    assert_eq!(tool["project_id"], json!(project));
    assert_eq!(tool["headers_template"], json!({"X-Trace": "t-{id}"}));
    assert_eq!(tool["body_template"], json!({"id": "{id}", "n": 1}));
    assert_eq!(tool["inject_member_identity"], json!(["id", "email"]));
    assert_eq!((tool["enabled"].clone(), tool["require_member"].clone()), (json!(true), json!(false)));
    assert_eq!((tool["timeout_ms"].clone(), tool["max_response_bytes"].clone()), (json!(2500), json!(262_144)));
    assert_eq!(
        (tool["auth_strategy"].clone(), tool["has_auth_secret"].clone()),
        (json!("hmac_signature"), json!(true))
    );
    assert!(tool.get("encrypted_auth_secret").is_none());
    assert_eq!(assert_timestamp(&tool["created_at"]), assert_timestamp(&tool["updated_at"]));

    let one = format!("{}/{id}", tools_path(&project));
    let got = app.get(&one, app.admin_key()).await;
    got.expect(StatusCode::OK);
    assert_eq!(got.body, tool);
    let list = app.get(&tools_path(&project), app.admin_key()).await;
    list.expect(StatusCode::OK);
    assert_eq!((ids(&list.body), list.body["pagination"]["total"].clone()), (vec![id.to_owned()], json!(1)));

    let patch = json!({"enabled": false, "http_method": "GET", "body_template": null, "auth_strategy": "none",
                       "headers_template": null, "description": "Changed."});
    let updated = app.patch_json(&one, app.admin_key(), &patch).await;
    updated.expect(StatusCode::OK);
    let u = &updated.body;
    assert_eq!(
        (u["enabled"].clone(), u["http_method"].clone(), u["description"].clone()),
        (json!(false), json!("GET"), json!("Changed."))
    );
    assert_eq!((u["body_template"].clone(), u["headers_template"].clone()), (Value::Null, json!({})));
    assert_eq!((u["auth_strategy"].clone(), u["has_auth_secret"].clone()), (json!("none"), json!(false)));
    assert!(assert_timestamp(&u["updated_at"]) > assert_timestamp(&tool["updated_at"]));
    // A patch that changes nothing leaves updated_at alone.
    let same = app.patch_json(&one, app.admin_key(), &json!({"enabled": false})).await;
    same.expect(StatusCode::OK);
    assert_eq!(same.body["updated_at"], u["updated_at"]);

    app.delete(&one, app.admin_key()).await.expect(StatusCode::NO_CONTENT);
    app.get(&one, app.admin_key()).await.error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.delete(&one, app.admin_key()).await.error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.patch_json(&one, app.admin_key(), &json!({"enabled": true})).await.error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let malformed = format!("{}/tool_nope", tools_path(&project));
    app.get(&malformed, app.admin_key()).await.error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let types: Vec<Value> = app.get(&format!("/api/v1/projects/{project}/events"), app.admin_key()).await.body["data"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert_eq!(types, [json!("tool.deleted"), json!("tool.updated"), json!("tool.created"), json!("project.created")]);
}

async fn an_invalid_tool_is_refused_with_every_bad_field_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("tools").await;
    let mut bad = definition("Bad Name");
    bad["input_schema"] = json!({"type": "string"});
    bad["base_url"] = json!("https://api.example.com/v1");
    bad["http_method"] = json!("HEAD");
    bad["endpoint_path"] = json!("no-slash");
    bad["headers_template"] = json!({"Host": "evil", "X-Ok": "a\r\nInjected: 1"});
    bad["inject_member_identity"] = json!(["id", "phone"]);
    bad["timeout_ms"] = json!(30_001);
    bad["max_response_bytes"] = json!(0);
    let res = app.post_json(&tools_path(&project), app.admin_key(), &bad).await;
    let body = res.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").clone();
    let fields = refused_fields(&body);
    assert_eq!(
        fields,
        [
            "base_url",
            "endpoint_path",
            "headers_template.Host",
            "headers_template.X-Ok",
            "http_method",
            "inject_member_identity[1]",
            "input_schema/type",
            "max_response_bytes",
            "name",
            "timeout_ms",
        ]
    );
    // Rules between fields: a GET carries no body; a strategy needs its secret.
    let mut get_with_body = definition("x");
    get_with_body["http_method"] = json!("GET");
    get_with_body.as_object_mut().expect("object").remove("encrypted_auth_secret");
    let res = app.post_json(&tools_path(&project), app.admin_key(), &get_with_body).await;
    let body = res.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").clone();
    assert_eq!(refused_fields(&body), ["body_template", "encrypted_auth_secret"]);
    // A missing required field, an unknown field and a null where nothing clears.
    let mut missing = definition("x");
    missing.as_object_mut().expect("object").remove("input_schema");
    let res = app.post_json(&tools_path(&project), app.admin_key(), &missing).await;
    assert_eq!(res.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"], "input_schema");
    let mut unknown = definition("x");
    unknown["secret"] = json!("x");
    let res = app.post_json(&tools_path(&project), app.admin_key(), &unknown).await;
    assert_eq!(res.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"], "secret");
    let id = create(&app, &project, &definition("ok")).await["id"].as_str().expect("id").to_owned();
    let res = app
        .patch_json(&format!("{}/{id}", tools_path(&project)), app.admin_key(), &json!({"name": null, "enabled": null}))
        .await;
    let body = res.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR").clone();
    assert_eq!(refused_fields(&body), ["enabled", "name"]);
    // Nothing was stored by the refused requests.
    assert_eq!(app.get(&tools_path(&project), app.admin_key()).await.body["pagination"]["total"], json!(1));
}

async fn a_name_is_unique_in_a_project_and_free_again_after_deletion(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (project, other) = (app.project("a").await, app.project("b").await);
    let first = create(&app, &project, &definition("search")).await;
    let res = app.post_json(&tools_path(&project), app.admin_key(), &definition("search")).await;
    let err = res.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR");
    assert_eq!(err["field"], "name");
    assert_eq!(err["reason"], "already used in this project");
    create(&app, &other, &definition("search")).await;
    let second = create(&app, &project, &definition("lookup")).await;
    let second_path = format!("{}/{}", tools_path(&project), second["id"].as_str().expect("id"));
    let res = app.patch_json(&second_path, app.admin_key(), &json!({"name": "search"})).await;
    assert_eq!(res.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"], "name");
    let first_path = format!("{}/{}", tools_path(&project), first["id"].as_str().expect("id"));
    app.delete(&first_path, app.admin_key()).await.expect(StatusCode::NO_CONTENT);
    app.patch_json(&second_path, app.admin_key(), &json!({"name": "search"})).await.expect(StatusCode::OK);
}

async fn reading_tools_needs_read_and_changing_them_needs_admin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("tools").await;
    let tool = create(&app, &project, &definition("t")).await;
    let one = format!("{}/{}", tools_path(&project), tool["id"].as_str().expect("id"));
    let (_, read) = app.key(&project, &["read"]).await;
    let (_, write) = app.key(&project, &["write", "webhook"]).await;
    let (_, admin) = app.key(&project, &["admin"]).await;
    let other = app.project("other").await;
    let (_, foreign) = app.key(&other, &["admin"]).await;

    app.get(&tools_path(&project), &read).await.expect(StatusCode::OK);
    app.get(&one, &read).await.expect(StatusCode::OK);
    app.get(&one, &write).await.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS");
    for key in [&read, &write] {
        let res = app.post_json(&tools_path(&project), key, &definition("nope")).await;
        res.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS");
        app.patch_json(&one, key, &json!({"enabled": false}))
            .await
            .error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS");
        app.delete(&one, key).await.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS");
    }
    // As for every body, validation answers before the permission check.
    let res = app.post_json(&tools_path(&project), &read, &definition("Bad Name")).await;
    assert_eq!(res.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"], "name");
    // Another project's key sees no such project, even as admin.
    app.get(&one, &foreign).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    app.delete(&one, &foreign).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    // A project admin key may do everything.
    create_as(&app, &admin, &project, &definition("by-admin")).await;
    app.patch_json(&one, &admin, &json!({"enabled": false})).await.expect(StatusCode::OK);
    app.delete(&one, &admin).await.expect(StatusCode::NO_CONTENT);
}

async fn create_as(app: &TestApp, key: &str, project: &str, body: &Value) -> Value {
    let res = app.post_json(&tools_path(project), key, body).await;
    res.expect(StatusCode::CREATED);
    res.body
}

async fn the_auth_secret_is_never_answered_nor_in_events_nor_logs_and_sealed_at_rest(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("tools").await;
    let res = app.post_json(&tools_path(&project), app.admin_key(), &definition("secretive")).await;
    res.expect(StatusCode::CREATED);
    assert!(!res.text.contains(SECRET));
    let one = format!("{}/{}", tools_path(&project), res.body["id"].as_str().expect("id"));
    let rotated = "tool-secret-rotated-9876543210";
    let res = app.patch_json(&one, app.admin_key(), &json!({"encrypted_auth_secret": rotated})).await;
    res.expect(StatusCode::OK);
    assert_eq!(res.body["has_auth_secret"], json!(true));
    assert!(!res.text.contains(rotated));
    // The idempotent replay of a creation answers the same body, still without the secret.
    let key = [("idempotency-key", "tool-create-1")];
    let post = |body: Value| {
        let app = &app;
        let path = tools_path(&project);
        async move {
            let mut headers: Vec<(&str, String)> = vec![
                ("authorization", format!("Bearer {}", app.admin_key())),
                ("content-type", "application/json".into()),
            ];
            headers.extend(key.iter().map(|(k, v)| (*k, (*v).to_owned())));
            app.send(reqwest::Method::POST, &path, &headers, Some(body.to_string().into_bytes())).await
        }
    };
    let first = post(definition("replayed")).await;
    first.expect(StatusCode::CREATED);
    let again = post(definition("replayed")).await;
    again.expect(StatusCode::CREATED);
    assert_eq!((again.header("idempotent-replayed"), &again.body), (Some("true"), &first.body));
    assert!(!again.text.contains(SECRET));
    app.delete(&one, app.admin_key()).await.expect(StatusCode::NO_CONTENT);

    for path in [tools_path(&project), one.clone(), format!("/api/v1/projects/{project}/events?per_page=100")] {
        let res = app.get(&path, app.admin_key()).await;
        assert!(!res.text.contains(SECRET) && !res.text.contains(rotated), "{path}: {}", res.text);
    }
    let events = app.get(&format!("/api/v1/projects/{project}/events?per_page=100"), app.admin_key()).await;
    let tool_events = events.body["data"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["type"].as_str().is_some_and(|t| t.starts_with("tool.")));
    assert!(tool_events.clone().count() >= 4);
    assert!(tool_events
        .clone()
        .all(|e| e["data"]["has_auth_secret"].is_boolean() && e["data"].get("auth_secret").is_none()));
    let raw = String::from_utf8_lossy(&app.raw_database()).into_owned();
    assert!(raw.contains("secretive"), "the tool is stored");
    assert!(!raw.contains(SECRET) && !raw.contains(rotated), "a tool secret is stored in clear");
    let logs = app.logs();
    assert!(logs.contains("tool created"));
    assert!(!logs.contains(SECRET) && !logs.contains(rotated), "a tool secret reached the logs");
}

async fn tools_are_paged_newest_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("tools").await;
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(
            create(&app, &project, &definition(&format!("tool-{i}"))).await["id"].as_str().expect("id").to_owned(),
        );
    }
    made.reverse();
    let page = app.get(&format!("{}?per_page=2&page=2", tools_path(&project)), app.admin_key()).await;
    page.expect(StatusCode::OK);
    assert_eq!(ids(&page.body), made[2..4]);
    assert_eq!(page.body["pagination"], json!({"page": 2, "per_page": 2, "total": 5, "has_more": true}));
    let link = page.header("link").expect("a Link header");
    assert!(link.contains(&format!("<{}?page=3&per_page=2>; rel=\"next\"", tools_path(&project))), "{link}");
    let res = app.get(&format!("{}?per_page=101", tools_path(&project)), app.admin_key()).await;
    res.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR");
}

async fn plain_http_base_urls_need_tools_allow_private(backend: Backend) {
    let mut local = definition("local");
    local["base_url"] = json!("http://127.0.0.1:9");
    let strict = TestApp::spawn(backend).await;
    let project = strict.project("tools").await;
    let res = strict.post_json(&tools_path(&project), strict.admin_key(), &local).await;
    assert_eq!(res.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"], "base_url");

    let options = Options { env: vec![("TENGINE_TOOLS_ALLOW_PRIVATE".into(), "true".into())], ..Options::default() };
    let relaxed = TestApp::spawn_with(backend, options).await;
    let project = relaxed.project("tools").await;
    let tool = create(&relaxed, &project, &local).await;
    assert_eq!(tool["base_url"], json!("http://127.0.0.1:9"));
}

async fn deleting_a_project_deletes_its_tools(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (doomed, kept) = (app.project("doomed").await, app.project("kept").await);
    let gone = create(&app, &doomed, &definition("shared")).await;
    create(&app, &kept, &definition("shared")).await;
    app.delete(&format!("/api/v1/projects/{doomed}"), app.admin_key()).await.expect(StatusCode::NO_CONTENT);
    let one = format!("{}/{}", tools_path(&doomed), gone["id"].as_str().expect("id"));
    app.get(&one, app.admin_key()).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    app.get(&tools_path(&doomed), app.admin_key()).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    let live = app.sql("SELECT project_id FROM tools WHERE deleted_at IS NULL ORDER BY project_id");
    assert_eq!(live, kept, "only the kept project's tool is live");
    assert_eq!(app.get(&tools_path(&kept), app.admin_key()).await.body["pagination"]["total"], json!(1));
}

async fn webhooks_can_subscribe_to_tool_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("tools").await;
    let hook =
        json!({"url": "https://hooks.example.com/x", "events": ["tool.created", "tool.updated", "tool.deleted"]});
    let res = app.post_json(&format!("/api/v1/projects/{project}/webhooks"), app.admin_key(), &hook).await;
    res.expect(StatusCode::CREATED);
    assert_eq!(res.body["events"], hook["events"]);
    create(&app, &project, &definition("t")).await;
    let res = app.get(&format!("/api/v1/projects/{project}/events?type=tool.created"), app.admin_key()).await;
    res.expect(StatusCode::OK);
    let data = &res.body["data"][0]["data"];
    assert_eq!((data["name"].clone(), data["project_id"].clone()), (json!("t"), json!(project)));
}

/// `tengine secrets rotate` with these keys.
async fn rotate(app: &TestApp, key: &str, previous: &str) -> std::process::Output {
    app.cli_with_env(&["secrets", "rotate"], &[("TENGINE_SECRET_KEY", key), ("TENGINE_SECRET_KEYS_PREVIOUS", previous)])
        .await
}

fn server_key(byte: u8) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

#[tokio::test]
async fn secrets_rotate_reseals_tool_secrets_under_the_new_key() {
    let (old, new) = (server_key(3), server_key(4));
    let key_id = |b64: &str| b64.parse::<ServerKey>().expect("a valid key").id().to_string();
    let env = vec![("TENGINE_SECRET_KEY".to_owned(), old.clone())];
    let app = TestApp::spawn_with(Backend::Postgres, Options { env, ..Options::default() }).await;
    let project = app.project("rotation").await;
    let tool = create(&app, &project, &definition("rotated")).await;
    let stored = || app.sql("SELECT auth_secret FROM tools");
    assert!(stored().starts_with(&format!("tengine-sealed:v1:{}:", key_id(&old))), "{}", stored());
    // Without the old key the tool's secret cannot be opened: the command fails naming it.
    let out = rotate(&app, &new, "").await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(tool["id"].as_str().expect("id")));
    let out = rotate(&app, &new, &old).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stored().starts_with(&format!("tengine-sealed:v1:{}:", key_id(&new))), "{}", stored());
    assert!(rotate(&app, &new, "").await.status.success(), "the new key alone opens everything");
}
