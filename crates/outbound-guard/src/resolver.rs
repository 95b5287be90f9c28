//! A DNS resolver for reqwest that drops refused addresses, so the address checked is
//! the address connected to (no window for DNS rebinding between check and connect).

use std::fmt;
use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::address::is_allowed_destination;

/// What a sender reports when every address of its destination is refused.
pub const REFUSED_MESSAGE: &str = "destination address is not allowed (private, loopback, link-local or metadata)";

/// Every address a name resolved to was refused; found again in the error chain.
#[derive(Debug)]
pub struct RefusedDestination;

impl fmt::Display for RefusedDestination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REFUSED_MESSAGE)
    }
}

impl std::error::Error for RefusedDestination {}

/// Resolves with the system resolver and keeps only allowed addresses.
#[derive(Debug, Clone, Copy, Default)]
pub struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: reqwest puts the URL's port (or the scheme's) on each address.
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = resolved.filter(|addr| is_allowed_destination(addr.ip())).collect();
            if allowed.is_empty() {
                tracing::debug!(%host, "outbound destination resolved only to refused addresses");
                return Err(RefusedDestination.into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}
