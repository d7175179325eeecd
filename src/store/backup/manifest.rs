//! What a backup archive is made of: its members' names, the manifest listing its tenants
//! and members, the keys derived for them from the backup key, and where that key lives.

use crate::crypto::{self, Key};
use crate::error::{Error, Result};
use crate::store::archive::{Limits, Members};
use crate::store::gdpr::Carried;
use crate::store::system::SiteEntry;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

/// The archive format this kontor writes and reads.
pub const FORMAT: u32 = 1;

pub(super) const MANIFEST: &str = "manifest.sealed";

/// A backup holds its manifest, its MAC and one member per tenant: a bound far above any
/// server's tenants, yet one on the work spent on an archive of countless tiny members.
pub(super) const MAX_MEMBERS: usize = 100_000;

/// Last member: an HMAC over the whole archive file (with these 32 bytes taken as zero), so
/// a change anywhere (headers, padding, the end) is refused, not only in what we read.
pub(super) const MAC: &str = "archive.mac";

/// What an archive holds (sealed inside it; readable only with the backup key).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Archive format.
    pub format: u32,
    /// The kontor that wrote it.
    pub kontor_version: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Random id; with the backup key it derives each member's key.
    pub archive_id: String,
    /// The tenants in it.
    pub tenants: Vec<TenantEntry>,
    /// Every member with its SHA-256.
    pub members: Vec<Member>,
}

/// A tenant as the archive records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TenantEntry {
    /// uuid (also the member's name).
    pub uuid: String,
    /// slug.
    pub slug: String,
    /// name.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Its sites.
    pub sites: Vec<SiteEntry>,
    /// The member holding its database.
    pub member: String,
    /// SHA-256 of every table's rows in key order, as the snapshot saw them.
    pub tables: Vec<(String, String)>,
    /// The tenant's erasure ledger (salted hashes, no content), merged into the ledger of the
    /// server that restores the archive and replayed there. Absent in older archives.
    #[serde(default)]
    pub erasures: Vec<Carried>,
}

/// One file in the archive.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    /// Path inside the archive.
    pub path: String,
    /// Hex SHA-256 of its bytes.
    pub sha256: String,
    /// Bytes.
    pub bytes: u64,
}

/// Where the backup key comes from: `$CREDENTIALS_DIRECTORY/backup.key`, else an explicit
/// file, else `DATA_DIR/backup.key`.
pub fn backup_key_path(data_dir: &Path, explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
        let p = Path::new(&dir).join("backup.key");
        if p.exists() {
            return p;
        }
    }
    data_dir.join("backup.key")
}

/// Reads the backup key; creates it (0600) when `create` and it does not exist.
pub fn backup_key(path: &Path, create: bool) -> Result<Key> {
    match fs::read(path) {
        Ok(bytes) => Key::from_slice(&bytes).ok_or_else(|| {
            Error::Invalid(format!(
                "backup key {} must hold exactly 32 bytes",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            crate::store::write_new_key(path, "backup key")
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::Invalid(format!(
            "no backup key at {}; pass --backup-key FILE",
            path.display()
        ))),
        Err(e) => Err(Error::io(
            format!("reading backup key {}", path.display()),
            e,
        )),
    }
}

pub(super) fn member_key(backup: &Key, archive_id: &str, uuid: &str) -> Key {
    backup.derive(&format!("kontor backup member v1 {archive_id} {uuid}"))
}

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    crypto::hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// The sealed manifest's bytes, read within the same limits as a restore's.
pub(super) fn read_manifest(archive: &Path) -> Result<Vec<u8>> {
    let file = fs::File::open(archive).map_err(|e| Error::io("opening the archive", e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("reading the archive", e))?
        .len();
    let mut tar = tar::Archive::new(file);
    let mut members = Members::new(&mut tar, Limits::for_archive(len, MAX_MEMBERS))?;
    while let Some(member) = members.next_member()? {
        if member.path == MANIFEST {
            return member.bytes();
        }
    }
    Err(Error::Invalid("no manifest".into()))
}
