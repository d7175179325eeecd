//! A bound on a queue kept as a count beside an unbounded channel. std's bounded channel
//! allocates and touches every slot when it is made: 1.5 MB for a hub's 8,192 commands, 3.7 MB
//! for the read log's 20,000 reads, nearly always empty. Counted, a queue costs what it holds.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Items sent and not yet taken.
#[derive(Debug, Default)]
pub struct QueueBound {
    queued: AtomicUsize,
}

impl QueueBound {
    /// Counts one more item; `false` (and nothing counted) when `max` are queued.
    pub fn enqueue(&self, max: usize) -> bool {
        let before = self.queued.fetch_add(1, Ordering::AcqRel);
        if before >= max {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// `n` items were taken (or their send failed).
    pub fn dequeued(&self, n: usize) {
        self.queued.fetch_sub(n, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_refuses_beyond_its_size_and_frees_what_was_taken() {
        let q = QueueBound::default();
        assert!(q.enqueue(2) && q.enqueue(2));
        assert!(!q.enqueue(2), "a third item in a queue of two");
        q.dequeued(2);
        assert!(q.enqueue(2));
    }
}
