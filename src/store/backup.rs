//! Encrypted backups: one tar archive per run, a manifest sealed with the backup key, and one
//! SQLCipher member per tenant, exported from a consistent snapshot (`sqlcipher_export` in one
//! read transaction) and keyed by the backup key, never by the live keys. Restoring checks
//! everything first, then re-keys each member under the live tenant key and swaps it in.

use super::connection::{self, Mode};
use super::remove_side_files;
use super::system::{self, SiteEntry};
use super::{Store, chat, migrations};
use crate::crypto::{self, Key};
use crate::error::{Error, Result};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The archive format this kontor writes and reads.
pub const FORMAT: u32 = 1;
const MANIFEST: &str = "manifest.sealed";
/// Last member: an HMAC over the whole archive file (with these 32 bytes taken as zero), so
/// a change anywhere (headers, padding, the end) is refused, not only in what we read.
const MAC: &str = "archive.mac";

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
            super::write_new_key(path, "backup key")
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

fn member_key(backup: &Key, archive_id: &str, uuid: &str) -> Key {
    backup.derive(&format!("kontor backup member v1 {archive_id} {uuid}"))
}

fn manifest_key(backup: &Key) -> LessSafeKey {
    let k = backup.derive("kontor backup manifest v1");
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, k.expose()).expect("32-byte key"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    crypto::hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// Exports a live database into `dest`, keyed by `dest_key`, from one consistent snapshot.
pub(crate) fn export(conn: &rusqlite::Connection, dest: &Path, dest_key: &Key) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let dest_str = dest
        .to_str()
        .ok_or_else(|| Error::Invalid("backup path is not UTF-8".into()))?;
    // Our connections may not create files; an empty file is an empty database to SQLite.
    fs::File::create(dest).map_err(|e| Error::io(format!("creating {}", dest.display()), e))?;
    // The attached copy gets the same cipher settings as every kontor file.
    conn.execute_batch("PRAGMA cipher_default_hmac_algorithm = HMAC_SHA256;")?;
    conn.execute(
        &format!(
            "ATTACH DATABASE ?1 AS backup KEY {}",
            dest_key.sqlcipher_literal()
        ),
        [dest_str],
    )?;
    // One read transaction: every table comes from the same snapshot.
    let result = conn.execute_batch(&format!(
        "BEGIN; SELECT sqlcipher_export('backup'); PRAGMA backup.user_version = {version}; COMMIT;"
    ));
    if result.is_err() {
        let _ = conn.execute_batch("ROLLBACK;");
    }
    let detached = conn.execute_batch("DETACH DATABASE backup;");
    result?;
    detached?;
    Ok(())
}

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
        super::create_private_dir(out_dir)?;
    }
    let tenants = match tenant {
        Some(slug) => vec![store.tenant_record(slug)?],
        None => store.list_tenants()?,
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
        let sites = store.system(|c| SiteEntry::all_of(c, &t.uuid))?;
        entries.push(TenantEntry {
            uuid: t.uuid.clone(),
            slug: t.slug.clone(),
            name: t.name.clone(),
            created_at: t.created_at,
            sites,
            member,
            tables,
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
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(at.max(0) as u64);
    header.set_cksum();
    tar.append_data(&mut header, path, bytes)
        .map_err(|e| Error::io("writing the archive", e))
}

fn seal(backup: &Key, manifest: &Manifest) -> Result<Vec<u8>> {
    let mut buf = serde_json::to_vec(manifest).map_err(|e| Error::Internal(e.to_string()))?;
    let nonce: [u8; NONCE_LEN] = crypto::random_array();
    manifest_key(backup)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(b"kontor backup manifest"),
            &mut buf,
        )
        .map_err(|_| Error::Internal("sealing the manifest failed".into()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    Ok(out)
}

fn unseal(backup: &Key, sealed: &[u8]) -> Result<Manifest> {
    let refuse = || {
        Error::Invalid(
            "the archive's manifest does not open with this backup key: wrong key, or the archive was altered".into(),
        )
    };
    if sealed.len() < NONCE_LEN {
        return Err(refuse());
    }
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let mut buf = rest.to_vec();
    let plain = manifest_key(backup)
        .open_in_place(
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| refuse())?,
            Aad::from(b"kontor backup manifest"),
            &mut buf,
        )
        .map_err(|_| refuse())?;
    let m: Manifest = serde_json::from_slice(plain).map_err(|_| refuse())?;
    if m.format != FORMAT {
        return Err(Error::Invalid(format!(
            "archive format {} is not supported (this kontor reads {FORMAT})",
            m.format
        )));
    }
    Ok(m)
}

/// An archive read into a work directory and checked completely.
pub struct Checked {
    /// Its manifest.
    pub manifest: Manifest,
    work: tempfile::TempDir,
}

impl Checked {
    fn member_path(&self, uuid: &str) -> PathBuf {
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
        let cipher: Vec<String> = conn
            .prepare("PRAGMA cipher_integrity_check")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
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

/// A tenant `backup restore` swapped in, with what its chat log lost by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restored {
    /// The tenant's slug.
    pub slug: String,
    /// Chat entries acknowledged after the backup was made (also while the restore ran) that
    /// the restored log does not hold; `None` when the replaced log could not be read.
    pub dropped_entries: Option<u64>,
    /// Chats those entries belonged to; `None` when the replaced log could not be read.
    pub dropped_chats: Option<u64>,
}

/// What replacing a chat log with another drops, from each log's last seq per conversation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Dropped {
    /// Entries beyond the new log's last seq of their conversation.
    entries: u64,
    /// Conversations with such entries.
    chats: u64,
}

impl Dropped {
    /// Seqs are gap-free from 1 in every conversation, so what the live log holds beyond the
    /// restored one's last seq is exactly what goes (a conversation the restored log lacks
    /// loses all of it).
    fn between(live: &HashMap<i64, i64>, restored: &HashMap<i64, i64>) -> Dropped {
        let mut d = Dropped::default();
        for (conversation, last) in live {
            let lost = last - restored.get(conversation).copied().unwrap_or(0);
            if lost > 0 {
                d.entries += lost as u64;
                d.chats += 1;
            }
        }
        d
    }
}

/// Restores every tenant of a checked archive (or one), re-keyed under live keys, swapped in
/// atomically. `close` is called for each tenant just before its file is replaced, so a
/// running server can drop its open handles. A tenant that existed here gets a new log epoch,
/// so clients drop what they hold of the replaced log.
pub fn restore(
    store: &Store,
    backup: &Key,
    checked: &Checked,
    only: Option<&str>,
    close: &mut dyn FnMut(&str),
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Restored>> {
    let chosen: Vec<&TenantEntry> = checked
        .manifest
        .tenants
        .iter()
        .filter(|t| only.is_none_or(|s| s == t.slug))
        .collect();
    if chosen.is_empty() {
        return Err(Error::NotFound(format!(
            "tenant {:?} in this archive",
            only.unwrap_or("")
        )));
    }
    let mut restored = Vec::new();
    for (i, t) in chosen.iter().enumerate() {
        progress(&format!("[{}/{}] tenant {}", i + 1, chosen.len(), t.slug));
        let member = member_key(backup, &checked.manifest.archive_id, &t.uuid);
        // The live key if the tenant exists here, else a fresh one.
        let existing = store.system(|c| system::tenant_by_uuid(c, &t.uuid))?;
        if existing.is_none() && store.tenant_record(&t.slug).is_ok() {
            return Err(Error::Conflict(format!(
                "a different tenant named {:?} exists here; delete or rename it first",
                t.slug
            )));
        }
        let live_key = match &existing {
            Some(_) => store.tenant_key(&t.uuid)?,
            None => Key::generate(),
        };
        let target = store.tenant_path(&t.uuid);
        let fresh = target.with_extension("db.restore");
        let _ = fs::remove_file(&fresh);
        {
            let mut src = connection::open(&checked.member_path(&t.uuid), &member, Mode::Existing)?;
            migrations::apply(&mut src, migrations::TENANT)?;
            export(&src, &fresh, &live_key)?;
        }
        // Bit for bit: every table of the new file matches the snapshot before it goes live.
        let copied = table_checksums(&connection::open(&fresh, &live_key, Mode::Existing)?)?;
        remove_side_files(&fresh);
        let expected = {
            let mut c = connection::open(&checked.member_path(&t.uuid), &member, Mode::Existing)?;
            migrations::apply(&mut c, migrations::TENANT)?;
            table_checksums(&c)?
        };
        if copied != expected {
            let _ = fs::remove_file(&fresh);
            return Err(Error::Internal(format!(
                "restoring {}: the copy does not match the snapshot; nothing was replaced",
                t.slug
            )));
        }
        // After the comparison, which must see the snapshot as it was: a log that replaces
        // one clients have seen gets a new identity. A move keeps the one its clients know.
        let restored_seqs = {
            let c = connection::open(&fresh, &live_key, Mode::Existing)?;
            if existing.is_some() {
                chat::renew_log_epoch(&c)?;
            }
            connection::checkpoint(&c)?;
            chat::last_seqs(&c)?
        };
        remove_side_files(&fresh);
        fs::File::open(&fresh)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io("syncing the restored file", e))?;
        if existing.is_none() {
            let wrapped = store.wrap(&live_key, &t.uuid);
            store.system(|c| {
                system::insert_tenant_with_uuid(
                    c,
                    &t.uuid,
                    &t.slug,
                    &t.name,
                    &wrapped,
                    t.created_at,
                )
            })?;
        }
        store.system(|c| {
            for s in &t.sites {
                system::restore_site(c, &t.uuid, s)?;
            }
            system::log_operator(c, "backup.restore", &t.slug, "ok")
        })?;
        // Nobody writes to (or opens) the live file while it is replaced.
        let hold = store.hold(&t.uuid, close)?;
        // Counted under the hold: entries acknowledged while the restore ran are in it too.
        let dropped = match existing {
            None => Some(Dropped::default()),
            Some(_) => match live_last_seqs(&target, &live_key) {
                Ok(live) => Some(Dropped::between(&live, &restored_seqs)),
                Err(e) => {
                    // A damaged live file is a reason to restore, not to refuse.
                    tracing::warn!(tenant = %t.slug, error = %e, "restore: the replaced chat log could not be read; what the restore drops is not counted");
                    None
                }
            },
        };
        remove_side_files(&target);
        fs::rename(&fresh, &target).map_err(|e| Error::io("swapping the restored file in", e))?;
        if let Some(dir) = target.parent() {
            let _ = fs::File::open(dir).and_then(|d| d.sync_all());
        }
        drop(hold);
        restored.push(Restored {
            slug: t.slug.clone(),
            dropped_entries: dropped.map(|d| d.entries),
            dropped_chats: dropped.map(|d| d.chats),
        });
    }
    Ok(restored)
}

/// The last seq of every conversation in a tenant's file (not open elsewhere: it is held).
fn live_last_seqs(path: &Path, key: &Key) -> Result<HashMap<i64, i64>> {
    let c = connection::open(path, key, Mode::Existing)?;
    chat::last_seqs(&c)
}

/// An archive as `backup list` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Listed {
    /// The file.
    pub file: PathBuf,
    /// Bytes.
    pub bytes: u64,
    /// Unix seconds, from the manifest (None when it does not open with the key).
    pub created_at: Option<i64>,
    /// Tenant slugs.
    pub tenants: Vec<String>,
}

/// The archives in a directory, newest first.
pub fn list(dir: &Path, backup: &Key) -> Result<Vec<Listed>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(format!("reading {}", dir.display()), e)),
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("tar") {
            continue;
        }
        let bytes = e.metadata().map(|m| m.len()).unwrap_or(0);
        let manifest = read_manifest(&path).and_then(|s| unseal(backup, &s)).ok();
        out.push(Listed {
            file: path,
            bytes,
            created_at: manifest.as_ref().map(|m| m.created_at),
            tenants: manifest
                .map(|m| m.tenants.into_iter().map(|t| t.slug).collect())
                .unwrap_or_default(),
        });
    }
    out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.file.cmp(&a.file)));
    Ok(out)
}

fn read_manifest(archive: &Path) -> Result<Vec<u8>> {
    let file = fs::File::open(archive).map_err(|e| Error::io("opening the archive", e))?;
    let mut tar = tar::Archive::new(file);
    for entry in tar
        .entries()
        .map_err(|e| Error::io("reading the archive", e))?
    {
        let mut entry = entry.map_err(|e| Error::io("reading the archive", e))?;
        if entry
            .path()
            .map(|p| p.to_string_lossy() == MANIFEST)
            .unwrap_or(false)
        {
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| Error::io("reading the archive", e))?;
            return Ok(bytes);
        }
    }
    Err(Error::Invalid("no manifest".into()))
}

/// SHA-256 over each table's rows in a total order (all columns), with SQLite's type of every
/// value, so any changed, missing or extra row shows. Tables in name order.
pub fn table_checksums(c: &rusqlite::Connection) -> Result<Vec<(String, String)>> {
    use rusqlite::types::ValueRef;
    let tables: Vec<String> = c
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    for t in tables {
        let n = c
            .prepare(&format!("SELECT * FROM \"{t}\" LIMIT 0"))?
            .column_count();
        let order: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
        let mut stmt = c.prepare(&format!(
            "SELECT * FROM \"{t}\" ORDER BY {}",
            order.join(", ")
        ))?;
        let mut rows = stmt.query([])?;
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        while let Some(row) = rows.next()? {
            for i in 0..n {
                match row.get_ref(i)? {
                    ValueRef::Null => ctx.update(b"N"),
                    ValueRef::Integer(v) => {
                        ctx.update(b"I");
                        ctx.update(&v.to_le_bytes());
                    }
                    ValueRef::Real(v) => {
                        ctx.update(b"R");
                        ctx.update(&v.to_le_bytes());
                    }
                    ValueRef::Text(b) | ValueRef::Blob(b) => {
                        ctx.update(b"T");
                        ctx.update(&(b.len() as u64).to_le_bytes());
                        ctx.update(b);
                    }
                }
            }
        }
        out.push((t, crypto::hex(ctx.finish().as_ref())));
    }
    Ok(out)
}

fn archive_mac_key(backup: &Key) -> ring::hmac::Key {
    ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        backup.derive("kontor backup archive mac v1").expose(),
    )
}

/// Where the MAC member's 32 bytes are in an archive.
fn mac_offset(bytes: &[u8]) -> Option<usize> {
    let mut tar = tar::Archive::new(std::io::Cursor::new(bytes));
    let mut found = None;
    for entry in tar.entries().ok()? {
        let entry = entry.ok()?;
        if entry.path().ok()?.to_string_lossy() == MAC && entry.size() == 32 {
            found = Some(entry.raw_file_position() as usize);
        }
    }
    found.filter(|o| o + 32 <= bytes.len())
}

/// Writes the archive's MAC into its last member.
fn seal_archive(file: &mut fs::File, path: &Path, backup: &Key) -> Result<()> {
    use std::io::{Seek, SeekFrom};
    file.flush()
        .map_err(|e| Error::io("writing the archive", e))?;
    let bytes = fs::read(path).map_err(|e| Error::io("reading the archive back", e))?;
    let offset =
        mac_offset(&bytes).ok_or_else(|| Error::Internal("archive has no MAC member".into()))?;
    let tag = ring::hmac::sign(&archive_mac_key(backup), &bytes);
    file.seek(SeekFrom::Start(offset as u64))
        .and_then(|_| file.write_all(tag.as_ref()))
        .map_err(|e| Error::io("sealing the archive", e))
}

/// Whether the archive's MAC matches its bytes (with the MAC itself taken as zero).
fn archive_mac_ok(bytes: &[u8], backup: &Key) -> bool {
    let Some(offset) = mac_offset(bytes) else {
        return false;
    };
    let stored = bytes[offset..offset + 32].to_vec();
    let mut zeroed = bytes.to_vec();
    zeroed[offset..offset + 32].fill(0);
    ring::hmac::verify(&archive_mac_key(backup), &zeroed, &stored).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restore_drops_what_the_live_log_holds_beyond_the_restored_one() {
        let live = HashMap::from([(1, 5), (2, 3), (3, 2), (4, 7)]);
        // 1: two newer entries; 2: unchanged; 3: not in the backup at all; 4: the restored
        // log holds more (nothing of it is lost); 5: only in the backup.
        let restored = HashMap::from([(1, 3), (2, 3), (4, 9), (5, 1)]);
        assert_eq!(
            Dropped::between(&live, &restored),
            Dropped {
                entries: 4,
                chats: 2
            }
        );
        assert_eq!(Dropped::between(&live, &live), Dropped::default());
        assert_eq!(
            Dropped::between(&HashMap::new(), &restored),
            Dropped::default()
        );
    }
}
