//! Validation errors: which field failed and why, in words a client can act on.

use std::fmt;

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name as the client sent it (`name`, `permissions[1]`, `page`).
    pub field: String,
    /// Why it failed, in plain words.
    pub reason: String,
    /// The offending value, only when it is safe to echo (never a secret).
    pub value: Option<String>,
}

impl FieldError {
    /// A field error without an echoed value.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into(), value: None }
    }

    /// Adds the offending value, for fields whose value is safe to echo.
    #[must_use]
    pub fn with_value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }
}

/// One or more field errors; never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    first: FieldError,
    rest: Vec<FieldError>,
}

impl ValidationError {
    /// A validation error about a single field.
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        FieldError::new(field, reason).into()
    }

    /// Every failed field, first one first.
    pub fn errors(&self) -> impl Iterator<Item = &FieldError> {
        std::iter::once(&self.first).chain(self.rest.iter())
    }

    /// The first failed field.
    pub fn first(&self) -> &FieldError {
        &self.first
    }

    /// Prefixes every field name, e.g. `name` becomes `body.name`.
    #[must_use]
    pub fn nest(mut self, prefix: &str) -> Self {
        for e in std::iter::once(&mut self.first).chain(self.rest.iter_mut()) {
            e.field = format!("{prefix}{}", e.field);
        }
        self
    }
}

impl From<FieldError> for ValidationError {
    fn from(first: FieldError) -> Self {
        Self { first, rest: Vec::new() }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.first.field, self.first.reason)?;
        if !self.rest.is_empty() {
            write!(f, " (and {} more)", self.rest.len())?;
        }
        Ok(())
    }
}

/// Collects field errors from several validations and yields them together.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the value of a successful validation, or records its errors.
    pub fn check<T>(&mut self, result: Result<T, ValidationError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.extend(e.errors().cloned());
                None
            }
        }
    }

    /// Records one field error directly.
    pub fn push(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    /// `Ok(())` when nothing failed, else every recorded error.
    pub fn finish(self) -> Result<(), ValidationError> {
        let mut it = self.errors.into_iter();
        match it.next() {
            None => Ok(()),
            Some(first) => Err(ValidationError { first, rest: it.collect() }),
        }
    }
}

/// Trims Unicode whitespace and checks length (in characters) and control characters.
///
/// `allow_newlines` lets multi-line text (descriptions) keep `\n`, `\r` and `\t`.
pub(crate) fn clean_text(
    field: &str,
    raw: &str,
    min: usize,
    max: usize,
    allow_newlines: bool,
) -> Result<String, ValidationError> {
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if len < min {
        let reason =
            if min == 1 { "must not be empty".to_owned() } else { format!("must be at least {min} characters") };
        return Err(ValidationError::field(field, reason));
    }
    if len > max {
        return Err(ValidationError::field(field, format!("must be at most {max} characters")));
    }
    let bad = trimmed.chars().any(|c| c.is_control() && !(allow_newlines && matches!(c, '\n' | '\r' | '\t')));
    if bad {
        return Err(ValidationError::field(field, "must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}
