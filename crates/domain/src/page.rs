//! Pagination parameters and pages.

use crate::error::{FieldError, ValidationError, Validator};

/// Where a keyset page starts: after or before an item, by its id (as Stripe's lists do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// The items that follow this id in list order (older ones).
    After(String),
    /// The items that precede this id in list order (newer ones).
    Before(String),
}

impl Cursor {
    /// The item id the page is anchored on.
    pub fn id(&self) -> &str {
        match self {
            Cursor::After(id) | Cursor::Before(id) => id,
        }
    }

    /// The query parameter that carried it.
    pub fn field(&self) -> &'static str {
        match self {
            Cursor::After(_) => "starting_after",
            Cursor::Before(_) => "ending_before",
        }
    }
}

/// A validated page request: `page >= 1`, `per_page` in 1..=100, or on the lists that
/// take one, a cursor instead of a page number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    per_page: u32,
    cursor: Option<Cursor>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { page: 1, per_page: Self::DEFAULT_PER_PAGE, cursor: None }
    }
}

/// The raw list parameters of a query string.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageParams<'a> {
    /// `page`.
    pub page: Option<&'a str>,
    /// `per_page`.
    pub per_page: Option<&'a str>,
    /// `starting_after`.
    pub starting_after: Option<&'a str>,
    /// `ending_before`.
    pub ending_before: Option<&'a str>,
}

impl PageRequest {
    /// Items per page when the client does not say.
    pub const DEFAULT_PER_PAGE: u32 = 20;
    /// The largest page size.
    pub const MAX_PER_PAGE: u32 = 100;

    /// Parses the raw query values of a numbered list; absent values take their defaults.
    ///
    /// # Errors
    /// A `VALIDATION_ERROR` for each value that is not an integer in range.
    pub fn parse(page: Option<&str>, per_page: Option<&str>) -> Result<Self, ValidationError> {
        Self::parse_params(PageParams { page, per_page, ..PageParams::default() })
    }

    /// Parses the raw query values of a list that also takes `starting_after` /
    /// `ending_before`.
    ///
    /// # Errors
    /// A `VALIDATION_ERROR` naming each bad value: a page number or size out of range, a
    /// malformed cursor, both cursors, or a cursor with `page`.
    pub fn parse_params(raw: PageParams<'_>) -> Result<Self, ValidationError> {
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
        fn id(field: &'static str, raw: &str) -> Result<String, ValidationError> {
            let shown = || raw.chars().take(32).collect::<String>();
            let well_formed = (1..=64).contains(&raw.len())
                && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !well_formed {
                return Err(FieldError::new(field, "must be the id of an item of this list")
                    .with_value(shown())
                    .into());
            }
            Ok(raw.to_owned())
        }
        let mut v = Validator::new();
        let page = v.check(int("page", raw.page, 1, u32::MAX));
        let per_page = v.check(int("per_page", raw.per_page, Self::DEFAULT_PER_PAGE, Self::MAX_PER_PAGE));
        let after = raw.starting_after.and_then(|r| v.check(id("starting_after", r)));
        let before = raw.ending_before.and_then(|r| v.check(id("ending_before", r)));
        if raw.starting_after.is_some() && raw.ending_before.is_some() {
            v.push(FieldError::new("ending_before", "cannot be combined with starting_after"));
        }
        if raw.page.is_some() && (raw.starting_after.is_some() || raw.ending_before.is_some()) {
            v.push(FieldError::new("page", "cannot be combined with a cursor (starting_after or ending_before)"));
        }
        v.finish()?;
        let cursor = after.map(Cursor::After).or(before.map(Cursor::Before));
        Ok(Self { page: page.unwrap_or(1), per_page: per_page.unwrap_or(Self::DEFAULT_PER_PAGE), cursor })
    }

    /// Builds a request directly (for tests and internal callers); clamps into range.
    pub fn new(page: u32, per_page: u32) -> Self {
        Self { page: page.max(1), per_page: per_page.clamp(1, Self::MAX_PER_PAGE), cursor: None }
    }

    /// Builds a keyset request (for tests and internal callers); clamps into range.
    pub fn keyset(cursor: Cursor, per_page: u32) -> Self {
        Self { page: 1, per_page: per_page.clamp(1, Self::MAX_PER_PAGE), cursor: Some(cursor) }
    }

    /// The 1-based page number (1 for a keyset page).
    pub fn page(&self) -> u32 {
        self.page
    }

    /// Items per page.
    pub fn per_page(&self) -> u32 {
        self.per_page
    }

    /// The cursor of a keyset page.
    pub fn cursor(&self) -> Option<&Cursor> {
        self.cursor.as_ref()
    }

    /// Items to skip (0 for a keyset page).
    pub fn offset(&self) -> u64 {
        if self.cursor.is_some() {
            return 0;
        }
        u64::from(self.page - 1) * u64::from(self.per_page)
    }
}

/// One page of results and the total number of items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items of this page, in list order (newest first).
    pub items: Vec<T>,
    /// How many items exist in all pages.
    pub total: u64,
    /// The request that produced this page.
    pub request: PageRequest,
    /// Whether more items lie beyond this page in its direction: older ones for a page
    /// number or `starting_after`, newer ones for `ending_before`.
    pub has_more: bool,
}

impl<T> Page<T> {
    /// A numbered page: more follow when the items so far are fewer than the total.
    pub fn new(items: Vec<T>, total: u64, request: PageRequest) -> Self {
        let has_more = request.offset() + (items.len() as u64) < total;
        Self { items, total, request, has_more }
    }

    /// A page read with one item more than asked, in list order for `starting_after` and
    /// in reverse list order for `ending_before`: drops the extra item, which says
    /// whether more exist, and puts the rest in list order.
    pub fn from_probe(mut items: Vec<T>, total: u64, request: PageRequest) -> Self {
        let has_more = items.len() > request.per_page() as usize;
        items.truncate(request.per_page() as usize);
        if matches!(request.cursor(), Some(Cursor::Before(_))) {
            items.reverse();
        }
        Self { items, total, request, has_more }
    }

    /// Maps the items with a conversion that may fail, keeping the paging.
    ///
    /// # Errors
    /// The first item's error.
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        let items = self.items.into_iter().map(f).collect::<Result<_, _>>()?;
        Ok(Page { items, total: self.total, request: self.request, has_more: self.has_more })
    }

    /// Whether a page follows this one.
    pub fn has_next(&self) -> bool {
        self.has_more
    }

    /// Maps the items, keeping the paging.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            request: self.request,
            has_more: self.has_more,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(PageRequest::parse(None, None), Ok(PageRequest { page: 1, per_page: 20, cursor: None }));
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

    fn params<'a>(page: Option<&'a str>, after: Option<&'a str>, before: Option<&'a str>) -> PageParams<'a> {
        PageParams { page, per_page: Some("5"), starting_after: after, ending_before: before }
    }

    #[test]
    fn cursors_are_ids_one_at_a_time_and_never_with_a_page_number() {
        let after = PageRequest::parse_params(params(None, Some("proj_abc"), None)).unwrap();
        assert_eq!((after.cursor(), after.per_page(), after.offset()), (Some(&Cursor::After("proj_abc".into())), 5, 0));
        let before = PageRequest::parse_params(params(None, None, Some("key_x-1"))).unwrap();
        assert_eq!(before.cursor(), Some(&Cursor::Before("key_x-1".into())));
        let fields =
            |raw| PageRequest::parse_params(raw).unwrap_err().errors().map(|e| e.field.clone()).collect::<Vec<_>>();
        assert_eq!(fields(params(None, Some("a"), Some("b"))), ["ending_before"]);
        assert_eq!(fields(params(Some("2"), Some("a"), None)), ["page"]);
        assert_eq!(fields(params(None, Some("a b"), None)), ["starting_after"]);
        assert_eq!(fields(params(None, Some(""), None)), ["starting_after"]);
        assert_eq!(fields(params(None, None, Some(&"x".repeat(65)))), ["ending_before"]);
    }

    #[test]
    fn a_probe_page_drops_its_extra_item_and_reads_in_list_order() {
        let after = PageRequest::keyset(Cursor::After("x".into()), 2);
        let page = Page::from_probe(vec![3, 2, 1], 10, after.clone());
        assert_eq!((page.items, page.has_more), (vec![3, 2], true));
        let page = Page::from_probe(vec![3, 2], 10, after);
        assert_eq!((page.items, page.has_more), (vec![3, 2], false));
        // `ending_before` reads upwards (oldest first); the page is turned back.
        let page = Page::from_probe(vec![4, 5, 6], 10, PageRequest::keyset(Cursor::Before("x".into()), 2));
        assert_eq!((page.items, page.has_more), (vec![5, 4], true));
    }

    #[test]
    fn a_numbered_page_has_more_until_the_total() {
        assert!(Page::new(vec![1, 2], 5, PageRequest::new(2, 2)).has_more);
        assert!(!Page::new(vec![1], 5, PageRequest::new(3, 2)).has_more);
    }
}
