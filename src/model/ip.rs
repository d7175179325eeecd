//! Client addresses as we keep them: truncated, so no stored address identifies a household.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 to its /24, IPv6 to its /48 (IPv4-mapped IPv6 is treated as IPv4).
pub fn truncate(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::V4(Ipv4Addr::new(a, b, c, 0))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => truncate(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0))
            }
        },
    }
}

/// The key a throttle counts per address: the full IPv4 address, or the IPv6 /64 a single
/// host usually holds (rotating inside a /64 must not escape the limit).
pub fn throttle_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("ip:{}", Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        IpAddr::V6(v6) => format!("ip:{}", v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip)),
        IpAddr::V4(_) => format!("ip:{ip}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation() {
        let t = |s: &str| truncate(s.parse().unwrap()).to_string();
        assert_eq!(t("203.0.113.77"), "203.0.113.0");
        assert_eq!(t("2001:db8:1:2:3:4:5:6"), "2001:db8:1::");
        assert_eq!(t("::ffff:198.51.100.9"), "198.51.100.0");
    }
}
