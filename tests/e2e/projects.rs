//! Projects: the reference quick start, CRUD and PATCH semantics, lists and soft delete.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_id, assert_timestamp, ids, Backend, TestApp};

both!(
    the_reference_quick_start_works_as_written,
    a_created_project_has_the_documented_shape,
    patch_changes_only_the_fields_it_names,
    concurrent_patches_of_one_project_each_answer_and_record_their_own_change,
    names_and_descriptions_are_trimmed_and_bounded,
    lists_are_newest_first_and_paginated_with_link_headers,
    cursor_pages_follow_their_links_both_ways_and_name_bad_cursors,
    a_deleted_project_is_gone_and_its_keys_stop_working,
);

async fn the_reference_quick_start_works_as_written(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // 1. Create project
    let project =
        app.create_project(json!({"name": "My App", "description": "A sample application"}), StatusCode::CREATED).await;
    let id = project["id"].as_str().expect("project id");
    // 2. Generate API key (no expiry given)
    let key = app
        .create_key(id, json!({"name": "Production Key", "permissions": ["read", "write"]}), StatusCode::CREATED)
        .await;
    assert_eq!(key["project_id"], id);
    assert_eq!(key["expires_at"], serde_json::Value::Null);
    let secret = key["key"].as_str().expect("the new key is shown once");
    // The new key reads its project.
    let got = app.get(&format!("/api/v1/projects/{id}"), secret).await;
    got.expect(StatusCode::OK);
    assert_eq!(got.body, project);
    // And the reference's POST /projects example body.
    let other = app
        .create_project(json!({"name": "New Project", "description": "Project description"}), StatusCode::CREATED)
        .await;
    assert_eq!(other["name"], "New Project");
    assert_eq!(other["description"], "Project description");
}

async fn a_created_project_has_the_documented_shape(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app.post_json("/api/v1/projects", app.admin_key(), &json!({"name": "  Shape  "})).await;
    res.expect(StatusCode::CREATED);
    let p = &res.body;
    assert_id(&p["id"], "proj_");
    let id = p["id"].as_str().expect("id");
    assert!(
        res.header("location").is_some_and(|l| l.ends_with(&format!("/api/v1/projects/{id}"))),
        "Location: {:?}",
        res.header("location")
    );
    assert_eq!(p["name"], "Shape", "names are stored trimmed");
    assert_eq!(p["description"], serde_json::Value::Null);
    let created = assert_timestamp(&p["created_at"]);
    let updated = assert_timestamp(&p["updated_at"]);
    assert_eq!(created, updated);
    let fields: Vec<&String> = p.as_object().expect("object").keys().collect();
    assert_eq!(fields.len(), 5, "exactly id, name, description, created_at, updated_at: {p}");
    // Every response carries a request id, successes too.
    let got = app.get(&format!("/api/v1/projects/{id}"), app.admin_key()).await;
    got.expect(StatusCode::OK);
    assert!(got.request_id().len() >= 8);
    assert_ne!(got.request_id(), res.request_id());
    assert_eq!(&got.body, p);
}

async fn patch_changes_only_the_fields_it_names(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let p = app.create_project(json!({"name": "original", "description": "first"}), StatusCode::CREATED).await;
    let path = format!("/api/v1/projects/{}", p["id"].as_str().expect("id"));
    let key = app.admin_key();

    let renamed = app.patch_json(&path, key, &json!({"name": " renamed "})).await;
    renamed.expect(StatusCode::OK);
    assert_eq!(renamed.body["name"], "renamed");
    assert_eq!(renamed.body["description"], "first", "an absent field is unchanged");
    assert_eq!(renamed.body["created_at"], p["created_at"]);
    assert!(
        assert_timestamp(&renamed.body["updated_at"]) > assert_timestamp(&p["updated_at"]),
        "updated_at moves forward"
    );

    let cleared = app.patch_json(&path, key, &json!({"description": null})).await;
    cleared.expect(StatusCode::OK);
    assert_eq!(cleared.body["description"], serde_json::Value::Null, "null clears the description");
    assert_eq!(cleared.body["name"], "renamed");

    let empty = app.patch_json(&path, key, &json!({})).await;
    empty.expect(StatusCode::OK);
    assert_eq!(empty.body["name"], "renamed");
    assert_eq!(empty.body["description"], serde_json::Value::Null);

    let null_name = app.patch_json(&path, key, &json!({"name": null})).await;
    assert_eq!(null_name.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"], "name");
    let blank = app.patch_json(&path, key, &json!({"name": "   ", "description": "x"})).await;
    assert_eq!(blank.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"], "name");

    let both = app.patch_json(&path, key, &json!({"name": "final", "description": "second"})).await;
    both.expect(StatusCode::OK);
    let got = app.get(&path, key).await;
    got.expect(StatusCode::OK);
    assert_eq!(got.body["name"], "final");
    assert_eq!(got.body["description"], "second", "a rejected PATCH changed nothing, a later one applied");
    assert_eq!(got.body, both.body);
}

/// Updates of one project that arrive together are applied in one transaction; each
/// still answers the project as its own patch left it, and records one event with that
/// state, in the order they applied.
async fn concurrent_patches_of_one_project_each_answer_and_record_their_own_change(backend: Backend) {
    const PATCHES: usize = 24;
    let app = TestApp::spawn(backend).await;
    let p = app.create_project(json!({"name": "start"}), StatusCode::CREATED).await;
    let path = format!("/api/v1/projects/{}", p["id"].as_str().expect("id"));
    let key = app.admin_key();

    let bodies: Vec<serde_json::Value> =
        (0..PATCHES).map(|i| json!({"name": format!("name {i}"), "description": "same"})).collect();
    let answers = futures::future::join_all(bodies.iter().map(|body| app.patch_json(&path, key, body))).await;
    let mut updated_at = Vec::new();
    for (i, answer) in answers.iter().enumerate() {
        answer.expect(StatusCode::OK);
        assert_eq!(answer.body["name"], format!("name {i}"), "each answer is the project as its own patch left it");
        assert_eq!(answer.body["description"], "same");
        updated_at.push(assert_timestamp(&answer.body["updated_at"]));
    }

    let log = app.get(&format!("{path}/events?type=project.updated&per_page=100"), key).await;
    log.expect(StatusCode::OK);
    assert_eq!(log.body["pagination"]["total"], PATCHES, "one event per patch: {}", log.body);
    // Newest first: reversed, the events are in the order the patches applied.
    let events: Vec<&serde_json::Value> = log.body["data"].as_array().expect("data").iter().rev().collect();
    let mut applied: Vec<String> =
        events.iter().map(|e| e["data"]["name"].as_str().expect("a name").to_owned()).collect();
    let last = applied.last().cloned().expect("events");
    for pair in events.windows(2) {
        assert!(
            assert_timestamp(&pair[0]["data"]["updated_at"]) <= assert_timestamp(&pair[1]["data"]["updated_at"]),
            "each event carries the state after its patch, in order"
        );
    }
    applied.sort();
    let mut sent: Vec<String> = (0..PATCHES).map(|i| format!("name {i}")).collect();
    sent.sort();
    assert_eq!(applied, sent, "every patch recorded exactly once");
    let got = app.get(&path, key).await;
    got.expect(StatusCode::OK);
    assert_eq!(got.body["name"], last, "the project is as the last applied patch left it");
    assert_eq!(assert_timestamp(&got.body["updated_at"]), updated_at.into_iter().max().expect("answers"));
}

async fn names_and_descriptions_are_trimmed_and_bounded(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    // Unicode whitespace is trimmed; the limit counts characters, not bytes.
    let p = app.create_project(json!({"name": "\u{2003}\tem space\u{3000}\n"}), StatusCode::CREATED).await;
    assert_eq!(p["name"], "em space");
    let long = "é".repeat(100);
    let p = app.create_project(json!({"name": format!(" {long} ")}), StatusCode::CREATED).await;
    assert_eq!(p["name"], long.as_str());
    let p = app.create_project(json!({"name": "d", "description": "x".repeat(1000)}), StatusCode::CREATED).await;
    assert_eq!(p["description"].as_str().map(str::len), Some(1000));
    let p = app.create_project(json!({"name": "n", "description": null}), StatusCode::CREATED).await;
    assert_eq!(p["description"], serde_json::Value::Null);
    let p = app.create_project(json!({"name": "n", "description": ""}), StatusCode::CREATED).await;
    assert!(p["description"] == "" || p["description"].is_null(), "an empty description is allowed: {p}");

    for (body, field) in [
        (json!({"name": ""}), "name"),
        (json!({"name": " \t\u{2003} "}), "name"),
        (json!({"name": "x".repeat(101)}), "name"),
        (json!({"name": "bell\u{7}"}), "name"),
        (json!({"name": "new\nline inside"}), "name"),
        (json!({"name": "ok", "description": "y".repeat(1001)}), "description"),
    ] {
        let res = app.post_json("/api/v1/projects", app.admin_key(), &body).await;
        assert_eq!(res.error(unprocessable, "VALIDATION_ERROR")["field"], field, "{body}");
    }
    let list = app.get("/api/v1/projects", app.admin_key()).await;
    assert_eq!(list.body["pagination"]["total"], 5, "rejected creates stored nothing");
}

async fn lists_are_newest_first_and_paginated_with_link_headers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(app.project(&format!("project {i}")).await);
    }
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();

    let all = app.get("/api/v1/projects", app.admin_key()).await;
    all.expect(StatusCode::OK);
    assert_eq!(all.body["pagination"], json!({"page": 1, "per_page": 20, "total": 5, "has_more": false}));
    assert_eq!(ids(&all.body), newest_first);

    let mut paged = Vec::new();
    for page in 1..=3 {
        let res = app.get(&format!("/api/v1/projects?page={page}&per_page=2"), app.admin_key()).await;
        res.expect(StatusCode::OK);
        assert_eq!(res.body["pagination"], json!({"page": page, "per_page": 2, "total": 5, "has_more": page < 3}));
        let link = res.header("link").unwrap_or_else(|| panic!("page {page} has no Link header"));
        let rel = |n: u32, rel: &str| format!("</api/v1/projects?page={n}&per_page=2>; rel=\"{rel}\"");
        assert!(link.contains(&rel(1, "first")), "{link}");
        assert!(link.contains(&rel(3, "last")), "{link}");
        if page < 3 {
            assert!(link.contains(&rel(page + 1, "next")), "page {page}: {link}");
        } else {
            assert!(!link.contains("rel=\"next\""), "the last page has no next: {link}");
        }
        if page > 1 {
            assert!(link.contains(&rel(page - 1, "prev")), "page {page}: {link}");
        } else {
            assert!(!link.contains("rel=\"prev\""), "the first page has no prev: {link}");
        }
        paged.extend(ids(&res.body));
    }
    assert_eq!(paged, newest_first, "pages are disjoint, complete and newest first");

    let beyond = app.get("/api/v1/projects?page=4&per_page=2", app.admin_key()).await;
    beyond.expect(StatusCode::OK);
    assert_eq!(ids(&beyond.body), Vec::<String>::new());
    assert_eq!(beyond.body["pagination"]["total"], 5);
}

async fn cursor_pages_follow_their_links_both_ways_and_name_bad_cursors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut newest_first = Vec::new();
    for i in 0..5 {
        newest_first.insert(0, app.project(&format!("project {i}")).await);
    }
    // Forwards from page 1 by following each page's `next` link.
    let next_link = |link: &str| -> Option<String> {
        link.split(", ")
            .find(|l| l.ends_with("rel=\"next\""))
            .map(|l| l.trim_start_matches('<').split('>').next().unwrap_or_default().to_owned())
    };
    let first = app.get("/api/v1/projects?per_page=2", app.admin_key()).await;
    first.expect(StatusCode::OK);
    let mut walked = ids(&first.body);
    let mut path = format!("/api/v1/projects?starting_after={}&per_page=2", walked[1]);
    loop {
        let res = app.get(&path, app.admin_key()).await;
        res.expect(StatusCode::OK);
        assert!(res.body["pagination"].get("page").is_none(), "a cursor page has no page number: {}", res.body);
        assert_eq!(res.body["pagination"]["total"], 5);
        walked.extend(ids(&res.body));
        let link = res.header("link").expect("a cursor page has links").to_owned();
        assert!(link.contains("rel=\"prev\""), "a page after the first has a prev: {link}");
        match next_link(&link) {
            Some(next) => {
                assert_eq!(res.body["pagination"]["has_more"], true);
                path = next;
            }
            None => {
                assert_eq!(res.body["pagination"]["has_more"], false);
                break;
            }
        }
    }
    assert_eq!(walked, newest_first, "following next links reads every project once, in order");
    // Backwards: the two projects newer than the fourth, in list order.
    let back =
        app.get(&format!("/api/v1/projects?ending_before={}&per_page=2", newest_first[3]), app.admin_key()).await;
    back.expect(StatusCode::OK);
    assert_eq!(ids(&back.body), newest_first[1..3].to_vec());
    assert_eq!(back.body["pagination"]["has_more"], true, "the newest project is still before this page");
    // Bad cursors are named, never read as positions.
    let admin = app.admin_key();
    for (query, field) in [
        (format!("page=2&starting_after={}", newest_first[0]), "page"),
        (format!("starting_after={0}&ending_before={0}", newest_first[0]), "ending_before"),
        ("starting_after=proj_nothing".to_owned(), "starting_after"),
        ("ending_before=has%20space".to_owned(), "ending_before"),
    ] {
        let res = app.get(&format!("/api/v1/projects?{query}"), admin).await;
        let err = res.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR");
        assert_eq!(err["field"], field, "{query}: {err}");
    }
    // A soft-deleted project leaves the total at once and is no longer a cursor.
    app.delete(&format!("/api/v1/projects/{}", newest_first[2]), admin).await.expect(StatusCode::NO_CONTENT);
    let after = app.get("/api/v1/projects?per_page=1", admin).await;
    assert_eq!(after.body["pagination"]["total"], 4);
    let gone = app.get(&format!("/api/v1/projects?starting_after={}", newest_first[2]), admin).await;
    gone.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR");
}

async fn a_deleted_project_is_gone_and_its_keys_stop_working(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doomed = app.project("doomed").await;
    let kept = app.project("kept").await;
    let (_, key) = app.key(&doomed, &["read"]).await;
    let (_, kept_key) = app.key(&kept, &["read"]).await;
    let path = format!("/api/v1/projects/{doomed}");
    app.get(&path, &key).await.expect(StatusCode::OK);

    let res = app.delete(&path, app.admin_key()).await;
    res.expect(StatusCode::NO_CONTENT);
    assert!(res.text.is_empty(), "204 has an empty body: {}", res.text);

    let admin = app.admin_key();
    app.get(&path, admin).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    app.patch_json(&path, admin, &json!({"name": "zombie"})).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    app.delete(&path, admin).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    app.get(&format!("{path}/api-keys"), admin).await.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");
    let new_key =
        app.post_json(&format!("{path}/api-keys"), admin, &json!({"name": "k", "permissions": ["read"]})).await;
    new_key.error(StatusCode::NOT_FOUND, "PROJECT_NOT_FOUND");

    let list = app.get("/api/v1/projects", admin).await;
    assert_eq!(ids(&list.body), vec![kept.clone()]);
    assert_eq!(list.body["pagination"]["total"], 1);

    let refused = app.get(&path, &key).await;
    assert_eq!(refused.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY")["field"], "authorization");
    app.get("/api/v1/projects", &key).await.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
    app.get(&format!("/api/v1/projects/{kept}"), &kept_key).await.expect(StatusCode::OK);
}
