//! Off-site copies: every archive copied to a second place the operator controls (an
//! S3-compatible bucket, a directory on another server over SFTP), read back and checked there
//! as `backup verify` checks a local one, rotated by the same keep rules, and fetched back (and
//! checked before anything is replaced) for a restore. Next to each archive lies
//! `NAME.sha256` in `sha256sum` format.
//!
//! Copies are idempotent: an archive is uploaded under its own name, appears whole or not at
//! all (S3 commits a PUT whole; SFTP writes a hidden file and renames it), so an interrupted
//! copy is simply made again.

mod s3;
mod sftp;
pub mod status;

use super::check::{Checked, check};
use crate::config::{OffsiteConfig, Target};
use crate::crypto::Key;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// An archive on a remote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteFile {
    /// Its name (`kontor-daily-2026-11-23.tar`).
    pub name: String,
    /// Bytes.
    pub bytes: u64,
    /// When it was written there (unix seconds), as the remote says.
    pub modified: i64,
}

/// What a remote can do: a flat directory of files.
pub(crate) trait Remote {
    /// Every file, any name.
    fn files(&mut self) -> Result<Vec<RemoteFile>>;
    /// Uploads `local` as `name`, whole or not at all.
    fn put(&mut self, local: &Path, name: &str, progress: &mut dyn FnMut(u64)) -> Result<()>;
    /// Downloads `name` into `dest`.
    fn get(&mut self, name: &str, dest: &mut (dyn Write + Send)) -> Result<u64>;
    /// Removes `name` (gone already is fine).
    fn delete(&mut self, name: &str) -> Result<()>;
}

/// Connects to the remote (reading its credential now, never keeping it).
fn connect(cfg: &OffsiteConfig) -> Result<Box<dyn Remote>> {
    let timeout = std::time::Duration::from_secs(cfg.timeout_secs);
    let unreachable = |e: Error| {
        Error::Conflict(format!(
            "off-site remote {:?} ({}): {}",
            cfg.name,
            cfg.location(),
            e
        ))
    };
    match &cfg.target {
        Target::S3(t) => {
            let secret = cfg.credential()?;
            Ok(Box::new(
                s3::S3::new(t, &secret, timeout).map_err(unreachable)?,
            ))
        }
        Target::Sftp(t) => {
            // libssh2 reads the key file itself; it is only checked to be there and not empty.
            cfg.credential()?;
            let key = cfg.credential_path()?;
            Ok(Box::new(
                sftp::Sftp::connect(t, &key, timeout).map_err(unreachable)?,
            ))
        }
    }
}

/// The files a remote's operations work through, with the remote named in every error.
struct Conn<'a> {
    cfg: &'a OffsiteConfig,
    remote: Box<dyn Remote>,
}

impl<'a> Conn<'a> {
    fn open(cfg: &'a OffsiteConfig) -> Result<Conn<'a>> {
        Ok(Conn {
            cfg,
            remote: connect(cfg)?,
        })
    }

    fn named(&self, e: Error) -> Error {
        match e {
            Error::Invalid(m) | Error::Conflict(m) | Error::Internal(m) => {
                Error::Conflict(format!("off-site remote {:?}: {m}", self.cfg.name))
            }
            other => Error::Conflict(format!("off-site remote {:?}: {other}", self.cfg.name)),
        }
    }

    fn archives(&mut self) -> Result<Vec<RemoteFile>> {
        let mut all = self.remote.files().map_err(|e| self.named(e))?;
        all.retain(|f| is_archive_name(&f.name));
        all.sort_by(|a, b| b.modified.cmp(&a.modified).then(b.name.cmp(&a.name)));
        Ok(all)
    }

    /// The archive `name` downloaded into a new file in `work`, with its `.sha256` (if any).
    fn download(
        &mut self,
        name: &str,
        work: &Path,
        progress: &mut dyn FnMut(&str),
    ) -> Result<(tempfile::NamedTempFile, Option<String>)> {
        let mut tmp = tempfile::Builder::new()
            .prefix(".kontor-fetch-")
            .suffix(".tar")
            .tempfile_in(work)
            .map_err(|e| Error::io("creating a file for the download", e))?;
        progress(&format!("{}: reading {name} back", self.cfg.name));
        self.remote
            .get(name, tmp.as_file_mut())
            .map_err(|e| self.named(e))?;
        tmp.as_file_mut()
            .flush()
            .map_err(|e| Error::io("writing the download", e))?;
        let mut sidecar = Vec::new();
        let listed = self.remote.get(&sidecar_name(name), &mut sidecar).is_ok();
        let sum = listed
            .then(|| {
                String::from_utf8_lossy(&sidecar)
                    .split_whitespace()
                    .next()
                    .map(str::to_string)
            })
            .flatten();
        Ok((tmp, sum))
    }
}

/// Whether `name` is an archive kontor writes (no paths, no hidden or partial files).
pub fn is_archive_name(name: &str) -> bool {
    name.starts_with("kontor-")
        && name.ends_with(".tar")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn sidecar_name(archive: &str) -> String {
    format!("{archive}.sha256")
}

/// SHA-256 and length of a file, read in pieces.
fn file_digest(path: &Path) -> Result<(String, u64)> {
    let mut f =
        fs::File::open(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
        len += n as u64;
    }
    Ok((crate::crypto::hex(ctx.finish().as_ref()), len))
}

/// One archive copied and checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pushed {
    /// The remote.
    pub remote: String,
    /// The archive's name there.
    pub archive: String,
    /// Bytes.
    pub bytes: u64,
    /// Hex SHA-256, the same here and there.
    pub sha256: String,
}

/// Copies the archive `file` to the remote and reads it back: the copy must have the same size
/// and SHA-256, and pass the same checks as `backup verify` (seal, manifest, every member's
/// checksum and integrity). `work` holds the read-back copy meanwhile.
pub fn push(
    cfg: &OffsiteConfig,
    key: &Key,
    file: &Path,
    work: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Pushed> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| is_archive_name(n))
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{} is not a kontor archive (kontor-….tar)",
                file.display()
            ))
        })?
        .to_string();
    // The local archive is checked first: a damaged one is not worth a copy.
    check(file, key, work)?;
    let (sha256, bytes) = file_digest(file)?;
    let mut conn = Conn::open(cfg)?;
    progress(&format!(
        "{}: copying {name} ({bytes} bytes) to {}",
        cfg.name,
        cfg.location()
    ));
    let step = (bytes / 10).max(8 << 20);
    let mut next = step;
    let label = format!("{}: {name}", cfg.name);
    conn.remote
        .put(file, &name, &mut |sent| {
            if sent >= next && sent < bytes {
                progress(&format!("{label}: {} of {bytes} bytes sent", sent));
                next = sent + step;
            }
        })
        .map_err(|e| conn.named(e))?;
    let line = format!("{sha256}  {name}\n");
    let sums = tempfile::NamedTempFile::new_in(work)
        .and_then(|mut t| t.write_all(line.as_bytes()).map(|_| t))
        .map_err(|e| Error::io("writing the checksum file", e))?;
    conn.remote
        .put(sums.path(), &sidecar_name(&name), &mut |_| {})
        .map_err(|e| conn.named(e))?;
    let (copy, _) = conn.download(&name, work, progress)?;
    let (copy_sum, copy_len) = file_digest(copy.path())?;
    if (copy_len, copy_sum.as_str()) != (bytes, sha256.as_str()) {
        return Err(Error::Conflict(format!(
            "off-site remote {:?}: the copy of {name} read back differs from the archive \
             ({copy_len} bytes, SHA-256 {copy_sum}; expected {bytes} bytes, {sha256})",
            cfg.name
        )));
    }
    check(copy.path(), key, work).map_err(|e| {
        Error::Conflict(format!(
            "off-site remote {:?}: the copy of {name} read back fails its checks: {e}",
            cfg.name
        ))
    })?;
    progress(&format!(
        "{}: {name} copied and read back: size, SHA-256, seal and manifest match",
        cfg.name
    ));
    Ok(Pushed {
        remote: cfg.name.clone(),
        archive: name,
        bytes,
        sha256,
    })
}

/// The archives on the remote, newest first.
pub fn list(cfg: &OffsiteConfig) -> Result<Vec<RemoteFile>> {
    Conn::open(cfg)?.archives()
}

/// Of `names`, those starting with `prefix` beyond the `keep` newest (names sort by date).
pub fn beyond_keep(names: &[String], prefix: &str, keep: usize) -> Vec<String> {
    let mut mine: Vec<&String> = names.iter().filter(|n| n.starts_with(prefix)).collect();
    mine.sort();
    let excess = mine.len().saturating_sub(keep);
    mine[..excess].iter().map(|n| n.to_string()).collect()
}

/// Applies the local keep rules on the remote: the `keep_daily` newest daily and
/// `keep_weekly` newest weekly archives stay (with their checksum files), older ones go.
/// Archives written by `backup create` are never rotated, as locally. Returns what went.
pub fn rotate(cfg: &OffsiteConfig, keep_daily: usize, keep_weekly: usize) -> Result<Vec<String>> {
    let mut conn = Conn::open(cfg)?;
    rotate_on(&mut conn, keep_daily, keep_weekly)
}

fn rotate_on(conn: &mut Conn<'_>, keep_daily: usize, keep_weekly: usize) -> Result<Vec<String>> {
    let names: Vec<String> = conn.archives()?.into_iter().map(|f| f.name).collect();
    let mut gone = beyond_keep(&names, "kontor-daily-", keep_daily);
    gone.extend(beyond_keep(&names, "kontor-weekly-", keep_weekly));
    for name in &gone {
        conn.remote.delete(name).map_err(|e| conn.named(e))?;
        conn.remote
            .delete(&sidecar_name(name))
            .map_err(|e| conn.named(e))?;
    }
    Ok(gone)
}

/// What one pass of the scheduler did on a remote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Synced {
    /// Archives copied (and read back).
    pub copied: Vec<Pushed>,
    /// Archives rotated away there.
    pub removed: Vec<String>,
}

/// Brings the remote up to date with the scheduled archives in `dir`: each daily or weekly
/// archive kept here that is not there yet is copied and read back, then the keep rules are
/// applied there. Safe to repeat after any interruption.
pub fn sync(
    cfg: &OffsiteConfig,
    key: &Key,
    dir: &Path,
    keep: (usize, usize),
    progress: &mut dyn FnMut(&str),
) -> Result<Synced> {
    let mut local: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                (n.starts_with("kontor-daily-") || n.starts_with("kontor-weekly-"))
                    && is_archive_name(n)
            })
        })
        .collect();
    local.sort();
    let there: Vec<String> = Conn::open(cfg)?
        .archives()?
        .into_iter()
        .map(|f| f.name)
        .collect();
    let mut done = Synced::default();
    for file in local.iter().rev() {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !there.iter().any(|t| t == name) {
            done.copied.push(push(cfg, key, file, dir, progress)?);
        }
    }
    done.removed = rotate(cfg, keep.0, keep.1)?;
    Ok(done)
}

/// An archive fetched from a remote and checked completely, ready for `backup::restore`.
pub struct Fetched {
    /// The archive's name on the remote.
    pub archive: String,
    /// Bytes.
    pub bytes: u64,
    /// What the checks found (the members, in a work directory).
    pub checked: Checked,
}

/// Fetches `archive` (else the newest there) into `work` and checks it before anything can be
/// replaced: the listed size, the SHA-256 of its checksum file, then the seal, the manifest
/// and every member as `backup verify` does. The downloaded file is removed afterwards.
pub fn fetch(
    cfg: &OffsiteConfig,
    key: &Key,
    archive: Option<&str>,
    work: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Fetched> {
    let mut conn = Conn::open(cfg)?;
    let all = conn.archives()?;
    let chosen = match archive {
        Some(a) => all.iter().find(|f| f.name == a).ok_or_else(|| {
            Error::NotFound(format!("archive {a:?} on off-site remote {:?}", cfg.name))
        })?,
        None => all.first().ok_or_else(|| {
            Error::NotFound(format!("any archive on off-site remote {:?}", cfg.name))
        })?,
    }
    .clone();
    let refused = |why: String| {
        Error::Invalid(format!(
            "the copy of {} on off-site remote {:?} is refused: {why}; nothing was replaced",
            chosen.name, cfg.name
        ))
    };
    let (tmp, sum) = conn.download(&chosen.name, work, progress)?;
    let (got, len) = file_digest(tmp.path())?;
    if len != chosen.bytes {
        return Err(refused(format!(
            "{len} bytes arrived, the remote lists {}",
            chosen.bytes
        )));
    }
    match sum {
        Some(s) if s != got => {
            return Err(refused(
                "it does not match its SHA-256 checksum file: altered or damaged".into(),
            ));
        }
        Some(_) => progress(&format!(
            "{}: {} matches its SHA-256",
            cfg.name, chosen.name
        )),
        None => progress(&format!(
            "{}: {} has no checksum file; its seal is checked instead",
            cfg.name, chosen.name
        )),
    }
    progress(&format!(
        "{}: checking {} (seal, manifest, every tenant)",
        cfg.name, chosen.name
    ));
    let checked = check(tmp.path(), key, work).map_err(|e| refused(e.to_string()))?;
    Ok(Fetched {
        archive: chosen.name,
        bytes: len,
        checked,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_the_newest_of_each_kind_and_never_manual_archives() {
        let names: Vec<String> = [
            "kontor-daily-2026-11-20.tar",
            "kontor-daily-2026-11-22.tar",
            "kontor-daily-2026-11-21.tar",
            "kontor-weekly-2026-W46.tar",
            "kontor-weekly-2026-W47.tar",
            "kontor-2026-11-01T033000Z-0a1b2c3d.tar",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            beyond_keep(&names, "kontor-daily-", 2),
            ["kontor-daily-2026-11-20.tar"]
        );
        assert_eq!(
            beyond_keep(&names, "kontor-weekly-", 1),
            ["kontor-weekly-2026-W46.tar"]
        );
        assert!(beyond_keep(&names, "kontor-daily-", 7).is_empty());
    }

    #[test]
    fn only_archive_names_count() {
        assert!(is_archive_name("kontor-daily-2026-11-20.tar"));
        assert!(is_archive_name("kontor-2026-11-01T033000Z-0a1b2c3d.tar"));
        for bad in [
            "kontor-daily-2026-11-20.tar.sha256",
            ".kontor-daily-2026-11-20.tar.partial",
            "../kontor-x.tar",
            "kontor-a b.tar",
            "other.tar",
        ] {
            assert!(!is_archive_name(bad), "{bad}");
        }
    }
}
