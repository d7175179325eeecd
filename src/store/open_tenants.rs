//! The open tenant databases of a process, kept so that a busy tenant is not reopened for
//! every request, and let go when idle so that a host with a thousand tenants neither holds a
//! thousand databases (three files and a page cache each) nor runs out of file descriptors.
//!
//! A database is closed only when nothing but this cache holds it (`Arc::strong_count` of 1):
//! a running hub, a request or a job in progress keep theirs, so closing never pulls a
//! connection from under a user. The next user reopens it (about a millisecond: a raw key).

use super::TenantDb;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Open {
    db: Arc<TenantDb>,
    used: Instant,
}

/// The cache: at most `max` databases kept that nobody uses (0: no bound).
#[derive(Default)]
pub(super) struct OpenTenants {
    map: HashMap<String, Open>,
    max: usize,
}

impl OpenTenants {
    /// The open database of `uuid`, marked as used now.
    pub(super) fn get(&mut self, uuid: &str) -> Option<Arc<TenantDb>> {
        let open = self.map.get_mut(uuid)?;
        open.used = Instant::now();
        Some(open.db.clone())
    }

    /// Keeps a database just opened (or the one another caller opened first), then closes
    /// the least recently used unused ones beyond the bound.
    pub(super) fn insert(&mut self, uuid: &str, db: Arc<TenantDb>) -> Arc<TenantDb> {
        let kept = self
            .map
            .entry(uuid.to_string())
            .or_insert(Open {
                db,
                used: Instant::now(),
            })
            .db
            .clone();
        self.trim(uuid);
        kept
    }

    pub(super) fn remove(&mut self, uuid: &str) -> Option<Arc<TenantDb>> {
        self.map.remove(uuid).map(|o| o.db)
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    pub(super) fn clear(&mut self) {
        self.map.clear();
    }

    /// Sets the bound on databases kept (0: none) and applies it.
    pub(super) fn set_max(&mut self, max: usize) {
        self.max = max;
        self.trim("");
    }

    /// Closes the databases nobody has used for `idle` and nobody holds; how many.
    pub(super) fn close_idle(&mut self, idle: Duration) -> usize {
        let before = self.map.len();
        self.map
            .retain(|_, o| Arc::strong_count(&o.db) > 1 || o.used.elapsed() < idle);
        before - self.map.len()
    }

    /// Beyond the bound, closes unused databases, least recently used first (never `keep`,
    /// the one a caller is about to use). Databases in use stay open whatever the bound.
    fn trim(&mut self, keep: &str) {
        if self.max == 0 || self.map.len() <= self.max {
            return;
        }
        let mut unused: Vec<(Instant, String)> = self
            .map
            .iter()
            .filter(|(k, o)| k.as_str() != keep && Arc::strong_count(&o.db) == 1)
            .map(|(k, o)| (o.used, k.clone()))
            .collect();
        unused.sort();
        let excess = self.map.len() - self.max;
        for (_, k) in unused.into_iter().take(excess) {
            self.map.remove(&k);
        }
    }
}
