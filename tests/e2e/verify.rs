//! Independent checks of delivered signatures: the reference's Node way
//! (`crypto.createHmac`), the official Standard Webhooks Python library
//! (`standardwebhooks`, installed once into a venv under the target directory), and a
//! plain Rust HMAC for secrets the official library cannot take as text.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::io::AsyncWriteExt;

use crate::receiver::Received;

/// Compares `sha256=<hex HMAC-SHA256(secret, raw body)>` with each comma-separated value
/// of `X-Tengine-Signature`, the way the reference's Node example does.
const NODE_SCRIPT: &str = r#"
const crypto = require('crypto');
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const rawBody = Buffer.from(input.body, 'base64');
const expected = crypto.createHmac('sha256', input.secret).update(rawBody).digest('hex');
const values = input.header.split(',').map((v) => v.trim());
process.stdout.write(JSON.stringify(values.map((v) => v === 'sha256=' + expected)));
"#;

/// Verifies with the official library; `secret_bytes` passes the secret as raw bytes.
const PYTHON_SCRIPT: &str = r#"
import base64, json, sys
from standardwebhooks.webhooks import Webhook
inp = json.load(sys.stdin)
secret = base64.b64decode(inp["secret_bytes"]) if inp["secret_bytes"] else inp["secret"]
try:
    Webhook(secret).verify(base64.b64decode(inp["body"]), inp["headers"])
    print("verified")
except Exception as e:
    print("refused: %r" % (e,))
"#;

/// Which comma-separated values of `X-Tengine-Signature` match `secret`, according to
/// Node's `crypto.createHmac('sha256', secret).update(rawBody).digest('hex')`.
pub async fn node_tengine_matches(secret: &str, body: &[u8], header: &str) -> Vec<bool> {
    let input = json!({"secret": secret, "body": BASE64.encode(body), "header": header});
    let out = run(Path::new("node"), &["-e", NODE_SCRIPT], &input).await;
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("node printed {out:?}: {e}"))
}

/// Whether the official Standard Webhooks library accepts the request under `secret`
/// (a `whsec_...` string, as receivers configure it).
pub async fn python_standard_verifies(secret: &str, body: &[u8], request: &Received) -> bool {
    python_verify(json!({"secret": secret, "secret_bytes": null}), body, request).await
}

/// Like [`python_standard_verifies`], with the secret given to the library as raw bytes
/// (the library's only way to take a key that is not `whsec_` + base64).
pub async fn python_standard_verifies_bytes(secret: &[u8], body: &[u8], request: &Received) -> bool {
    python_verify(json!({"secret": null, "secret_bytes": BASE64.encode(secret)}), body, request).await
}

async fn python_verify(mut input: Value, body: &[u8], request: &Received) -> bool {
    let headers: serde_json::Map<String, Value> = ["webhook-id", "webhook-timestamp", "webhook-signature"]
        .iter()
        .map(|name| ((*name).to_owned(), Value::from(request.header(name))))
        .collect();
    input["body"] = Value::from(BASE64.encode(body));
    input["headers"] = Value::Object(headers);
    let python = python().await;
    let out = run(&python, &["-c", PYTHON_SCRIPT], &input).await;
    match out.trim() {
        "verified" => true,
        other => {
            assert!(other.starts_with("refused:"), "unexpected output of the Python verifier: {other:?}");
            false
        }
    }
}

/// Which space-separated `v1,` values of `webhook-signature` equal base64 HMAC-SHA256
/// over `"{webhook-id}.{webhook-timestamp}.{body}"` keyed with `key`.
pub fn rust_standard_matches(key: &[u8], body: &[u8], request: &Received) -> Vec<bool> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("{}.{}.", request.header("webhook-id"), request.header("webhook-timestamp")).as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()));
    request.header("webhook-signature").split(' ').map(|v| v == expected).collect()
}

/// The `sha256=<hex>` value for `secret` over `body`, computed in Rust.
pub fn rust_tengine_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The Standard Webhooks signing key of a `whsec_` secret.
pub fn whsec_key(secret: &str) -> Vec<u8> {
    let b64 = secret.strip_prefix("whsec_").unwrap_or_else(|| panic!("not a whsec_ secret: {secret}"));
    BASE64.decode(b64).unwrap_or_else(|e| panic!("{secret} is not whsec_ + base64: {e}"))
}

/// Runs `program args...` with `input` as JSON on stdin; returns stdout, asserting success.
async fn run(program: &Path, args: &[&str], input: &Value) -> String {
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not run {}: {e}", program.display()));
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(input.to_string().as_bytes()).await.expect("write the verifier's input");
    drop(stdin);
    let out = child.wait_with_output().await.expect("wait for the verifier");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{} failed ({}): {stdout}\n{}",
        program.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The venv's Python with `standardwebhooks` installed, made once per target directory.
async fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    tokio::task::spawn_blocking(|| PYTHON.get_or_init(make_venv).clone()).await.expect("the venv set-up panicked")
}

fn make_venv() -> PathBuf {
    // The test runs as <target>/<profile>/deps/e2e-<hash>.
    let target = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(std::env::temp_dir);
    let venv = target.join("standardwebhooks-venv");
    let python = venv.join("bin").join("python");
    if python.is_file() {
        return python;
    }
    // Built aside and renamed into place, so concurrent test runs never see half a venv.
    let building = target.join(format!("standardwebhooks-venv.{}", uuid::Uuid::new_v4().simple()));
    let step = |program: &Path, args: &[&str]| {
        let out = std::process::Command::new(program).args(args).output().expect("run the venv set-up");
        assert!(
            out.status.success(),
            "{} {args:?} failed: {}{}",
            program.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let dir = building.to_str().expect("a UTF-8 target path");
    step(Path::new("python3"), &["-m", "venv", dir]);
    step(&building.join("bin").join("pip"), &["install", "--quiet", "standardwebhooks"]);
    if std::fs::rename(&building, &venv).is_err() {
        // Another run finished first; use its venv.
        let _ = std::fs::remove_dir_all(&building);
    }
    assert!(python.is_file(), "the standardwebhooks venv is missing {}", python.display());
    python
}
