//! Secrets at rest: nothing secret in the raw database, private files, the server key
//! (generated for SQLite, required for PostgreSQL), `tengine secrets rotate`, and the
//! sealing of plaintext secrets left by older versions.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tengine_domain::secret_key::ServerKey;
use tengine_domain::webhook::{verify_tengine, WebhookSecret};

use crate::helpers::{Backend, Options, TestApp};
use crate::receiver::Receiver;
use crate::webhook_api::{create_webhook, hooks_path, send_test};

both!(no_webhook_secret_api_key_or_idempotency_key_is_found_in_the_raw_database);

const CHOSEN_SECRET: &str = "whsec_ChosenByTheClientAndNeverStoredInClear==";
const IDEMPOTENCY_KEY: &str = "idem-7";

fn key_b64(byte: u8) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

fn key_id(b64: &str) -> String {
    b64.parse::<ServerKey>().expect("a valid key").id().to_string()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn no_webhook_secret_api_key_or_idempotency_key_is_found_in_the_raw_database(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let project = app.project("at rest").await;
    let events = json!(["usage.limit_exceeded"]);
    let generated =
        create_webhook(&app, &project, json!({"url": "https://hooks.example.com/a", "events": events})).await;
    let chosen = create_webhook(
        &app,
        &project,
        json!({"url": "https://hooks.example.com/b", "events": events, "secret": CHOSEN_SECRET}),
    )
    .await;
    let wid = chosen["id"].as_str().expect("id");
    let rotated =
        app.post_json(&format!("{}/{wid}/rotate-secret", hooks_path(&project)), app.admin_key(), &json!({})).await;
    rotated.expect(StatusCode::OK);
    let created = app
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/projects/{project}/api-keys"),
            &[
                ("authorization", format!("Bearer {}", app.admin_key())),
                ("content-type", "application/json".to_owned()),
                ("idempotency-key", IDEMPOTENCY_KEY.to_owned()),
            ],
            Some(br#"{"name":"ci","permissions":["admin"]}"#.to_vec()),
        )
        .await;
    created.expect(StatusCode::CREATED);

    let raw = app.raw_database();
    assert!(contains(&raw, "tengine-sealed:v1:"), "the webhooks are there, sealed");
    let mut secrets = vec![
        generated["secret"].as_str().expect("secret").to_owned(),
        CHOSEN_SECRET.to_owned(),
        rotated.body["secret"].as_str().expect("new secret").to_owned(),
        created.body["key"].as_str().expect("the new key").to_owned(),
    ];
    // The random part of each generated secret too, in case a prefix were dropped.
    secrets.extend(secrets.clone().iter().filter_map(|s| s.strip_prefix("whsec_").map(str::to_owned)));
    for secret in &secrets {
        assert!(!contains(&raw, secret), "{secret} is in the raw database");
    }
    assert!(!contains(&raw, IDEMPOTENCY_KEY), "the Idempotency-Key value is in the raw database");
}

#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_data_directory_database_and_generated_key_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    // The harness makes the data directory with the usual 0755, like an older version did.
    let mut app = TestApp::spawn(Backend::Sqlite).await;
    let project = app.project("modes").await;
    app.key(&project, &["read"]).await;
    let data = app.data_dir();
    assert_eq!(mode(&data), 0o700, "a looser data directory is tightened");
    for file in ["tengine.db", "tengine.db-wal", "tengine.db-shm", "secret.key"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    let key = std::fs::read_to_string(data.join("secret.key")).expect("the generated key");
    key.parse::<ServerKey>().expect("32 bytes of standard base64");
    assert!(app.restart().await.success());
    assert_eq!(std::fs::read_to_string(data.join("secret.key")).expect("the key"), key, "a restart keeps the key");
}

#[tokio::test]
async fn postgres_without_a_secret_key_refuses_to_start_and_says_how_to_make_one() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let unset = [("TENGINE_SECRET_KEY", ""), ("TENGINE_LISTEN", "127.0.0.1:0")];
    let out = tokio::time::timeout(Duration::from_secs(30), app.cli_with_env(&["serve"], &unset))
        .await
        .expect("the server exits at once instead of starting");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "it must not start: {stderr}");
    assert!(stderr.contains("TENGINE_SECRET_KEY") && stderr.contains("openssl rand -base64 32"), "{stderr}");
    let bad = app.cli_with_env(&["serve"], &[("TENGINE_SECRET_KEY", "c2hvcnQ="), ("TENGINE_LISTEN", "127.0.0.1:0")]);
    let out = tokio::time::timeout(Duration::from_secs(30), bad).await.expect("exits at once");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("32 random bytes"));
}

/// The stored secret column.
fn stored(app: &TestApp) -> String {
    app.sql("SELECT secret FROM webhooks")
}

/// `tengine secrets rotate` with these keys.
async fn rotate(app: &TestApp, key: &str, previous: &str) -> std::process::Output {
    let env = [("TENGINE_SECRET_KEY", key), ("TENGINE_SECRET_KEYS_PREVIOUS", previous)];
    app.cli_with_env(&["secrets", "rotate"], &env).await
}

/// Waits for a test event to reach `receiver` and checks it is signed with `secret`.
async fn assert_signed_with(app: &TestApp, project: &str, wid: &str, receiver: &Receiver, secret: &str) {
    let before = receiver.count();
    send_test(app, project, wid).await;
    let got = receiver.wait_for(before + 1, Duration::from_secs(20)).await;
    let last = got.last().expect("a delivery");
    let secret: WebhookSecret = secret.parse().expect("secret");
    verify_tengine(&secret, &last.body, last.header("x-tengine-signature")).expect("signed with the secret");
}

#[tokio::test]
async fn secrets_rotate_reseals_under_the_new_key_and_the_old_key_then_opens_nothing() {
    let (old, new) = (key_b64(1), key_b64(2));
    let env = |key: &str| {
        vec![
            ("TENGINE_WEBHOOK_ALLOW_PRIVATE".to_owned(), "true".to_owned()),
            ("TENGINE_SECRET_KEY".to_owned(), key.to_owned()),
        ]
    };
    let mut app = TestApp::spawn_with(Backend::Postgres, Options { env: env(&old), ..Options::default() }).await;
    let receiver = Receiver::start().await;
    let project = app.project("rotation").await;
    let hook = create_webhook(
        &app,
        &project,
        json!({"url": receiver.url(), "events": ["usage.limit_exceeded"], "secret": CHOSEN_SECRET}),
    )
    .await;
    let wid = hook["id"].as_str().expect("id").to_owned();
    assert!(stored(&app).starts_with(&format!("tengine-sealed:v1:{}:", key_id(&old))), "{}", stored(&app));

    // Without the old key, nothing can be re-sealed, and the command says so.
    let out = rotate(&app, &new, "").await;
    assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&wid), "names the unreadable webhook");
    assert!(stored(&app).contains(&key_id(&old)), "nothing changed");

    // With both keys configured, a server opens what the old key sealed...
    app.stop().await;
    app.options_mut().env = env(&new);
    app.options_mut().env.push(("TENGINE_SECRET_KEYS_PREVIOUS".to_owned(), old.clone()));
    app.start_again().await;
    assert_signed_with(&app, &project, &wid, &receiver, CHOSEN_SECRET).await;

    // ...and the rotation seals it under the new one.
    let out = rotate(&app, &new, &old).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!((report["resealed"].as_u64(), report["key_id"].as_str()), (Some(1), Some(key_id(&new).as_str())));
    assert!(stored(&app).starts_with(&format!("tengine-sealed:v1:{}:", key_id(&new))), "{}", stored(&app));
    // The old key alone now opens nothing; the new one alone opens everything.
    assert!(!rotate(&app, &old, "").await.status.success());
    let again = rotate(&app, &new, "").await;
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));

    app.stop().await;
    app.options_mut().env = env(&new);
    app.start_again().await;
    assert_signed_with(&app, &project, &wid, &receiver, CHOSEN_SECRET).await;
}

#[tokio::test]
async fn plaintext_secrets_from_an_older_version_are_sealed_at_start_and_still_sign() {
    let mut app = crate::webhook_api::spawn(Backend::Sqlite).await;
    let receiver = Receiver::start().await;
    let project = app.project("legacy").await;
    let hook = create_webhook(&app, &project, json!({"url": receiver.url(), "events": ["usage.limit_exceeded"]})).await;
    let wid = hook["id"].as_str().expect("id").to_owned();
    app.stop().await;
    // What a version before encryption at rest left behind.
    app.sql(&format!("UPDATE webhooks SET secret = '{CHOSEN_SECRET}'"));
    app.start_again().await;
    let stored = app.sql("SELECT secret FROM webhooks");
    assert!(stored.starts_with("tengine-sealed:v1:") && !stored.contains(CHOSEN_SECRET), "{stored}");
    assert_signed_with(&app, &project, &wid, &receiver, CHOSEN_SECRET).await;
}
