//! Webhooks as pure rules: the events an endpoint may choose, and which network addresses a
//! webhook may reach (the address guard against server-side request forgery). Every address a
//! host name resolves to is checked, at saving and again at each connection.

use crate::config::Net;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The events an endpoint can choose.
pub const EVENTS: &[&str] = &[
    "chat.started",
    "chat.accepted",
    "chat.closed",
    "message.created",
    "offline_message.created",
    "goal.reached",
    "visitor.rated",
];

/// The event the "send test event" button sends (to any endpoint, whatever it chose).
pub const TEST_EVENT: &str = "webhook.test";

/// Whether `name` is an event an endpoint can choose.
pub fn is_event(name: &str) -> bool {
    EVENTS.contains(&name)
}

/// Why an address may not be reached, or `None` when it is an ordinary public address.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(a) => forbidden_v4(a),
        IpAddr::V6(a) => forbidden_v6(a),
    }
}

/// Whether a webhook may connect to `ip`: public, or in a network the operator allows.
/// An IPv6 form of an IPv4 address counts as that IPv4 address for the allow list too.
pub fn check(ip: IpAddr, allowed: &[Net]) -> Result<(), String> {
    let Some(why) = forbidden(ip) else {
        return Ok(());
    };
    let inner = embedded_v4(ip).map(IpAddr::V4);
    if allowed
        .iter()
        .any(|n| n.contains(ip) || inner.is_some_and(|v4| n.contains(v4)))
    {
        return Ok(());
    }
    Err(format!("{ip} is a {why} address"))
}

fn in_v4(a: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(a) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn forbidden_v4(a: Ipv4Addr) -> Option<&'static str> {
    let ranges: &[([u8; 4], u32, &'static str)] = &[
        ([0, 0, 0, 0], 8, "unspecified"),
        ([10, 0, 0, 0], 8, "private"),
        ([100, 64, 0, 0], 10, "shared (carrier-grade NAT)"),
        ([127, 0, 0, 0], 8, "loopback"),
        ([169, 254, 0, 0], 16, "link-local"),
        ([172, 16, 0, 0], 12, "private"),
        ([192, 0, 0, 0], 24, "protocol-assignment"),
        ([192, 0, 2, 0], 24, "documentation"),
        ([192, 88, 99, 0], 24, "relay"),
        ([192, 168, 0, 0], 16, "private"),
        ([198, 18, 0, 0], 15, "benchmarking"),
        ([198, 51, 100, 0], 24, "documentation"),
        ([203, 0, 113, 0], 24, "documentation"),
        ([224, 0, 0, 0], 4, "multicast"),
        ([255, 255, 255, 255], 32, "broadcast"),
        ([240, 0, 0, 0], 4, "reserved"),
    ];
    ranges
        .iter()
        .find(|(net, prefix, _)| in_v4(a, *net, *prefix))
        .map(|(_, _, why)| *why)
}

/// The IPv4 address inside an IPv6 form of one: mapped (`::ffff:a.b.c.d`), compatible
/// (`::a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) or 6to4 (`2002:aabb:ccdd::`).
fn embedded_v4(ip: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V6(a) = ip else { return None };
    let s = a.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        [0, 0, 0, 0, 0, 0, _, _] if u128::from(a) > 1 => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

fn forbidden_v6(a: Ipv6Addr) -> Option<&'static str> {
    if a.is_unspecified() {
        return Some("unspecified");
    }
    if a.is_loopback() {
        return Some("loopback");
    }
    if let Some(v4) = embedded_v4(IpAddr::V6(a)) {
        return forbidden_v4(v4);
    }
    let s = a.segments();
    let ranges: &[(u16, u16, &'static str)] = &[
        // (first segment, mask, why)
        (0xfe80, 0xffc0, "link-local"),
        (0xfec0, 0xffc0, "site-local"),
        (0xfc00, 0xfe00, "unique-local (private)"),
        (0xff00, 0xff00, "multicast"),
    ];
    if let Some((_, _, why)) = ranges.iter().find(|(f, m, _)| s[0] & m == *f) {
        return Some(why);
    }
    match s {
        [0x2001, 0x0db8, ..] => Some("documentation"),
        [0x3fff, x, ..] if x & 0xf000 == 0 => Some("documentation"),
        [0x0064, 0xff9b, 0x0001, ..] => Some("NAT64 (local-use)"),
        [0x0100, 0, 0, 0, ..] => Some("discard"),
        [0x2001, 0, ..] => Some("Teredo"),
        [0x2001, x, ..] if x < 0x0200 => Some("protocol-assignment"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(s: &str) -> Option<&'static str> {
        forbidden(s.parse().unwrap())
    }

    #[test]
    fn loopback_private_link_local_and_special_addresses_are_forbidden() {
        for (addr, reason) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("::1", "loopback"),
            ("10.0.0.1", "private"),
            ("172.16.5.4", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("fd00::1", "unique-local (private)"),
            ("169.254.169.254", "link-local"),
            ("fe80::1", "link-local"),
            ("224.0.0.1", "multicast"),
            ("ff02::1", "multicast"),
            ("0.0.0.0", "unspecified"),
            ("::", "unspecified"),
            ("255.255.255.255", "broadcast"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("192.0.2.1", "documentation"),
            ("2001:db8::1", "documentation"),
            ("240.0.0.1", "reserved"),
        ] {
            assert_eq!(why(addr), Some(reason), "{addr}");
        }
    }

    #[test]
    fn ipv6_forms_of_forbidden_ipv4_addresses_are_forbidden() {
        for addr in [
            "::ffff:127.0.0.1",
            "::ffff:7f00:1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "64:ff9b:1::1",
        ] {
            assert!(why(addr).is_some(), "{addr}");
        }
        // The same forms of a public address are as good as the address.
        assert_eq!(why("::ffff:93.184.216.34"), None);
        assert_eq!(why("64:ff9b::93.184.216.34"), None);
    }

    #[test]
    fn public_addresses_pass() {
        for addr in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "172.32.0.1",
        ] {
            assert_eq!(why(addr), None, "{addr}");
        }
    }

    #[test]
    fn the_operators_networks_are_let_through() {
        let allowed = [Net::parse("127.0.0.1/32").unwrap()];
        assert!(check("127.0.0.1".parse().unwrap(), &allowed).is_ok());
        assert!(check("::ffff:127.0.0.1".parse().unwrap(), &allowed).is_ok());
        assert!(check("127.0.0.2".parse().unwrap(), &allowed).is_err());
        let err = check("10.0.0.1".parse().unwrap(), &[]).unwrap_err();
        assert_eq!(err, "10.0.0.1 is a private address");
    }

    #[test]
    fn only_known_events_can_be_chosen() {
        assert!(is_event("chat.started"));
        assert!(!is_event("webhook.test"));
        assert!(!is_event("chat.*"));
    }
}
