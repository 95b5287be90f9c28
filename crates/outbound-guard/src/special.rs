//! The special-purpose address blocks, as data: the IANA IPv4 and IPv6 Special-Purpose
//! Address Registries (RFC 6890 as amended by RFC 8190), whole, plus the few blocks from
//! other registries that an SSRF guard must also know. The guard in `address.rs` and its
//! tests are both derived from [`BLOCKS`]; change the table, not the code.
//!
//! Registry snapshot: the IPv6 registry up to RFC 9780's dummy prefix (2025-04), the
//! IPv4 registry up to RFC 8155's TURN anycast (its 192.88.99.2/32 row included).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The registry's "Globally Reachable" column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// `True`: datagrams to the block are forwarded beyond an administrative domain.
    Global,
    /// `False`.
    NotGlobal,
    /// `N/A`: terminated blocks and tunnel prefixes (Teredo, 6to4) whose reach depends on
    /// what they wrap.
    NotApplicable,
}

/// Where an IPv6 block carries an IPv4 address that it reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carries {
    /// Nothing embedded.
    Nothing,
    /// The last 32 bits (mapped, translated, compatible, NAT64 `/96`).
    Last32,
    /// Bits 16..48 (6to4, RFC 3056).
    After16,
}

/// Which list an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The IANA IPv4 Special-Purpose Address Registry.
    IanaV4,
    /// The IANA IPv6 Special-Purpose Address Registry.
    IanaV6,
    /// Another registry or RFC (multicast, deprecated forms); never globally reachable here.
    Supplement,
}

/// One special-purpose block.
#[derive(Debug, Clone, Copy)]
pub struct Block {
    /// The first address.
    pub net: IpAddr,
    /// The prefix length.
    pub len: u8,
    /// The registry's name for it.
    pub name: &'static str,
    /// The RFC(s) the registry cites.
    pub rfc: &'static str,
    /// The registry's "Globally Reachable" flag.
    pub reach: Reach,
    /// Where it comes from.
    pub source: Source,
    /// The IPv4 address it embeds, if any.
    pub carries: Carries,
}

impl Block {
    /// Whether `ip` lies in this block (an IPv4 address never lies in an IPv6 block).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                u32::from(ip) & mask == u32::from(net) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.len)).unwrap_or(0);
                u128::from(ip) & mask == u128::from(net) & mask
            }
            _ => false,
        }
    }

    /// The IPv4 address that `ip` (inside this block) reaches, for blocks that carry one.
    pub fn embedded_v4(&self, ip: Ipv6Addr) -> Option<Ipv4Addr> {
        let bits = u128::from(ip);
        match self.carries {
            Carries::Nothing => None,
            Carries::Last32 => Some(Ipv4Addr::from((bits & 0xffff_ffff) as u32)),
            Carries::After16 => Some(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32)),
        }
    }
}

const fn v4(a: [u8; 4], len: u8, name: &'static str, rfc: &'static str, reach: Reach) -> Block {
    let net = IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]));
    Block { net, len, name, rfc, reach, source: Source::IanaV4, carries: Carries::Nothing }
}

const fn v6(s: [u16; 8], len: u8, name: &'static str, rfc: &'static str, reach: Reach) -> Block {
    let net = IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]));
    Block { net, len, name, rfc, reach, source: Source::IanaV6, carries: Carries::Nothing }
}

const fn carrying(mut b: Block, carries: Carries) -> Block {
    b.carries = carries;
    b
}

const fn supplement(mut b: Block) -> Block {
    b.source = Source::Supplement;
    b
}

use Reach::{Global, NotApplicable as NA, NotGlobal as No};

/// Every special-purpose block, registry order (IPv4, IPv6, then the supplement).
pub const BLOCKS: &[Block] = &[
    // IANA IPv4 Special-Purpose Address Registry.
    v4([0, 0, 0, 0], 8, "\"This network\"", "RFC 791, Section 3.2", No),
    v4([0, 0, 0, 0], 32, "\"This host on this network\"", "RFC 1122, Section 3.2.1.3", No),
    v4([10, 0, 0, 0], 8, "Private-Use", "RFC 1918", No),
    v4([100, 64, 0, 0], 10, "Shared Address Space", "RFC 6598", No),
    v4([127, 0, 0, 0], 8, "Loopback", "RFC 1122, Section 3.2.1.3", No),
    v4([169, 254, 0, 0], 16, "Link Local", "RFC 3927", No),
    v4([172, 16, 0, 0], 12, "Private-Use", "RFC 1918", No),
    v4([192, 0, 0, 0], 24, "IETF Protocol Assignments", "RFC 6890, Section 2.1", No),
    v4([192, 0, 0, 0], 29, "IPv4 Service Continuity Prefix", "RFC 7335", No),
    v4([192, 0, 0, 8], 32, "IPv4 dummy address", "RFC 7600", No),
    v4([192, 0, 0, 9], 32, "Port Control Protocol Anycast", "RFC 7723", Global),
    v4([192, 0, 0, 10], 32, "Traversal Using Relays around NAT Anycast", "RFC 8155", Global),
    // One registry row (192.0.0.170/32, 192.0.0.171/32), two entries here.
    v4([192, 0, 0, 170], 32, "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050 Section 2.2", No),
    v4([192, 0, 0, 171], 32, "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050 Section 2.2", No),
    v4([192, 0, 2, 0], 24, "Documentation (TEST-NET-1)", "RFC 5737", No),
    v4([192, 31, 196, 0], 24, "AS112-v4", "RFC 7535", Global),
    v4([192, 52, 193, 0], 24, "AMT", "RFC 7450", Global),
    v4([192, 88, 99, 0], 24, "Deprecated (6to4 Relay Anycast)", "RFC 7526", NA),
    v4([192, 88, 99, 2], 32, "6a44-relay anycast address", "RFC 6751", No),
    v4([192, 168, 0, 0], 16, "Private-Use", "RFC 1918", No),
    v4([192, 175, 48, 0], 24, "Direct Delegation AS112 Service", "RFC 7534", Global),
    v4([198, 18, 0, 0], 15, "Benchmarking", "RFC 2544", No),
    v4([198, 51, 100, 0], 24, "Documentation (TEST-NET-2)", "RFC 5737", No),
    v4([203, 0, 113, 0], 24, "Documentation (TEST-NET-3)", "RFC 5737", No),
    v4([240, 0, 0, 0], 4, "Reserved", "RFC 1112, Section 4", No),
    v4([255, 255, 255, 255], 32, "Limited Broadcast", "RFC 8190, RFC 919 Section 7", No),
    // IANA IPv6 Special-Purpose Address Registry.
    v6([0, 0, 0, 0, 0, 0, 0, 1], 128, "Loopback Address", "RFC 4291", No),
    v6([0, 0, 0, 0, 0, 0, 0, 0], 128, "Unspecified Address", "RFC 4291", No),
    carrying(v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96, "IPv4-mapped Address", "RFC 4291", No), Carries::Last32),
    carrying(v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96, "IPv4-IPv6 Translat.", "RFC 6052", Global), Carries::Last32),
    v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, "IPv4-IPv6 Translat.", "RFC 8215", No),
    v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64, "Discard-Only Address Block", "RFC 6666", No),
    v6([0x100, 0, 0, 1, 0, 0, 0, 0], 64, "Dummy IPv6 Prefix", "RFC 9780", No),
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, "IETF Protocol Assignments", "RFC 2928", No),
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32, "TEREDO", "RFC 4380, RFC 8190", NA),
    v6([0x2001, 1, 0, 0, 0, 0, 0, 1], 128, "Port Control Protocol Anycast", "RFC 7723", Global),
    v6([0x2001, 1, 0, 0, 0, 0, 0, 2], 128, "Traversal Using Relays around NAT Anycast", "RFC 8155", Global),
    v6([0x2001, 1, 0, 0, 0, 0, 0, 3], 128, "DNS-SD Service Registration Protocol Anycast", "RFC 9665", Global),
    v6([0x2001, 2, 0, 0, 0, 0, 0, 0], 48, "Benchmarking", "RFC 5180, RFC Errata 1752", No),
    v6([0x2001, 3, 0, 0, 0, 0, 0, 0], 32, "AMT", "RFC 7450", Global),
    v6([0x2001, 4, 0x112, 0, 0, 0, 0, 0], 48, "AS112-v6", "RFC 7535", Global),
    v6([0x2001, 0x10, 0, 0, 0, 0, 0, 0], 28, "Deprecated (previously ORCHID)", "RFC 4843", NA),
    v6([0x2001, 0x20, 0, 0, 0, 0, 0, 0], 28, "ORCHIDv2", "RFC 7343", Global),
    v6([0x2001, 0x30, 0, 0, 0, 0, 0, 0], 28, "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374", Global),
    v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, "Documentation", "RFC 3849", No),
    carrying(v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16, "6to4", "RFC 3056", NA), Carries::After16),
    v6([0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0], 48, "Direct Delegation AS112 Service", "RFC 7534", Global),
    v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, "Documentation", "RFC 9637", No),
    v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16, "Segment Routing (SRv6) SIDs", "RFC 9602", No),
    v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, "Unique-Local", "RFC 4193, RFC 8190", No),
    v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, "Link-Local Unicast", "RFC 4291", No),
    // Supplement: not special-purpose registry rows, never an outbound destination.
    supplement(v4([224, 0, 0, 0], 4, "Multicast", "RFC 5771", No)),
    supplement(carrying(
        v6([0, 0, 0, 0, 0, 0, 0, 0], 96, "IPv4-compatible Address (deprecated)", "RFC 4291, Section 2.5.5.1", No),
        Carries::Last32,
    )),
    supplement(carrying(
        v6([0, 0, 0, 0, 0xffff, 0, 0, 0], 96, "IPv4-translated Address", "RFC 2765, Section 2.1", No),
        Carries::Last32,
    )),
    supplement(v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, "Site-Local Unicast (deprecated)", "RFC 3879", No)),
    supplement(v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "Multicast", "RFC 4291, Section 2.7", No)),
];
