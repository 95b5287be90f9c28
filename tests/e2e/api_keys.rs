//! Project API keys: create, list, get, patch, revoke, rotate; expiry; `last_used_at`;
//! secrets shown once and never logged.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_id, assert_timestamp, eventually, ids, in_seconds, Backend, Options, TestApp};

both!(
    a_created_key_has_the_documented_shape_and_its_secret_is_shown_once,
    keys_are_listed_newest_first_with_pagination,
    patch_updates_name_permissions_and_expiry,
    a_revoked_key_stays_listed_and_is_refused_at_once,
    rotation_replaces_the_secret_and_ends_the_old_one_at_once_by_default,
    rotation_with_a_grace_period_keeps_the_old_secret_working,
    expiry_must_be_in_the_future_and_defaults_to_the_creators,
    last_used_at_is_recorded_soon_after_use,
    no_secret_made_by_the_api_appears_in_the_logs,
);

fn permissions(key: &Value) -> BTreeSet<String> {
    key["permissions"].as_array().expect("permissions").iter().map(|p| p.as_str().expect("a name").to_owned()).collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

async fn a_created_key_has_the_documented_shape_and_its_secret_is_shown_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("keys").await;
    let path = format!("/api/v1/projects/{project}/api-keys");
    let res =
        app.post_json(&path, app.admin_key(), &json!({"name": " ci key ", "permissions": ["write", "read"]})).await;
    res.expect(StatusCode::CREATED);
    let k = &res.body;
    assert_id(&k["id"], "key_");
    let id = k["id"].as_str().expect("id");
    assert!(
        res.header("location").is_some_and(|l| l.ends_with(&format!("{path}/{id}"))),
        "Location: {:?}",
        res.header("location")
    );
    assert_eq!(k["project_id"], project.as_str());
    assert_eq!(k["name"], "ci key");
    assert_eq!(permissions(k), set(&["read", "write"]));
    let secret = k["key"].as_str().expect("the secret is in the create response");
    assert_eq!(secret.len(), 50);
    assert!(secret.starts_with("tng_") && secret.bytes().skip(4).all(|b| b.is_ascii_alphanumeric()), "{secret}");
    assert_eq!(k["prefix"], &secret[..12]);
    assert_eq!(k["expires_at"], Value::Null);
    assert_eq!(k["last_used_at"], Value::Null);
    assert_eq!(k["revoked_at"], Value::Null);
    assert_timestamp(&k["created_at"]);
    let mut expected_fields: BTreeSet<String> = k.as_object().expect("object").keys().cloned().collect();
    assert_eq!(
        expected_fields,
        set(&[
            "id",
            "project_id",
            "name",
            "permissions",
            "prefix",
            "key",
            "expires_at",
            "created_at",
            "last_used_at",
            "revoked_at"
        ])
    );
    expected_fields.remove("key");

    let got = app.get(&format!("{path}/{id}"), app.admin_key()).await;
    got.expect(StatusCode::OK);
    assert!(!got.text.contains(secret), "GET shows the secret again: {}", got.text);
    assert_eq!(got.body.as_object().expect("object").keys().cloned().collect::<BTreeSet<_>>(), expected_fields);
    let mut without_secret = k.clone();
    without_secret.as_object_mut().expect("object").remove("key");
    assert_eq!(got.body, without_secret);

    let list = app.get(&path, app.admin_key()).await;
    list.expect(StatusCode::OK);
    assert!(!list.text.contains(secret), "the list shows the secret: {}", list.text);
    assert_eq!(list.body["data"][0], without_secret);
    // The new key itself may read its own metadata, still without the secret.
    let own = app.get(&format!("{path}/{id}"), secret).await;
    own.expect(StatusCode::OK);
    assert!(!own.text.contains(secret));
}

async fn keys_are_listed_newest_first_with_pagination(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("many keys").await;
    let other = app.project("other").await;
    app.key(&other, &["read"]).await;
    let mut created = Vec::new();
    for _ in 0..3 {
        created.push(app.key(&project, &["read"]).await.0);
    }
    created.reverse();
    let path = format!("/api/v1/projects/{project}/api-keys");
    let all = app.get(&path, app.admin_key()).await;
    all.expect(StatusCode::OK);
    assert_eq!(
        all.body["pagination"],
        json!({"page": 1, "per_page": 20, "total": 3, "has_more": false}),
        "only this project's keys"
    );
    assert_eq!(ids(&all.body), created);

    let first = app.get(&format!("{path}?per_page=2"), app.admin_key()).await;
    first.expect(StatusCode::OK);
    assert_eq!(ids(&first.body), created[..2]);
    let link = first.header("link").expect("a Link header");
    assert!(link.contains(&format!("<{path}?page=2&per_page=2>; rel=\"next\"")), "{link}");
    let second = app.get(&format!("{path}?page=2&per_page=2"), app.admin_key()).await;
    assert_eq!(ids(&second.body), created[2..]);
    let link = second.header("link").expect("a Link header");
    assert!(link.contains(&format!("<{path}?page=1&per_page=2>; rel=\"prev\"")), "{link}");
    assert!(!link.contains("rel=\"next\""), "{link}");
}

async fn patch_updates_name_permissions_and_expiry(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("patching").await;
    let (id, secret) = app.key(&project, &["read", "write"]).await;
    let path = format!("/api/v1/projects/{project}/api-keys/{id}");
    let admin = app.admin_key();
    let project_path = format!("/api/v1/projects/{project}");
    app.patch_json(&project_path, &secret, &json!({"description": "by the key"})).await.expect(StatusCode::OK);

    let renamed = app.patch_json(&path, admin, &json!({"name": "renamed"})).await;
    renamed.expect(StatusCode::OK);
    assert_eq!(renamed.body["name"], "renamed");
    assert_eq!(permissions(&renamed.body), set(&["read", "write"]), "absent fields are unchanged");
    assert!(renamed.body["key"].is_null(), "PATCH never shows the secret");

    let narrowed = app.patch_json(&path, admin, &json!({"permissions": ["read"]})).await;
    narrowed.expect(StatusCode::OK);
    assert_eq!(permissions(&narrowed.body), set(&["read"]));
    assert_eq!(narrowed.body["name"], "renamed");
    let denied = app.patch_json(&project_path, &secret, &json!({"description": "again"})).await;
    assert_eq!(denied.error(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS")["permission"], "write");
    app.get(&project_path, &secret).await.expect(StatusCode::OK);

    let until = in_seconds(86_400);
    let expiring = app.patch_json(&path, admin, &json!({"expires_at": until})).await;
    expiring.expect(StatusCode::OK);
    assert_eq!(
        assert_timestamp(&expiring.body["expires_at"]),
        chrono::DateTime::parse_from_rfc3339(&until).expect("rfc 3339")
    );
    let cleared = app.patch_json(&path, admin, &json!({"expires_at": null})).await;
    cleared.expect(StatusCode::OK);
    assert_eq!(cleared.body["expires_at"], Value::Null);

    for (body, field) in [
        (json!({"name": null}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"permissions": null}), "permissions"),
        (json!({"permissions": []}), "permissions"),
        (json!({"permissions": ["read", "read"]}), "permissions"),
        (json!({"permissions": ["root"]}), "permissions"),
        (json!({"expires_at": "2024-12-31T23:59:59Z"}), "expires_at"),
        (json!({"expires_at": "tomorrow"}), "expires_at"),
        (json!({"prefix": "tng_x"}), "prefix"),
    ] {
        let res = app.patch_json(&path, admin, &body).await;
        let field_named =
            res.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"].as_str().unwrap_or("").to_owned();
        assert!(field_named.starts_with(field), "{body}: field {field_named:?}, expected {field}");
    }
    let after = app.get(&path, admin).await;
    assert_eq!(after.body, cleared.body, "rejected PATCHes changed nothing");
}

async fn a_revoked_key_stays_listed_and_is_refused_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("revocation").await;
    let (id, secret) = app.key(&project, &["read"]).await;
    let project_path = format!("/api/v1/projects/{project}");
    app.get(&project_path, &secret).await.expect(StatusCode::OK);

    let path = format!("{project_path}/api-keys/{id}");
    let revoked = app.delete(&path, app.admin_key()).await;
    revoked.expect(StatusCode::OK);
    assert_eq!(revoked.body["id"], id.as_str());
    let revoked_at = assert_timestamp(&revoked.body["revoked_at"]);
    assert!(!revoked.text.contains(&secret));

    let refused = app.get(&project_path, &secret).await;
    assert_eq!(refused.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY")["field"], "authorization");
    assert!(!refused.text.contains(&secret));

    let got = app.get(&path, app.admin_key()).await;
    got.expect(StatusCode::OK);
    assert_eq!(assert_timestamp(&got.body["revoked_at"]), revoked_at);
    let list = app.get(&format!("{project_path}/api-keys"), app.admin_key()).await;
    assert_eq!(ids(&list.body), vec![id.clone()], "a revoked key stays listed");
    assert_eq!(list.body["data"][0]["revoked_at"], got.body["revoked_at"]);
}

async fn rotation_replaces_the_secret_and_ends_the_old_one_at_once_by_default(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("rotation").await;
    let (id, old) = app.key(&project, &["read"]).await;
    let project_path = format!("/api/v1/projects/{project}");
    let rotate = format!("{project_path}/api-keys/{id}/rotate");

    // No body at all: grace 0.
    let res = app
        .send(reqwest::Method::POST, &rotate, &[("authorization", format!("Bearer {}", app.admin_key()))], None)
        .await;
    res.expect(StatusCode::OK);
    assert_eq!(res.body["id"], id.as_str(), "rotation keeps the key record");
    let new = res.body["key"].as_str().expect("rotate shows the new secret").to_owned();
    assert_ne!(new, old);
    assert_eq!(new.len(), 50);
    assert_eq!(res.body["prefix"], &new[..12]);
    assert_eq!(permissions(&res.body), set(&["read"]));
    app.get(&project_path, &old).await.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
    app.get(&project_path, &new).await.expect(StatusCode::OK);

    // An explicit grace of 0 behaves the same.
    let res = app.post_json(&rotate, app.admin_key(), &json!({"grace_period_seconds": 0})).await;
    res.expect(StatusCode::OK);
    let newer = res.body["key"].as_str().expect("new secret").to_owned();
    app.get(&project_path, &new).await.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
    app.get(&project_path, &newer).await.expect(StatusCode::OK);
    let got = app.get(&format!("{project_path}/api-keys/{id}"), app.admin_key()).await;
    assert!(!got.text.contains(&newer), "the rotated secret is not shown again");
    assert_eq!(got.body["prefix"], &newer[..12]);
}

async fn rotation_with_a_grace_period_keeps_the_old_secret_working(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("grace").await;
    let (id, old) = app.key(&project, &["read"]).await;
    let project_path = format!("/api/v1/projects/{project}");
    let rotate = format!("{project_path}/api-keys/{id}/rotate");
    let admin = app.admin_key();

    for bad in [json!(-1), json!(604_801), json!("60"), json!(1.5)] {
        let res = app.post_json(&rotate, admin, &json!({"grace_period_seconds": bad})).await;
        assert_eq!(
            res.error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR")["field"],
            "grace_period_seconds",
            "{bad}"
        );
    }
    app.get(&project_path, &old).await.expect(StatusCode::OK);

    let res = app.post_json(&rotate, admin, &json!({"grace_period_seconds": 3600})).await;
    res.expect(StatusCode::OK);
    let new = res.body["key"].as_str().expect("new secret").to_owned();
    app.get(&project_path, &old).await.expect(StatusCode::OK);
    app.get(&project_path, &new).await.expect(StatusCode::OK);
    // The upper bound is allowed; a second rotation with a grace keeps the latest secret.
    let res = app.post_json(&rotate, admin, &json!({"grace_period_seconds": 604_800})).await;
    res.expect(StatusCode::OK);
    let newest = res.body["key"].as_str().expect("new secret").to_owned();
    app.get(&project_path, &new).await.expect(StatusCode::OK);
    app.get(&project_path, &newest).await.expect(StatusCode::OK);

    // Revoking ends every secret of the key at once, graced ones included.
    app.delete(&format!("{project_path}/api-keys/{id}"), admin).await.expect(StatusCode::OK);
    for secret in [&old, &new, &newest] {
        app.get(&project_path, secret).await.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
    }
    // And rotation cannot bring a revoked key back.
    let res = app.post_json(&rotate, admin, &json!({})).await;
    if res.status == StatusCode::OK {
        let revived = res.body["key"].as_str().expect("secret");
        app.get(&project_path, revived).await.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
    } else {
        assert!(res.status.is_client_error(), "{}", res.text);
    }

    // A short grace runs out: the old secret stops, the new one keeps working.
    let (id, old) = app.key(&project, &["read"]).await;
    let rotate = format!("{project_path}/api-keys/{id}/rotate");
    let res = app.post_json(&rotate, admin, &json!({"grace_period_seconds": 2})).await;
    res.expect(StatusCode::OK);
    let new = res.body["key"].as_str().expect("new secret").to_owned();
    app.get(&project_path, &old).await.expect(StatusCode::OK);
    let ended = eventually(Duration::from_secs(10), || {
        let (app, path, old) = (&app, &project_path, &old);
        async move { app.get(path, old).await.status == StatusCode::UNAUTHORIZED }
    })
    .await;
    assert!(ended, "the old secret still works well after its 2 s grace");
    app.get(&project_path, &new).await.expect(StatusCode::OK);
}

async fn expiry_must_be_in_the_future_and_defaults_to_the_creators(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("expiry").await;
    let path = format!("/api/v1/projects/{project}/api-keys");
    let admin = app.admin_key();
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;

    // The reference's own example date is now in the past.
    for expires_at in
        [json!("2024-12-31T23:59:59Z"), json!(in_seconds(-5)), json!("2030-13-01T00:00:00Z"), json!("soon"), json!(5)]
    {
        let res =
            app.post_json(&path, admin, &json!({"name": "k", "permissions": ["read"], "expires_at": expires_at})).await;
        assert_eq!(res.error(unprocessable, "VALIDATION_ERROR")["field"], "expires_at", "{expires_at}");
    }

    // A project-scoped admin key that expires in a day...
    let day = in_seconds(86_400);
    let parent = app
        .create_key(
            &project,
            json!({"name": "parent", "permissions": ["admin"], "expires_at": day}),
            StatusCode::CREATED,
        )
        .await;
    let day_at = chrono::DateTime::parse_from_rfc3339(&day).expect("rfc 3339");
    assert_eq!(assert_timestamp(&parent["expires_at"]), day_at);
    let parent_secret = parent["key"].as_str().expect("secret");
    // ...gives its own expiry to a key made without one...
    let child = app
        .create_key_as(parent_secret, &project, json!({"name": "child", "permissions": ["read"]}), StatusCode::CREATED)
        .await;
    assert_eq!(assert_timestamp(&child["expires_at"]), day_at);
    // ...may set an earlier one...
    let hour = in_seconds(3600);
    let earlier = app
        .create_key_as(
            parent_secret,
            &project,
            json!({"name": "earlier", "permissions": ["read"], "expires_at": hour}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(
        assert_timestamp(&earlier["expires_at"]),
        chrono::DateTime::parse_from_rfc3339(&hour).expect("rfc 3339")
    );
    // ...but never a later one, nor none at all by patching.
    let later = json!({"name": "later", "permissions": ["read"], "expires_at": in_seconds(2 * 86_400)});
    let res = app.post_json(&path, parent_secret, &later).await;
    assert_eq!(res.error(unprocessable, "VALIDATION_ERROR")["field"], "expires_at");
    let child_path = format!("{path}/{}", child["id"].as_str().expect("id"));
    let res = app.patch_json(&child_path, parent_secret, &json!({"expires_at": null})).await;
    assert_eq!(res.error(unprocessable, "VALIDATION_ERROR")["field"], "expires_at");

    // The bootstrap key never expires, so keys it makes without an expiry never do.
    let forever =
        app.create_key(&project, json!({"name": "forever", "permissions": ["read"]}), StatusCode::CREATED).await;
    assert_eq!(forever["expires_at"], Value::Null);
}

async fn last_used_at_is_recorded_soon_after_use(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("usage").await;
    let (id, secret) = app.key(&project, &["read"]).await;
    let key_path = format!("/api/v1/projects/{project}/api-keys/{id}");
    let before = app.get(&key_path, app.admin_key()).await;
    assert_eq!(before.body["last_used_at"], Value::Null);
    let created_at = assert_timestamp(&before.body["created_at"]);

    app.get(&format!("/api/v1/projects/{project}"), &secret).await.expect(StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(12);
    let seen = loop {
        let last_used = app.get(&key_path, app.admin_key()).await.body["last_used_at"].clone();
        if !last_used.is_null() {
            break last_used;
        }
        assert!(Instant::now() < deadline, "last_used_at was not set within 12 s of the key's use");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(assert_timestamp(&seen) >= created_at);
}

async fn no_secret_made_by_the_api_appears_in_the_logs(backend: Backend) {
    let options = Options { env: vec![("TENGINE_LOG".to_owned(), "debug".to_owned())], ..Options::default() };
    let mut app = TestApp::spawn_with(backend, options).await;
    let project = app.project("secrets").await;
    let mut secrets = Vec::new();
    for perms in [&["read"][..], &["read", "write"], &["admin"]] {
        let (id, secret) = app.key(&project, perms).await;
        app.get(&format!("/api/v1/projects/{project}"), &secret).await.expect(StatusCode::OK);
        let rotated = app
            .post_json(&format!("/api/v1/projects/{project}/api-keys/{id}/rotate"), app.admin_key(), &json!({}))
            .await;
        rotated.expect(StatusCode::OK);
        secrets.push(secret);
        secrets.push(rotated.body["key"].as_str().expect("rotated secret").to_owned());
    }
    // Webhook secrets, generated and chosen, and rotated, stay out of the logs too.
    let generated = app
        .post_json(
            &format!("/api/v1/projects/{project}/webhooks"),
            app.admin_key(),
            &json!({"url": "https://hooks.example.com/a", "events": ["*"]}),
        )
        .await;
    generated.expect(StatusCode::CREATED);
    secrets.push(generated.body["secret"].as_str().expect("generated webhook secret").to_owned());
    let chosen = "my-own-webhook-secret-1234";
    let with_secret = app
        .post_json(
            &format!("/api/v1/projects/{project}/webhooks"),
            app.admin_key(),
            &json!({"url": "https://hooks.example.com/b", "events": ["*"], "secret": chosen}),
        )
        .await;
    with_secret.expect(StatusCode::CREATED);
    secrets.push(chosen.to_owned());
    let wid = with_secret.body["id"].as_str().expect("webhook id").to_owned();
    let rotated = app
        .post_json(&format!("/api/v1/projects/{project}/webhooks/{wid}/rotate-secret"), app.admin_key(), &json!({}))
        .await;
    rotated.expect(StatusCode::OK);
    secrets.push(rotated.body["secret"].as_str().expect("rotated webhook secret").to_owned());
    // Events fan out to these webhooks (and fail: the hosts do not exist here).
    app.patch_json(&format!("/api/v1/projects/{project}"), app.admin_key(), &json!({"name": "renamed"}))
        .await
        .expect(StatusCode::OK);
    // A refused key-shaped value is not logged either.
    let unknown = crate::helpers::random_key();
    app.get("/api/v1/projects", &unknown).await.error(StatusCode::UNAUTHORIZED, "INVALID_API_KEY");
    secrets.push(unknown);
    // A clean stop flushes whatever was buffered, so the logs are complete.
    assert!(app.stop().await.success(), "the server exits cleanly on SIGTERM");
    let logs = app.logs();
    assert!(!logs.is_empty(), "the server logged nothing at all");
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret ({}...) appears in the server output", &secret[..12]);
    }
}
