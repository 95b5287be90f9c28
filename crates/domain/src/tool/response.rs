//! Turning the API's answer (or the failure to get one) into a tool result.
//!
//! A 2xx JSON body becomes structured content plus its text; any other answer is a tool
//! error (`isError`) saying what happened. A body past `max_response_bytes` is cut and
//! marked. The tool's secret is scrubbed from whatever goes back to the model, so an API
//! that echoes its request headers cannot leak it.

use serde_json::{Map, Value};

use super::fields::{MaxResponseBytes, ToolSecret};

/// What replaces the secret wherever the answer holds it.
pub const REDACTED: &str = "[REDACTED]";

/// A tool call's result, as MCP's `CallToolResult` carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutcome {
    /// `isError`: the call did not succeed; `text` says why.
    pub is_error: bool,
    /// The text content.
    pub text: String,
    /// `structuredContent`: a JSON object (a non-object answer is wrapped as `{"result": ...}`).
    pub structured: Option<Value>,
    /// Whether the body was cut at `max_response_bytes`.
    pub truncated: bool,
}

/// Why no answer came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallFailure {
    /// No answer within the tool's timeout (milliseconds).
    Timeout(u32),
    /// The address resolved to a network calls may not reach (private, loopback, ...).
    RefusedAddress,
    /// The connection failed (DNS, TCP or TLS).
    Unreachable,
}

impl ToolOutcome {
    /// The result of a call that got no answer. Says what happened, nothing more.
    pub fn failure(f: CallFailure) -> Self {
        let text = match f {
            CallFailure::Timeout(ms) => format!("The API did not answer within {ms} ms."),
            CallFailure::RefusedAddress => "The API's address is not allowed (a private or local network).".to_owned(),
            CallFailure::Unreachable => "The API could not be reached.".to_owned(),
        };
        Self { is_error: true, text, structured: None, truncated: false }
    }
}

fn is_json(content_type: Option<&str>) -> bool {
    let essence = content_type.and_then(|c| c.split(';').next()).map(|c| c.trim().to_ascii_lowercase());
    essence.is_some_and(|e| e == "application/json" || (e.starts_with("application/") && e.ends_with("+json")))
}

fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if !needle.is_empty() && haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

fn scrub_value(v: Value, secret: &str) -> Value {
    let s = |t: String| if t.contains(secret) { t.replace(secret, REDACTED) } else { t };
    match v {
        Value::String(t) => Value::String(s(t)),
        Value::Array(items) => Value::Array(items.into_iter().map(|x| scrub_value(x, secret)).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, x)| (s(k), scrub_value(x, secret))).collect()),
        other => other,
    }
}

/// Cuts `body` to `max` bytes, backing off to a UTF-8 boundary when the cut splits a
/// character; `None` when the kept part is not text.
fn text_of(body: &[u8], max: usize) -> (Option<String>, bool) {
    let cut = body.len() > max;
    let kept = &body[..body.len().min(max)];
    match std::str::from_utf8(kept) {
        Ok(t) => (Some(t.to_owned()), cut),
        // A character split by the cut: drop its first bytes.
        Err(e) if cut && e.error_len().is_none() => {
            (Some(String::from_utf8_lossy(&kept[..e.valid_up_to()]).into()), cut)
        }
        Err(_) => (None, cut),
    }
}

/// Shapes the API's answer: `status`, its `Content-Type`, the body bytes read (a reader
/// may stop after `max + 1` bytes), the tool's limit and the secret to scrub.
pub fn shape_response(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
    max: MaxResponseBytes,
    secret: Option<&ToolSecret>,
) -> ToolOutcome {
    let secret = secret.map(ToolSecret::expose_secret);
    let body = match secret {
        Some(s) => replace_all(body, s.as_bytes(), REDACTED.as_bytes()),
        None => body.to_vec(),
    };
    let ok = (200..300).contains(&status);
    let max = max.get();
    if ok && body.len() <= max && is_json(content_type) {
        if let Ok(v) = serde_json::from_slice::<Value>(&body) {
            let v = match secret {
                Some(s) => scrub_value(v, s),
                None => v,
            };
            let text = v.to_string();
            let structured = match v {
                Value::Object(_) => v,
                other => Value::Object(Map::from_iter([("result".to_owned(), other)])),
            };
            return ToolOutcome { is_error: false, text, structured: Some(structured), truncated: false };
        }
    }
    let (text, truncated) = text_of(&body, max);
    let mut out = if ok { String::new() } else { format!("The API answered HTTP {status}.") };
    match text {
        Some(t) if !t.is_empty() => {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&t);
        }
        Some(_) if ok => out = format!("The API answered HTTP {status} with an empty body."),
        Some(_) => {}
        None => {
            let ct: String = content_type.unwrap_or("unknown").chars().filter(|c| !c.is_control()).take(100).collect();
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&format!("The body is not text ({} bytes, content type {ct}).", body.len()));
        }
    }
    if truncated {
        out.push_str(&format!("\n[truncated: the response exceeded max_response_bytes ({max} bytes)]"));
    }
    ToolOutcome { is_error: !ok, text: out, structured: None, truncated }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn max(n: i64) -> MaxResponseBytes {
        MaxResponseBytes::new(n).expect("valid")
    }

    #[test]
    fn a_2xx_json_answer_is_structured_content_and_text() {
        let o = shape_response(200, Some("application/json; charset=utf-8"), br#"{"a":1}"#, max(100), None);
        assert_eq!(
            o,
            ToolOutcome {
                is_error: false,
                text: r#"{"a":1}"#.into(),
                structured: Some(json!({"a":1})),
                truncated: false
            }
        );
        let list = shape_response(201, Some("application/problem+json"), b"[1,2]", max(100), None);
        assert_eq!(list.structured, Some(json!({"result": [1, 2]})));
    }

    #[test]
    fn other_answers_are_tool_errors_or_plain_text() {
        let e = shape_response(404, Some("application/json"), br#"{"error":"no such contact"}"#, max(100), None);
        assert!(e.is_error && e.structured.is_none());
        assert_eq!(e.text, "The API answered HTTP 404.\n{\"error\":\"no such contact\"}");
        let t = shape_response(200, Some("text/plain"), b"hello", max(100), None);
        assert_eq!((t.is_error, t.text.as_str()), (false, "hello"));
        let bad_json = shape_response(200, Some("application/json"), b"{oops", max(100), None);
        assert_eq!((bad_json.is_error, bad_json.structured, bad_json.text.as_str()), (false, None, "{oops"));
        let empty = shape_response(204, None, b"", max(100), None);
        assert_eq!(empty.text, "The API answered HTTP 204 with an empty body.");
        let binary = shape_response(500, Some("image/png"), &[0x89, 0xff, 0xfe], max(100), None);
        assert!(binary.is_error && binary.text.contains("not text (3 bytes, content type image/png)"));
        let redirect = shape_response(302, None, b"", max(100), None);
        assert!(redirect.is_error);
        assert!(ToolOutcome::failure(CallFailure::Timeout(250)).text.contains("250 ms"));
    }

    #[test]
    fn a_body_past_the_limit_is_cut_on_a_character_and_marked() {
        let o = shape_response(200, Some("application/json"), "{\"a\":\"ééé\"}".as_bytes(), max(9), None);
        assert!(o.truncated && !o.is_error && o.structured.is_none());
        assert!(o.text.starts_with("{\"a\":\"é\n[truncated"), "{}", o.text);
        assert!(o.text.ends_with("max_response_bytes (9 bytes)]"));
    }

    #[test]
    fn the_secret_never_reaches_the_model() {
        let secret: ToolSecret = "sk_live_0123456789".parse().expect("valid");
        let echoed = json!({"headers": {"Authorization": "Bearer sk_live_0123456789"}, "sk_live_0123456789": 1});
        let o = shape_response(200, Some("application/json"), echoed.to_string().as_bytes(), max(1000), Some(&secret));
        assert!(!o.text.contains("sk_live") && !o.structured.expect("json").to_string().contains("sk_live"));
        // Escaped in JSON, the bytes differ; the parsed strings are scrubbed too.
        let escaped = br#"{"h":"sk_live_012345\u0036789"}"#;
        let o = shape_response(200, Some("application/json"), escaped, max(1000), Some(&secret));
        assert!(!o.text.contains("sk_live"), "{}", o.text);
        // A cut through the secret leaks no prefix of it: scrubbing comes first.
        let o = shape_response(500, None, b"token=sk_live_0123456789", max(12), Some(&secret));
        assert!(!o.text.contains("sk_live"), "{}", o.text);
    }
}
