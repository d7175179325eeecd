//! `[webhooks]`: the operator's exceptions to the webhook address guard. Without them a
//! webhook may only be an `https://` address on the public internet.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The operator's allow lists for webhook targets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Hosts (names or addresses, as written in the URL) that may be reached over plain
    /// `http://`.
    pub allow_http_hosts: Vec<String>,
    /// Networks (`10.1.2.0/24`, `127.0.0.1/32`, `fd00::/8`) a webhook may reach although
    /// they are not public.
    pub allow_networks: Vec<String>,
}

/// An address block: an address and the number of leading bits that count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    /// The block's first address.
    pub addr: IpAddr,
    /// Its prefix length.
    pub prefix: u8,
}

impl Net {
    /// Parses `addr/prefix` (a bare address is a block of one).
    pub fn parse(s: &str) -> Option<Net> {
        let (a, p) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Net { addr, prefix })
    }

    /// Whether `ip` lies in the block (an IPv4 address never lies in an IPv6 block).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl WebhooksConfig {
    /// Checks the lists as read from the file.
    pub fn check(self) -> Result<WebhooksConfig> {
        for n in &self.allow_networks {
            if Net::parse(n).is_none() {
                return Err(Error::Config(format!(
                    "webhooks.allow_networks: {n:?} is not an address or network like 10.0.0.0/8"
                )));
            }
        }
        if let Some(h) = self.allow_http_hosts.iter().find(|h| h.trim().is_empty()) {
            return Err(Error::Config(format!(
                "webhooks.allow_http_hosts: {h:?} is not a host"
            )));
        }
        Ok(self)
    }

    /// The allowed networks, parsed.
    pub fn networks(&self) -> Vec<Net> {
        self.allow_networks
            .iter()
            .filter_map(|n| Net::parse(n))
            .collect()
    }

    /// Whether `host` (as written in a URL, IPv6 without brackets) may be reached over plain
    /// `http://`.
    pub fn http_allowed(&self, host: &str) -> bool {
        self.allow_http_hosts
            .iter()
            .any(|h| h.trim().trim_matches(['[', ']']).eq_ignore_ascii_case(host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_contain_their_addresses_only() {
        let n = Net::parse("10.1.2.0/24").unwrap();
        assert!(n.contains("10.1.2.200".parse().unwrap()));
        assert!(!n.contains("10.1.3.1".parse().unwrap()));
        let one = Net::parse("127.0.0.1").unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let all = Net::parse("::/0").unwrap();
        assert!(all.contains("fe80::1".parse().unwrap()));
        assert!(!all.contains("10.0.0.1".parse().unwrap()));
        assert!(Net::parse("10.0.0.0/33").is_none());
        assert!(Net::parse("example.com").is_none());
    }

    #[test]
    fn a_bad_network_is_refused() {
        let c = WebhooksConfig {
            allow_networks: vec!["10.0.0.0/40".into()],
            ..Default::default()
        };
        assert!(c.check().is_err());
    }
}
