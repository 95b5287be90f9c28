//! Every POST and PATCH route of the real router (SQLite, system clock, the admin key)
//! with arbitrary bytes, arbitrary JSON and mutated valid bodies, odd content types and
//! `Idempotency-Key`s. Never a 5xx or a panic; every status is one the OpenAPI document
//! lists for the operation; every 4xx is the error envelope with the response's
//! `X-Request-Id`.

use axum::http::Method;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use tengine_adapters_http::doc::schemas::ERROR_CODES;

use crate::app::{App, Fixtures, Reply};
use crate::{run, Budget};

/// A route under test: its method, its documented path, and a valid body.
#[derive(Debug, Clone)]
pub struct Route {
    /// POST or PATCH.
    pub method: &'static str,
    /// The path as the document spells it.
    pub template: &'static str,
    /// A body the route accepts.
    pub valid: Value,
}

/// Every POST and PATCH route with a valid body.
pub fn routes() -> Vec<Route> {
    let route = |method, template, valid| Route { method, template, valid };
    vec![
        route("post", "/api/v1/projects", json!({"name": "Fuzz project", "description": "about"})),
        route("patch", "/api/v1/projects/{project_id}", json!({"name": "Renamed", "description": null})),
        route(
            "post",
            "/api/v1/projects/{project_id}/api-keys",
            json!({"name": "fuzz key", "permissions": ["read", "write"], "expires_at": "2099-01-01T00:00:00Z"}),
        ),
        route(
            "patch",
            "/api/v1/projects/{project_id}/api-keys/{key_id}",
            json!({"name": "renamed key", "permissions": ["read"], "expires_at": "2098-01-01T00:00:00Z"}),
        ),
        route("post", "/api/v1/projects/{project_id}/api-keys/{key_id}/rotate", json!({"grace_period_seconds": 60})),
        route(
            "post",
            "/api/v1/projects/{project_id}/webhooks",
            json!({"url": "https://example.com/in", "events": ["project.created"], "secret": "whsec_abcdefgh", "description": "d"}),
        ),
        route(
            "patch",
            "/api/v1/projects/{project_id}/webhooks/{webhook_id}",
            json!({"url": "https://example.com/in2", "events": ["*"], "active": true, "description": null}),
        ),
        route(
            "post",
            "/api/v1/projects/{project_id}/webhooks/{webhook_id}/rotate-secret",
            json!({"secret": "a new secret"}),
        ),
        route("post", "/api/v1/projects/{project_id}/webhooks/{webhook_id}/test", json!({})),
        route(
            "post",
            "/api/v1/projects/{project_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
            json!({}),
        ),
    ]
}

fn path(template: &str, f: &Fixtures) -> String {
    template
        .replace("{project_id}", &f.project)
        .replace("{key_id}", &f.api_key)
        .replace("{webhook_id}", &f.webhook)
        .replace("{delivery_id}", &f.delivery)
}

/// Text with the characters validators trip on.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "\\PC{0,24}",
        1 => any::<String>(),
        1 => "[\\x00-\\x1f\\x7f-\\u{9f} \\u{a0}\\u{2028}\\u{3000}\\u{feff}a-z]{0,12}",
        1 => proptest::sample::select(vec![
            "", " ", "*", "read", "admin", "project.created", "webhook.test", "2099-01-01T00:00:00Z",
            "2000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "2099-02-30T00:00:00Z",
            "2099-01-01T00:00:00+23:59", "2099-01-01", "https://example.com", "http://[::1]:0/x",
            "https://u:p@example.com", "https://", "ftp://example.com", "javascript:alert(1)", "https://ex ample.com",
            "whsec_", "whsec_AAAA", "tng_00000000000000000000000000000000000000002XzGTS",
        ])
        .prop_map(str::to_owned),
        1 => (1usize..5_000, proptest::sample::select(vec!['a', 'é', ' ', '\u{1F600}', '\0'])).prop_map(|(n, c)| c.to_string().repeat(n)),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        proptest::sample::select(vec![0i64, -1, 1, 59, 60, 604_800, 604_801, i64::MAX, i64::MIN]).prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        proptest::sample::select(vec![0.5f64, -0.0, 60.0, 1e300, 604_800.0, 9.3e18]).prop_map(Value::from),
    ]
}

/// Field names of the bodies, and others.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(vec![
            "name", "description", "permissions", "expires_at", "grace_period_seconds", "url", "events", "secret",
            "active",
        ])
        .prop_map(str::to_owned),
        1 => "\\PC{0,10}",
        1 => proptest::sample::select(vec!["", "Name", "name ", "__proto__", "id", "key"]).prop_map(str::to_owned),
    ]
}

/// Any JSON value.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf =
        prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::from), number(), text().prop_map(Value::from),];
    leaf.prop_recursive(4, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// One change to a valid body.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Set (or add) a field.
    Set(String, Value),
    /// Remove a field.
    Remove(String),
    /// A list field holding these strings.
    List(String, Vec<String>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (key(), json_value()).prop_map(|(k, v)| Mutation::Set(k, v)),
        2 => (key(), prop_oneof![text().prop_map(Value::from), number(), Just(Value::Null)]).prop_map(|(k, v)| Mutation::Set(k, v)),
        1 => key().prop_map(Mutation::Remove),
        2 => (
            proptest::sample::select(vec!["permissions", "events"]).prop_map(str::to_owned),
            proptest::collection::vec(
                prop_oneof![
                    4 => proptest::sample::select(vec![
                        "read", "write", "webhook", "admin", "*", "project.created", "webhook.test",
                        "usage.limit_exceeded", "integration.updated", "READ", "",
                    ])
                    .prop_map(str::to_owned),
                    1 => "\\PC{0,12}",
                ],
                0..6,
            ),
        )
            .prop_map(|(k, v)| Mutation::List(k, v)),
    ]
}

/// A request body and how it is sent.
#[derive(Debug, Clone)]
pub enum Payload {
    /// Arbitrary bytes.
    Bytes(Vec<u8>),
    /// An arbitrary JSON value.
    Json(Value),
    /// The route's valid body with some changes.
    Mutated(Vec<Mutation>),
    /// The route's valid body with a field repeated (raw text: serde_json maps would merge it).
    Duplicate(String, Value),
    /// A prefix of the route's (possibly mutated) valid body.
    Truncated(Vec<Mutation>, usize),
    /// Nothing.
    Empty,
    /// A body over the 1 MiB limit.
    Huge,
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..256).prop_map(Payload::Bytes),
        6 => json_value().prop_map(Payload::Json),
        16 => proptest::collection::vec(mutation(), 0..4).prop_map(Payload::Mutated),
        2 => (key(), json_value()).prop_map(|(k, v)| Payload::Duplicate(k, v)),
        2 => (proptest::collection::vec(mutation(), 0..2), any::<usize>()).prop_map(|(m, n)| Payload::Truncated(m, n)),
        1 => Just(Payload::Empty),
        1 => Just(Payload::Huge),
    ]
}

fn mutate(valid: &Value, mutations: &[Mutation]) -> Value {
    let mut body: Map<String, Value> = valid.as_object().cloned().unwrap_or_default();
    for m in mutations {
        match m {
            Mutation::Set(k, v) => {
                body.insert(k.clone(), v.clone());
            }
            Mutation::Remove(k) => {
                body.remove(k);
            }
            Mutation::List(k, items) => {
                body.insert(k.clone(), items.iter().map(|s| Value::from(s.as_str())).collect());
            }
        }
    }
    Value::Object(body)
}

fn bytes(route: &Route, payload: &Payload) -> Vec<u8> {
    match payload {
        Payload::Bytes(b) => b.clone(),
        Payload::Json(v) => v.to_string().into_bytes(),
        Payload::Mutated(m) => mutate(&route.valid, m).to_string().into_bytes(),
        Payload::Duplicate(k, v) => {
            let rest = route.valid.to_string();
            let field = format!("{}:{v}", Value::from(k.as_str()));
            let sep = if rest == "{}" { "" } else { "," };
            format!("{{{field}{sep}{}", &rest[1..]).into_bytes()
        }
        Payload::Truncated(m, n) => {
            let mut b = mutate(&route.valid, m).to_string().into_bytes();
            b.truncate(n % (b.len() + 1));
            b
        }
        Payload::Empty => Vec::new(),
        Payload::Huge => format!("{{\"name\": \"{}\"}}", "x".repeat(1024 * 1024)).into_bytes(),
    }
}

/// One request of the target.
#[derive(Debug, Clone)]
pub struct Case {
    /// Which of [`routes`].
    pub route: usize,
    /// The body.
    pub payload: Payload,
    /// The `Content-Type`, if any.
    pub content_type: Option<String>,
    /// An `Idempotency-Key`, if any.
    pub idempotency_key: Option<String>,
}

fn case(routes: usize) -> impl Strategy<Value = Case> {
    let content_type = prop_oneof![
        12 => Just(Some("application/json".to_owned())),
        1 => Just(None),
        1 => proptest::sample::select(vec![
            "text/plain", "application/json; charset=utf-8", "APPLICATION/JSON", "application/merge-patch+json",
            "application/x-www-form-urlencoded", "json", "application/json, text/plain", "",
        ])
        .prop_map(|s| Some(s.to_owned())),
        1 => "[ -~]{0,20}".prop_map(Some),
    ];
    let idempotency_key = proptest::option::weighted(0.2, prop_oneof!["[!-~]{1,40}", "[ -~]{0,300}", "[a-z0-9]{1,2}"]);
    (0..routes, payload(), content_type, idempotency_key).prop_map(|(route, payload, content_type, idempotency_key)| {
        Case { route, payload, content_type, idempotency_key }
    })
}

fn documented(app: &App, route: &Route) -> Vec<u16> {
    let responses = &app.doc["paths"][route.template][route.method]["responses"];
    responses.as_object().map(|r| r.keys().filter_map(|k| k.parse().ok()).collect()).unwrap_or_default()
}

fn check(route: &Route, documented: &[u16], reply: &Reply) -> Result<(), TestCaseError> {
    let status = reply.status.as_u16();
    let text = String::from_utf8_lossy(&reply.body);
    prop_assert!(status < 500, "{} {}: {} {}", route.method, route.template, status, text);
    prop_assert!(documented.contains(&status), "{} {}: undocumented {} {}", route.method, route.template, status, text);
    let request_id = reply.headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
    prop_assert!(!request_id.is_empty(), "no X-Request-Id");
    if status >= 400 {
        let body = reply.json();
        let error = &body["error"];
        prop_assert!(body.as_object().is_some_and(|o| o.len() == 1), "not the envelope: {}", text);
        prop_assert!(ERROR_CODES.contains(&error["code"].as_str().unwrap_or("")), "code: {}", text);
        prop_assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "message: {}", text);
        prop_assert!(error["details"].is_object(), "details: {}", text);
        prop_assert_eq!(error["request_id"].as_str(), Some(request_id), "request_id: {}", text);
    } else if !reply.body.is_empty() {
        prop_assert!(!reply.json().is_null(), "a success that is not JSON: {}", text);
    }
    Ok(())
}

/// Runs the target against a fresh application.
pub fn fuzz(budget: Budget) -> u64 {
    let app = App::start();
    let routes = routes();
    let documented: Vec<Vec<u16>> = routes.iter().map(|r| documented(&app, r)).collect();
    for (route, statuses) in routes.iter().zip(&documented) {
        assert!(!statuses.is_empty(), "{} {} is not in the document", route.method, route.template);
    }
    run("bodies", budget, case(routes.len()), |case| {
        let route = &routes[case.route];
        let method = if route.method == "post" { Method::POST } else { Method::PATCH };
        let mut headers = Vec::new();
        if let Some(key) = &case.idempotency_key {
            headers.push(("idempotency-key", key.as_str()));
        }
        let reply = app.send(
            method,
            &path(route.template, &app.fixtures),
            case.content_type.as_deref(),
            &headers,
            bytes(route, &case.payload),
        );
        check(route, &documented[case.route], &reply)
    })
}
