//! The tool definition's rules and a call prepared from end to end.

use chrono::DateTime;
use proptest::prelude::*;
use serde_json::{json, Value};
use uuid::Uuid;

use super::signing::{verify, SignedRequest};
use super::*;
use crate::member::Member;

fn draft() -> ToolDraft {
    ToolDraft {
        name: "crm-contacts-get_by_id".into(),
        description: "Fetch a contact".into(),
        input_schema: json!({
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "limit": {"type": "integer"},
                "note": {"type": "string"},
                "meta": {"type": "object"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "trace": {"type": "string"}
            },
            "required": ["id"]
        }),
        base_url: "https://api.example.com".into(),
        http_method: "POST".into(),
        endpoint_path: "/v1/contacts/{id}".into(),
        headers_template: Some(json!({"X-Trace": "{trace}", "X-Static": "fixed {{x}}"})),
        query_template: Some(json!({"limit": "{limit}", "tag": "{tags}", "project": "{tengine.project_id}"})),
        body_template: Some(json!({
            "note": "{note}",
            "greeting": "Hello {id}!",
            "meta": "{meta}",
            "limit": "{limit}",
            "list": ["{note}", 1],
            "who": "{tengine.member_roles}"
        })),
        ..ToolDraft::default()
    }
}

fn tool(d: ToolDraft) -> Tool {
    let new = NewTool::parse(d, false).expect("a valid draft");
    let at = DateTime::from_timestamp(1_700_000_000, 0).expect("a time");
    let ids = |n| Uuid::from_u128(n);
    Tool::new(
        ToolId::from_uuid(ids(9)),
        AccountId::from_uuid(ids(8)),
        ProjectId::from_uuid(ids(1)),
        new,
        |s| SealedSecret::from_stored(s.expose_secret().to_owned()),
        at,
    )
}

fn ctx(member: Option<&Member>) -> CallContext<'_> {
    CallContext {
        project_id: ProjectId::from_uuid(Uuid::from_u128(1)),
        request_id: Uuid::from_u128(0xabc),
        timestamp: 1_800_000_000,
        member,
    }
}

fn fields(e: &ValidationError) -> Vec<&str> {
    e.errors().map(|f| f.field.as_str()).collect()
}

fn header<'a>(r: &'a OutboundRequest, name: &str) -> Option<&'a str> {
    r.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

#[test]
fn a_draft_reports_every_bad_field_at_once() {
    let d = ToolDraft {
        name: "Bad Name".into(),
        description: " ".into(),
        input_schema: json!({"type": "string"}),
        base_url: "http://api.example.com/v1".into(),
        http_method: "TRACE".into(),
        endpoint_path: "v1".into(),
        headers_template: Some(json!({"X-Foo": "a\nb"})),
        inject_member_identity: Some(vec!["phone".into()]),
        auth_strategy: Some("basic".into()),
        timeout_ms: Some(30_001),
        max_response_bytes: Some(0),
        ..ToolDraft::default()
    };
    let err = NewTool::parse(d, false).expect_err("invalid");
    assert_eq!(
        fields(&err),
        [
            "name",
            "description",
            "input_schema/type",
            "base_url",
            "http_method",
            "endpoint_path",
            "headers_template.X-Foo",
            "inject_member_identity[0]",
            "auth_strategy",
            "timeout_ms",
            "max_response_bytes"
        ]
    );
}

#[test]
fn defaults_fill_what_a_draft_leaves_out() {
    let t = NewTool::parse(
        ToolDraft { headers_template: None, query_template: None, body_template: None, ..draft() },
        false,
    )
    .expect("valid");
    assert!(t.enabled && !t.require_member);
    assert_eq!(
        (t.auth_strategy, t.timeout_ms.get(), t.max_response_bytes.get()),
        (AuthStrategy::None, 10_000, 262_144)
    );
    assert_eq!(t.inject_member_identity, MemberIdentity::default());
    assert!(t.body_template.is_none());
}

#[test]
fn rules_between_fields_are_checked_on_create() {
    let get_with_body = ToolDraft { http_method: "GET".into(), ..draft() };
    assert_eq!(fields(&NewTool::parse(get_with_body, false).expect_err("invalid")), ["body_template"]);
    let no_secret = ToolDraft { auth_strategy: Some("static_bearer".into()), ..draft() };
    assert_eq!(fields(&NewTool::parse(no_secret, false).expect_err("invalid")), ["encrypted_auth_secret"]);
    let stray_secret = ToolDraft { encrypted_auth_secret: Some("s3cr3t-value".into()), ..draft() };
    assert_eq!(fields(&NewTool::parse(stray_secret, false).expect_err("invalid")), ["encrypted_auth_secret"]);
    let both_auth = ToolDraft {
        auth_strategy: Some("hmac_signature".into()),
        encrypted_auth_secret: Some("s3cr3t-value".into()),
        headers_template: Some(json!({"Authorization": "Bearer {trace}"})),
        ..draft()
    };
    assert_eq!(fields(&NewTool::parse(both_auth, false).expect_err("invalid")), ["headers_template.Authorization"]);
    assert!(NewTool::parse(ToolDraft { base_url: "http://127.0.0.1:9".into(), ..draft() }, true).is_ok());
}

#[test]
fn a_patch_is_checked_field_by_field_and_against_the_result() {
    let mut t = tool(draft());
    let later = DateTime::from_timestamp(1_700_000_100, 0).expect("a time");
    let bad = ToolPatchDraft { name: Some("X".into()), timeout_ms: Some(0), ..ToolPatchDraft::default() };
    assert_eq!(fields(&ToolPatch::parse(bad, false).expect_err("invalid")), ["name", "timeout_ms"]);

    let to_get = ToolPatch::parse(ToolPatchDraft { http_method: Some("GET".into()), ..Default::default() }, false);
    let before = t.clone();
    let err = t.apply(to_get.expect("fields ok"), |_| unreachable!(), later).expect_err("GET with a body");
    assert_eq!(fields(&err), ["body_template"]);
    assert_eq!(t, before, "a refused patch changes nothing");

    let get_no_body =
        ToolPatchDraft { http_method: Some("get".into()), body_template: Some(Value::Null), ..Default::default() };
    let p = ToolPatch::parse(get_no_body, false).expect("valid");
    assert_eq!(t.apply(p, |_| unreachable!(), later), Ok(true));
    assert_eq!((t.http_method, t.body_template.is_none(), t.updated_at), (HttpMethod::Get, true, later));

    let bearer = ToolPatchDraft { auth_strategy: Some("static_bearer".into()), ..Default::default() };
    let p = ToolPatch::parse(bearer.clone(), false).expect("valid");
    assert_eq!(fields(&t.apply(p, |_| unreachable!(), later).expect_err("no secret")), ["encrypted_auth_secret"]);
    let with_secret = ToolPatchDraft { encrypted_auth_secret: Some("s3cr3t-value".into()), ..bearer };
    let p = ToolPatch::parse(with_secret, false).expect("valid");
    assert_eq!(t.apply(p, |s| SealedSecret::from_stored(format!("sealed:{}", s.expose_secret())), later), Ok(true));
    assert_eq!(t.auth_secret.as_ref().map(SealedSecret::as_stored), Some("sealed:s3cr3t-value"));

    let off = ToolPatch::parse(ToolPatchDraft { auth_strategy: Some("none".into()), ..Default::default() }, false);
    assert_eq!(t.apply(off.expect("valid"), |_| unreachable!(), later), Ok(true));
    assert!(t.auth_secret.is_none(), "switching to none drops the secret");
    assert_eq!(t.apply(ToolPatch::default(), |_| unreachable!(), later), Ok(false));
}

#[test]
fn a_call_renders_path_query_headers_and_a_typed_body() {
    let member = Member::parse("u-1", None, &["admin", "ops"]).expect("valid");
    let t = tool(draft());
    let args = json!({
        "id": "a/../../admin?x#y",
        "limit": 5,
        "note": "say \"hi\", }{ \\",
        "meta": {"deep": [1, {"x": null}]},
        "tags": ["a b", "c&d"],
        "trace": "t-1",
        "tengine.project_id": "proj_evil"
    });
    let r = t.prepare_call(&args, &ctx(Some(&member)), None).expect("renders");
    assert_eq!(
        r.path_and_query,
        "/v1/contacts/a%2F..%2F..%2Fadmin%3Fx%23y?limit=5&project=proj_0000000000000000000001&tag=a%20b&tag=c%26d"
    );
    assert_eq!(r.url, format!("https://api.example.com{}", r.path_and_query));
    let body: Value = serde_json::from_slice(r.body.as_deref().expect("a body")).expect("JSON");
    assert_eq!(
        body,
        json!({
            "note": "say \"hi\", }{ \\",
            "greeting": "Hello a/../../admin?x#y!",
            "meta": {"deep": [1, {"x": null}]},
            "limit": 5,
            "list": ["say \"hi\", }{ \\", 1],
            "who": ["admin", "ops"]
        })
    );
    assert_eq!(header(&r, "X-Trace"), Some("t-1"));
    assert_eq!(header(&r, "X-Static"), Some("fixed {x}"));
    assert_eq!(header(&r, "Content-Type"), Some("application/json"));
    assert_eq!(header(&r, "X-Tengine-Request-Id"), Some("00000000-0000-0000-0000-000000000abc"));
    assert_eq!(header(&r, "X-Tengine-Member-Id"), None, "the tool did not ask for it");
}

#[test]
fn absent_optional_values_leave_their_parameter_header_or_member_out() {
    let t = tool(draft());
    let r = t.prepare_call(&json!({"id": "7"}), &ctx(None), None).expect("renders");
    assert_eq!(r.path_and_query, "/v1/contacts/7?project=proj_0000000000000000000001");
    assert_eq!(header(&r, "X-Trace"), None);
    let body: Value = serde_json::from_slice(r.body.as_deref().expect("a body")).expect("JSON");
    assert_eq!(body, json!({"greeting": "Hello 7!", "list": [null, 1]}));
}

#[test]
fn a_header_argument_with_a_line_break_is_refused() {
    let t = tool(draft());
    for trace in ["a\r\nX-Evil: 1", "a\nb", "nul\u{0}"] {
        let err = t.prepare_call(&json!({"id": "1", "trace": trace}), &ctx(None), None).expect_err(trace);
        assert_eq!(err, PrepareError::Render(template::RenderError::UnsafeHeaderValue { header: "X-Trace".into() }));
    }
}

#[test]
fn schema_mismatches_and_refusals_stop_the_call() {
    let mut t = tool(draft());
    let err = t.prepare_call(&json!({"limit": "x"}), &ctx(None), None).expect_err("invalid");
    let PrepareError::InvalidArguments(v) = err else { panic!("{err:?}") };
    let mut got = fields(&v);
    got.sort_unstable();
    assert_eq!(got, ["arguments/id", "arguments/limit"]);
    let no_args = t.prepare_call(&Value::Null, &ctx(None), None).expect_err("id is required");
    assert!(matches!(&no_args, PrepareError::InvalidArguments(v) if fields(v) == ["arguments/id"]), "{no_args:?}");
    t.require_member = true;
    assert_eq!(t.prepare_call(&json!({"id": "1"}), &ctx(None), None), Err(CallRefused::MemberRequired.into()));
    t.enabled = false;
    assert_eq!(t.check_callable(None), Err(CallRefused::Disabled));
}

#[test]
fn bearer_and_signed_calls_carry_their_authentication() {
    let secret: ToolSecret = "s3cr3t-value".parse().expect("valid");
    let bearer = tool(ToolDraft {
        auth_strategy: Some("static_bearer".into()),
        encrypted_auth_secret: Some("s3cr3t-value".into()),
        ..draft()
    });
    assert_eq!(bearer.prepare_call(&json!({"id": "1"}), &ctx(None), None), Err(PrepareError::MissingSecret));
    let r = bearer.prepare_call(&json!({"id": "1"}), &ctx(None), Some(&secret)).expect("renders");
    assert_eq!(header(&r, "Authorization"), Some("Bearer s3cr3t-value"));
    assert!(!format!("{r:?}").contains("s3cr3t"), "Debug hides the token");

    let signed = tool(ToolDraft {
        auth_strategy: Some("hmac_signature".into()),
        encrypted_auth_secret: Some("s3cr3t-value".into()),
        inject_member_identity: Some(vec!["id".into(), "email".into(), "roles".into()]),
        ..draft()
    });
    let member = Member::parse("u-1", Some("ada@example.com"), &["admin"]).expect("valid");
    let r = signed.prepare_call(&json!({"id": "1", "note": "n"}), &ctx(Some(&member)), Some(&secret)).expect("renders");
    assert_eq!(header(&r, "Authorization"), None);
    assert_eq!(header(&r, "X-Tengine-Member-Email"), Some("ada@example.com"));
    let req = SignedRequest {
        timestamp: header(&r, "X-Tengine-Timestamp").expect("set"),
        request_id: header(&r, "X-Tengine-Request-Id").expect("set"),
        signature: header(&r, "X-Tengine-Signature").expect("set"),
        method: r.method.as_str(),
        path_and_query: &r.path_and_query,
        body: r.body.as_deref().unwrap_or_default(),
    };
    let now = DateTime::from_timestamp(1_800_000_010, 0).expect("a time");
    assert_eq!(verify(b"s3cr3t-value", &req, now, 300), Ok(()));
}

#[test]
fn a_shown_request_masks_the_credentials_and_keeps_the_rest() {
    let secret: ToolSecret = "s3cr3t-value".parse().expect("valid");
    let bearer = tool(ToolDraft {
        auth_strategy: Some("static_bearer".into()),
        encrypted_auth_secret: Some("s3cr3t-value".into()),
        ..draft()
    });
    // A model that echoes the secret in an argument does not get it shown either.
    let r =
        bearer.prepare_call(&json!({"id": "1", "note": "s3cr3t-value"}), &ctx(None), Some(&secret)).expect("renders");
    let shown = r.shown(Some(&secret));
    let all = format!("{} {:?} {:?}", shown.url, shown.headers, shown.body);
    assert!(!all.contains("s3cr3t"), "{all}");
    let auth = shown.headers.iter().find(|(n, _)| n == "Authorization").map(|(_, v)| v.as_str());
    assert_eq!(auth, Some("Bearer ********"));
    assert_eq!((shown.method, shown.url.as_str()), (r.method, r.url.as_str()));
    assert_eq!(shown.headers.len(), r.headers.len(), "every header is shown");
    assert!(shown.body.as_deref().is_some_and(|b| b.contains("Hello 1!")), "{:?}", shown.body);
}

proptest! {
    #[test]
    fn no_string_argument_can_change_the_request_structure(s in "\\PC{0,30}") {
        let t = tool(draft());
        let args = json!({"id": s, "note": s, "trace": "t", "limit": 1});
        if let Ok(r) = t.prepare_call(&args, &ctx(None), None) {
            // One path segment, the template's query parameters, and the body's shape.
            let (path, query) = r.path_and_query.split_once('?').expect("a query");
            prop_assert_eq!(path.split('/').count(), 4);
            prop_assert_eq!(query.split('&').count(), 2);
            let body: Value = serde_json::from_slice(r.body.as_deref().expect("a body")).expect("JSON");
            prop_assert_eq!(body.get("note"), Some(&Value::String(s.clone())));
            prop_assert_eq!(body.as_object().map(|o| o.len()), Some(4));
        }
    }
}
