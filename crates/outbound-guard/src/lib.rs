//! The SSRF guard of every outbound HTTP client (webhook deliveries, tool calls).
//!
//! A client that must not reach private networks installs [`GuardedResolver`], so the
//! address checked is the address connected to, and checks IP-literal URLs (which skip
//! DNS) with [`refused_literal`] before sending. [`is_allowed_destination`] says what is
//! refused; [`special::BLOCKS`] is the table it is derived from.

mod address;
mod resolver;
pub mod special;

use std::net::IpAddr;

pub use address::is_allowed_destination;
pub use resolver::{GuardedResolver, RefusedDestination, REFUSED_MESSAGE};

/// Whether `url`'s host is an IP literal the guard refuses.
#[must_use]
pub fn refused_literal(url: &reqwest::Url) -> bool {
    literal_host(url).is_some_and(|ip| !is_allowed_destination(ip))
}

/// The URL's host when it is an IP literal, which reqwest connects to without DNS.
fn literal_host(url: &reqwest::Url) -> Option<IpAddr> {
    // The URL parser already normalised IPv4 forms like `0x7f.1` to dotted quads.
    let host = url.host_str()?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    host.parse().ok()
}

/// Whether `error` (a failed send) was the guard refusing every resolved address.
#[must_use]
pub fn is_refusal(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<RefusedDestination>() {
            return true;
        }
        cause = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_literals_in_any_notation_are_checked() {
        for (url, refused) in [
            ("http://127.0.0.1:8080/x", true),
            ("http://0x7f.1/x", true),
            ("http://[::1]/x", true),
            ("http://[::ffff:169.254.169.254]/x", true),
            ("https://8.8.8.8/x", false),
            ("https://example.com/x", false),
        ] {
            let parsed = reqwest::Url::parse(url).expect("a valid URL");
            assert_eq!(refused_literal(&parsed), refused, "{url}");
        }
    }

    #[test]
    fn a_refusal_is_found_anywhere_in_the_error_chain() {
        #[derive(Debug)]
        struct Wrapper(RefusedDestination);
        impl std::fmt::Display for Wrapper {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("connect failed")
            }
        }
        impl std::error::Error for Wrapper {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        assert!(is_refusal(&Wrapper(RefusedDestination)));
        assert!(!is_refusal(&std::io::Error::other("reset")));
    }
}
