//! `backup create`: every tenant (or one) exported from a consistent snapshot under its
//! member key, written with the sealed manifest into one archive that appears complete or
//! not at all.

use super::manifest::{
    FORMAT, MAC, MANIFEST, Manifest, Member, TenantEntry, member_key, sha256_hex,
};
use super::seal::{seal, seal_archive};
use crate::crypto::{self, Key};
use crate::error::{Error, Result};
use crate::store::archive;
use crate::store::connection::{self, Mode};
use crate::store::gdpr;
use crate::store::snapshot::{export, table_checksums};
use crate::store::system::SiteEntry;
use crate::store::{Store, remove_side_files};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What `backup create` wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Created {
    /// The archive.
    pub file: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Tenants in it (slugs).
    pub tenants: Vec<String>,
}

/// Takes an online backup of every tenant (or one) into a new archive in `out_dir`, begun at
/// `created_at` (unix seconds; its name and manifest carry it).
pub fn create(
    store: &Store,
    backup: &Key,
    tenant: Option<&str>,
    out_dir: &Path,
    created_at: i64,
    progress: &mut dyn FnMut(&str),
) -> Result<Created> {
    if !out_dir.exists() {
        crate::store::create_private_dir(out_dir)?;
    }
    let tenants = match tenant {
        Some(slug) => vec![store.tenant_record(slug)?],
        None => store.served_tenants()?,
    };
    let archive_id = crypto::hex(&crypto::random_array::<16>());
    let work = tempfile::Builder::new()
        .prefix(".kontor-backup-")
        .tempdir_in(out_dir)
        .map_err(|e| Error::io("creating a work directory", e))?;
    let mut entries = Vec::new();
    let mut members = Vec::new();
    for (i, t) in tenants.iter().enumerate() {
        progress(&format!("[{}/{}] tenant {}", i + 1, tenants.len(), t.slug));
        let path = work.path().join(format!("{}.db", t.uuid));
        let db = store.tenant_db(&t.uuid)?;
        let mkey = member_key(backup, &archive_id, &t.uuid);
        db.with(|c| export(c, &path, &mkey))?;
        // The member is the snapshot: its rows are what a restore must reproduce.
        let tables = table_checksums(&connection::open(&path, &mkey, Mode::Existing)?)?;
        remove_side_files(&path);
        let bytes = fs::read(&path).map_err(|e| Error::io("reading the export", e))?;
        let member = format!("tenants/{}.db", t.uuid);
        members.push(Member {
            path: member.clone(),
            sha256: sha256_hex(&bytes),
            bytes: bytes.len() as u64,
        });
        let (sites, erasures) =
            store.system(|c| Ok((SiteEntry::all_of(c, &t.uuid)?, gdpr::carried(c, &t.uuid)?)))?;
        entries.push(TenantEntry {
            uuid: t.uuid.clone(),
            slug: t.slug.clone(),
            name: t.name.clone(),
            created_at: t.created_at,
            sites,
            member,
            tables,
            erasures,
        });
    }
    let manifest = Manifest {
        format: FORMAT,
        kontor_version: env!("CARGO_PKG_VERSION").into(),
        created_at,
        archive_id: archive_id.clone(),
        tenants: entries,
        members,
    };
    let stamp = crate::clock::rfc3339(created_at).replace(':', "");
    let name = format!("kontor-{stamp}-{}.tar", &archive_id[..8]);
    let partial = work.path().join(&name);
    {
        let file = fs::File::create(&partial).map_err(|e| Error::io("creating the archive", e))?;
        let mut tar = tar::Builder::new(file);
        let sealed = seal(backup, &manifest)?;
        append(&mut tar, MANIFEST, &sealed, created_at)?;
        for m in &manifest.members {
            let uuid = m
                .path
                .trim_start_matches("tenants/")
                .trim_end_matches(".db");
            let bytes = fs::read(work.path().join(format!("{uuid}.db")))
                .map_err(|e| Error::io("reading the export", e))?;
            append(&mut tar, &m.path, &bytes, created_at)?;
        }
        append(&mut tar, MAC, &[0u8; 32], created_at)?;
        let mut file = tar
            .into_inner()
            .map_err(|e| Error::io("writing the archive", e))?;
        seal_archive(&mut file, &partial, backup)?;
        file.sync_all()
            .map_err(|e| Error::io("syncing the archive", e))?;
    }
    // Appears complete or not at all.
    let dest = out_dir.join(&name);
    fs::rename(&partial, &dest).map_err(|e| Error::io("moving the archive in place", e))?;
    let bytes = fs::metadata(&dest).map(|m| m.len()).unwrap_or(0);
    Ok(Created {
        file: dest,
        bytes,
        tenants: tenants.into_iter().map(|t| t.slug).collect(),
    })
}

fn append<W: Write>(tar: &mut tar::Builder<W>, path: &str, bytes: &[u8], at: i64) -> Result<()> {
    archive::append(tar, path, bytes, at).map_err(|e| Error::io("writing the archive", e))
}
