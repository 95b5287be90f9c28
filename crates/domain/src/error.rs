//! Validation errors: which field failed and why, in words a client can act on; and any
//! error with its causes on one line.

use std::fmt;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

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

impl ValidationError {
    /// Both errors' fields, this one's first.
    #[must_use]
    pub fn and(mut self, other: ValidationError) -> Self {
        self.rest.extend(other.errors().cloned());
        self
    }
}

/// A tuple of field results that becomes one result: every value, or every field's
/// errors together. `(name.parse(), permissions).collect_fields()?` parses a body with
/// no "cannot happen" branch.
pub trait CollectFields {
    /// The tuple of values.
    type Output;

    /// Every value, or all the errors.
    ///
    /// # Errors
    /// The fields that failed, in order.
    fn collect_fields(self) -> Result<Self::Output, ValidationError>;
}

macro_rules! collect_fields {
    ($($t:ident $r:ident),+) => {
        impl<$($t),+> CollectFields for ($(Result<$t, ValidationError>,)+) {
            type Output = ($($t,)+);

            fn collect_fields(self) -> Result<Self::Output, ValidationError> {
                let ($($r,)+) = self;
                let mut failed: Option<ValidationError> = None;
                $(
                    let $r = match $r {
                        Ok(v) => Some(v),
                        Err(e) => {
                            failed = Some(match failed.take() { None => e, Some(f) => f.and(e) });
                            None
                        }
                    };
                )+
                match ($($r,)+) {
                    ($(Some($r),)+) => Ok(($($r,)+)),
                    // Some field failed, so `failed` holds its error.
                    _ => Err(failed.unwrap_or_else(|| ValidationError::field("body", "is invalid"))),
                }
            }
        }
    };
}

collect_fields!(A a);
collect_fields!(A a, B b);
collect_fields!(A a, B b, C c);
collect_fields!(A a, B b, C c, D d);
collect_fields!(A a, B b, C c, D d, E e);
collect_fields!(A a, B b, C c, D d, E e, F f);

/// Trims Unicode whitespace and checks length (in characters), control characters and
/// format characters (general category Cf).
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
    // Invisible format characters (U+200B, U+202E, U+FEFF, ...) let one name pass for another.
    if let Some(c) = trimmed.chars().find(|c| c.general_category() == GeneralCategory::Format) {
        let reason = format!("must not contain invisible format characters (found U+{:04X})", u32::from(c));
        return Err(ValidationError::field(field, reason));
    }
    Ok(trimmed.to_owned())
}

/// Renders an error and its sources on one line, for a log.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{clean_text, CollectFields, ValidationError};

    #[test]
    fn collected_fields_keep_every_error_in_order() {
        let ok: Result<u8, ValidationError> = Ok(1);
        assert_eq!((ok.clone(), Ok::<&str, ValidationError>("x")).collect_fields(), Ok((1, "x")));
        let bad = |f: &str| Err::<u8, _>(ValidationError::field(f, "is wrong"));
        let err = (bad("a"), ok, bad("c")).collect_fields().expect_err("two fields failed");
        let fields: Vec<&str> = err.errors().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["a", "c"]);
    }

    #[test]
    fn format_characters_are_refused_and_the_field_is_named() {
        // General category Cf, from the zero-width space to the language tags.
        let format = [
            '\u{AD}',
            '\u{600}',
            '\u{61C}',
            '\u{6DD}',
            '\u{180E}',
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{200F}',
            '\u{202A}',
            '\u{202E}',
            '\u{2060}',
            '\u{2064}',
            '\u{2066}',
            '\u{2069}',
            '\u{206F}',
            '\u{FEFF}',
            '\u{FFF9}',
            '\u{FFFB}',
            '\u{110BD}',
            '\u{1D173}',
            '\u{E0001}',
            '\u{E0020}',
            '\u{E007F}',
        ];
        for c in format {
            for (field, multiline) in [("name", false), ("description", true)] {
                for text in [format!("pay{c}pal"), format!("{c}paypal"), format!("paypal{c}")] {
                    let err =
                        clean_text(field, &text, 1, 100, multiline).expect_err(&format!("U+{:04X}", u32::from(c)));
                    let first = err.errors().next().expect("one error");
                    assert_eq!(first.field, field);
                    assert!(first.reason.contains(&format!("U+{:04X}", u32::from(c))), "{}", first.reason);
                }
            }
        }
    }

    #[test]
    fn every_name_and_description_refuses_format_characters() {
        use crate::{delivery::parse_description, AccountName, ApiKeyName, ProjectDescription, ProjectName};
        let spoof = "acme\u{202E}lapyap";
        let fields = [
            ("name", spoof.parse::<ProjectName>().err()),
            ("description", spoof.parse::<ProjectDescription>().err()),
            ("name", spoof.parse::<ApiKeyName>().err()),
            ("name", spoof.parse::<AccountName>().err()),
            ("description", parse_description(spoof).err()),
        ];
        for (field, err) in fields {
            let err = err.expect("refused");
            assert_eq!(err.errors().next().map(|e| e.field.as_str()), Some(field));
        }
    }

    #[test]
    fn visible_text_in_any_script_is_still_accepted() {
        for text in ["Paypal", "Zürich café", "東京 プロジェクト", "مشروع", "עברית", "emoji 🦀✨", "a\u{301}", "x - y"]
        {
            assert_eq!(clean_text("name", text, 1, 100, false).as_deref(), Ok(text), "{text}");
        }
        assert!(clean_text("description", "two\nlines\tand a tab", 0, 1000, true).is_ok());
    }
}
