//! Sign-in throttling: after too many failures per account or per address within a window,
//! further attempts are refused until the oldest failure leaves the window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per key within the window.
pub const MAX_FAILURES: usize = 10;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys tracked at most; beyond this the key idle longest is forgotten, so memory stays bounded
/// and new failures are always counted.
const MAX_KEYS: usize = 100_000;

/// Failure counters per key (`acct:tenant/email`, or `ip:` with the address, IPv6 per /64).
#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Throttle {
    /// Seconds until `key` may try again, or `None` if it may try now.
    pub fn blocked_for(&self, key: &str, now: Instant) -> Option<u64> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let q = map.get_mut(key)?;
        while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            q.pop_front();
        }
        if q.len() >= MAX_FAILURES {
            let oldest = *q.front()?;
            let wait = WINDOW.saturating_sub(now.duration_since(oldest));
            Some(wait.as_secs().max(1))
        } else {
            None
        }
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
}
