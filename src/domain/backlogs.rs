//! What the mail and webhook senders share: the loop of their thread, the retry schedule of
//! an outbox, and each outbox's backlog as the sender last counted it (what `/healthz` and the
//! metrics show).

use crate::clock::Clock;
use crate::error::Result;
use crate::store::Store;
use crate::store::outbox::Backlog;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, Weak};
use std::time::Duration;

/// How often every outbox is looked at, whatever the wake-ups said.
const RESCAN_EVERY: i64 = 600;

/// A sender thread's loop: every outbox due gets `deliver` (which answers when it is due
/// next, if ever); every ten minutes `scan` counts all outboxes again; a wake-up on `rx`
/// (something was queued and committed) makes its outbox due at once. It ends when the store
/// is gone or every waker is. `what` names the sender in the log.
pub fn drive<K: Ord + Clone + Debug>(
    what: &str,
    store: &Weak<Store>,
    clock: &Clock,
    rx: &mpsc::Receiver<K>,
    mut scan: impl FnMut(&Store, &mut BTreeMap<K, i64>),
    mut deliver: impl FnMut(&Store, &K, i64) -> Result<Option<i64>>,
) {
    let mut pending: BTreeMap<K, i64> = BTreeMap::new();
    let mut scanned_at: Option<i64> = None;
    loop {
        let Some(st) = store.upgrade() else { return };
        let now = clock.now();
        if scanned_at.is_none_or(|t| now - t >= RESCAN_EVERY || now < t) {
            scan(&st, &mut pending);
            scanned_at = Some(now);
        }
        let due: Vec<K> = pending
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for k in due {
            match deliver(&st, &k, now) {
                Ok(Some(next)) => {
                    pending.insert(k, next);
                }
                Ok(None) => {
                    pending.remove(&k);
                }
                Err(e) => {
                    tracing::error!(outbox = ?k, error = %e, "{what}: reading the outbox failed");
                    pending.insert(k, now + 60);
                }
            }
        }
        drop(st);
        // More due already (a batch was full): go on at once; else wait for news or a second.
        let now = clock.now();
        let wait = if pending.values().any(|at| *at <= now) {
            Duration::ZERO
        } else {
            Duration::from_secs(1)
        };
        match rx.recv_timeout(wait) {
            Ok(k) => {
                pending.insert(k, now);
                while let Ok(k) = rx.try_recv() {
                    pending.insert(k, now);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

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
