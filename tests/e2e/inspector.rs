//! The MCP Inspector's CLI mode (npm `@modelcontextprotocol/inspector`, pinned in
//! `inspector/package-lock.json` and installed once with `npm ci` under the target
//! directory) lists a project's tools at `/mcp` and calls one, on both backends.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{Backend, TestApp};
use crate::mcp::{loopback_api, register_tools, server};

const PACKAGE: &str = include_str!("inspector/package.json");
const LOCK: &str = include_str!("inspector/package-lock.json");

/// The Inspector's launcher, installed once per target directory and lock file.
async fn inspector() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    tokio::task::spawn_blocking(|| BIN.get_or_init(install).clone()).await.expect("the Inspector set-up panicked")
}

fn install() -> PathBuf {
    let target = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(std::env::temp_dir);
    let pin = hex::encode(&Sha256::digest(LOCK.as_bytes())[..6]);
    let dir = target.join(format!("mcp-inspector-{pin}"));
    let bin = dir.join("node_modules").join(".bin").join("mcp-inspector");
    if bin.is_file() {
        return bin;
    }
    // Installed aside and renamed into place, so concurrent runs never see half of it.
    let building = target.join(format!("mcp-inspector-{pin}.{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&building).expect("make the Inspector's directory");
    std::fs::write(building.join("package.json"), PACKAGE).expect("write package.json");
    std::fs::write(building.join("package-lock.json"), LOCK).expect("write package-lock.json");
    let out = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&building)
        .output()
        .expect("run npm (Node.js and npm are needed for this test)");
    assert!(
        out.status.success(),
        "npm ci failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if std::fs::rename(&building, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&building);
    }
    assert!(bin.is_file(), "the Inspector is missing at {}", bin.display());
    bin
}

/// Runs the Inspector's CLI against the app's `/mcp` with `key`; its JSON output.
async fn cli(app: &TestApp, key: &str, project: &str, args: &[&str]) -> Value {
    let bin = inspector().await;
    let url = format!("{}/mcp", app.base_url());
    let auth = format!("Authorization: Bearer {key}");
    let named = format!("X-Tengine-Project-Id: {project}");
    let out = tokio::process::Command::new(&bin)
        .args(["--cli", &url, "--transport", "http", "--header", &auth, "--header", &named])
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .output()
        .await
        .expect("run the Inspector");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the Inspector failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("the Inspector printed {stdout:?}: {e}"))
}

async fn the_inspector_lists_the_enabled_tools_and_calls_one(backend: Backend) {
    let app = server(backend).await;
    let (api, log) = loopback_api().await;
    let project = app.project("inspected").await;
    register_tools(&app, &project, api).await;
    // The admin key is account-wide: it names the project.
    let listed = cli(&app, app.admin_key(), &project, &["--method", "tools/list"]).await;
    let tools = listed["tools"].as_array().expect("tools");
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["crm-contacts-get_by_id"], "the disabled tool is absent: {listed}");
    assert_eq!(tools[0]["description"], "Looks up a CRM contact by id.");
    assert_eq!(tools[0]["inputSchema"]["required"], serde_json::json!(["id"]));

    let called = cli(
        &app,
        app.admin_key(),
        &project,
        &["--method", "tools/call", "--tool-name", "crm-contacts-get_by_id", "--tool-arg", "id=c-42"],
    )
    .await;
    assert_ne!(called["isError"], true, "{called}");
    assert_eq!(called["structuredContent"]["contact"]["name"], "Ada Lovelace", "{called}");
    let got = log.lock().expect("the log").clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].path_and_query, "/v1/contacts/c-42?expand=notes");
    assert_eq!(got[0].verified, Ok(()), "the tng2 signature verifies");
    // Without a key, the Inspector gets the 401 challenge, not a tool list.
    let bare = app.send::<&str>(reqwest::Method::POST, "/mcp", &[], None).await;
    assert_eq!(bare.status, StatusCode::UNAUTHORIZED);
}

both!(the_inspector_lists_the_enabled_tools_and_calls_one);
