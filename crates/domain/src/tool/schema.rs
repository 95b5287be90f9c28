//! A tool's `input_schema` and the check of the model's arguments against it.
//!
//! Schemas are compiled offline: a `$ref` to anything outside the schema is refused, so
//! no check ever reads a file or the network. Patterns run on a backtracking limit, so
//! a hostile `pattern` cannot stall a call.

use std::sync::Arc;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{PatternOptions, Validator};
use serde_json::{Map, Value};

use crate::error::{FieldError, ValidationError};

/// The largest input schema, serialized, in bytes.
pub const MAX_SCHEMA_BYTES: usize = 64 * 1024;

/// The most argument errors reported for one call.
const MAX_ARGUMENT_ERRORS: usize = 20;

fn compile(schema: &Value) -> Result<Validator, jsonschema::ValidationError<'static>> {
    jsonschema::options()
        .offline()
        .with_pattern_options(PatternOptions::fancy_regex().backtrack_limit(100_000).size_limit(1 << 20))
        .build(schema)
}

/// A JSON Schema for a tool's arguments: an object schema (`"type": "object"`, as MCP
/// requires), valid under its draft (2020-12 unless `$schema` says otherwise).
#[derive(Debug, Clone)]
pub struct InputSchema {
    raw: Value,
    validator: Option<Arc<Validator>>,
}

impl PartialEq for InputSchema {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl Eq for InputSchema {}

impl InputSchema {
    /// Checks a client's schema.
    ///
    /// # Errors
    /// `input_schema` (or `input_schema/<pointer>` into the schema) saying what is wrong.
    pub fn parse(raw: &Value) -> Result<Self, ValidationError> {
        let Some(obj) = raw.as_object() else {
            return Err(FieldError::new("input_schema", "must be a JSON Schema object").into());
        };
        if raw.to_string().len() > MAX_SCHEMA_BYTES {
            return Err(FieldError::new("input_schema", format!("must be at most {MAX_SCHEMA_BYTES} bytes")).into());
        }
        if obj.get("type").and_then(Value::as_str) != Some("object") {
            return Err(FieldError::new("input_schema/type", "must be \"object\": tool arguments are an object").into());
        }
        let validator = compile(raw).map_err(|e| {
            let at = e.instance_path().as_str();
            let field = if at.is_empty() { "input_schema".to_owned() } else { format!("input_schema{at}") };
            let reason = match e.kind() {
                ValidationErrorKind::Referencing(_) => {
                    "must not reference schemas outside itself ($ref to another document)".to_owned()
                }
                _ => format!("is not a valid JSON Schema: {}", e.masked_with("the value")),
            };
            ValidationError::from(FieldError::new(field, reason))
        })?;
        Ok(Self { raw: raw.clone(), validator: Some(Arc::new(validator)) })
    }

    /// A schema read back from storage: compiled if it still compiles, else every call
    /// is refused with a clear error rather than the row becoming unreadable.
    pub fn from_stored(raw: Value) -> Self {
        let validator = compile(&raw).ok().map(Arc::new);
        Self { raw, validator }
    }

    /// The schema as written.
    pub fn as_json(&self) -> &Value {
        &self.raw
    }

    /// Checks the model's arguments (an object).
    ///
    /// # Errors
    /// One field error per mismatch (at most 20), named `arguments` followed by the JSON
    /// Pointer of the offending value (`arguments/city`, `arguments/items/0`); values
    /// are not echoed.
    pub fn check_arguments<'a>(&self, arguments: &'a Value) -> Result<&'a Map<String, Value>, ValidationError> {
        let Some(validator) = &self.validator else {
            return Err(FieldError::new("input_schema", "the tool's input schema no longer compiles").into());
        };
        let mut errors = validator.iter_errors(arguments).take(MAX_ARGUMENT_ERRORS).map(|e| {
            let mut at = e.instance_path().as_str().to_owned();
            let reason = match e.kind() {
                ValidationErrorKind::Required { property } => {
                    at.push('/');
                    at.push_str(&property.as_str().unwrap_or_default().replace('~', "~0").replace('/', "~1"));
                    "is required".to_owned()
                }
                _ => e.masked_with("the value").to_string(),
            };
            FieldError::new(format!("arguments{at}"), reason)
        });
        if let Some(first) = errors.next() {
            return Err(errors.fold(ValidationError::from(first), |acc, e| acc.and(e.into())));
        }
        arguments.as_object().ok_or_else(|| FieldError::new("arguments", "must be an object").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> InputSchema {
        InputSchema::parse(&json!({
            "type": "object",
            "properties": {
                "city": {"type": "string", "maxLength": 20},
                "days": {"type": "integer", "minimum": 1},
                "tags": {"type": "array", "items": {"type": "string"}},
                "code": {"type": "string", "pattern": "^(a+)+$"}
            },
            "required": ["city"],
            "additionalProperties": false
        }))
        .expect("valid schema")
    }

    fn fields(e: &ValidationError) -> Vec<&str> {
        e.errors().map(|f| f.field.as_str()).collect()
    }

    #[test]
    fn a_mismatch_names_the_field_by_json_pointer() {
        let s = schema();
        assert!(s.check_arguments(&json!({"city": "Oslo", "days": 3})).is_ok());
        let err = s.check_arguments(&json!({"days": "three", "tags": ["a", 2]})).expect_err("invalid");
        let mut got = fields(&err);
        got.sort_unstable();
        assert_eq!(got, ["arguments/city", "arguments/days", "arguments/tags/1"]);
        let err = s.check_arguments(&json!({"city": "x", "extra": 1})).expect_err("invalid");
        assert_eq!(fields(&err), ["arguments"]);
        assert!(err.first().reason.contains("extra"), "{}", err.first().reason);
        assert_eq!(fields(&s.check_arguments(&json!([1])).expect_err("not an object")), ["arguments"]);
    }

    #[test]
    fn argument_values_are_not_echoed_in_errors() {
        let err = schema().check_arguments(&json!({"city": "a-very-secret-looking-value-x"})).expect_err("too long");
        assert!(!err.first().reason.contains("secret-looking"), "{}", err.first().reason);
    }

    #[test]
    fn a_catastrophic_pattern_does_not_stall_a_call() {
        let evil = format!("{}!", "a".repeat(40));
        let started = std::time::Instant::now();
        assert!(schema().check_arguments(&json!({"city": "x", "code": evil})).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn invalid_or_external_schemas_are_refused_on_write() {
        for (raw, field) in [
            (json!([]), "input_schema"),
            (json!({"properties": {}}), "input_schema/type"),
            (json!({"type": "string"}), "input_schema/type"),
            (json!({"type": "object", "properties": {"a": {"type": "nope"}}}), "input_schema/properties/a/type"),
            (json!({"type": "object", "minProperties": -1}), "input_schema/minProperties"),
            (json!({"type": "object", "properties": {"a": {"$ref": "https://example.com/s.json"}}}), "input_schema"),
            (json!({"type": "object", "properties": {"a": {"$ref": "file:///etc/passwd"}}}), "input_schema"),
        ] {
            let err = InputSchema::parse(&raw).expect_err(&raw.to_string());
            assert_eq!(err.first().field, field, "{raw}: {}", err.first().reason);
        }
        let local =
            json!({"type": "object", "$defs": {"n": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/n"}}});
        let s = InputSchema::parse(&local).expect("internal refs are fine");
        assert!(s.check_arguments(&json!({"a": "x"})).is_err());
    }

    #[test]
    fn a_stored_schema_that_no_longer_compiles_refuses_calls_without_panicking() {
        let s = InputSchema::from_stored(json!({"type": "object", "properties": {"a": {"type": 5}}}));
        assert_eq!(fields(&s.check_arguments(&json!({})).expect_err("unusable")), ["input_schema"]);
    }
}
