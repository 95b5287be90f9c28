//! A tool's `base_url`: an origin (scheme, host, optional port) and nothing else, so the
//! endpoint path alone decides where a call goes.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{FieldError, ValidationError};

/// An `https` origin (or `http` where plain HTTP is allowed): lowercase host, optional
/// port, no trailing slash, no credentials, path, query or fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolBaseUrl {
    origin: String,
    https: bool,
    host: String,
    port: Option<u16>,
}

impl ToolBaseUrl {
    /// Parses `raw`. `allow_plain_http` (the `TENGINE_TOOLS_ALLOW_PRIVATE=true`
    /// development mode) also accepts `http://`. A single trailing `/` is dropped.
    ///
    /// # Errors
    /// A `base_url` field error saying what is wrong.
    pub fn parse(raw: &str, allow_plain_http: bool) -> Result<Self, ValidationError> {
        let bad = |reason: &str| -> ValidationError {
            FieldError::new("base_url", reason).with_value(raw.chars().take(128).collect::<String>()).into()
        };
        if raw.len() > 512 {
            return Err(FieldError::new("base_url", "must be at most 512 characters").into());
        }
        let lower = raw.to_ascii_lowercase();
        let (https, rest) = if let Some(r) = lower.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = lower.strip_prefix("http://") {
            if !allow_plain_http {
                return Err(bad("must use https://"));
            }
            (false, r)
        } else {
            return Err(bad(if allow_plain_http {
                "must start with https:// or http://"
            } else {
                "must start with https://"
            }));
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains('@') {
            return Err(bad("must not contain credentials"));
        }
        if authority.contains(['/', '?', '#']) {
            return Err(bad("must be an origin only: no path, query or fragment (put the path in endpoint_path)"));
        }
        let (host, port) = split_port(authority).map_err(&bad)?;
        check_host(host).map_err(&bad)?;
        let origin = format!("{}://{authority}", if https { "https" } else { "http" });
        Ok(Self { origin, https, host: host.to_owned(), port })
    }

    /// A value read back from storage, parsed leniently (plain `http` allowed): it was
    /// checked under the rules of the day it was written.
    ///
    /// # Errors
    /// When the stored value is not an origin at all.
    pub fn from_stored(raw: &str) -> Result<Self, ValidationError> {
        Self::parse(raw, true)
    }

    /// The origin, e.g. `https://api.example.com:8443`.
    pub fn as_str(&self) -> &str {
        &self.origin
    }

    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// The host as written (an IPv6 literal keeps its brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The explicit port, if any.
    pub fn port(&self) -> Option<u16> {
        self.port
    }
}

impl fmt::Display for ToolBaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)
    }
}

fn split_port(authority: &str) -> Result<(&str, Option<u16>), &'static str> {
    // An IPv6 literal holds colons of its own.
    let colon = if authority.starts_with('[') {
        let close = authority.find(']').ok_or("has an unclosed [")?;
        match &authority[close + 1..] {
            "" => None,
            p if p.starts_with(':') => Some(close + 1),
            _ => return Err("has text after the IPv6 address"),
        }
    } else {
        authority.rfind(':')
    };
    let Some(c) = colon else { return Ok((authority, None)) };
    let digits = &authority[c + 1..];
    let port = (!digits.is_empty() && digits.len() <= 5 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse::<u16>().ok())
        .flatten()
        .filter(|p| *p != 0)
        .ok_or("must have a port between 1 and 65535")?;
    Ok((&authority[..c], Some(port)))
}

fn check_host(host: &str) -> Result<(), &'static str> {
    if host.is_empty() {
        return Err("must name a host");
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().map(|_| ()).map_err(|_| "has a malformed IPv6 address");
    }
    if !host.is_ascii() {
        return Err("must have an ASCII host (write an international name in its xn-- form)");
    }
    let labels: Vec<&str> = host.split('.').collect();
    // A last label that looks numeric makes the host an IPv4 address (as browsers read
    // it), so it must be a plain dotted quad: no `0x7f.1` or `2130706433` spellings.
    let last = labels.last().copied().unwrap_or_default();
    if last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x") {
        return host.parse::<Ipv4Addr>().map(|_| ()).map_err(|_| "has a malformed IPv4 address");
    }
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if host.len() > 253 || !labels.iter().all(label_ok) {
        return Err("has a malformed host name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_https_origin_is_accepted() {
        for (raw, want) in [
            ("https://api.example.com", "https://api.example.com"),
            ("HTTPS://API.Example.com/", "https://api.example.com"),
            ("https://api.example.com:8443", "https://api.example.com:8443"),
            ("https://[::1]:443", "https://[::1]:443"),
            ("https://10.0.0.1", "https://10.0.0.1"),
        ] {
            assert_eq!(ToolBaseUrl::parse(raw, false).map(|u| u.to_string()), Ok(want.to_owned()), "{raw}");
        }
        for raw in [
            "http://api.example.com",
            "api.example.com",
            "https://",
            "https://user:pw@api.example.com",
            "https://api.example.com/v1",
            "https://api.example.com?x=1",
            "https://api.example.com#f",
            "https://api.example.com:0",
            "https://api.example.com:70000",
            "https://api.example.com:",
            "https://api..example.com",
            "https://-api.example.com",
            "https://api_x.example.com",
            "https://0x7f.1",
            "https://2130706433",
            "https://127.0.0.01",
            "https://[::1",
            "https://[zz::1]",
            "https://bücher.example",
            "https://api.example.com //x",
        ] {
            let err = ToolBaseUrl::parse(raw, false).expect_err(raw);
            assert_eq!(err.first().field, "base_url", "{raw}");
        }
    }

    #[test]
    fn plain_http_is_accepted_only_in_development_mode() {
        assert!(ToolBaseUrl::parse("http://127.0.0.1:8080", false).is_err());
        let u = ToolBaseUrl::parse("http://127.0.0.1:8080", true).expect("allowed");
        assert!(!u.is_https());
        assert_eq!((u.host(), u.port()), ("127.0.0.1", Some(8080)));
        assert!(ToolBaseUrl::parse("ftp://x.example", true).is_err());
    }
}
