//! Tar archives as kontor writes them (backups, tenant exports, data-subject exports): each
//! member readable by its owner only and stamped with the time given. And the one way they
//! are read back: member by member, with hard caps, because an archive handed to `tenant
//! import` or `backup restore` may have been crafted to exhaust memory or disk.

use crate::error::{Error, Result};
use std::io::{Read, Write};

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

/// What a reader lets through.
///
/// kontor writes plain archives: every member's bytes are stored in the file, so all members
/// together are never larger than the file itself. `Limits::for_archive` therefore caps the
/// total (and each member) at the archive's own length: a real archive always fits, while a
/// member that claims more (a sparse hole, a lying header) is refused before anything is
/// read. The fixed ceiling only bounds what a single archive may hold at all.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Members (directories included).
    pub members: usize,
    /// Bytes of all members together.
    pub total_bytes: u64,
}

/// No archive kontor reads may hold more than this, whatever its size (1 TiB: far above any
/// tenant's data, yet a bound that arithmetic on sizes cannot overflow).
const CEILING: u64 = 1 << 40;

impl Limits {
    /// Up to `members` members and, together, no more bytes than the archive's `len`.
    pub(crate) fn for_archive(len: u64, members: usize) -> Limits {
        Limits {
            members,
            total_bytes: len.min(CEILING),
        }
    }
}

/// The members of a tar archive, read one at a time within [`Limits`]. Only regular files
/// (and directories, which are skipped) with relative paths are let through; sparse files,
/// links, devices, FIFOs and the like are refused, as are absolute paths and `..`.
pub(crate) struct Members<'a, R: Read> {
    entries: tar::Entries<'a, R>,
    limits: Limits,
    count: usize,
    total: u64,
}

/// One regular member: its path, the size its header declares, and its bytes.
pub(crate) struct Member<'a, R: Read> {
    /// Relative path inside the archive.
    pub path: String,
    /// Bytes, as the header declares them (and reading checks).
    pub size: u64,
    entry: tar::Entry<'a, R>,
    read: u64,
}

/// A refusal; callers say which archive.
fn refuse(why: impl std::fmt::Display) -> Error {
    Error::Invalid(why.to_string())
}

impl<'a, R: Read> Members<'a, R> {
    /// Reads `archive`'s members within `limits`.
    pub(crate) fn new(archive: &'a mut tar::Archive<R>, limits: Limits) -> Result<Self> {
        Ok(Members {
            entries: archive.entries().map_err(refuse)?,
            limits,
            count: 0,
            total: 0,
        })
    }

    /// The next regular member, or `None` at the end; an error for anything not allowed.
    pub(crate) fn next_member(&mut self) -> Result<Option<Member<'a, R>>> {
        loop {
            let Some(entry) = self.entries.next() else {
                return Ok(None);
            };
            let entry = entry.map_err(refuse)?;
            self.count += 1;
            if self.count > self.limits.members {
                return Err(refuse(format!(
                    "it has more than {} members",
                    self.limits.members
                )));
            }
            let path = checked_path(&entry)?;
            match entry.header().entry_type() {
                tar::EntryType::Regular => {}
                tar::EntryType::Directory => continue,
                other => return Err(refuse(format!("member {path:?} is {}", kind(other)))),
            }
            // Declared sizes first, so nothing is read for a member that could not fit.
            let size = entry.size();
            self.total = self.total.saturating_add(size);
            if self.total > self.limits.total_bytes {
                return Err(refuse(format!(
                    "member {path:?}: its header declares {size} bytes, more than the archive holds"
                )));
            }
            return Ok(Some(Member {
                path,
                size,
                entry,
                read: 0,
            }));
        }
    }
}

/// Reads every member of an archive held in memory the way an import does (within
/// `Limits::for_archive`) and returns each one's path and length. Not used by the server: it
/// is public so that the hostile-input tests can drive the capped reader from outside.
#[doc(hidden)]
pub fn read_all(bytes: &[u8], max_members: usize) -> Result<Vec<(String, usize)>> {
    let mut tar = tar::Archive::new(bytes);
    let limits = Limits::for_archive(bytes.len() as u64, max_members);
    let mut members = Members::new(&mut tar, limits)?;
    let mut out = Vec::new();
    while let Some(member) = members.next_member()? {
        let path = member.path.clone();
        out.push((path, member.bytes()?.len()));
    }
    Ok(out)
}

/// What a refused member is, for the message.
fn kind(t: tar::EntryType) -> &'static str {
    match t {
        tar::EntryType::GNUSparse => "a sparse file",
        tar::EntryType::Symlink => "a symbolic link",
        tar::EntryType::Link => "a hard link",
        tar::EntryType::Char | tar::EntryType::Block => "a device",
        tar::EntryType::Fifo => "a FIFO",
        _ => "not a regular file",
    }
}

/// The member's path as UTF-8, relative, without `..`, `.` or empty parts.
fn checked_path<R: Read>(entry: &tar::Entry<'_, R>) -> Result<String> {
    let raw = entry.path_bytes();
    let path = std::str::from_utf8(&raw)
        .map_err(|_| refuse("a member's name is not UTF-8"))?
        .to_string();
    if path.starts_with('/') || path.contains('\\') {
        return Err(refuse(format!(
            "member {path:?} has an absolute or Windows path"
        )));
    }
    let body = path.strip_suffix('/').unwrap_or(&path);
    if body.is_empty() || body.split('/').any(|p| matches!(p, "" | "." | "..")) {
        return Err(refuse(format!(
            "member {path:?}: paths must be relative, without '..'"
        )));
    }
    Ok(path)
}

impl<R: Read> Member<'_, R> {
    /// The whole member, which must be exactly as long as its header says.
    pub(crate) fn bytes(mut self) -> Result<Vec<u8>> {
        // The size was checked against the archive's length; reserve at most 1 MiB up front
        // all the same, so a short file never costs more memory than it holds.
        let mut body = Vec::with_capacity(self.size.min(1 << 20) as usize);
        self.read_to_end(&mut body).map_err(refuse)?;
        Ok(body)
    }
}

/// Reading never goes past the declared size, and ending before it is an error: the header
/// alone is never trusted.
impl<R: Read> Read for Member<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.size - self.read;
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.entry.read(&mut buf[..want])?;
        self.read += n as u64;
        if n == 0 && self.read < self.size {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "member {:?} holds {} bytes, its header says {}",
                    self.path, self.read, self.size
                ),
            ));
        }
        Ok(n)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tar file whose members' headers are written as given (checksums set here).
    fn tar_of(members: Vec<(tar::Header, Vec<u8>)>) -> Vec<u8> {
        let mut out = Vec::new();
        for (mut h, body) in members {
            h.set_cksum();
            out.extend_from_slice(h.as_bytes());
            out.extend_from_slice(&body);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.resize(out.len() + 1024, 0);
        out
    }

    /// A member header as a hostile archive might carry it (also for the backup tests).
    pub(crate) fn header(name: &str, kind: tar::EntryType, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(0o600);
        h
    }

    fn file(name: &str, body: &[u8]) -> (tar::Header, Vec<u8>) {
        (
            header(name, tar::EntryType::Regular, body.len() as u64),
            body.to_vec(),
        )
    }

    /// Every member's path and bytes, or the first refusal.
    fn read(bytes: &[u8], members: usize) -> Result<Vec<(String, Vec<u8>)>> {
        let mut archive = tar::Archive::new(bytes);
        let mut m = Members::new(
            &mut archive,
            Limits::for_archive(bytes.len() as u64, members),
        )?;
        let mut out = Vec::new();
        while let Some(member) = m.next_member()? {
            out.push((member.path.clone(), member.bytes()?));
        }
        Ok(out)
    }

    fn refused(bytes: &[u8], says: &str) {
        let err = read(bytes, 10).unwrap_err().to_string();
        assert!(err.contains(says), "{err} should say {says:?}");
    }

    #[test]
    fn regular_members_and_directories_are_read() {
        let dir = header("tables/", tar::EntryType::Directory, 0);
        let bytes = tar_of(vec![
            file("manifest.json", b"{}"),
            (dir, vec![]),
            file("tables/a.jsonl", b"[1]\n"),
        ]);
        assert_eq!(
            read(&bytes, 10).unwrap(),
            vec![
                ("manifest.json".to_string(), b"{}".to_vec()),
                ("tables/a.jsonl".to_string(), b"[1]\n".to_vec())
            ]
        );
        // Written by `append` too.
        let mut b = tar::Builder::new(Vec::new());
        append(&mut b, "x/y", b"hello", 0).unwrap();
        assert_eq!(read(&b.into_inner().unwrap(), 1).unwrap()[0].1, b"hello");
    }

    #[test]
    fn sparse_links_devices_and_fifos_are_refused() {
        let mut sparse = header("a", tar::EntryType::GNUSparse, 0);
        let g = sparse.as_gnu_mut().unwrap();
        g.sparse[0].set_offset(1 << 30);
        g.sparse[0].set_length(0);
        g.set_real_size(1 << 30);
        refused(&tar_of(vec![(sparse, vec![])]), "sparse");
        let mut link = header("a", tar::EntryType::Symlink, 0);
        link.set_link_name("/etc/passwd").unwrap();
        refused(&tar_of(vec![(link, vec![])]), "symbolic link");
        let mut hard = header("b", tar::EntryType::Link, 0);
        hard.set_link_name("a").unwrap();
        refused(&tar_of(vec![file("a", b"x"), (hard, vec![])]), "hard link");
        for (t, says) in [
            (tar::EntryType::Char, "device"),
            (tar::EntryType::Block, "device"),
            (tar::EntryType::Fifo, "FIFO"),
        ] {
            refused(&tar_of(vec![(header("d", t, 0), vec![])]), says);
        }
    }

    #[test]
    fn paths_must_be_relative_and_stay_inside() {
        for bad in [
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a\\..\\b",
        ] {
            let err = read(&tar_of(vec![file(bad, b"x")]), 10).unwrap_err();
            assert!(
                err.to_string().contains(&format!("{bad:?}")),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn sizes_are_capped_and_never_trusted_alone() {
        // Declares 1 GiB, holds ten bytes: more than the archive can hold.
        let lying = header("a", tar::EntryType::Regular, 1 << 30);
        refused(
            &tar_of(vec![(lying, b"0123456789".to_vec())]),
            "its header declares 1073741824 bytes, more than the archive holds",
        );
        // Declares a little more than it holds, at the very end of a cut-off file.
        let mut bytes = tar_of(vec![file("a", &[7u8; 600])]);
        bytes.truncate(512 + 100);
        refused(&bytes, "its header says 600");
        // Many members.
        let many: Vec<_> = (0..11).map(|i| file(&format!("m{i}"), b"x")).collect();
        refused(&tar_of(many), "more than 10 members");
    }
}
