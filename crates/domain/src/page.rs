//! Pagination parameters and pages.

use crate::error::{FieldError, ValidationError, Validator};

/// A validated page request: `page >= 1`, `per_page` in 1..=100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    per_page: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { page: 1, per_page: Self::DEFAULT_PER_PAGE }
    }
}

impl PageRequest {
    /// Items per page when the client does not say.
    pub const DEFAULT_PER_PAGE: u32 = 20;
    /// The largest page size.
    pub const MAX_PER_PAGE: u32 = 100;

    /// Parses the raw query values; absent values take their defaults.
    ///
    /// # Errors
    /// A `VALIDATION_ERROR` for each value that is not an integer in range.
    pub fn parse(page: Option<&str>, per_page: Option<&str>) -> Result<Self, ValidationError> {
        fn int(field: &str, raw: Option<&str>, default: u32, max: u32) -> Result<u32, ValidationError> {
            let Some(raw) = raw else { return Ok(default) };
            let reason = if max == u32::MAX {
                "must be an integer >= 1".to_owned()
            } else {
                format!("must be an integer between 1 and {max}")
            };
            match raw.parse::<u32>() {
                Ok(v) if (1..=max).contains(&v) => Ok(v),
                _ => Err(FieldError::new(field, reason).with_value(raw.chars().take(32).collect::<String>()).into()),
            }
        }
        let mut v = Validator::new();
        let page = v.check(int("page", page, 1, u32::MAX));
        let per_page = v.check(int("per_page", per_page, Self::DEFAULT_PER_PAGE, Self::MAX_PER_PAGE));
        v.finish()?;
        Ok(Self { page: page.unwrap_or(1), per_page: per_page.unwrap_or(Self::DEFAULT_PER_PAGE) })
    }

    /// Builds a request directly (for tests and internal callers); clamps into range.
    pub fn new(page: u32, per_page: u32) -> Self {
        Self { page: page.max(1), per_page: per_page.clamp(1, Self::MAX_PER_PAGE) }
    }

    /// The 1-based page number.
    pub fn page(&self) -> u32 {
        self.page
    }

    /// Items per page.
    pub fn per_page(&self) -> u32 {
        self.per_page
    }

    /// Items to skip.
    pub fn offset(&self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.per_page)
    }
}

/// One page of results and the total number of items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items of this page, newest first.
    pub items: Vec<T>,
    /// How many items exist in all pages.
    pub total: u64,
    /// The request that produced this page.
    pub request: PageRequest,
}

impl<T> Page<T> {
    /// Whether a page follows this one.
    pub fn has_next(&self) -> bool {
        self.request.offset() + (self.items.len() as u64) < self.total
    }

    /// Maps the items, keeping the paging.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), total: self.total, request: self.request }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(PageRequest::parse(None, None), Ok(PageRequest { page: 1, per_page: 20 }));
        assert_eq!(PageRequest::parse(Some("3"), Some("100")).map(|p| p.offset()), Ok(200));
        for (page, per) in [
            (Some("0"), None),
            (None, Some("101")),
            (Some("-1"), None),
            (Some("x"), None),
            (None, Some("0")),
            (Some("1.5"), None),
            (Some(""), None),
        ] {
            assert!(PageRequest::parse(page, per).is_err(), "{page:?} {per:?}");
        }
        let both = PageRequest::parse(Some("0"), Some("0")).unwrap_err();
        assert_eq!(both.errors().count(), 2);
    }

    #[test]
    fn the_largest_page_does_not_overflow() {
        let p = PageRequest::parse(Some(&u32::MAX.to_string()), Some("100")).unwrap();
        assert_eq!(p.offset(), (u64::from(u32::MAX) - 1) * 100);
    }
}
