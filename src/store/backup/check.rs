//! Reading an archive back and checking all of it before anything is restored: its seal, its
//! manifest, every member's checksum, and every member database's integrity and rows.

use super::manifest::{MAC, MANIFEST, MAX_MEMBERS, Manifest, member_key, sha256_hex};
use super::seal::{archive_mac_ok, unseal};
use crate::crypto::Key;
use crate::error::{Error, Result};
use crate::model::tenants::{TenantInfo, canonical_uuid};
use crate::store::archive;
use crate::store::connection::{self, Mode};
use crate::store::rows;
use crate::store::snapshot::table_checksums;
use crate::store::system::SiteEntry;
use std::fs;
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
    let mut tar = tar::Archive::new(&bytes[..]);
    let limits = archive::Limits::for_archive(bytes.len() as u64, MAX_MEMBERS);
    let mut members =
        archive::Members::new(&mut tar, limits).map_err(|e| damaged(&e.to_string()))?;
    let mut sealed = None;
    let mut found: Vec<(String, String)> = Vec::new();
    while let Some(member) = members.next_member().map_err(|e| damaged(&e.to_string()))? {
        let path = member.path.clone();
        let bytes = member.bytes().map_err(|e| damaged(&e.to_string()))?;
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
            .filter(|u| canonical_uuid(u).is_ok_and(|c| c == *u))
        else {
            return Err(damaged(&format!("unexpected member {path:?}")));
        };
        found.push((path.clone(), sha256_hex(&bytes)));
        fs::write(work.path().join(format!("{uuid}.db")), &bytes)
            .map_err(|e| Error::io("writing a work file", e))?;
    }
    let mut manifest = unseal(backup, &sealed.ok_or_else(|| damaged("no manifest"))?)?;
    // Sealed by the backup key, yet checked as an import's would be: a restore writes these
    // into system.db, and the origins end up in the widget's CSP.
    for t in &mut manifest.tenants {
        let refused = |e: Error| damaged(&format!("tenant {:?}: {e}", t.slug));
        let info = TenantInfo {
            uuid: t.uuid.clone(),
            slug: t.slug.clone(),
            name: t.name.clone(),
            created_at: t.created_at,
        }
        .checked()
        .map_err(refused)?;
        if info.uuid != t.uuid {
            return Err(refused(Error::Invalid(
                "its id is not in canonical form".into(),
            )));
        }
        let sites = t
            .sites
            .iter()
            .map(SiteEntry::checked)
            .collect::<Result<_>>();
        t.sites = sites.map_err(refused)?;
        t.name = info.name;
    }
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

#[cfg(test)]
mod tests {
    use super::super::manifest::{FORMAT, Member, TenantEntry};
    use super::super::seal::{seal, seal_archive};
    use super::*;
    use crate::store::archive::tests::header;

    const UUID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

    /// A correctly sealed archive (manifest, `member`, MAC) and what `check` says of it.
    fn check_with(member: (tar::Header, Vec<u8>)) -> String {
        check_with_tenants(member, Vec::new())
    }

    fn check_with_tenants(member: (tar::Header, Vec<u8>), tenants: Vec<TenantEntry>) -> String {
        let key = Key::generate();
        let dir = tempfile::tempdir().unwrap();
        let manifest = Manifest {
            format: FORMAT,
            kontor_version: "test".into(),
            created_at: 0,
            archive_id: "00".repeat(16),
            tenants,
            members: vec![Member {
                path: format!("tenants/{UUID}.db"),
                sha256: sha256_hex(b""),
                bytes: 0,
            }],
        };
        let sealed = seal(&key, &manifest).unwrap();
        let mut bytes = Vec::new();
        for (mut h, body) in [
            (
                header(MANIFEST, tar::EntryType::Regular, sealed.len() as u64),
                sealed,
            ),
            member,
            (header(MAC, tar::EntryType::Regular, 32), vec![0; 32]),
        ] {
            h.set_cksum();
            bytes.extend_from_slice(h.as_bytes());
            bytes.extend_from_slice(&body);
            bytes.resize(bytes.len().div_ceil(512) * 512, 0);
        }
        bytes.resize(bytes.len() + 1024, 0);
        let path = dir.path().join("a.tar");
        fs::write(&path, &bytes).unwrap();
        let mut file = fs::OpenOptions::new().write(true).open(&path).unwrap();
        seal_archive(&mut file, &path, &key).unwrap();
        match check(&path, &key, dir.path()) {
            Ok(_) => "accepted".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn hostile_members_of_a_sealed_archive_are_refused() {
        let name = format!("tenants/{UUID}.db");
        let mut sparse = header(&name, tar::EntryType::GNUSparse, 0);
        let g = sparse.as_gnu_mut().unwrap();
        g.sparse[0].set_offset(64 << 20);
        g.sparse[0].set_length(0);
        g.set_real_size(64 << 20);
        let err = check_with((sparse, vec![]));
        assert!(err.contains("sparse"), "{err}");
        let mut link = header(&name, tar::EntryType::Symlink, 0);
        link.set_link_name("/etc/passwd").unwrap();
        let err = check_with((link, vec![]));
        assert!(err.contains("symbolic link"), "{err}");
        let err = check_with((
            header(&format!("tenants/../{UUID}.db"), tar::EntryType::Regular, 0),
            vec![],
        ));
        assert!(err.contains("'..'"), "{err}");
        // The same archive with a plain empty member passes the member checks (and fails
        // later, as an empty file is no database).
        let err = check_with((header(&name, tar::EntryType::Regular, 0), vec![]));
        assert!(err.contains("does not open") || err == "accepted", "{err}");
    }

    #[test]
    fn the_sealed_manifest_is_checked_as_an_import_would_be() {
        let plain = || {
            (
                header(&format!("tenants/{UUID}.db"), tar::EntryType::Regular, 0),
                vec![],
            )
        };
        let tenant = |uuid: &str, name: &str, origin: &str| TenantEntry {
            uuid: uuid.into(),
            slug: "acme".into(),
            name: name.into(),
            created_at: 0,
            sites: vec![SiteEntry {
                site_key: format!("site_{}", "ab".repeat(16)),
                origins: vec![origin.into()],
                look: Default::default(),
                tracking: Default::default(),
                notices: Vec::new(),
                words: Default::default(),
                form: Default::default(),
            }],
            member: format!("tenants/{UUID}.db"),
            tables: Vec::new(),
            erasures: Vec::new(),
        };
        for (t, says) in [
            (tenant(UUID, "Acme", "*"), "origin"),
            (
                tenant(UUID, "Acme", "https://a.example; report-uri https://evil"),
                "origin",
            ),
            (
                tenant(UUID, "Acme\n admin login OK", "https://a.example"),
                "control",
            ),
            (
                tenant(&UUID.to_uppercase(), "Acme", "https://a.example"),
                "canonical",
            ),
        ] {
            let err = check_with_tenants(plain(), vec![t]);
            assert!(err.contains(says), "{err} should say {says:?}");
        }
    }
}
