//! The OpenAPI document: the committed copy is current, every route is documented, the
//! document is structurally sound, and the router answers what it says.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::Value;
use tengine_adapters_http::doc::{schemas, OPERATIONS_TAG};
use tengine_adapters_http::openapi;
use tengine_adapters_http::AppState;
use tengine_adapters_http::Edge;
use tengine_application::{Deps, SlidingWindowLimiter, Tengine};
use tengine_domain::secret_key::{Keyring, ServerKey};
use tengine_domain::{EventType, Permission};
use tengine_ports::{MockClock, MockIdGenerator, MockSecretGenerator, MockStore, MockUsageSink, RepoError};
use tower::ServiceExt;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

fn doc() -> Value {
    serde_json::from_str(openapi::json()).expect("the document is JSON")
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            out.push((method.to_uppercase(), path.clone(), op));
        }
    }
    out
}

fn is_operational(op: &Value) -> bool {
    op["tags"].as_array().is_some_and(|t| t.iter().any(|t| t == OPERATIONS_TAG))
}

/// An API operation that takes no key (`security: [{}]`: the portal's code exchange).
fn is_public(op: &Value) -> bool {
    op["security"] == serde_json::json!([{}])
}

/// A router over a store that answers nothing: only requests that never reach it succeed.
fn app(store: MockStore) -> Edge {
    let mut clock = MockClock::new();
    clock.expect_now().returning(chrono::Utc::now);
    let tengine = Tengine::new(Deps {
        store: Arc::new(store),
        clock: Arc::new(clock),
        ids: Arc::new(MockIdGenerator::new()),
        secrets: Arc::new(MockSecretGenerator::new()),
        limiter: Arc::new(SlidingWindowLimiter::local()),
        keyring: Arc::new(Keyring::new(ServerKey::from_bytes([1; 32]), vec![])),
        tool_caller: Arc::new(tengine_ports::MockToolCaller::new()),
    });
    tengine_adapters_http::router(AppState::new(tengine_adapters_http::state::AppStateParts {
        tengine,
        ready: Arc::new(|| Box::pin(async { true })),
        usage: Arc::new(MockUsageSink::new()),
        metering: false,
        metrics: Arc::new(String::new),
        streams: Default::default(),
    }))
}

/// A concrete path for a template: ids of the right shape.
fn concrete(path: &str) -> String {
    path.replace("{project_id}", "proj_0000000000000000000001")
        .replace("{key_id}", "key_0000000000000000000001")
        .replace("{webhook_id}", "wh_0000000000000000000001")
        .replace("{delivery_id}", "del_0000000000000000000001")
}

async fn send(app: &Edge, method: &str, path: &str, auth: Option<&str>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut req = Request::builder().method(method).uri(concrete(path));
    if let Some(auth) = auth {
        req = req.header(header::AUTHORIZATION, auth);
    }
    let res = app.clone().oneshot(req.body(Body::empty()).expect("request")).await.expect("infallible");
    let (parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.expect("body");
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (parts.status, parts.headers, json)
}

#[test]
fn the_committed_document_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == openapi::json(),
        "docs/openapi.json differs from the document the code generates; run `cargo xtask openapi` and commit the result"
    );
}

#[test]
fn the_document_is_openapi_3_1_with_bearer_auth() {
    let doc = doc();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["components"]["securitySchemes"]["bearerAuth"]["type"], "http");
    assert_eq!(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
    assert_eq!(doc["security"], serde_json::json!([{"bearerAuth": []}]));
}

#[test]
fn routes_are_registered_only_together_with_their_documentation() {
    // A route is registered once, by `routes!()` from its handler's `#[utoipa::path]`; a
    // plain axum `.route(...)` would serve an undocumented operation. The probe below
    // checks the other direction: every documented operation is served.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/routes");
    for entry in std::fs::read_dir(dir).expect("src/routes") {
        let path = entry.expect("an entry").path();
        let source = std::fs::read_to_string(&path).expect("a route module");
        for forbidden in [".route(", "axum::routing", ".nest("] {
            assert!(!source.contains(forbidden), "{} registers a route with `{forbidden}`", path.display());
        }
    }
    let doc = doc();
    let documented: BTreeSet<(String, String)> = operations(&doc).into_iter().map(|(m, p, _)| (m, p)).collect();
    assert!(documented.len() >= 26, "{documented:?}");
}

#[test]
fn operation_ids_are_unique_and_every_operation_has_a_tag() {
    let doc = doc();
    let mut ids = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
        assert_eq!(op["tags"].as_array().map(Vec::len), Some(1), "{method} {path} needs one tag");
    }
}

#[test]
fn every_reference_resolves() {
    fn walk<'a>(v: &'a Value, refs: &mut Vec<&'a str>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    refs.push(r);
                }
                map.values().for_each(|v| walk(v, refs));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, refs)),
            _ => {}
        }
    }
    let doc = doc();
    let mut refs = Vec::new();
    walk(&doc, &mut refs);
    assert!(refs.len() > 50, "the document uses references");
    for r in refs {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("external reference {r}"));
        assert!(doc.pointer(pointer).is_some(), "unresolved reference {r}");
    }
}

#[test]
fn api_operations_document_their_errors_and_operational_ones_need_no_key() {
    let doc = doc();
    for (method, path, op) in operations(&doc) {
        let responses = op["responses"].as_object().expect("responses");
        if is_operational(op) {
            assert_eq!(op["security"], serde_json::json!([]), "{method} {path} must not need a key");
            assert!(!path.starts_with("/api/"), "{method} {path}");
            continue;
        }
        assert!(path.starts_with("/api/v1/"), "{method} {path}");
        if is_public(op) {
            // No key, so no 403 or rate limit; the body's own refusals and the 401 of a bad code.
            for status in ["400", "401", "413", "415", "422"] {
                assert!(responses.contains_key(status), "{method} {path} lacks {status}");
            }
            continue;
        }
        assert!(op.get("security").is_none(), "{method} {path} uses the global bearer scheme");
        for status in ["401", "403", "429", "500", "503"] {
            assert!(responses.contains_key(status), "{method} {path} lacks {status}");
        }
        if path.contains("{project_id}") {
            assert!(responses.contains_key("404"), "{method} {path} lacks 404");
        }
        if op.get("requestBody").is_some() {
            for status in ["400", "413", "415", "422"] {
                assert!(responses.contains_key(status), "{method} {path} has a body but lacks {status}");
            }
        }
        let success: Vec<&String> = responses.keys().filter(|s| s.starts_with('2')).collect();
        assert_eq!(success.len(), 1, "{method} {path}: one success status");
        let ok = &responses[success[0].as_str()];
        assert!(ok["headers"].get("X-Request-Id").is_some(), "{method} {path}");
        assert!(ok["headers"].get("X-RateLimit-Remaining").is_some(), "{method} {path}");
        if success[0] == "201" {
            assert_eq!(method, "POST");
            assert!(ok["headers"].get("Location").is_some(), "{method} {path} lacks Location");
        }
        if op["operationId"].as_str().is_some_and(|id| id.starts_with("list")) {
            assert!(ok["headers"].get("Link").is_some(), "{method} {path} lacks Link");
        }
    }
}

#[test]
fn every_error_response_uses_the_envelope_and_carries_the_request_id() {
    let doc = doc();
    for (name, response) in doc["components"]["responses"].as_object().expect("responses") {
        let schema = &response["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(schema, "#/components/schemas/ErrorBody", "{name}");
        assert!(response["headers"].get("X-Request-Id").is_some(), "{name}");
        for (example, value) in response["content"]["application/json"]["examples"].as_object().expect("examples") {
            let code = value["value"]["error"]["code"].as_str().expect("code");
            assert!(schemas::ERROR_CODES.contains(&code), "{name}/{example}: {code}");
        }
    }
    assert!(doc["components"]["responses"]["RateLimited"]["headers"].get("Retry-After").is_some());
}

#[test]
fn request_bodies_refuse_unknown_fields() {
    let doc = doc();
    for (name, schema) in doc["components"]["schemas"].as_object().expect("schemas") {
        if name.ends_with("Request") {
            assert_eq!(schema["additionalProperties"], false, "{name}");
        }
    }
}

#[test]
fn enums_list_what_the_domain_accepts() {
    let doc = doc();
    let names = |schema: &str| -> Vec<String> {
        doc["components"]["schemas"][schema]["enum"]
            .as_array()
            .expect("enum")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(names("Permission"), Permission::ALL.map(|p| p.as_str().to_owned()));
    assert_eq!(names("EventType"), EventType::ALL.map(|t| t.as_str().to_owned()));
    for g in names("Granularity") {
        let parsed: tengine_domain::usage::Granularity = g.parse().expect("a granularity");
        assert_eq!(parsed.as_str(), g);
    }
    for s in names("DeliveryStatus") {
        let parsed: tengine_domain::delivery::DeliveryStatus = s.parse().expect("a delivery status");
        assert_eq!(parsed.as_str(), s);
    }
}

#[tokio::test]
async fn the_router_serves_every_documented_operation_and_no_other_method() {
    let app = app(MockStore::new());
    let doc = doc();
    let ops = operations(&doc);
    for (method, path, op) in &ops {
        let (status, headers, body) = send(&app, method, path, None).await;
        if is_operational(op) {
            assert_eq!(status, StatusCode::OK, "{method} {path}");
        } else if is_public(op) {
            // No key is asked for: the request itself is refused, in the envelope.
            assert!(status.is_client_error() && status != StatusCode::NOT_FOUND, "{method} {path}: {status}");
            assert!(status != StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(body["error"]["code"].is_string(), "{method} {path}: {body}");
        } else {
            // Authentication comes first, so a documented route answers 401, never 404 or 405.
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
            assert_eq!(body["error"]["code"], "INVALID_API_KEY");
        }
        assert!(headers.contains_key("x-request-id"), "{method} {path}");
    }
    let paths: BTreeSet<&String> = ops.iter().map(|(_, p, _)| p).collect();
    for path in paths {
        for method in METHODS {
            if ops.iter().any(|(m, p, _)| m == method && p == path) {
                continue;
            }
            let (status, _, body) = send(&app, method, path, None).await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is not documented: {body}");
        }
    }
}

#[tokio::test]
async fn the_router_serves_the_document() {
    let app = app(MockStore::new());
    let (status, headers, body) = send(&app, "GET", "/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(body, doc());
}

#[tokio::test]
async fn live_errors_match_the_documented_envelope() {
    let mut store = MockStore::new();
    store.expect_find_by_digest().returning(|_| Err(RepoError::Unavailable("down".into())));
    let app = app(store);
    let key = tengine_domain::PlainApiKey::from_random(&"7".repeat(40)).expect("a key");
    let key = format!("Bearer {}", key.expose_secret());
    let cases = [(None, StatusCode::UNAUTHORIZED), (Some("Bearer nope"), StatusCode::UNAUTHORIZED)];
    let mut seen = Vec::new();
    for (auth, expected) in cases {
        let (status, headers, body) = send(&app, "GET", "/api/v1/projects", auth).await;
        assert_eq!(status, expected, "{body}");
        seen.push((headers, body));
    }
    // A well-formed key reaches the store, which is down.
    let (status, headers, body) = send(&app, "GET", "/api/v1/projects", Some(&key)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(headers.contains_key(header::RETRY_AFTER));
    seen.push((headers, body));
    let (_, headers, body) = send(&app, Method::PUT.as_str(), "/api/v1/projects", None).await;
    seen.push((headers, body));
    let (_, headers, body) = send(&app, "GET", "/api/v1/nowhere", None).await;
    seen.push((headers, body));
    for (headers, body) in seen {
        let error = body["error"].as_object().unwrap_or_else(|| panic!("an envelope: {body}"));
        let keys: BTreeSet<&str> = error.keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(["code", "message", "details", "request_id"]), "{body}");
        assert!(schemas::ERROR_CODES.contains(&error["code"].as_str().unwrap_or("")), "{body}");
        assert!(error["details"].is_object());
        assert_eq!(headers["x-request-id"].to_str().ok(), error["request_id"].as_str());
    }
}
