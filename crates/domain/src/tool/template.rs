//! Templates of a tool's request: `{name}` placeholders filled from the model's
//! arguments or from reserved session variables.
//!
//! Grammar: text with `{name}` placeholders; `{{` and `}}` stand for literal braces. A
//! name is `[A-Za-z_][A-Za-z0-9_-]{0,63}` (a model argument, a top-level property of
//! the arguments object) or one of the reserved session variables below, which the
//! arguments can never override: a name starting with `tengine.` is never looked up in
//! the arguments.
//!
//! | variable | value |
//! | --- | --- |
//! | `tengine.project_id` | the project's id (`proj_...`) |
//! | `tengine.request_id` | the call's request id (a UUID, as in `X-Tengine-Request-Id`) |
//! | `tengine.member_id` | the member's id (absent without a member session) |
//! | `tengine.member_email` | the member's email (absent when unknown) |
//! | `tengine.member_roles` | the member's roles: a JSON array in a body, else joined with `,` |
//!
//! How values go in, so that no value can change the request's structure:
//! - path: each value is percent-encoded as one segment (everything but `A-Z a-z 0-9 - . _ ~`,
//!   so `/ ? # %` are encoded), and a segment that would be empty, `.` or `..` is refused;
//! - query: names and values percent-encoded the same way;
//! - headers: a value holding CR, LF, NUL or another control character is refused;
//! - body: a JSON string that is exactly `"{x}"` becomes the argument's JSON value (a
//!   number stays a number, an object an object); a placeholder inside a longer string is
//!   interpolated as text into that string, so a string argument can never add JSON.
//!
//! A template that is a single placeholder is optional: when its value is absent (or
//! `null` outside a body), a query parameter or header is left out, an object member of
//! the body is left out (an array element becomes `null`). A placeholder inside longer
//! text, or anywhere in the path, must have a value. The input schema decides which
//! arguments are required; the templates only refuse what they cannot render.

use std::fmt;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{Map, Value};

use crate::member::Member;
use crate::ProjectId;

/// The characters percent-encoded in a path segment or query component: everything
/// but RFC 3986's unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encodes `s` as one path segment or query component.
pub fn encode_component(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// A reserved variable, filled by Tengine and never by the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionVar {
    /// `tengine.project_id`.
    ProjectId,
    /// `tengine.request_id`.
    RequestId,
    /// `tengine.member_id`.
    MemberId,
    /// `tengine.member_email`.
    MemberEmail,
    /// `tengine.member_roles`.
    MemberRoles,
}

impl SessionVar {
    /// Every reserved variable.
    pub const ALL: [SessionVar; 5] =
        [Self::ProjectId, Self::RequestId, Self::MemberId, Self::MemberEmail, Self::MemberRoles];

    /// Its name in templates.
    pub fn name(self) -> &'static str {
        match self {
            Self::ProjectId => "tengine.project_id",
            Self::RequestId => "tengine.request_id",
            Self::MemberId => "tengine.member_id",
            Self::MemberEmail => "tengine.member_email",
            Self::MemberRoles => "tengine.member_roles",
        }
    }
}

/// What a placeholder names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    /// A top-level property of the model's arguments.
    Argument(String),
    /// A reserved session variable.
    Session(SessionVar),
}

impl fmt::Display for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Var::Argument(a) => f.write_str(a),
            Var::Session(s) => f.write_str(s.name()),
        }
    }
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text (braces already unescaped).
    Text(String),
    /// A placeholder.
    Var(Var),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

fn parse_var(name: &str) -> Result<Var, String> {
    if let Some(rest) = name.strip_prefix("tengine.") {
        return SessionVar::ALL
            .into_iter()
            .find(|v| &v.name()["tengine.".len()..] == rest)
            .map(Var::Session)
            .ok_or_else(|| {
                let known: Vec<&str> = SessionVar::ALL.iter().map(|v| v.name()).collect();
                format!("unknown reserved variable {{{name}}} (known: {})", known.join(", "))
            });
    }
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !first_ok || !rest_ok || name.len() > 64 {
        let shown: String = name.chars().take(64).collect();
        return Err(format!(
            "placeholder {{{shown}}} must be a name of letters, digits, _ and - (starting with a letter or _), \
             or a reserved tengine.* variable; write {{{{ and }}}} for literal braces"
        ));
    }
    Ok(Var::Argument(name.to_owned()))
}

impl Template {
    /// Parses `raw`.
    ///
    /// # Errors
    /// Why the template is malformed (an unclosed or stray brace, a bad name).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut it = raw.char_indices().peekable();
        while let Some((i, c)) = it.next() {
            match c {
                '{' if it.peek().map(|&(_, n)| n) == Some('{') => {
                    it.next();
                    text.push('{');
                }
                '}' if it.peek().map(|&(_, n)| n) == Some('}') => {
                    it.next();
                    text.push('}');
                }
                '{' => {
                    let rest = &raw[i + 1..];
                    let end = rest.find('}').ok_or("has an unclosed {")?;
                    let var = parse_var(&rest[..end])?;
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Var(var));
                    // Skip the name and the closing brace (all ASCII once parsed).
                    for _ in 0..=end {
                        it.next();
                    }
                }
                '}' => return Err("has a } without a matching { (write }} for a literal brace)".into()),
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Self { parts })
    }

    /// The pieces, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The placeholder, when the template is exactly one.
    pub fn single_var(&self) -> Option<&Var> {
        match self.parts.as_slice() {
            [Part::Var(v)] => Some(v),
            _ => None,
        }
    }

    /// Every placeholder.
    pub fn vars(&self) -> impl Iterator<Item = &Var> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v),
            Part::Text(_) => None,
        })
    }

    /// The literal text pieces.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Text(t) => Some(t.as_str()),
            Part::Var(_) => None,
        })
    }
}

/// Why a request could not be rendered; names the variable or the place, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A placeholder that must have a value has none.
    #[error("missing variable {variable} needed by {location}")]
    MissingVariable {
        /// The variable.
        variable: String,
        /// Where it is used (`endpoint_path`, `query_template.page`, ...).
        location: String,
    },
    /// An array or object where text is needed.
    #[error("variable {variable} must be a string, number or boolean to be used in {location}")]
    NotText {
        /// The variable.
        variable: String,
        /// Where it is used.
        location: String,
    },
    /// A path segment made of arguments would be empty, `.` or `..`.
    #[error("variable {variable} would make an empty, `.` or `..` path segment")]
    UnsafePathSegment {
        /// The variable.
        variable: String,
    },
    /// A rendered header value holds CR, LF, NUL or another control character.
    #[error("header {header} would contain a control character (CR, LF or NUL)")]
    UnsafeHeaderValue {
        /// The header's name.
        header: String,
    },
}

/// Where template values come from: the model's arguments and the session.
#[derive(Debug, Clone, Copy)]
pub struct Variables<'a> {
    /// The model's arguments (already validated against the input schema).
    pub arguments: &'a Map<String, Value>,
    /// The project called.
    pub project_id: ProjectId,
    /// The call's request id.
    pub request_id: uuid::Uuid,
    /// The member of a member session.
    pub member: Option<&'a Member>,
}

impl Variables<'_> {
    /// The JSON value of `var`; `None` when absent.
    pub fn value(&self, var: &Var) -> Option<Value> {
        let s = |v: &str| Some(Value::String(v.to_owned()));
        match var {
            Var::Argument(a) => self.arguments.get(a).cloned(),
            Var::Session(SessionVar::ProjectId) => s(&self.project_id.to_string()),
            Var::Session(SessionVar::RequestId) => s(&self.request_id.to_string()),
            Var::Session(SessionVar::MemberId) => self.member.and_then(|m| s(m.id.as_str())),
            Var::Session(SessionVar::MemberEmail) => {
                self.member.and_then(|m| m.email.as_ref()).and_then(|e| s(e.as_str()))
            }
            Var::Session(SessionVar::MemberRoles) => self
                .member
                .map(|m| Value::Array(m.roles.iter().map(|r| Value::String(r.as_str().to_owned())).collect())),
        }
    }

    /// The text of `var`: `Ok(None)` when absent or null.
    fn text(&self, var: &Var, location: &str) -> Result<Option<String>, RenderError> {
        let not_text = || RenderError::NotText { variable: var.to_string(), location: location.to_owned() };
        match self.value(var) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
            Some(Value::Array(items)) if var == &Var::Session(SessionVar::MemberRoles) => {
                Ok(Some(items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")))
            }
            Some(_) => Err(not_text()),
        }
    }

    fn required_text(&self, var: &Var, location: &str) -> Result<String, RenderError> {
        self.text(var, location)?
            .ok_or_else(|| RenderError::MissingVariable { variable: var.to_string(), location: location.to_owned() })
    }

    /// Renders `t` as text: `Ok(None)` when it is a single placeholder without a value.
    ///
    /// # Errors
    /// A missing variable inside longer text, or an array or object.
    pub fn render_text(&self, t: &Template, location: &str) -> Result<Option<String>, RenderError> {
        if let Some(v) = t.single_var() {
            return self.text(v, location);
        }
        let mut out = String::new();
        for p in t.parts() {
            match p {
                Part::Text(s) => out.push_str(s),
                Part::Var(v) => out.push_str(&self.required_text(v, location)?),
            }
        }
        Ok(Some(out))
    }

    /// Renders a path template: every value encoded as (part of) one segment.
    ///
    /// # Errors
    /// A missing variable, an array or object, or a segment made empty, `.` or `..`.
    pub fn render_path(&self, t: &Template) -> Result<String, RenderError> {
        let mut out = String::new();
        // The segment being built, and the first variable in it.
        let mut segment = String::new();
        let mut seg_var: Option<&Var> = None;
        let close = |segment: &str, var: Option<&Var>| match var {
            Some(v) if matches!(segment, "" | "." | "..") => {
                Err(RenderError::UnsafePathSegment { variable: v.to_string() })
            }
            _ => Ok(()),
        };
        for p in t.parts() {
            match p {
                Part::Var(v) => {
                    segment.push_str(&encode_component(&self.required_text(v, "endpoint_path")?));
                    seg_var = seg_var.or(Some(v));
                }
                Part::Text(s) => {
                    for (i, piece) in s.split('/').enumerate() {
                        if i > 0 {
                            close(&segment, seg_var)?;
                            out.push_str(&segment);
                            out.push('/');
                            segment.clear();
                            seg_var = None;
                        }
                        segment.push_str(piece);
                    }
                }
            }
        }
        close(&segment, seg_var)?;
        out.push_str(&segment);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn vars(args: &Value) -> Variables<'_> {
        Variables {
            arguments: args.as_object().expect("an object"),
            project_id: ProjectId::from_uuid(uuid::Uuid::from_u128(1)),
            request_id: uuid::Uuid::from_u128(2),
            member: None,
        }
    }

    #[test]
    fn templates_parse_placeholders_and_escaped_braces() {
        let t = Template::parse("/a/{id}/{{x}}/{tengine.project_id}").expect("valid");
        assert_eq!(
            t.parts(),
            [
                Part::Text("/a/".into()),
                Part::Var(Var::Argument("id".into())),
                Part::Text("/{x}/".into()),
                Part::Var(Var::Session(SessionVar::ProjectId)),
            ]
        );
        for bad in ["{", "a}", "{}", "{a b}", "{1a}", "{tengine.secret}", "{a.b}", "{é}"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Template::parse("{x}").expect("valid").single_var(), Some(&Var::Argument("x".into())));
        assert_eq!(Template::parse("héllo {{}}").expect("valid").parts(), [Part::Text("héllo {}".into())]);
    }

    #[test]
    fn a_path_argument_can_never_change_the_path_structure() {
        let t = Template::parse("/files/{name}/raw").expect("valid");
        for (name, want) in [
            ("a/../../admin", "/files/a%2F..%2F..%2Fadmin/raw"),
            ("x?y=1#frag", "/files/x%3Fy%3D1%23frag/raw"),
            ("100%", "/files/100%25/raw"),
            ("sp ace", "/files/sp%20ace/raw"),
            ("ü", "/files/%C3%BC/raw"),
            ("...", "/files/.../raw"),
        ] {
            assert_eq!(vars(&json!({ "name": name })).render_path(&t), Ok(want.to_owned()), "{name}");
        }
        for name in ["", ".", ".."] {
            assert_eq!(
                vars(&json!({ "name": name })).render_path(&t),
                Err(RenderError::UnsafePathSegment { variable: "name".into() })
            );
        }
        let two = Template::parse("/x/{a}{b}").expect("valid");
        assert!(vars(&json!({"a": ".", "b": "."})).render_path(&two).is_err());
        assert_eq!(vars(&json!({"a": ".", "b": "x"})).render_path(&two), Ok("/x/.x".into()));
        assert_eq!(
            vars(&json!({})).render_path(&t),
            Err(RenderError::MissingVariable { variable: "name".into(), location: "endpoint_path".into() })
        );
        assert_eq!(vars(&json!({"name": 7})).render_path(&t), Ok("/files/7/raw".into()));
        assert!(matches!(vars(&json!({"name": ["a"]})).render_path(&t), Err(RenderError::NotText { .. })));
    }

    #[test]
    fn reserved_variables_are_never_taken_from_the_arguments() {
        let args = json!({"tengine.project_id": "proj_evil", "tengine": {"project_id": "evil"}});
        let t = Template::parse("/p/{tengine.project_id}").expect("valid");
        assert_eq!(vars(&args).render_path(&t), Ok("/p/proj_0000000000000000000001".into()));
        let m = Template::parse("{tengine.member_id}").expect("valid");
        assert_eq!(vars(&json!({"tengine.member_id": "evil"})).render_text(&m, "h"), Ok(None));
    }

    proptest::proptest! {
        #[test]
        fn rendered_path_segments_never_hold_separators(s in "\\PC{0,24}") {
            let t = Template::parse("/a/{x}/b").expect("valid");
            if let Ok(p) = vars(&json!({ "x": s })).render_path(&t) {
                let segs: Vec<&str> = p.split('/').collect();
                proptest::prop_assert_eq!(segs.len(), 4);
                proptest::prop_assert!(!p.contains(['?', '#']));
                proptest::prop_assert!(!matches!(segs[2], "" | "." | ".."));
            }
        }
    }
}
