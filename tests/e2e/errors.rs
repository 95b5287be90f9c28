//! The error contract: every malformed request gets its documented status, code and
//! details in the JSON envelope (with the request id), never a 500.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Backend, Resp, TestApp};

both!(
    unparseable_json_is_a_400_validation_error,
    bytes_after_the_json_body_are_a_400_and_create_nothing,
    wrong_unknown_and_missing_fields_are_named,
    several_invalid_fields_are_all_listed,
    invisible_format_characters_in_names_and_descriptions_are_refused,
    a_past_expiry_is_listed_with_the_other_invalid_fields,
    bodies_over_one_mebibyte_are_refused_with_413,
    bodies_that_are_not_json_are_refused_with_415,
    unknown_routes_and_wrong_methods_have_their_own_errors,
    malformed_ids_in_paths_are_simply_not_found,
    bad_paging_parameters_are_named,
    weird_paths_never_cause_a_server_error,
);

const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

fn auth_json(app: &TestApp) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {}", app.admin_key())), ("content-type", "application/json".to_owned())]
}

async fn post_raw(app: &TestApp, path: &str, body: &[u8]) -> Resp {
    app.send(Method::POST, path, &auth_json(app), Some(body.to_vec())).await
}

/// Asserts a 422 whose `details.field` starts with `field` (list elements are `field[i]`).
#[track_caller]
fn assert_field(res: &Resp, field: &str) {
    let details = res.error(UNPROCESSABLE, "VALIDATION_ERROR");
    let named = details["field"].as_str().unwrap_or_default();
    assert!(named == field || named.starts_with(&format!("{field}[")), "expected field {field}, got {}", res.text);
    assert!(details["reason"].as_str().is_some_and(|r| !r.is_empty()), "a field error says why: {}", res.text);
}

async fn unparseable_json_is_a_400_validation_error(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("json").await;
    for body in [
        &b"{\"name\":"[..],
        b"not json",
        b"{\"name\": \"a\0b\"}",
        b"{\"name\": \"x\",}",
        b"",
        b"{'name': 'x'}",
        b"\xff\xfe",
    ] {
        let res = post_raw(&app, "/api/v1/projects", body).await;
        res.error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
        let res = post_raw(&app, &format!("/api/v1/projects/{project}/api-keys"), body).await;
        res.error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    }
    let res =
        app.send(Method::PATCH, &format!("/api/v1/projects/{project}"), &auth_json(&app), Some(b"{".to_vec())).await;
    res.error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    let list = app.get("/api/v1/projects", app.admin_key()).await;
    assert_eq!(list.body["pagination"]["total"], 1);
}

async fn bytes_after_the_json_body_are_a_400_and_create_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("trailing").await;
    let (key_id, _) = app.key(&project, &["read"]).await;
    let routes = [
        (Method::POST, "/api/v1/projects".to_owned()),
        (Method::PATCH, format!("/api/v1/projects/{project}")),
        (Method::POST, format!("/api/v1/projects/{project}/api-keys")),
        (Method::PATCH, format!("/api/v1/projects/{project}/api-keys/{key_id}")),
        (Method::POST, format!("/api/v1/projects/{project}/api-keys/{key_id}/rotate")),
        (Method::POST, format!("/api/v1/projects/{project}/webhooks")),
    ];
    // Whitespace alone is no JSON value either, also where a body is optional (rotate).
    let bodies: [&[u8]; 5] = [
        b"{\"name\":\"x\"} trailing",
        b"{\"name\":\"x\"}{\"name\":\"y\"}",
        b"{} []",
        b"{\"name\":\"x\",\"permissions\":[\"read\"]} 1",
        b" \r\n",
    ];
    for (method, path) in &routes {
        for body in bodies {
            let res = app.send(method.clone(), path, &auth_json(&app), Some(body.to_vec())).await;
            let details = res.error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
            assert_eq!(details["field"], "body", "{method} {path}: {}", res.text);
        }
    }
    let list = app.get("/api/v1/projects", app.admin_key()).await;
    assert_eq!(list.body["pagination"]["total"], 1, "nothing was created: {}", list.text);
    let shown = app.get(&format!("/api/v1/projects/{project}"), app.admin_key()).await;
    assert_eq!(shown.body["name"], "trailing");
    // Trailing whitespace is still one JSON value.
    let res = post_raw(&app, "/api/v1/projects", b"{\"name\":\"ok\"}\r\n \t").await;
    res.expect(StatusCode::CREATED);
}

async fn invisible_format_characters_in_names_and_descriptions_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("acme").await;
    let admin = app.admin_key();
    let (key_id, _) = app.key(&project, &["read"]).await;
    let hook = json!({"url": "https://hooks.example.com/a", "events": ["*"]});
    let webhook = app.post_json(&format!("/api/v1/projects/{project}/webhooks"), admin, &hook).await;
    let webhook = webhook.expect(StatusCode::CREATED).body["id"].as_str().expect("webhook id").to_owned();
    let projects = "/api/v1/projects".to_owned();
    let keys = format!("/api/v1/projects/{project}/api-keys");
    let hooks = format!("/api/v1/projects/{project}/webhooks");
    // A right-to-left override, a zero-width space, a byte-order mark and an isolate.
    for c in ['\u{202E}', '\u{200B}', '\u{FEFF}', '\u{2066}'] {
        let spoof = format!("ac{c}me");
        for (method, path, body, field) in [
            (Method::POST, projects.clone(), json!({"name": spoof}), "name"),
            (Method::POST, projects.clone(), json!({"name": "ok", "description": spoof}), "description"),
            (Method::PATCH, format!("{projects}/{project}"), json!({"name": spoof}), "name"),
            (Method::PATCH, format!("{projects}/{project}"), json!({"description": spoof}), "description"),
            (Method::POST, keys.clone(), json!({"name": spoof, "permissions": ["read"]}), "name"),
            (Method::PATCH, format!("{keys}/{key_id}"), json!({"name": spoof}), "name"),
            (
                Method::POST,
                hooks.clone(),
                json!({"url": "https://hooks.example.com/b", "events": ["*"], "description": spoof}),
                "description",
            ),
            (Method::PATCH, format!("{hooks}/{webhook}"), json!({"description": spoof}), "description"),
        ] {
            let body = serde_json::to_vec(&body).expect("json");
            let res = app.send(method.clone(), &path, &auth_json(&app), Some(body)).await;
            assert_field(&res, field);
            let reason = res.body["error"]["details"]["reason"].as_str().unwrap_or_default();
            assert!(reason.contains(&format!("U+{:04X}", u32::from(c))), "{method} {path}: {}", res.text);
        }
    }
    let list = app.get("/api/v1/projects", admin).await;
    assert_eq!(list.body["pagination"]["total"], 1, "nothing was created: {}", list.text);
}

async fn wrong_unknown_and_missing_fields_are_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("fields").await;
    let admin = app.admin_key();
    for (body, field) in [
        (json!({"name": 5}), "name"),
        (json!({"name": "x", "foo": 1}), "foo"),
        (json!({}), "name"),
        (json!({"description": "only"}), "name"),
        (json!({"name": "x", "description": 5}), "description"),
        (json!({"name": ["x"]}), "name"),
        (json!({"name": "a\u{0}b"}), "name"),
        (json!({"name": "x", "id": "proj_0000000000000000000001"}), "id"),
    ] {
        assert_field(&app.post_json("/api/v1/projects", admin, &body).await, field);
    }
    for body in [json!([]), json!(null), json!("name"), json!(5)] {
        let res = app.post_json("/api/v1/projects", admin, &body).await;
        res.error(UNPROCESSABLE, "VALIDATION_ERROR");
    }
    let path = format!("/api/v1/projects/{project}");
    for (body, field) in
        [(json!({"name": 5}), "name"), (json!({"bar": true}), "bar"), (json!({"description": []}), "description")]
    {
        assert_field(&app.patch_json(&path, admin, &body).await, field);
    }
    let keys = format!("{path}/api-keys");
    for (body, field) in [
        (json!({"name": "k"}), "permissions"),
        (json!({"permissions": ["read"]}), "name"),
        (json!({"name": "k", "permissions": "read"}), "permissions"),
        (json!({"name": "k", "permissions": [1]}), "permissions"),
        (json!({"name": "k", "permissions": []}), "permissions"),
        (json!({"name": "k", "permissions": ["read", "read"]}), "permissions"),
        (json!({"name": "k", "permissions": ["superuser"]}), "permissions"),
        (json!({"name": "k", "permissions": ["read"], "scope": "account"}), "scope"),
        (json!({"name": "k", "permissions": ["read"], "project_id": "proj_0000000000000000000001"}), "project_id"),
        (json!({"name": 1, "permissions": ["read"]}), "name"),
        (json!({"name": " ", "permissions": ["read"]}), "name"),
        (json!({"name": "x".repeat(101), "permissions": ["read"]}), "name"),
        (json!({"name": "a\u{0}b", "permissions": ["read"]}), "name"),
    ] {
        assert_field(&app.post_json(&keys, admin, &body).await, field);
    }
    let (id, _) = app.key(&project, &["read"]).await;
    let rotate = format!("{keys}/{id}/rotate");
    assert_field(&app.post_json(&rotate, admin, &json!({"grace": 5})).await, "grace");
    let listed = app.get(&keys, admin).await;
    assert_eq!(listed.body["pagination"]["total"], 1, "nothing was created by the rejected requests");
}

async fn several_invalid_fields_are_all_listed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("many errors").await;
    let fields_of = |details: &Value| -> Vec<String> {
        details["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("details.errors lists each failure: {details}"))
            .iter()
            .map(|e| {
                assert!(e["reason"].is_string(), "each entry has a reason: {e}");
                e["field"].as_str().expect("each entry names its field").to_owned()
            })
            .collect()
    };
    let res =
        app.post_json("/api/v1/projects", app.admin_key(), &json!({"name": "", "description": "d".repeat(1001)})).await;
    let details = res.error(UNPROCESSABLE, "VALIDATION_ERROR");
    assert_eq!(fields_of(details), ["name", "description"]);
    assert_eq!(details["field"], "name", "the top level names the first failure");

    let body = json!({"name": "", "permissions": [], "expires_at": "soon"});
    let res = app.post_json(&format!("/api/v1/projects/{project}/api-keys"), app.admin_key(), &body).await;
    let details = res.error(UNPROCESSABLE, "VALIDATION_ERROR");
    let fields = fields_of(details);
    for field in ["name", "permissions", "expires_at"] {
        assert!(
            fields.iter().any(|f| f == field || f.starts_with(&format!("{field}["))),
            "{field} missing from {fields:?}"
        );
    }
    assert_eq!(details["field"], fields[0].as_str());

    let res = app
        .patch_json(
            &format!("/api/v1/projects/{project}"),
            app.admin_key(),
            &json!({"name": null, "description": "e".repeat(1001)}),
        )
        .await;
    assert_eq!(fields_of(res.error(UNPROCESSABLE, "VALIDATION_ERROR")), ["name", "description"]);
}

async fn a_past_expiry_is_listed_with_the_other_invalid_fields(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("past expiry").await;
    // The reference's own example date, now in the past, next to two other bad fields.
    let body = json!({"name": "", "permissions": [], "expires_at": "2024-12-31T23:59:59Z"});
    let res = app.post_json(&format!("/api/v1/projects/{project}/api-keys"), app.admin_key(), &body).await;
    let details = res.error(UNPROCESSABLE, "VALIDATION_ERROR");
    let fields: Vec<&str> =
        details["errors"].as_array().expect("details.errors").iter().filter_map(|e| e["field"].as_str()).collect();
    for field in ["name", "permissions", "expires_at"] {
        assert!(
            fields.iter().any(|f| *f == field || f.starts_with(&format!("{field}["))),
            "{field} missing from {fields:?}"
        );
    }
}

async fn bodies_over_one_mebibyte_are_refused_with_413(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    const MIB: usize = 1024 * 1024;
    let json_body = |size: usize| {
        let padding = "x".repeat(size - r#"{"name": "big", "description": ""}"#.len());
        format!(r#"{{"name": "big", "description": "{padding}"}}"#).into_bytes()
    };
    // A JSON body of 2 MiB and one just over the limit.
    for size in [2 * MIB, MIB + 1] {
        let body = json_body(size);
        assert_eq!(body.len(), size);
        let res = app.post_raw_tcp("/api/v1/projects", app.admin_key(), "application/json", &body).await;
        res.error(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE");
        assert!(!res.text.contains(&"x".repeat(1000)), "the body is not echoed: {}", res.text);
    }
    // Just under the limit the body is read and validated (the description is too long).
    let res = app.post_raw_tcp("/api/v1/projects", app.admin_key(), "application/json", &json_body(MIB - 100)).await;
    assert_field(&res, "description");
    // The same with the usual client, where no early answer is involved.
    let res = post_raw(&app, "/api/v1/projects", &json_body(MIB)).await;
    assert_field(&res, "description");
    let list = app.get("/api/v1/projects", app.admin_key()).await;
    assert_eq!(list.body["pagination"]["total"], 0);
}

async fn bodies_that_are_not_json_are_refused_with_415(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("media").await;
    let (id, _) = app.key(&project, &["read"]).await;
    let bearer = format!("Bearer {}", app.admin_key());
    let body = br#"{"name": "typed"}"#.to_vec();
    let cases: Vec<(Method, String, Option<&str>)> = vec![
        (Method::POST, "/api/v1/projects".into(), None),
        (Method::POST, "/api/v1/projects".into(), Some("text/plain")),
        (Method::POST, "/api/v1/projects".into(), Some("application/x-www-form-urlencoded")),
        (Method::POST, "/api/v1/projects".into(), Some("multipart/form-data; boundary=x")),
        (Method::PATCH, format!("/api/v1/projects/{project}"), Some("text/plain")),
        (Method::PATCH, format!("/api/v1/projects/{project}"), None),
        (Method::POST, format!("/api/v1/projects/{project}/api-keys"), Some("text/json")),
        (Method::POST, format!("/api/v1/projects/{project}/api-keys/{id}/rotate"), Some("text/plain")),
    ];
    for (method, path, content_type) in cases {
        let mut headers = vec![("authorization", bearer.clone())];
        if let Some(ct) = content_type {
            headers.push(("content-type", ct.to_owned()));
        }
        let res = app.send(method.clone(), &path, &headers, Some(body.clone())).await;
        res.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE");
    }
    // A charset parameter is still JSON.
    let res = app
        .send(
            Method::POST,
            "/api/v1/projects",
            &[("authorization", bearer.clone()), ("content-type", "application/json; charset=utf-8".to_owned())],
            Some(body),
        )
        .await;
    res.expect(StatusCode::CREATED);
}

async fn unknown_routes_and_wrong_methods_have_their_own_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("routes").await;
    let (id, _) = app.key(&project, &["read"]).await;
    let admin = app.admin_key();
    for path in [
        "/api/v1/nope",
        "/api/v1/project",
        "/api/v2/projects",
        "/nope",
        "/assets",
        "/api/v1",
        &format!("/api/v1/projects/{project}/nope"),
    ] {
        let res = app.get(path, admin).await;
        assert_eq!(res.error(StatusCode::NOT_FOUND, "NOT_FOUND")["resource"], "route", "{path}");
    }
    let bearer = format!("Bearer {admin}");
    for (method, path) in [
        (Method::PUT, "/api/v1/projects".to_owned()),
        (Method::DELETE, "/api/v1/projects".to_owned()),
        (Method::PATCH, "/api/v1/projects".to_owned()),
        (Method::POST, format!("/api/v1/projects/{project}")),
        (Method::PUT, format!("/api/v1/projects/{project}")),
        (Method::PUT, format!("/api/v1/projects/{project}/api-keys")),
        (Method::POST, format!("/api/v1/projects/{project}/api-keys/{id}")),
        (Method::GET, format!("/api/v1/projects/{project}/api-keys/{id}/rotate")),
        (Method::POST, "/healthz".to_owned()),
    ] {
        let res = app.send(method.clone(), &path, &[("authorization", bearer.as_str())], None).await;
        res.error(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
    }
}

async fn malformed_ids_in_paths_are_simply_not_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("ids").await;
    let (key_id, _) = app.key(&project, &["read"]).await;
    let admin = app.admin_key();
    for id in [
        "nope",
        "proj_",
        "proj_0000000000000000000001",
        "proj_zzzzzzzzzzzzzzzzzzzzzz",
        &key_id,
        &project.to_uppercase(),
        &format!("{project}x"),
    ] {
        let path = format!("/api/v1/projects/{id}");
        app.get(&path, admin).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
        app.patch_json(&path, admin, &json!({"name": "x"})).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
        app.delete(&path, admin).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
        app.get(&format!("{path}/api-keys"), admin).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    }
    let keys = format!("/api/v1/projects/{project}/api-keys");
    for id in ["nope", "key_", "key_0000000000000000000001", &project, &format!("{key_id}x")] {
        let path = format!("{keys}/{id}");
        for res in [
            app.get(&path, admin).await,
            app.patch_json(&path, admin, &json!({"name": "x"})).await,
            app.delete(&path, admin).await,
            app.post_json(&format!("{path}/rotate"), admin, &json!({})).await,
        ] {
            assert_eq!(res.error(StatusCode::NOT_FOUND, "NOT_FOUND")["resource"], "api_key", "{id}");
        }
    }
    app.get(&format!("{keys}/{key_id}"), admin).await.expect(StatusCode::OK);
}

async fn bad_paging_parameters_are_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("paging").await;
    let admin = app.admin_key();
    for list in ["/api/v1/projects".to_owned(), format!("/api/v1/projects/{project}/api-keys")] {
        for (query, field) in [
            ("page=0", "page"),
            ("page=-1", "page"),
            ("page=abc", "page"),
            ("page=1.5", "page"),
            ("page=", "page"),
            ("page=4294967296", "page"),
            ("per_page=0", "per_page"),
            ("per_page=101", "per_page"),
            ("per_page=x", "per_page"),
            ("foo=1", "foo"),
            ("page=1&sort=name", "sort"),
        ] {
            let res = app.get(&format!("{list}?{query}"), admin).await;
            assert_field(&res, field);
        }
        let res = app.get(&format!("{list}?page=4294967295"), admin).await;
        res.expect(StatusCode::OK);
        assert_eq!(res.body["data"], json!([]));
        assert_eq!(res.body["pagination"]["page"], 4_294_967_295_u64);
        let res = app.get(&format!("{list}?per_page=100&page=1"), admin).await;
        res.expect(StatusCode::OK);
        assert_eq!(res.body["pagination"]["per_page"], 100);
    }
}

async fn weird_paths_never_cause_a_server_error(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("weird").await;
    let admin = app.admin_key();
    let res = app.get("/api/v1/projects/proj_../api-keys", admin).await;
    res.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    let long = "a".repeat(5000);
    for path in [
        "/api/v1/projects/%ZZ".to_owned(),
        "/api/v1/projects/%ZZ/api-keys".to_owned(),
        "/api/v1/projects/%00".to_owned(),
        "/api/v1/projects/%C3%28".to_owned(),
        "/api/v1/projects/%F0%9F%98%80".to_owned(),
        "/api/v1/projects/proj_%2F..%2F".to_owned(),
        "/api/v1/projects/%20".to_owned(),
        format!("/api/v1/projects/{long}"),
        format!("/api/v1/projects/{project}/api-keys/%ZZ"),
        format!("/api/v1/projects/{project}/api-keys/%00"),
        format!("/api/v1/projects/{project}/api-keys/{long}"),
    ] {
        let res = app.get(&path, admin).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}: {}", res.text);
        let code = res.body["error"]["code"].as_str().unwrap_or_default();
        assert!(["NOT_FOUND", "PROJECT_NOT_FOUND"].contains(&code), "{path}: {}", res.text);
        res.error(StatusCode::NOT_FOUND, code);
    }
    for path in [
        "/api/v1/projects?page=%ZZ",
        "/api/v1/projects?%00=1",
        "/api/v1/projects?&&&",
        "/api/v1/projects?page=1&page=2",
    ] {
        let res = app.get(path, admin).await;
        assert!(res.status == StatusCode::OK || res.status == UNPROCESSABLE, "{path}: {} {}", res.status, res.text);
    }
    // The server is still healthy and correct afterwards.
    app.get(&format!("/api/v1/projects/{project}"), admin).await.expect(StatusCode::OK);
}
