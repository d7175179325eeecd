//! A token bucket per client address (IPv4 address, IPv6 /64), or per any other key (a site):
//! so much a window on average (a number of requests a minute, or of bytes an hour), up to a
//! window's worth at once. Bounded memory: idle buckets are forgotten.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets kept at most; beyond this the full (idle) ones are dropped.
const MAX_KEYS: usize = 100_000;

/// So much per address and window; 0 means no limit.
pub struct RateLimit {
    per_window: u64,
    window: Duration,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimit {
    /// A limit of `per_minute` requests (0: none).
    pub fn new(per_minute: u32) -> RateLimit {
        RateLimit::per_window(per_minute.into(), Duration::from_secs(60))
    }

    /// A limit of `per_window` within `window` (0: none).
    pub fn per_window(per_window: u64, window: Duration) -> RateLimit {
        RateLimit {
            per_window,
            window,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request for `ip` at `now`: `Err(seconds)` to wait when the bucket is empty.
    pub fn take(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        self.take_n(ip, 1, now)
    }

    /// Takes `n` (e.g. bytes) for `ip` at `now`, or nothing and `Err(seconds)` to wait. More
    /// than a window's worth is never granted.
    pub fn take_n(&self, ip: IpAddr, n: u64, now: Instant) -> Result<(), u64> {
        self.take_key_n(super::ip::throttle_key(ip), n, now)
    }

    /// Takes one request for any key (a site) at `now`, like [`RateLimit::take`].
    pub fn take_key(&self, key: String, now: Instant) -> Result<(), u64> {
        self.take_key_n(key, 1, now)
    }

    fn take_key_n(&self, key: String, n: u64, now: Instant) -> Result<(), u64> {
        if self.per_window == 0 {
            return Ok(());
        }
        let cap = self.per_window as f64;
        let per_sec = cap / self.window.as_secs_f64().max(1.0);
        let n = n as f64;
        if n > cap {
            return Err(self.window.as_secs().max(1));
        }
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEYS && !map.contains_key(&key) {
            map.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_sec < cap
            });
            if map.len() >= MAX_KEYS {
                map.clear();
            }
        }
        let (tokens, at) = map.entry(key).or_insert((cap, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_sec).min(cap);
        *at = now;
        if *tokens >= n {
            *tokens -= n;
            Ok(())
        } else {
            Err(((n - *tokens) / per_sec).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_minutes_worth_then_the_average() {
        let l = RateLimit::new(60);
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let t = Instant::now();
        for _ in 0..60 {
            assert!(l.take(a, t).is_ok());
        }
        assert_eq!(l.take(a, t), Err(1));
        assert!(
            l.take(b, t).is_ok(),
            "other addresses have their own bucket"
        );
        assert!(
            l.take(a, t + Duration::from_secs(1)).is_ok(),
            "one a second refills"
        );
        assert!(l.take(a, t + Duration::from_secs(1)).is_err());
        let v6: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same64: IpAddr = "2001:db8:1:2::ffff".parse().unwrap();
        for _ in 0..60 {
            assert!(l.take(v6, t).is_ok());
        }
        assert!(
            l.take(same64, t).is_err(),
            "rotating inside a /64 does not help"
        );
        assert!(RateLimit::new(0).take(a, t).is_ok());
    }

    #[test]
    fn amounts_within_a_window() {
        let hour = Duration::from_secs(3600);
        let l = RateLimit::per_window(100, hour);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let t = Instant::now();
        assert!(l.take_n(a, 60, t).is_ok());
        assert_eq!(l.take_n(a, 60, t), Err(720), "20 more take 12 minutes");
        assert!(l.take_n(a, 40, t).is_ok(), "a refusal takes nothing");
        assert!(l.take_n(a, 60, t + hour).is_ok());
        assert_eq!(
            l.take_n(a, 101, t + hour * 3),
            Err(3600),
            "never more than the window's worth"
        );
    }
}
