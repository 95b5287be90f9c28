//! The request templates of a tool definition: `headers_template`, `query_template`
//! and `body_template`, checked on write; errors name the entry
//! (`headers_template.X-Foo`, `query_template.page`, `body_template/a/0`).

use serde_json::Value;

use super::template::Template;
use crate::error::{FieldError, ValidationError, Validator};

/// Headers Tengine sets itself or that frame the request: a template may not set them.
const RESERVED_HEADERS: [&str; 12] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "proxy-authorization",
    "proxy-connection",
    "cookie2",
];

/// The most entries a headers or query template may hold.
pub const MAX_TEMPLATE_ENTRIES: usize = 64;

/// The longest template string in a headers or query template, in bytes.
pub const MAX_TEMPLATE_VALUE: usize = 8192;

fn string_templates(
    field: &str,
    stored: bool,
    raw: &Value,
    check_key: impl Fn(&str) -> Result<(), String>,
    check_text: impl Fn(&str) -> Result<(), String>,
) -> Result<Vec<(String, String, Template)>, ValidationError> {
    let Some(obj) = raw.as_object() else {
        return Err(FieldError::new(field, "must be an object whose values are strings").into());
    };
    if obj.len() > MAX_TEMPLATE_ENTRIES && !stored {
        return Err(FieldError::new(field, format!("must hold at most {MAX_TEMPLATE_ENTRIES} entries")).into());
    }
    let mut v = Validator::new();
    let mut out: Vec<(String, String, Template)> = Vec::new();
    for (key, value) in obj {
        let name = format!("{field}.{key}");
        if let Err(r) = check_key(key) {
            v.push(FieldError::new(name, r));
            continue;
        }
        if out.iter().any(|(k, _, _)| k.eq_ignore_ascii_case(key)) && field == "headers_template" && !stored {
            v.push(FieldError::new(name, "is set twice (header names ignore case)"));
            continue;
        }
        let Some(text) = value.as_str() else {
            v.push(FieldError::new(name, "must be a string"));
            continue;
        };
        if text.len() > MAX_TEMPLATE_VALUE && !stored {
            v.push(FieldError::new(name, format!("must be at most {MAX_TEMPLATE_VALUE} bytes")));
            continue;
        }
        let parsed = Template::parse(text).and_then(|t| {
            let checked = t.texts().try_for_each(&check_text);
            checked.map(|()| t)
        });
        match parsed {
            Ok(t) => out.push((key.clone(), text.to_owned(), t)),
            Err(r) => v.push(FieldError::new(name, r)),
        }
    }
    // Sorted, so the rendered order does not depend on serde_json's map features.
    out.sort_by(|a, b| a.0.cmp(&b.0));
    v.finish().map(|()| out)
}

/// Reads back a stored string template object: only the placeholders are parsed again.
fn stored_templates(field: &str, raw: &Value) -> Result<Vec<(String, String, Template)>, ValidationError> {
    string_templates(field, true, raw, |_| Ok(()), |_| Ok(()))
}

/// Whether `c` may appear in a header value (RFC 9110: visible characters, space, tab).
pub(crate) fn is_header_value_char(c: char) -> bool {
    c == '\t' || !c.is_control()
}

/// `headers_template`: header names to string templates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeadersTemplate(Vec<(String, String, Template)>);

impl HeadersTemplate {
    /// Parses a JSON object of header names to templates. Names are HTTP tokens; the
    /// framing headers (`Host`, `Content-Length`, ...) and `X-Tengine-*` are refused.
    ///
    /// # Errors
    /// Every bad entry, as `headers_template.<name>`.
    pub fn parse(raw: &Value) -> Result<Self, ValidationError> {
        let check_key = |k: &str| {
            let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            if k.is_empty() || k.len() > 128 || !k.bytes().all(token) {
                return Err("is not a valid header name".to_owned());
            }
            let lower = k.to_ascii_lowercase();
            if RESERVED_HEADERS.contains(&lower.as_str()) || lower.starts_with("x-tengine-") {
                return Err("is set by Tengine and cannot be templated".to_owned());
            }
            Ok(())
        };
        let check_text = |t: &str| {
            if t.chars().all(is_header_value_char) {
                Ok(())
            } else {
                Err("must not contain control characters (CR, LF, NUL)".to_owned())
            }
        };
        string_templates("headers_template", false, raw, check_key, check_text).map(Self)
    }

    /// `(name, template as written, parsed template)`, sorted by name.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str, &Template)> {
        self.0.iter().map(|(k, raw, t)| (k.as_str(), raw.as_str(), t))
    }

    /// A template read back from storage, without the write-time rules on names and
    /// sizes. The call still refuses a rendered value with CR or LF.
    ///
    /// # Errors
    /// When the stored value is not an object of string templates.
    pub fn from_stored(raw: &Value) -> Result<Self, ValidationError> {
        stored_templates("headers_template", raw).map(Self)
    }

    /// Whether a header of this name (any case) is templated.
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _, _)| k.eq_ignore_ascii_case(name))
    }

    /// The template as a JSON object, as the API returns it.
    pub fn to_json(&self) -> Value {
        Value::Object(self.0.iter().map(|(k, raw, _)| (k.clone(), Value::String(raw.clone()))).collect())
    }
}

/// `query_template`: query parameter names to string templates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryTemplate(Vec<(String, String, Template)>);

impl QueryTemplate {
    /// Parses a JSON object of parameter names (literal, 1..=256 characters) to templates.
    ///
    /// # Errors
    /// Every bad entry, as `query_template.<name>`.
    pub fn parse(raw: &Value) -> Result<Self, ValidationError> {
        let check_key = |k: &str| {
            if k.is_empty() || k.chars().count() > 256 || k.chars().any(char::is_control) {
                Err("must be a name of 1 to 256 characters without control characters".to_owned())
            } else {
                Ok(())
            }
        };
        let check_text = |t: &str| {
            if t.chars().any(char::is_control) {
                Err("must not contain control characters".to_owned())
            } else {
                Ok(())
            }
        };
        string_templates("query_template", false, raw, check_key, check_text).map(Self)
    }

    /// A template read back from storage, without the write-time rules on names and
    /// sizes.
    ///
    /// # Errors
    /// When the stored value is not an object of string templates.
    pub fn from_stored(raw: &Value) -> Result<Self, ValidationError> {
        stored_templates("query_template", raw).map(Self)
    }

    /// `(name, template as written, parsed template)`, sorted by name.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str, &Template)> {
        self.0.iter().map(|(k, raw, t)| (k.as_str(), raw.as_str(), t))
    }

    /// The template as a JSON object, as the API returns it.
    pub fn to_json(&self) -> Value {
        Value::Object(self.0.iter().map(|(k, raw, _)| (k.clone(), Value::String(raw.clone()))).collect())
    }
}

/// The largest body template, serialized, in bytes.
pub const MAX_BODY_TEMPLATE: usize = 64 * 1024;

/// A parsed body template: JSON whose strings are templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyNode {
    /// A number, boolean or null, kept as it is.
    Literal(Value),
    /// A string template.
    Text(Template),
    /// An array.
    Array(Vec<BodyNode>),
    /// An object; its keys are literal.
    Object(Vec<(String, BodyNode)>),
}

/// `body_template`: any JSON; every string may hold placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyTemplate {
    raw: Value,
    pub(crate) root: BodyNode,
}

impl BodyTemplate {
    /// Parses a JSON body template of at most 64 KiB.
    ///
    /// # Errors
    /// Every malformed string, as `body_template/<JSON pointer>`.
    pub fn parse(raw: &Value) -> Result<Self, ValidationError> {
        if raw.to_string().len() > MAX_BODY_TEMPLATE {
            return Err(FieldError::new("body_template", format!("must be at most {MAX_BODY_TEMPLATE} bytes")).into());
        }
        let mut v = Validator::new();
        let root = body_node(raw, "body_template", &mut v);
        v.finish().map(|()| Self { raw: raw.clone(), root })
    }

    /// A template read back from storage, without the size limit.
    ///
    /// # Errors
    /// When a stored string is no template.
    pub fn from_stored(raw: Value) -> Result<Self, ValidationError> {
        let mut v = Validator::new();
        let root = body_node(&raw, "body_template", &mut v);
        v.finish().map(|()| Self { raw, root })
    }

    /// The template as written.
    pub fn as_json(&self) -> &Value {
        &self.raw
    }
}

fn body_node(value: &Value, at: &str, v: &mut Validator) -> BodyNode {
    let escape = |k: &str| k.replace('~', "~0").replace('/', "~1");
    match value {
        Value::String(s) => match Template::parse(s) {
            Ok(t) => BodyNode::Text(t),
            Err(r) => {
                v.push(FieldError::new(at, r));
                BodyNode::Literal(Value::Null)
            }
        },
        Value::Array(items) => {
            BodyNode::Array(items.iter().enumerate().map(|(i, x)| body_node(x, &format!("{at}/{i}"), v)).collect())
        }
        Value::Object(map) => BodyNode::Object(
            map.iter().map(|(k, x)| (k.clone(), body_node(x, &format!("{at}/{}", escape(k)), v))).collect(),
        ),
        other => BodyNode::Literal(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(e: &ValidationError) -> Vec<&str> {
        e.errors().map(|f| f.field.as_str()).collect()
    }

    #[test]
    fn header_templates_refuse_bad_names_reserved_headers_and_control_characters() {
        let ok = HeadersTemplate::parse(&json!({"X-Trace": "t-{id}", "Accept": "application/json"})).expect("valid");
        assert!(ok.has("x-trace"));
        let err = HeadersTemplate::parse(&json!({
            "Bad Name": "x",
            "Host": "evil",
            "X-Tengine-Project-Id": "proj_x",
            "X-Foo": "a\r\nInjected: 1",
            "X-Num": 1,
            "X-Open": "{x",
        }))
        .expect_err("invalid");
        let mut got = fields(&err);
        got.sort_unstable();
        let mut want = [
            "headers_template.Bad Name",
            "headers_template.Host",
            "headers_template.X-Tengine-Project-Id",
            "headers_template.X-Foo",
            "headers_template.X-Num",
            "headers_template.X-Open",
        ];
        want.sort_unstable();
        assert_eq!(got, want);
        assert!(HeadersTemplate::parse(&json!(["x"])).is_err());
        assert!(HeadersTemplate::parse(&json!({"a": "1", "A": "2"})).is_err());
    }

    #[test]
    fn stored_templates_skip_the_write_time_rules_but_still_parse_placeholders() {
        let h = HeadersTemplate::from_stored(&json!({"Host": "legacy", "X-Id": "{id}"})).expect("stored");
        assert!(h.has("host"));
        let many: serde_json::Map<String, Value> =
            (0..=MAX_TEMPLATE_ENTRIES).map(|i| (format!("p{i}"), json!("x"))).collect();
        assert!(QueryTemplate::from_stored(&Value::Object(many)).is_ok());
        assert!(HeadersTemplate::from_stored(&json!({"X": "{open"})).is_err());
        let big = json!("x".repeat(MAX_BODY_TEMPLATE));
        assert_eq!(BodyTemplate::from_stored(big.clone()).expect("stored").as_json(), &big);
    }

    #[test]
    fn body_templates_name_the_json_pointer_of_a_bad_string() {
        let err = BodyTemplate::parse(&json!({"a": [1, "{ok}", "{bad"], "x/y": "}"})).expect_err("invalid");
        assert_eq!(fields(&err), ["body_template/a/2", "body_template/x~1y"]);
        assert!(BodyTemplate::parse(&json!("x".repeat(MAX_BODY_TEMPLATE))).is_err());
    }
}
