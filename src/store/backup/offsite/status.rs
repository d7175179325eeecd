//! How each remote is doing, kept in `DATA_DIR/offsite-status.json` so that the scheduler,
//! an operator's `backup push`, `/healthz` and `kontor doctor` (another process) all see the
//! same: the last good copy, the last failure, how many attempts failed in a row and when the
//! next one is due.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// An off-site copy older than this is a problem (`doctor` fails, `/healthz` says stale):
/// daily backups leave a day's slack.
pub const MAX_AGE_SECS: i64 = 2 * 86_400;

/// One remote's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteStatus {
    /// When the last copy was made and read back (unix seconds).
    pub last_good_at: Option<i64>,
    /// Which archive that was.
    pub last_archive: Option<String>,
    /// The last failure, while the latest attempt failed.
    pub last_error: Option<String>,
    /// Failed attempts in a row.
    pub failures: u32,
    /// When the scheduler tries again (unix seconds), after a failure.
    pub next_try_at: Option<i64>,
}

/// Every remote's state, by name.
pub type Statuses = BTreeMap<String, RemoteStatus>;

/// The file inside a data directory.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("offsite-status.json")
}

/// One writer at a time in this process (the scheduler and the admin socket share it).
static WRITER: Mutex<()> = Mutex::new(());

/// The states as last written (empty when none was).
pub fn load(data_dir: &Path) -> Statuses {
    std::fs::read(path(data_dir))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Changes one remote's state and writes the file (through a renamed temporary file).
pub fn update(
    data_dir: &Path,
    remote: &str,
    f: impl FnOnce(&mut RemoteStatus),
) -> Result<RemoteStatus> {
    let _one = WRITER.lock().unwrap_or_else(|e| e.into_inner());
    let mut all = load(data_dir);
    let entry = all.entry(remote.to_string()).or_default();
    f(entry);
    let out = entry.clone();
    let bytes = serde_json::to_vec_pretty(&all).map_err(|e| Error::Internal(e.to_string()))?;
    crate::store::tenant_export::write_private(&path(data_dir), &bytes)?;
    Ok(out)
}

/// A successful copy of `archive` at `at`.
pub fn succeeded(
    data_dir: &Path,
    remote: &str,
    archive: Option<&str>,
    at: i64,
) -> Result<RemoteStatus> {
    update(data_dir, remote, |s| {
        s.last_good_at = Some(at);
        if let Some(a) = archive {
            s.last_archive = Some(a.to_string());
        }
        s.last_error = None;
        s.failures = 0;
        s.next_try_at = None;
    })
}

/// The wait before the next attempt after `failures` failures in a row: one minute, doubling,
/// at most an hour.
pub fn backoff_secs(failures: u32) -> i64 {
    (60i64 << failures.saturating_sub(1).min(6)).min(3600)
}

/// A failed attempt at `at`: counted, and the next one scheduled after [`backoff_secs`].
pub fn failed(data_dir: &Path, remote: &str, error: &str, at: i64) -> Result<RemoteStatus> {
    update(data_dir, remote, |s| {
        s.failures += 1;
        s.last_error = Some(error.to_string());
        s.next_try_at = Some(at + backoff_secs(s.failures));
    })
}

/// Whether the remote's last good copy is recent enough at `now`.
pub fn is_fresh(s: &RemoteStatus, now: i64) -> bool {
    s.last_good_at.is_some_and(|t| now - t <= MAX_AGE_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_and_a_success_clears_them() {
        assert_eq!(
            (1..=8).map(backoff_secs).collect::<Vec<_>>(),
            [60, 120, 240, 480, 960, 1920, 3600, 3600]
        );
        let dir = tempfile::tempdir().unwrap();
        failed(dir.path(), "dr", "refused", 100).unwrap();
        let s = failed(dir.path(), "dr", "refused again", 200).unwrap();
        assert_eq!((s.failures, s.next_try_at), (2, Some(320)));
        assert!(!is_fresh(&s, 200));
        let s = succeeded(dir.path(), "dr", Some("kontor-daily-2026-11-23.tar"), 400).unwrap();
        assert_eq!((s.failures, &s.last_error, s.next_try_at), (0, &None, None));
        assert!(is_fresh(&s, 400 + MAX_AGE_SECS));
        assert!(!is_fresh(&s, 401 + MAX_AGE_SECS));
        assert_eq!(load(dir.path())["dr"], s);
    }
}
