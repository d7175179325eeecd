//! Contract end: a tenant's whole data in a documented, machine-readable file
//! (`docs/operator-guide.md`, "Moving a tenant"), brought into another kontor by import.
//!
//! The plain form is a tar archive: `manifest.json` (format, tenant, schema version, sites,
//! and per table its columns, row count and checksum) and `tables/NAME.jsonl` (one JSON array
//! per row, values in column order; blobs as `{"hex": "…"}`). Sign-in sessions, half-done
//! sign-ins and unconfirmed two-factor set-ups are left out; confirmed second factors move.
//! Unless `--plain` is asked for, the archive is encrypted under a passphrase: argon2id derives
//! the key, AES-256-GCM seals it in 1 MiB chunks whose nonces count up and mark the last one,
//! so chunks can be neither reordered nor cut off.

use super::snapshot::{self, table_checksums};
use super::system::SiteEntry;
use super::{Store, archive, gdpr, migrations, system};
use crate::error::{Error, Result};
use crate::model::tenants::TenantInfo;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use rusqlite::Connection;
use rusqlite::types::{Value as SqlValue, ValueRef};
use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// The format's name in the manifest.
pub const FORMAT: &str = "kontor-tenant-export/1";
/// The first bytes of an encrypted export.
const MAGIC: &[u8; 16] = b"KONTOR-EXPORT-1\n";
const CHUNK: usize = 1 << 20;
/// Tables that do not move: sign-ins, half-done ones and unconfirmed enrolments belong to
/// this server.
const SKIPPED: [&str; 3] = ["sessions", "sign_in_challenges", "totp_pending"];

/// The tables left out: all of [`SKIPPED`], or, for a move between hosts (where the agents'
/// sign-ins go on, behind the same address), all but `sessions` (the first).
fn skipped(sessions: bool) -> &'static [&'static str] {
    if sessions { &SKIPPED[1..] } else { &SKIPPED }
}

/// One table in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableInfo {
    /// Table name.
    pub name: String,
    /// Column names, in the order of each row's values.
    pub columns: Vec<String>,
    /// Rows.
    pub rows: u64,
    /// SHA-256 over every row in key order (as `kontor backup verify` computes it).
    pub checksum: String,
}

/// What the archive says about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// The kontor that wrote it.
    pub kontor_version: String,
    /// RFC 3339.
    pub exported_at: String,
    /// The tenant.
    pub tenant: TenantInfo,
    /// Schema version of the tables (number of migrations applied).
    pub schema_version: usize,
    /// The tenant's sites (with their public keys, so embedded snippets keep working).
    pub sites: Vec<SiteEntry>,
    /// Every table.
    pub tables: Vec<TableInfo>,
    /// The tenant's erasure ledger (salted hashes, no content), merged into the importing
    /// server's ledger and replayed there. Absent in older exports.
    #[serde(default)]
    pub erasures: Vec<gdpr::Carried>,
    /// The agents' sign-in sessions are in it: a move between hosts behind one address
    /// (`kontor tenant move-out`), where agents stay signed in. Absent in other exports.
    #[serde(default)]
    pub sessions: bool,
}

fn to_json(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => json!(n),
        ValueRef::Real(f) => json!(f),
        ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => json!({ "hex": crate::crypto::hex(b) }),
    }
}

/// One value of a row, read straight into SQLite's types. No JSON tree is built in between,
/// so a crafted row costs no more memory than its bytes (a line of a million `0,` would be
/// a million 32-byte `Value`s), and an array or object where a value belongs is refused at
/// its first byte.
struct Cell(SqlValue);

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Cell, D::Error> {
        d.deserialize_any(CellVisitor)
    }
}

struct CellVisitor;

impl<'de> Visitor<'de> for CellVisitor {
    type Value = Cell;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("null, a number, a string or {\"hex\": \"…\"}")
    }

    fn visit_unit<E>(self) -> std::result::Result<Cell, E> {
        Ok(Cell(SqlValue::Null))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<Cell, E> {
        Ok(Cell(SqlValue::Integer(v)))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<Cell, E> {
        Ok(Cell(
            i64::try_from(v).map_or(SqlValue::Real(v as f64), SqlValue::Integer),
        ))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<Cell, E> {
        Ok(Cell(SqlValue::Real(v)))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<Cell, E> {
        Ok(Cell(SqlValue::Text(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> std::result::Result<Cell, E> {
        Ok(Cell(SqlValue::Text(v)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Cell, A::Error> {
        let bad = || A::Error::custom("a blob must be {\"hex\": \"…\"}");
        if map.next_key::<String>()?.as_deref() != Some("hex") {
            return Err(bad());
        }
        let hex: String = map.next_value()?;
        if map.next_key::<String>()?.is_some() {
            return Err(bad());
        }
        let blob = crate::crypto::unhex(&hex).ok_or_else(bad)?;
        Ok(Cell(SqlValue::Blob(blob)))
    }
}

/// One row: a JSON array of at most `columns` values, refused at the first value beyond.
struct Row {
    columns: usize,
}

impl<'de> DeserializeSeed<'de> for Row {
    type Value = Vec<SqlValue>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Vec<SqlValue>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Row {
    type Value = Vec<SqlValue>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "an array of {} values", self.columns)
    }

    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut values = Vec::with_capacity(self.columns);
        while let Some(Cell(v)) = seq.next_element()? {
            if values.len() == self.columns {
                return Err(A::Error::invalid_length(values.len() + 1, &self));
            }
            values.push(v);
        }
        if values.len() != self.columns {
            return Err(A::Error::invalid_length(values.len(), &self));
        }
        Ok(values)
    }
}

/// The longest row line an import reads: the largest row holds a file of at most 10 MiB
/// (`domain::files::MAX_BYTES`), 20 MiB as hex, plus a few short columns.
const MAX_LINE: usize = 32 << 20;

/// The tables that move, by name.
fn tables(c: &Connection, skip: &[&str]) -> Result<Vec<String>> {
    Ok(snapshot::tables(c)?
        .into_iter()
        .filter(|t| !skip.contains(&t.as_str()))
        .collect())
}

fn checksums(c: &Connection, skip: &[&str]) -> Result<Vec<(String, String)>> {
    Ok(table_checksums(c)?
        .into_iter()
        .filter(|(t, _)| !skip.contains(&t.as_str()))
        .collect())
}

/// Writes every table of the tenant (in one read transaction, so the export is a snapshot)
/// as the archive's files.
fn snapshot(
    c: &mut Connection,
    tenant: TenantInfo,
    sites: Vec<SiteEntry>,
    erasures: Vec<gdpr::Carried>,
    sessions: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<(String, Vec<u8>)>> {
    let tx = c.transaction()?;
    let skip = skipped(sessions);
    let sums = checksums(&tx, skip)?;
    let mut files = Vec::new();
    let mut infos = Vec::new();
    for name in tables(&tx, skip)? {
        let mut stmt = tx.prepare(&format!("SELECT * FROM \"{name}\""))?;
        let columns: Vec<String> = stmt.column_names().map(String::from).collect();
        let mut body = Vec::new();
        let mut rows = 0u64;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let values: Vec<Value> = (0..columns.len())
                .map(|i| r.get_ref(i).map(to_json))
                .collect::<rusqlite::Result<_>>()?;
            serde_json::to_writer(&mut body, &values)
                .map_err(|e| Error::Internal(format!("export: {e}")))?;
            body.push(b'\n');
            rows += 1;
        }
        progress(&format!("{name}: {rows} rows"));
        let checksum = sums
            .iter()
            .find(|(t, _)| *t == name)
            .map(|(_, s)| s.clone())
            .unwrap_or_default();
        infos.push(TableInfo {
            name: name.clone(),
            columns,
            rows,
            checksum,
        });
        files.push((format!("tables/{name}.jsonl"), body));
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        kontor_version: env!("CARGO_PKG_VERSION").into(),
        exported_at: crate::clock::rfc3339(crate::clock::now()),
        tenant,
        schema_version: migrations::version(&tx)?,
        sites,
        tables: infos,
        erasures,
        sessions,
    };
    tx.commit()?;
    let m = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::Internal(format!("export: {e}")))?;
    files.insert(0, ("manifest.json".into(), m));
    Ok(files)
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Exported {
    /// The file.
    pub file: std::path::PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Whether it is encrypted.
    pub encrypted: bool,
    /// Rows per table.
    pub tables: Vec<(String, u64)>,
}

/// Exports the tenant `slug` to `out` (encrypted under `passphrase`, or plain without one).
pub fn export(
    store: &Store,
    slug: &str,
    out: &Path,
    passphrase: Option<&str>,
    progress: &mut dyn FnMut(&str),
) -> Result<Exported> {
    if let Some(p) = passphrase {
        check_passphrase(p)?;
    }
    let (rec, db) = store.tenant_db_by_slug(slug)?;
    write(store, &rec, &db, out, passphrase, false, progress)
}

/// The final export of a move to another host: the drained tenant (see `Store::drain`)
/// with its agents' sign-in sessions, always encrypted (the passphrase is the secret the
/// two hosts share for the move).
pub fn export_for_move(
    store: &Store,
    slug: &str,
    out: &Path,
    passphrase: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<Exported> {
    check_passphrase(passphrase)?;
    let rec = store.tenant_record(slug)?;
    let db = store.drained_db(&rec.uuid)?;
    write(store, &rec, &db, out, Some(passphrase), true, progress)
}

fn write(
    store: &Store,
    rec: &system::TenantRecord,
    db: &super::TenantDb,
    out: &Path,
    passphrase: Option<&str>,
    sessions: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<Exported> {
    let (sites, erasures) = store.system(|c| {
        Ok((
            SiteEntry::all_of(c, &rec.uuid)?,
            gdpr::carried(c, &rec.uuid)?,
        ))
    })?;
    let info = TenantInfo {
        uuid: rec.uuid.clone(),
        slug: rec.slug.clone(),
        name: rec.name.clone(),
        created_at: rec.created_at,
    };
    let files = db.with(|c| snapshot(c, info, sites, erasures, sessions, progress))?;
    let mut tables = Vec::new();
    let mut tar = tar::Builder::new(Vec::new());
    for (path, body) in &files {
        if let Some(t) = path
            .strip_prefix("tables/")
            .and_then(|p| p.strip_suffix(".jsonl"))
        {
            tables.push((
                t.to_string(),
                body.iter().filter(|b| **b == b'\n').count() as u64,
            ));
        }
        archive::append(&mut tar, path, body, crate::clock::now())
            .map_err(|e| Error::io("building the export", e))?;
    }
    let plain = tar
        .into_inner()
        .map_err(|e| Error::io("building the export", e))?;
    let bytes = match passphrase {
        Some(p) => {
            progress("encrypting");
            seal(&plain, p)?
        }
        None => plain,
    };
    write_private(out, &bytes)?;
    Ok(Exported {
        file: out.to_path_buf(),
        bytes: bytes.len() as u64,
        encrypted: passphrase.is_some(),
        tables,
    })
}

/// Writes `bytes` to `path` owner-only, through a temporary file renamed into place.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(path, bytes, 0o600)
}

/// Writes `bytes` to `path` with permissions `mode` through a temporary file beside it,
/// synced and renamed into place: a reader sees the old file or the new one, never half.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let io = |e: std::io::Error| Error::io(format!("writing {}", path.display()), e);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".kontor-")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Refuses a passphrase too short to protect an export.
pub(crate) fn check_passphrase(p: &str) -> Result<()> {
    if p.chars().count() < 12 {
        return Err(Error::Invalid(
            "the passphrase needs at least 12 characters".into(),
        ));
    }
    Ok(())
}

fn derive(passphrase: &str, salt: &[u8]) -> Result<LessSafeKey> {
    let params = argon2::Params::new(64 * 1024, 3, 1, Some(32))
        .map_err(|e| Error::Internal(format!("argon2: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = [0u8; 32];
    argon
        .hash_password_into(passphrase.as_bytes(), salt, &mut key)
        .map_err(|e| Error::Internal(format!("argon2: {e}")))?;
    let k = UnboundKey::new(&AES_256_GCM, &key).map_err(|_| Error::Internal("aead".into()))?;
    key.fill(0);
    Ok(LessSafeKey::new(k))
}

fn nonce(prefix: &[u8; 7], counter: u32, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

/// Encrypts an archive: MAGIC, salt (16), nonce prefix (7), then chunks (u32 length, sealed).
fn seal(plain: &[u8], passphrase: &str) -> Result<Vec<u8>> {
    let salt: [u8; 16] = crate::crypto::random_array();
    let prefix: [u8; 7] = crate::crypto::random_array();
    let key = derive(passphrase, &salt)?;
    let mut out = Vec::with_capacity(plain.len() + plain.len() / CHUNK * 20 + 64);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&salt);
    out.extend_from_slice(&prefix);
    let chunks: Vec<&[u8]> = if plain.is_empty() {
        vec![&[]]
    } else {
        plain.chunks(CHUNK).collect()
    };
    for (i, chunk) in chunks.iter().enumerate() {
        let mut buf = chunk.to_vec();
        let last = i + 1 == chunks.len();
        key.seal_in_place_append_tag(nonce(&prefix, i as u32, last), Aad::empty(), &mut buf)
            .map_err(|_| Error::Internal("encrypting the export".into()))?;
        out.extend_from_slice(&(buf.len() as u32).to_be_bytes());
        out.extend_from_slice(&buf);
    }
    Ok(out)
}

/// Whether `bytes` is an encrypted export.
pub fn is_encrypted(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

fn open(bytes: &[u8], passphrase: &str) -> Result<Vec<u8>> {
    let wrong = || {
        Error::Invalid(
            "the export cannot be decrypted: wrong passphrase, or the file was changed or cut off"
                .into(),
        )
    };
    let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or_else(wrong)?;
    if rest.len() < 23 {
        return Err(wrong());
    }
    let (salt, rest) = rest.split_at(16);
    let (prefix, mut rest) = rest.split_at(7);
    let prefix: [u8; 7] = prefix.try_into().map_err(|_| wrong())?;
    let key = derive(passphrase, salt)?;
    let mut plain = Vec::with_capacity(rest.len());
    let mut i = 0u32;
    loop {
        if rest.len() < 4 {
            return Err(wrong());
        }
        let len = u32::from_be_bytes(rest[..4].try_into().map_err(|_| wrong())?) as usize;
        let body = rest.get(4..4 + len).ok_or_else(wrong)?;
        rest = &rest[4 + len..];
        let last = rest.is_empty();
        let mut buf = body.to_vec();
        let opened = key
            .open_in_place(nonce(&prefix, i, last), Aad::empty(), &mut buf)
            .map_err(|_| wrong())?;
        plain.extend_from_slice(opened);
        if last {
            return Ok(plain);
        }
        i += 1;
    }
}

/// What an import brought in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Imported {
    /// The tenant's slug.
    pub slug: String,
    /// Its uuid (the same as on the source server).
    pub uuid: String,
    /// Rows per table.
    pub tables: Vec<(String, u64)>,
    /// Sites recreated.
    pub sites: usize,
    /// The agents' sign-in sessions came along (a move between hosts).
    pub sessions: bool,
}

/// Reads an export (decrypting it with `passphrase` when it is encrypted) and creates the
/// tenant here: same uuid, slug, sites and rows; checksums compared before it counts.
pub fn import(
    store: &Store,
    file: &Path,
    passphrase: Option<&str>,
    progress: &mut dyn FnMut(&str),
) -> Result<Imported> {
    let bytes = read_export(file, passphrase, progress)?;
    let (m, bodies) = unpack(file, &bytes)?;
    let (t, sites) = check_manifest(&m)?;
    store.system(|c| {
        for s in &sites {
            if system::site_by_key(c, &s.site_key)?.is_some() {
                return Err(Error::Conflict(format!(
                    "site {} exists already here; the export's sites cannot move in",
                    s.site_key
                )));
            }
        }
        Ok(())
    })?;
    let rec = store.create_tenant_with(
        &t.uuid,
        &t.slug,
        &t.name,
        t.created_at,
        m.schema_version,
        |c| fill(c, &m, &bodies, progress),
    )?;
    store.system(|c| {
        for s in &sites {
            system::restore_site(c, &rec.uuid, s)?;
        }
        // The source's erasures join this server's ledger; the caller replays it.
        gdpr::merge(c, &rec.uuid, &m.erasures)
    })?;
    Ok(Imported {
        slug: rec.slug,
        uuid: rec.uuid,
        tables: m.tables.iter().map(|t| (t.name.clone(), t.rows)).collect(),
        sites: m.sites.len(),
        sessions: m.sessions,
    })
}

/// The export's plain bytes: the file as it is, or decrypted with `passphrase`.
fn read_export(
    file: &Path,
    passphrase: Option<&str>,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| Error::io(format!("reading {}", file.display()), e))?;
    if is_encrypted(&bytes) {
        let p = passphrase.ok_or_else(|| {
            Error::Invalid("this export is encrypted: give its passphrase".into())
        })?;
        progress("decrypting");
        bytes = open(&bytes, p)?;
    }
    Ok(bytes)
}

/// An export holds its manifest and one member per table (25 today): room to grow, but a
/// bound on work spent on an archive of countless tiny members.
const MAX_MEMBERS: usize = 1000;

/// The archive's manifest and its other files by path, read within the archive's limits
/// (`archive::Limits`): together they can never hold more than the archive's own bytes.
fn unpack(file: &Path, bytes: &[u8]) -> Result<(Manifest, BTreeMap<String, Vec<u8>>)> {
    let not_export = |e: Error| {
        Error::Invalid(format!(
            "{} is not a kontor tenant export: {e}",
            file.display()
        ))
    };
    let mut manifest: Option<Manifest> = None;
    let mut bodies = BTreeMap::new();
    let mut tar = tar::Archive::new(bytes);
    let limits = archive::Limits::for_archive(bytes.len() as u64, MAX_MEMBERS);
    let mut members = archive::Members::new(&mut tar, limits).map_err(not_export)?;
    while let Some(member) = members.next_member().map_err(not_export)? {
        let path = member.path.clone();
        let body = member.bytes().map_err(not_export)?;
        if path == "manifest.json" {
            manifest = Some(serde_json::from_slice(&body).map_err(|e| {
                Error::Invalid(format!("the export's manifest is not readable: {e}"))
            })?);
        } else {
            bodies.insert(path, body);
        }
    }
    let m = manifest.ok_or_else(|| {
        Error::Invalid(format!(
            "{} is not a kontor tenant export (no manifest)",
            file.display()
        ))
    })?;
    Ok((m, bodies))
}

/// Refuses an export this kontor cannot take: another format, a newer schema, a tenant or
/// site that would not pass `tenant create` and `site add`. Returns the tenant (its id in
/// canonical form) and sites as they were checked.
fn check_manifest(m: &Manifest) -> Result<(TenantInfo, Vec<SiteEntry>)> {
    if m.format != FORMAT {
        return Err(Error::Invalid(format!(
            "export format {:?} is not one this kontor reads ({FORMAT})",
            m.format
        )));
    }
    if m.schema_version > migrations::TENANT.len() {
        return Err(Error::Conflict(format!(
            "the export comes from a newer kontor ({}); upgrade this one first",
            m.kontor_version
        )));
    }
    let sites = m
        .sites
        .iter()
        .map(SiteEntry::checked)
        .collect::<Result<Vec<_>>>()?;
    gdpr::well_formed(&m.erasures)?;
    Ok((m.tenant.checked()?, sites))
}

/// Fills a new tenant database (at the export's schema version) with the export's rows, in
/// one transaction, and checks they fit together and match the manifest's checksums.
fn fill(
    c: &mut Connection,
    m: &Manifest,
    bodies: &BTreeMap<String, Vec<u8>>,
    progress: &mut dyn FnMut(&str),
) -> Result<()> {
    c.execute_batch("PRAGMA foreign_keys = OFF")?;
    let tx = c.transaction()?;
    let skip = skipped(m.sessions);
    // Only the tables this schema has, each once: names come from the manifest.
    let known = tables(&tx, skip)?;
    let mut seen = std::collections::BTreeSet::new();
    for table in &m.tables {
        if skip.contains(&table.name.as_str()) {
            continue;
        }
        if !known.contains(&table.name) || !seen.insert(&table.name) {
            return Err(Error::Invalid(format!(
                "the export lists table {:?}, which is unknown or listed twice",
                table.name
            )));
        }
        let body = bodies
            .get(&format!("tables/{}.jsonl", table.name))
            .ok_or_else(|| Error::Invalid(format!("the export lacks table {}", table.name)))?;
        let rows = insert_rows(&tx, table, body)?;
        progress(&format!("{}: {rows} rows", table.name));
    }
    check_rows(&tx, m)?;
    tx.commit()?;
    c.execute_batch("PRAGMA foreign_keys = ON")?;
    Ok(())
}

/// Replaces the rows of one table with the export's (one JSON array per line); returns how
/// many, which must be the number the manifest gives.
fn insert_rows(tx: &Connection, table: &TableInfo, body: &[u8]) -> Result<u64> {
    let cols = table
        .columns
        .iter()
        .map(|c| format!("\"{}\"", c.replace('"', "")))
        .collect::<Vec<_>>()
        .join(", ");
    let marks = vec!["?"; table.columns.len()].join(", ");
    let mut stmt = tx
        .prepare(&format!(
            "INSERT INTO \"{}\" ({cols}) VALUES ({marks})",
            table.name.replace('"', "")
        ))
        .map_err(|e| Error::Invalid(format!("table {}: {e}", table.name)))?;
    // Migrations may have seeded a row (audit_chain, stat state): the export's wins.
    tx.execute(
        &format!("DELETE FROM \"{}\"", table.name.replace('"', "")),
        [],
    )?;
    let rows = read_rows(table, body, |values| {
        stmt.execute(rusqlite::params_from_iter(values))?;
        Ok(())
    })?;
    if rows != table.rows {
        return Err(Error::Invalid(format!(
            "table {}: {rows} rows, the manifest says {}",
            table.name, table.rows
        )));
    }
    Ok(rows)
}

/// Reads a table's lines (one JSON array of `table.columns` values each) and hands each row
/// to `each`; returns how many there were. Refuses overlong lines and rows of the wrong shape.
fn read_rows(
    table: &TableInfo,
    body: &[u8],
    mut each: impl FnMut(Vec<SqlValue>) -> Result<()>,
) -> Result<u64> {
    let mut rows = 0u64;
    for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let row = rows + 1;
        if line.len() > MAX_LINE {
            return Err(Error::Invalid(format!(
                "table {}, row {row}: longer than {} MiB",
                table.name,
                MAX_LINE >> 20
            )));
        }
        let values = Row {
            columns: table.columns.len(),
        }
        .deserialize(&mut serde_json::Deserializer::from_slice(line))
        .map_err(|e| Error::Invalid(format!("table {}, row {row}: {e}", table.name)))?;
        each(values)?;
        rows += 1;
    }
    Ok(rows)
}

/// Reads an export as `import` does up to the database, without touching one: decrypts it
/// (with `passphrase`), unpacks it within its limits, checks the manifest as if an admin had
/// typed it, and parses every listed table's rows. Returns rows per table. For checking a
/// file before moving it, and for the hostile-input tests of these readers.
pub fn inspect(bytes: &[u8], passphrase: Option<&str>) -> Result<Vec<(String, u64)>> {
    let opened;
    let plain = if is_encrypted(bytes) {
        let p = passphrase.ok_or_else(|| {
            Error::Invalid("this export is encrypted: give its passphrase".into())
        })?;
        opened = open(bytes, p)?;
        &opened[..]
    } else {
        bytes
    };
    let (m, bodies) = unpack(Path::new("the export"), plain)?;
    check_manifest(&m)?;
    let mut counts = Vec::new();
    for table in m
        .tables
        .iter()
        .filter(|t| !skipped(m.sessions).contains(&t.name.as_str()))
    {
        let body = bodies
            .get(&format!("tables/{}.jsonl", table.name))
            .ok_or_else(|| Error::Invalid(format!("the export lacks table {}", table.name)))?;
        let rows = read_rows(table, body, |_| Ok(()))?;
        if rows != table.rows {
            return Err(Error::Invalid(format!(
                "table {}: {rows} rows, the manifest says {}",
                table.name, table.rows
            )));
        }
        counts.push((table.name.clone(), rows));
    }
    Ok(counts)
}

/// Checks the imported rows: every reference points at a row, and every table matches the
/// checksum the export was made with.
fn check_rows(tx: &Connection, m: &Manifest) -> Result<()> {
    let broken: Option<String> = tx
        .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
        .ok();
    if let Some(table) = broken {
        return Err(Error::Invalid(format!(
            "the export's rows do not fit together (table {table})"
        )));
    }
    let sums = checksums(tx, skipped(m.sessions))?;
    for table in &m.tables {
        let ours = sums.iter().find(|(n, _)| *n == table.name).map(|(_, s)| s);
        if ours != Some(&table.checksum) {
            return Err(Error::Invalid(format!(
                "table {} does not match the export's checksum; nothing was imported",
                table.name
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_archives_open_only_whole_and_with_the_passphrase() {
        let plain: Vec<u8> = (0..(CHUNK * 2 + 100)).map(|i| (i % 251) as u8).collect();
        let sealed = seal(&plain, "correct horse battery").unwrap();
        assert!(is_encrypted(&sealed));
        assert_eq!(open(&sealed, "correct horse battery").unwrap(), plain);
        assert!(open(&sealed, "wrong horse battery!").is_err());
        // Cut off after the first chunk: refused, not a shorter archive.
        let first = 16 + 16 + 7 + 4 + CHUNK + 16;
        assert!(open(&sealed[..first], "correct horse battery").is_err());
        let mut flipped = sealed.clone();
        flipped[100] ^= 1;
        assert!(open(&flipped, "correct horse battery").is_err());
        assert!(open(b"short", "correct horse battery").is_err());
        assert_eq!(
            open(
                &seal(&[], "correct horse battery").unwrap(),
                "correct horse battery"
            )
            .unwrap(),
            b""
        );
        assert!(check_passphrase("short").is_err());
    }

    #[test]
    fn values_round_trip() {
        let cell = |v: &Value| serde_json::from_value::<Cell>(v.clone()).map(|c| c.0);
        for v in [
            json!(null),
            json!(42),
            json!(-1.5),
            json!("ä"),
            json!({"hex": "00ff"}),
        ] {
            let back = to_json(match &cell(&v).unwrap() {
                SqlValue::Null => ValueRef::Null,
                SqlValue::Integer(i) => ValueRef::Integer(*i),
                SqlValue::Real(f) => ValueRef::Real(*f),
                SqlValue::Text(t) => ValueRef::Text(t.as_bytes()),
                SqlValue::Blob(b) => ValueRef::Blob(b),
            });
            assert_eq!(back, v);
        }
        for bad in [
            json!([1]),
            json!(true),
            json!({"hex": "0g"}),
            json!({"hex": "00", "x": 1}),
            json!({"x": "00"}),
        ] {
            assert!(cell(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rows_hold_exactly_their_columns() {
        let row = |line: &str, columns| {
            Row { columns }.deserialize(&mut serde_json::Deserializer::from_str(line))
        };
        assert_eq!(
            row(r#"[1, "a", null]"#, 3).unwrap(),
            vec![
                SqlValue::Integer(1),
                SqlValue::Text("a".into()),
                SqlValue::Null
            ]
        );
        assert!(row("[1, 2]", 3).is_err());
        assert!(row("[1, 2, 3, 4]", 3).is_err());
        assert!(row("[[0, 0, 0]]", 1).is_err());
        assert!(row(r#"{"a": 1}"#, 1).is_err());
    }
}
