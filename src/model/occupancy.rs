//! How many of something are open at once per key (widget sockets per address, per site), with
//! a ceiling. A place is held by a [`Seat`] and given back when it drops, so a count cannot
//! leak; memory holds only keys with something open.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Counts per key, each at most `limit` (0: no limit).
#[derive(Debug)]
pub struct Occupancy {
    limit: u32,
    open: Arc<Mutex<HashMap<String, u32>>>,
}

/// One place taken; given back on drop.
#[derive(Debug)]
pub struct Seat {
    key: String,
    open: Arc<Mutex<HashMap<String, u32>>>,
}

impl Occupancy {
    /// At most `limit` per key (0: no limit).
    pub fn new(limit: u32) -> Occupancy {
        Occupancy {
            limit,
            open: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Takes a place for `key`, or `None` when it has `limit` already.
    pub fn enter(&self, key: String) -> Option<Seat> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(key.clone()).or_insert(0);
        if self.limit > 0 && *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(Seat {
            key,
            open: self.open.clone(),
        })
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_limited_per_key_and_given_back_on_drop() {
        let o = Occupancy::new(2);
        let a1 = o.enter("a".into()).unwrap();
        let _a2 = o.enter("a".into()).unwrap();
        assert!(o.enter("a".into()).is_none(), "a third for the same key");
        let _b = o.enter("b".into()).expect("another key has its own places");
        drop(a1);
        assert_eq!(o.open.lock().unwrap()["a"], 1);
        let _a3 = o.enter("a".into()).expect("a place was given back");
        drop(_b);
        assert!(
            o.open.lock().unwrap().get("b").is_none(),
            "no key is kept at 0"
        );
        let unlimited = Occupancy::new(0);
        let seats: Vec<Seat> = (0..1000)
            .filter_map(|_| unlimited.enter("x".into()))
            .collect();
        assert_eq!(seats.len(), 1000);
    }
}
