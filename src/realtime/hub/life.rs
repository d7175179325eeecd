//! Whether a hub may stop because nothing needs it: no socket, no waiting or open chat, no
//! visit in progress, and no handle held outside the hubs' map. An idle hub's thread wakes twice a
//! second and holds its tenant's database open; on a host with a thousand tenants, those left
//! idle are retired (`Realtime::retire_idle`) and the next socket or request starts a new one.

use crate::model::queue_bound::QueueBound;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The process's own monotonic epoch: idle times are milliseconds since it.
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

fn now_ms() -> u64 {
    // Plus one, so that 0 can mean "busy".
    EPOCH.elapsed().as_millis() as u64 + 1
}

/// Shared by a hub's thread (which says when it became idle) and its handles.
#[derive(Default)]
pub struct Life {
    /// When the hub last became idle (see `now_ms`); 0 while it has something to do.
    idle_since: AtomicU64,
    /// Commands sent and not yet taken by the hub (the bound of its queue).
    queued: QueueBound,
}

impl Life {
    /// Called by the hub after each turn of its loop.
    pub(super) fn mark(&self, idle: bool) {
        if !idle {
            self.idle_since.store(0, Ordering::Relaxed);
        } else if self.idle_since.load(Ordering::Relaxed) == 0 {
            self.idle_since.store(now_ms(), Ordering::Relaxed);
        }
    }

    /// Counts one more queued command; `false` (and nothing counted) when `max` are queued.
    pub(super) fn enqueue(&self, max: usize) -> bool {
        self.queued.enqueue(max)
    }

    /// The hub took `n` commands (or a send failed).
    pub(super) fn dequeued(&self, n: usize) {
        self.queued.dequeued(n)
    }

    /// How long the hub has been idle (`None`: busy).
    pub fn idle_for(&self) -> Option<Duration> {
        match self.idle_since.load(Ordering::Relaxed) {
            0 => None,
            since => Some(Duration::from_millis(now_ms().saturating_sub(since))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_time_counts_from_the_first_idle_turn_and_a_busy_turn_resets_it() {
        let life = Life::default();
        assert_eq!(
            life.idle_for(),
            None,
            "a new hub is busy until its first turn"
        );
        life.mark(true);
        std::thread::sleep(Duration::from_millis(30));
        life.mark(true);
        let idle = life.idle_for().unwrap();
        assert!(
            idle >= Duration::from_millis(30),
            "{idle:?}: kept from the first turn"
        );
        life.mark(false);
        assert_eq!(life.idle_for(), None);
        life.mark(true);
        assert!(life.idle_for().unwrap() < Duration::from_millis(30));
    }
}
