//! Which destination addresses an outbound call (a webhook, a tool) may reach: public unicast only. The refused
//! ranges are the special-purpose blocks of [`crate::special::BLOCKS`] that the IANA
//! registries do not mark globally reachable.

use std::net::IpAddr;

use crate::special::{Reach, BLOCKS};

/// Whether an outbound call may connect to `ip`.
///
/// Refused: every address inside a special-purpose block whose "Globally Reachable" flag is
/// `False` or `N/A` (loopback, private, link-local and cloud metadata, CGNAT, documentation,
/// benchmarking, IPv4-mapped/translated/compatible, 6to4, Teredo, SRv6 SIDs, multicast,
/// reserved ...), even when a globally reachable block is nested inside it; and every IPv6
/// address of a globally reachable block that carries a refused IPv4 address (NAT64
/// `64:ff9b::/96`). Everything else is public unicast and allowed.
#[must_use]
pub fn is_allowed_destination(ip: IpAddr) -> bool {
    BLOCKS.iter().filter(|b| b.contains(ip)).all(|b| {
        let carried = match ip {
            IpAddr::V6(v6) => b.embedded_v4(v6),
            IpAddr::V4(_) => None,
        };
        b.reach == Reach::Global && carried.is_none_or(|v4| is_allowed_destination(IpAddr::V4(v4)))
    })
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use super::*;
    use crate::special::{Block, Carries, Source};

    fn bits(ip: IpAddr) -> u128 {
        match ip {
            IpAddr::V4(v4) => u128::from(u32::from(v4)),
            IpAddr::V6(v6) => u128::from(v6),
        }
    }

    fn addr(like: IpAddr, bits: u128) -> IpAddr {
        match like {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(bits as u32)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(bits)),
        }
    }

    /// The first, a middle and the last address of a block.
    fn samples(b: &Block) -> [IpAddr; 3] {
        let width = if b.net.is_ipv4() { 32 } else { 128 };
        let host = u128::MAX.checked_shr(128 - width + u32::from(b.len)).unwrap_or(0);
        let first = bits(b.net);
        [addr(b.net, first), addr(b.net, first + host / 2 + u128::from(host != 0)), addr(b.net, first | host)]
    }

    fn non_global(b: &Block) -> bool {
        b.reach != Reach::Global
    }

    /// Every IPv6 form that reaches `v4`.
    fn v6_forms(v4: Ipv4Addr) -> [(&'static str, IpAddr); 5] {
        let n = u128::from(u32::from(v4));
        [
            ("mapped", IpAddr::V6(Ipv6Addr::from(0xffff_u128 << 32 | n))),
            ("translated", IpAddr::V6(Ipv6Addr::from(0xffff_u128 << 48 | n))),
            ("compatible", IpAddr::V6(Ipv6Addr::from(n))),
            ("NAT64", IpAddr::V6(Ipv6Addr::from(0x64_ff9b_u128 << 96 | n))),
            ("6to4", IpAddr::V6(Ipv6Addr::from(0x2002_u128 << 112 | n << 80 | 1))),
        ]
    }

    #[test]
    fn the_table_is_well_formed() {
        for b in BLOCKS {
            let width = if b.net.is_ipv4() { 32 } else { 128 };
            assert!(u32::from(b.len) <= width, "{} /{}", b.net, b.len);
            assert_eq!(samples(b)[0], b.net, "{}/{} has host bits set", b.net, b.len);
            assert!(!b.name.is_empty() && b.rfc.starts_with("RFC "), "{}/{}", b.net, b.len);
            match b.source {
                Source::IanaV4 => assert!(b.net.is_ipv4()),
                Source::IanaV6 => assert!(b.net.is_ipv6()),
                Source::Supplement => assert_eq!(b.reach, Reach::NotGlobal, "{}", b.name),
            }
            let twins = BLOCKS.iter().filter(|o| o.net == b.net && o.len == b.len).count();
            assert_eq!(twins, 1, "{}/{} is listed twice", b.net, b.len);
        }
    }

    #[test]
    fn first_middle_and_last_address_of_every_non_global_block_are_refused() {
        for b in BLOCKS.iter().filter(|b| non_global(b)) {
            for ip in samples(b) {
                assert!(!is_allowed_destination(ip), "{ip} in {}/{} {} ({})", b.net, b.len, b.name, b.rfc);
            }
        }
    }

    #[test]
    fn a_global_block_is_allowed_unless_a_non_global_block_holds_it() {
        for b in BLOCKS.iter().filter(|b| b.reach == Reach::Global && b.carries == Carries::Nothing) {
            let held = BLOCKS.iter().any(|o| non_global(o) && o.len < b.len && o.contains(b.net));
            for ip in samples(b) {
                assert_eq!(is_allowed_destination(ip), !held, "{ip} in {}/{} {}", b.net, b.len, b.name);
            }
        }
    }

    #[test]
    fn ipv6_forms_of_refused_ipv4_addresses_are_refused() {
        for b in BLOCKS.iter().filter(|b| b.net.is_ipv4() && non_global(b)) {
            for ip in samples(b) {
                let IpAddr::V4(v4) = ip else { continue };
                for (form, v6) in v6_forms(v4) {
                    assert!(!is_allowed_destination(v6), "{form} {v6} of {v4} ({})", b.name);
                }
            }
        }
        // A public IPv4 address is reachable through NAT64 only: the other forms are not
        // globally reachable themselves.
        for (form, v6) in v6_forms(Ipv4Addr::new(8, 8, 8, 8)) {
            assert_eq!(is_allowed_destination(v6), form == "NAT64", "{form} {v6}");
        }
    }

    #[test]
    fn ipv4_translated_addresses_and_srv6_sids_are_refused() {
        // Found by attacking the server: both passed the guard.
        for text in [
            "::ffff:0:7f00:1",
            "::ffff:0:a9fe:a9fe",
            "::ffff:0:808:808",
            "5f00::1",
            "5f00:1:2::3",
            "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ] {
            let ip: IpAddr = text.parse().expect("a valid address");
            assert!(!is_allowed_destination(ip), "{text}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for text in [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.216.34",
            "172.15.255.255",
            "172.32.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "192.0.1.1",
            "192.0.3.1",
            "192.88.98.255",
            "192.88.100.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001:80b::200e",
            "2001:200::1",
            "64:ff9b::8.8.8.8",
        ] {
            let ip: IpAddr = text.parse().expect("a valid address");
            assert!(is_allowed_destination(ip), "{text}");
        }
    }

    #[test]
    fn spot_checks_from_before_the_table() {
        let table: &[(&str, bool)] = &[
            // public
            ("8.8.8.8", true),
            ("1.1.1.1", true),
            ("93.184.216.34", true),
            ("172.15.255.255", true),
            ("172.32.0.0", true),
            ("100.63.255.255", true),
            ("100.128.0.0", true),
            ("192.0.3.1", true),
            ("223.255.255.255", true),
            ("2606:4700:4700::1111", true),
            ("2001:4860:4860::8888", true),
            ("64:ff9b::808:808", true),
            // IPv4-mapped and 6to4 are not globally reachable, whatever they carry.
            ("::ffff:8.8.8.8", false),
            ("2002:808:808::1", false),
            // loopback and unspecified
            ("127.0.0.1", false),
            ("127.255.255.254", false),
            ("0.0.0.0", false),
            ("0.1.2.3", false),
            ("::1", false),
            ("::", false),
            // private
            ("10.0.0.1", false),
            ("10.255.255.255", false),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("192.168.1.1", false),
            ("fc00::1", false),
            ("fdff:ffff::1", false),
            // link-local and cloud metadata
            ("169.254.0.1", false),
            ("169.254.169.254", false),
            ("fe80::1", false),
            ("febf::1", false),
            ("fd00:ec2::254", false),
            ("fec0::1", false),
            // carrier-grade NAT
            ("100.64.0.1", false),
            ("100.127.255.255", false),
            // broadcast, multicast, reserved
            ("255.255.255.255", false),
            ("224.0.0.1", false),
            ("239.255.255.250", false),
            ("240.0.0.1", false),
            ("ff02::1", false),
            ("ff05::1:3", false),
            // documentation and benchmarking
            ("192.0.2.1", false),
            ("198.51.100.7", false),
            ("203.0.113.9", false),
            ("198.18.0.1", false),
            ("198.19.255.255", false),
            ("2001:db8::1", false),
            ("2001:2::1", false),
            ("3fff::1", false),
            // IPv6 forms embedding a refused IPv4 address
            ("::ffff:127.0.0.1", false),
            ("::ffff:10.0.0.1", false),
            ("::ffff:169.254.169.254", false),
            ("::ffff:192.168.0.1", false),
            ("::ffff:100.64.0.1", false),
            ("::ffff:0.0.0.0", false),
            ("::127.0.0.1", false),
            ("64:ff9b::7f00:1", false),
            ("64:ff9b::a9fe:a9fe", false),
            ("64:ff9b:1::8.8.8.8", false),
            ("2002:7f00:1::", false),
            ("2002:a9fe:a9fe::1", false),
            // tunnels and discard
            ("2001::1", false),
            ("100::1", false),
        ];
        for &(text, allowed) in table {
            let ip: IpAddr = text.parse().expect("a valid address in the table");
            assert_eq!(is_allowed_destination(ip), allowed, "{text}");
        }
    }
}
