//! What the mail and webhook senders share: the retry schedule of an outbox, and each
//! outbox's backlog as the sender last counted it (what `/healthz` and the metrics show).

use crate::store::outbox::Backlog;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The wait before the next try after `attempts` tries: 1, 2, 4 … minutes, at most an hour.
pub fn backoff(attempts: i64) -> i64 {
    let exp = attempts.clamp(1, 7) - 1;
    (60 << exp).min(3600)
}

/// Each outbox's backlog by its key (a tenant, or the system), as last counted.
pub struct Backlogs<K: Ord> {
    backlogs: Mutex<BTreeMap<K, Backlog>>,
}

impl<K: Ord> Default for Backlogs<K> {
    fn default() -> Backlogs<K> {
        Backlogs {
            backlogs: Mutex::new(BTreeMap::new()),
        }
    }
}

impl<K: Ord> Backlogs<K> {
    /// Every outbox's backlog added up.
    pub fn total(&self) -> Backlog {
        let mut sum = Backlog::default();
        for b in self
            .backlogs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            sum.add(*b);
        }
        sum
    }

    /// Forgets the outboxes `keep` says no to (deleted tenants).
    pub fn retain(&self, keep: impl Fn(&K) -> bool) {
        self.backlogs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|k, _| keep(k));
    }

    /// Records an outbox's backlog.
    pub fn set<Q: ?Sized + ToOwned<Owned = K>>(&self, key: &Q, backlog: Backlog) {
        self.backlogs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_owned(), backlog);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tries_back_off_to_an_hour() {
        assert_eq!(
            [0, 1, 2, 3, 7, 50].map(backoff),
            [60, 60, 120, 240, 3600, 3600]
        );
    }
}
