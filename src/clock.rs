//! Time: one injectable [`Clock`] that everything running over time reads (the hubs, the
//! scheduled jobs, sessions, throttles and rate limits, the HTTP handlers), so tests move time
//! forward instead of sleeping; and the RFC 3339 rendering of unix seconds.
//!
//! The server makes one clock at start and hands clones of it down: the hubs get it when they
//! are spawned, the jobs and the HTTP state hold it. It is the system clock unless a test says
//! otherwise:
//!
//! - unit tests use [`Clock::manual`], the system clock plus an offset that
//!   [`Clock::advance`] moves forward (clones share it);
//! - integration tests run the real binary as another process, so they can move its time only
//!   from outside: the hidden flag `--test-clock-offset-file PATH` makes the process add the
//!   offset written in `PATH` (milliseconds; no file: none) to every reading, re-reading the
//!   file each time ([`Clock::offset_file`]). Debug builds only: a release build refuses the
//!   flag, so no production server runs on a test clock by accident.
//!
//! Offsets only grow, so readings of one clock never go back.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where the time comes from. Cheap to clone; clones of a test clock share its offset.
#[derive(Debug, Clone, Default)]
pub struct Clock(Source);

#[derive(Debug, Clone, Default)]
enum Source {
    /// The system clock.
    #[default]
    System,
    /// The system clock plus an offset in milliseconds that tests move forward.
    Manual(Arc<AtomicU64>),
    /// The system clock plus the offset in milliseconds written in this file.
    File(Arc<Path>),
}

/// How often a sleep on a test clock looks whether the clock was moved past its end.
const TEST_SLEEP_SLICE: Duration = Duration::from_millis(20);

impl Clock {
    /// The system clock.
    pub const fn system() -> Clock {
        Clock(Source::System)
    }

    /// A test clock: the system clock plus an offset that [`Clock::advance`] moves.
    pub fn manual() -> Clock {
        Clock(Source::Manual(Arc::new(AtomicU64::new(0))))
    }

    /// A test clock for a separate process: the system clock plus the offset in milliseconds
    /// in `path`, read at every reading. `None` in release builds: production never runs on it.
    pub fn offset_file(path: &Path) -> Option<Clock> {
        cfg!(debug_assertions).then(|| Clock(Source::File(Arc::from(path))))
    }

    /// How far a test moved this clock.
    pub fn offset(&self) -> Duration {
        Duration::from_millis(match &self.0 {
            Source::System => 0,
            Source::Manual(ms) => ms.load(Ordering::Acquire),
            Source::File(path) => read_offset(path),
        })
    }

    /// Moves a test clock forward by `d` (for a file clock: rewrites the file, atomically, so
    /// every process reading it sees the new time at its next reading).
    ///
    /// # Panics
    /// On the system clock, which only tests could want to move.
    pub fn advance(&self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        match &self.0 {
            Source::System => panic!("the system clock cannot be moved"),
            Source::Manual(offset) => {
                offset.fetch_add(ms, Ordering::AcqRel);
            }
            Source::File(path) => {
                let next = read_offset(path).saturating_add(ms);
                let tmp = PathBuf::from(format!("{}.tmp", path.display()));
                std::fs::write(&tmp, next.to_string())
                    .and_then(|()| std::fs::rename(&tmp, path))
                    .unwrap_or_else(|e| panic!("moving the clock in {}: {e}", path.display()));
            }
        }
    }

    /// Seconds since the Unix epoch, UTC.
    pub fn now(&self) -> i64 {
        (SystemTime::now() + self.offset())
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }

    /// The current time as a date and time, UTC.
    pub fn now_utc(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc() + self.offset()
    }

    /// A monotonic reading, for durations (throttles, rate limits, heartbeats).
    pub fn instant(&self) -> Instant {
        Instant::now() + self.offset()
    }

    /// Waits until `d` has passed on this clock. On a test clock the wait also ends as soon as
    /// the clock is moved past its end.
    pub fn sleep(&self, d: Duration) {
        if matches!(self.0, Source::System) {
            std::thread::sleep(d);
            return;
        }
        let end = self.instant() + d;
        loop {
            let left = end.saturating_duration_since(self.instant());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(TEST_SLEEP_SLICE));
        }
    }
}

/// The offset in a clock file: milliseconds as decimal digits; missing or unreadable: none.
fn read_offset(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Seconds since the Unix epoch, UTC, on the system clock: for one-shot commands and stamps of
/// operator actions. Anything that runs over time reads an injected [`Clock`] instead.
pub fn now() -> i64 {
    Clock::system().now()
}

/// `2026-11-27T04:02:23Z` for unix seconds.
pub fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_forward_for_every_clone() {
        let c = Clock::manual();
        let other = c.clone();
        let (before, at) = (c.now(), c.instant());
        other.advance(Duration::from_secs(3600));
        assert!(c.now() >= before + 3600);
        assert!(c.instant() >= at + Duration::from_secs(3600));
        assert_eq!(c.offset(), Duration::from_secs(3600));
        assert_eq!(Clock::system().offset(), Duration::ZERO);
    }

    #[test]
    fn a_file_clock_reads_the_offset_other_processes_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clock");
        let made = Clock::offset_file(&path);
        assert_eq!(made.is_some(), cfg!(debug_assertions), "debug builds only");
        let Some(reader) = made else { return };
        assert_eq!(reader.offset(), Duration::ZERO, "no file: no offset");
        let writer = Clock::offset_file(&path).unwrap();
        writer.advance(Duration::from_millis(1500));
        writer.advance(Duration::from_secs(2));
        assert_eq!(reader.offset(), Duration::from_millis(3500));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "3500");
    }

    #[test]
    fn a_sleep_on_a_test_clock_ends_when_the_clock_is_moved_past_it() {
        let c = Clock::manual();
        let mover = c.clone();
        let started = Instant::now();
        let t = std::thread::spawn(move || c.sleep(Duration::from_secs(3600)));
        // Moved until the sleeper is through (it may start after the first move).
        while !t.is_finished() {
            assert!(started.elapsed() < Duration::from_secs(60), "still asleep");
            mover.advance(Duration::from_secs(3600));
            std::thread::sleep(Duration::from_millis(10));
        }
        t.join().unwrap();
    }

    #[test]
    fn rfc3339_renders_utc_seconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
