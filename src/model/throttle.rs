//! Sign-in throttling: after too many failures per key within a window, further attempts are
//! refused until the oldest failures leave the window.
//!
//! Sign-in counts three keys ([`SignIn`]), so that guessing is slow while nobody but the
//! guesser is locked out:
//!
//! - per address (IPv4 address, IPv6 /64), over every account: ten failures block the address;
//! - per account and network (IPv4 /24, IPv6 /48): ten failures block that network for that
//!   account, the right password included;
//! - per account, over every network: ten failures mark the account as under attack. That
//!   refuses nobody by itself; it lowers the limit of each network that has failed for this
//!   account to three. A network without recent failures for the account (its owner at work
//!   or at home) still signs in, while a guesser who spreads over networks gets three tries
//!   per network and window rather than ten.
//!
//! A success clears the failures of its own network for the account. The operator clears an
//! account's failures (`kontor agent unlock`, and `kontor agent passwd`).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per key within the window.
pub const MAX_FAILURES: usize = 10;
/// Failures allowed per network for an account under attack (ten failures over all networks).
pub const UNDER_ATTACK_FAILURES: usize = 3;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys tracked at most; beyond this the key idle longest is forgotten, so memory stays bounded
/// and new failures are always counted.
const MAX_KEYS: usize = 100_000;

/// The keys one sign-in attempt counts against.
pub struct SignIn {
    account: String,
    network: String,
    address: String,
}

impl SignIn {
    /// The keys of an attempt on `email` (normalised) of tenant `tenant` from `ip`.
    pub fn new(tenant: &str, email: &str, ip: IpAddr) -> SignIn {
        let account = account_key(tenant, email);
        SignIn {
            network: format!("{account} from {}", super::ip::truncate(ip)),
            account,
            address: super::ip::throttle_key(ip),
        }
    }
}

/// The key of an account: `acct:tenant/email` (an email has no spaces, so the networks'
/// keys, `acct:tenant/email from 198.51.100.0`, are told apart from it and from each other).
fn account_key(tenant: &str, email: &str) -> String {
    format!("acct:{}/{email}", tenant.trim().to_lowercase())
}

/// Failure counters per key (sign-in's are made by [`SignIn`]).
#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Throttle {
    /// Seconds until `key` may try again, or `None` if it may try now.
    pub fn blocked_for(&self, key: &str, now: Instant) -> Option<u64> {
        self.blocked_after(key, MAX_FAILURES, now)
    }

    /// Seconds until `key` has fewer than `limit` failures in the window, or `None` if it has.
    fn blocked_after(&self, key: &str, limit: usize, now: Instant) -> Option<u64> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let q = map.get_mut(key)?;
        while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            q.pop_front();
        }
        // Below the limit once the failure `limit` places from the newest leaves the window.
        let first = q.len().checked_sub(limit)?;
        let wait = WINDOW.saturating_sub(now.duration_since(q[first]));
        Some(wait.as_secs().max(1))
    }

    /// Seconds until this sign-in attempt may be made, or `None` if it may be made now.
    pub fn sign_in_blocked_for(&self, s: &SignIn, now: Instant) -> Option<u64> {
        let under_attack = self.blocked_for(&s.account, now).is_some();
        let limit = if under_attack {
            UNDER_ATTACK_FAILURES
        } else {
            MAX_FAILURES
        };
        self.blocked_for(&s.address, now)
            .max(self.blocked_after(&s.network, limit, now))
    }

    /// Records a failed sign-in.
    pub fn sign_in_failed(&self, s: &SignIn, now: Instant) {
        for key in [&s.account, &s.network, &s.address] {
            self.fail(key, now);
        }
    }

    /// Forgets the failures of the successful attempt's network for its account.
    pub fn sign_in_succeeded(&self, s: &SignIn) {
        self.clear(&s.network);
    }

    /// Forgets every failure counted against an account: `email` (normalised) of `tenant`.
    /// Whether there were any.
    pub fn unlock(&self, tenant: &str, email: &str) -> bool {
        let account = account_key(tenant, email);
        let networks = format!("{account} from ");
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let before = map.len();
        map.retain(|k, _| *k != account && !k.starts_with(&networks));
        map.len() < before
    }

    /// Records a failure for `key`.
    pub fn fail(&self, key: &str, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
            if map.len() >= MAX_KEYS {
                let idlest = map
                    .iter()
                    .min_by_key(|(_, q)| q.back().copied())
                    .map(|(k, _)| k.clone());
                if let Some(k) = idlest {
                    map.remove(&k);
                }
            }
        }
        let q = map.entry(key.to_string()).or_default();
        q.push_back(now);
        while q.len() > MAX_FAILURES {
            q.pop_front();
        }
    }

    /// Forgets failures after a success.
    pub fn clear(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_ten_failures_until_window_passes() {
        let t = Throttle::default();
        let start = Instant::now();
        for _ in 0..MAX_FAILURES - 1 {
            t.fail("k", start);
        }
        assert_eq!(t.blocked_for("k", start), None);
        t.fail("k", start);
        let wait = t.blocked_for("k", start).unwrap();
        assert!(wait > 890 && wait <= 900, "{wait}");
        assert_eq!(t.blocked_for("other", start), None);
        assert_eq!(t.blocked_for("k", start + WINDOW), None);
    }

    fn at(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn failures_lock_out_their_network_and_never_a_fresh_one() {
        let t = Throttle::default();
        let now = Instant::now();
        let ann = |ip: &str| SignIn::new("Acme", "ann@acme.example", at(ip));
        for i in 0..MAX_FAILURES {
            t.sign_in_failed(&ann(&format!("198.51.100.{i}")), now);
        }
        assert!(t.sign_in_blocked_for(&ann("198.51.100.77"), now).is_some());
        assert_eq!(t.sign_in_blocked_for(&ann("203.0.113.5"), now), None);
        let bo = SignIn::new("acme", "bo@acme.example", at("198.51.100.77"));
        assert_eq!(t.sign_in_blocked_for(&bo, now), None);
        // Under attack, another network has three tries.
        for _ in 0..UNDER_ATTACK_FAILURES {
            assert_eq!(t.sign_in_blocked_for(&ann("192.0.2.1"), now), None);
            t.sign_in_failed(&ann("192.0.2.1"), now);
        }
        assert!(t.sign_in_blocked_for(&ann("192.0.2.9"), now).is_some());
        // A success clears its own network only.
        t.sign_in_succeeded(&ann("192.0.2.9"));
        assert_eq!(t.sign_in_blocked_for(&ann("192.0.2.9"), now), None);
        assert!(t.sign_in_blocked_for(&ann("198.51.100.77"), now).is_some());
        // Unlocking clears the account and all its networks, not other accounts'.
        t.sign_in_failed(&bo, now);
        assert!(t.unlock(" ACME ", "ann@acme.example"));
        assert_eq!(t.sign_in_blocked_for(&ann("198.51.100.77"), now), None);
        assert!(!t.unlock("acme", "ann@acme.example"), "nothing left");
        assert!(t.unlock("acme", "bo@acme.example"));
        // The window passes.
        for _ in 0..MAX_FAILURES {
            t.sign_in_failed(&ann("198.51.100.1"), now);
        }
        assert!(t.sign_in_blocked_for(&ann("198.51.100.1"), now).is_some());
        assert_eq!(
            t.sign_in_blocked_for(&ann("198.51.100.1"), now + WINDOW),
            None
        );
    }
}
