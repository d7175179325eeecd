//! Tar archives as kontor writes them (backups, tenant exports, data-subject exports): each
//! member readable by its owner only and stamped with the time given.

use std::io::Write;

/// Appends `bytes` as the member `path`, mode 0600, modified at `at` (unix seconds).
pub(crate) fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    bytes: &[u8],
    at: i64,
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(at.max(0) as u64);
    header.set_cksum();
    tar.append_data(&mut header, path, bytes)
}
