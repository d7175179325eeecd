//! Reading an archive back and checking all of it before anything is restored: its seal, its
//! manifest, every member's checksum, and every member database's integrity and rows.

use super::manifest::{MAC, MANIFEST, Manifest, member_key, sha256_hex};
use super::seal::{archive_mac_ok, unseal};
use crate::crypto::Key;
use crate::error::{Error, Result};
use crate::store::connection::{self, Mode};
use crate::store::rows;
use crate::store::snapshot::table_checksums;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// An archive read into a work directory and checked completely.
pub struct Checked {
    /// Its manifest.
    pub manifest: Manifest,
    work: tempfile::TempDir,
}

impl Checked {
    pub(super) fn member_path(&self, uuid: &str) -> PathBuf {
        self.work.path().join(format!("{uuid}.db"))
    }
}

/// Reads and checks an archive: the manifest opens with the key, every member is present with
/// its checksum, nothing else is in it, and every member database opens with its key and
/// passes `cipher_integrity_check` and `integrity_check`. Nothing outside `work_in` is touched.
pub fn check(archive: &Path, backup: &Key, work_in: &Path) -> Result<Checked> {
    let damaged =
        |why: &str| Error::Invalid(format!("archive {} refused: {why}", archive.display()));
    let bytes =
        fs::read(archive).map_err(|e| Error::io(format!("opening {}", archive.display()), e))?;
    if !archive_mac_ok(&bytes, backup) {
        return Err(damaged(
            "it does not match its seal: wrong backup key, or the file was altered",
        ));
    }
    let work = tempfile::Builder::new()
        .prefix(".kontor-restore-")
        .tempdir_in(work_in)
        .map_err(|e| Error::io("creating a work directory", e))?;
    let mut tar = tar::Archive::new(std::io::Cursor::new(&bytes[..]));
    let mut sealed = None;
    let mut found: Vec<(String, String)> = Vec::new();
    for entry in tar.entries().map_err(|_| damaged("not a kontor archive"))? {
        let mut entry = entry.map_err(|_| damaged("unreadable"))?;
        let path = entry
            .path()
            .map_err(|_| damaged("bad member name"))?
            .to_string_lossy()
            .into_owned();
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|_| damaged("unreadable member"))?;
        if path == MANIFEST {
            sealed = Some(bytes);
            continue;
        }
        if path == MAC {
            continue;
        }
        let Some(uuid) = path
            .strip_prefix("tenants/")
            .and_then(|p| p.strip_suffix(".db"))
            .filter(|u| uuid::Uuid::parse_str(u).is_ok())
        else {
            return Err(damaged(&format!("unexpected member {path:?}")));
        };
        found.push((path.clone(), sha256_hex(&bytes)));
        fs::write(work.path().join(format!("{uuid}.db")), &bytes)
            .map_err(|e| Error::io("writing a work file", e))?;
    }
    let manifest = unseal(backup, &sealed.ok_or_else(|| damaged("no manifest"))?)?;
    if found.len() != manifest.members.len() {
        return Err(damaged("members missing or added"));
    }
    for m in &manifest.members {
        let ok = found.iter().any(|(p, h)| p == &m.path && h == &m.sha256);
        if !ok {
            return Err(damaged(&format!("checksum of {} does not match", m.path)));
        }
    }
    let checked = Checked { manifest, work };
    for t in &checked.manifest.tenants {
        let key = member_key(backup, &checked.manifest.archive_id, &t.uuid);
        let conn = connection::open(&checked.member_path(&t.uuid), &key, Mode::Existing)
            .map_err(|_| damaged(&format!("tenant {} does not open with its key", t.slug)))?;
        let cipher: Vec<String> =
            rows::all(&conn, "PRAGMA cipher_integrity_check", [], |r| r.get(0))?;
        let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if !cipher.is_empty() || integrity != "ok" {
            return Err(damaged(&format!(
                "tenant {} fails its integrity checks",
                t.slug
            )));
        }
        if table_checksums(&conn)? != t.tables {
            return Err(damaged(&format!(
                "tenant {}: rows differ from the snapshot's checksums",
                t.slug
            )));
        }
        // The member is opened read-only in spirit: drop WAL side files SQLite may leave.
        drop(conn);
    }
    Ok(checked)
}
