//! Anonymised test copies (`kontor tenant clone SRC --anonymize NEW`): a new tenant with the
//! source's structure and volumes, every personal value replaced by a consistent fake
//! ([`super::anonymize`]), for a test system that needs realistic data.
//!
//! The source is only read, in one read transaction (one consistent snapshot, beside its
//! chat writer). The copy is built in a temporary file under a fresh tenant key, checked,
//! moved into place, and only then registered in `system.db` with its sites under new keys:
//! an interrupted clone leaves no tenant behind, at most a temporary file nobody can read
//! (its key existed only in the process that was stopped).

use super::anonymize::{Anonymizer, columns::DROPPED};
use super::connection::{self, Mode};
use super::snapshot::{self, swap_in, sync_file};
use super::system::{self, SiteEntry};
use super::{Store, TenantDb, audit, migrations, remove_side_files};
use crate::clock::now;
use crate::crypto::{self, Key};
use crate::error::{Error, Result};
use rusqlite::Connection;
use rusqlite::types::Value;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// What a clone made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cloned {
    /// The new tenant's slug.
    pub slug: String,
    /// Its uuid.
    pub uuid: String,
    /// The tenant it was copied from.
    pub source: String,
    /// Rows per table, as in the source (the tables of sign-ins and their secrets: 0).
    pub tables: Vec<(String, u64)>,
    /// Each site's key in the source and in the clone.
    pub sites: Vec<(String, String)>,
    /// The clone's agents' (fake) sign-in addresses.
    pub agents: Vec<String>,
}

/// What to clone into.
pub struct Target<'a> {
    /// The new tenant's slug (checked by the caller).
    pub slug: &'a str,
    /// Its display name (checked by the caller).
    pub name: &'a str,
    /// Makes a new public site key.
    pub new_site_key: &'a dyn Fn() -> String,
}

/// Copies the tenant `source` into a new tenant, anonymised.
pub fn clone_anonymized(
    store: &Store,
    source: &str,
    target: &Target<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<Cloned> {
    if store
        .system(|c| system::tenant_by_slug(c, target.slug))?
        .is_some()
    {
        return Err(Error::Conflict(format!(
            "tenant {:?} exists already",
            target.slug
        )));
    }
    let (rec, db) = store.tenant_db_by_slug(source)?;
    let sites = store.system(|c| SiteEntry::all_of(c, &rec.uuid))?;
    let keys: HashMap<String, String> = sites
        .iter()
        .map(|s| (s.site_key.clone(), (target.new_site_key)()))
        .collect();
    // Agents choose a new password through a reset link: the hash is of a secret nobody keeps.
    let password = crypto::hash_password(&crypto::random_token());
    let anon = Anonymizer::new(keys.clone(), password);

    let uuid = uuid::Uuid::new_v4().to_string();
    let key = Key::generate();
    let path = store.tenant_path(&uuid);
    let dir = path
        .parent()
        .ok_or_else(|| Error::Internal("tenant files have no directory".into()))?;
    let tmp = tempfile::Builder::new()
        .prefix(".clone-")
        .suffix(".db")
        .tempfile_in(dir)
        .map_err(|e| Error::io("creating the clone's file", e))?;
    let built = build(&db, tmp.path(), &key, &anon, source, progress);
    drop(db);
    let (tables, agents) = match built {
        Ok(b) => b,
        Err(e) => {
            remove_side_files(tmp.path());
            return Err(e);
        }
    };
    sync_file(tmp.path(), "the clone")?;
    let (_, tmp_path) = tmp
        .keep()
        .map_err(|e| Error::io("keeping the clone's file", e.error))?;
    swap_in(&tmp_path, &path, "the clone")?;

    let clone_sites: Vec<SiteEntry> = sites
        .iter()
        .map(|s| {
            let mut c = s.clone();
            c.site_key = keys[&s.site_key].clone();
            for n in &mut c.notices {
                n.created_by = anon.actor(&n.created_by);
            }
            c
        })
        .collect();
    let wrapped = store.wrap(&key, &uuid);
    let registered = store.system(|c| {
        let tx = c.transaction()?;
        system::insert_tenant_with_uuid(&tx, &uuid, target.slug, target.name, &wrapped, now())?;
        for s in &clone_sites {
            system::restore_site(&tx, &uuid, s)?;
        }
        system::log_operator(&tx, "tenant.clone", target.slug, "ok")?;
        tx.commit()?;
        Ok(())
    });
    if let Err(e) = registered {
        // Without its row the file can never be opened: it goes.
        super::remove_db_files(&path);
        return Err(e);
    }
    Ok(Cloned {
        slug: target.slug.to_string(),
        uuid,
        source: source.to_string(),
        tables,
        sites: sites
            .iter()
            .map(|s| (s.site_key.clone(), keys[&s.site_key].clone()))
            .collect(),
        agents,
    })
}

/// Rows per table.
type Counts = Vec<(String, u64)>;

/// Builds the clone in `path` under `key` from the source's snapshot: rows per table, and the
/// clone's agents' addresses.
fn build(
    src: &TenantDb,
    path: &Path,
    key: &Key,
    anon: &Anonymizer,
    source: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<(Counts, Vec<String>)> {
    let mut dst = connection::open(path, key, Mode::Create)?;
    migrations::apply(&mut dst, migrations::TENANT)?;
    let tables = src.read(|c| copy(c, &mut dst, anon, source, progress))?;
    let agents = super::rows::all(&dst, "SELECT email FROM agents ORDER BY id", [], |r| {
        r.get(0)
    })?;
    connection::checkpoint(&dst)?;
    drop(dst);
    remove_side_files(path);
    Ok((tables, agents))
}

/// Copies every table from one snapshot of `src` through the anonymiser into `dst`, in one
/// transaction, and checks the result: every reference holds, every table has the source's
/// number of rows, the audit chain is whole.
fn copy(
    src: &mut Connection,
    dst: &mut Connection,
    anon: &Anonymizer,
    source: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<Counts> {
    let from = src.transaction()?;
    if migrations::version(&from)? != migrations::TENANT.len() {
        return Err(Error::Conflict(
            "the source tenant's schema is not this kontor's; open it once with this version"
                .into(),
        ));
    }
    dst.execute_batch("PRAGMA foreign_keys = OFF")?;
    let to = dst.transaction()?;
    let mut counts = Vec::new();
    for table in snapshot::tables(&from)? {
        let quoted = format!("\"{}\"", table.replace('"', ""));
        // Migrations seed a few rows (roles, the audit chain, the log's identity): the
        // source's replace them.
        to.execute(&format!("DELETE FROM {quoted}"), [])?;
        if DROPPED.contains(&table.as_str()) {
            progress(&format!("{table}: left out"));
            counts.push((table, 0));
            continue;
        }
        let rows = copy_table(&from, &to, anon, &table, &quoted, progress)?;
        progress(&format!("{table}: {rows} rows"));
        counts.push((table, rows));
    }
    for (table, rows) in &counts {
        let n: i64 = to.query_row(
            &format!("SELECT count(*) FROM \"{}\"", table.replace('"', "")),
            [],
            |r| r.get(0),
        )?;
        if n as u64 != *rows {
            return Err(Error::Internal(format!(
                "table {table}: {n} rows in the clone, {rows} in the source; nothing was created"
            )));
        }
    }
    let broken: Option<String> = to
        .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
        .ok();
    if let Some(table) = broken {
        return Err(Error::Internal(format!(
            "the clone's rows do not fit together (table {table}); nothing was created"
        )));
    }
    rechain(&to, source)?;
    if !audit::verify(&to)?.intact {
        return Err(Error::Internal(
            "the clone's audit trail does not verify; nothing was created".into(),
        ));
    }
    to.commit()?;
    dst.execute_batch("PRAGMA foreign_keys = ON")?;
    drop(from);
    Ok(counts)
}

/// Copies one table row by row; returns how many.
fn copy_table(
    from: &Connection,
    to: &Connection,
    anon: &Anonymizer,
    table: &str,
    quoted: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<u64> {
    let mut select = from.prepare(&format!("SELECT * FROM {quoted}"))?;
    let columns: Vec<String> = select.column_names().map(String::from).collect();
    let plan = anon.plan(table, &columns)?;
    let names = columns
        .iter()
        .map(|c| format!("\"{}\"", c.replace('"', "")))
        .collect::<Vec<_>>()
        .join(", ");
    let marks = vec!["?"; columns.len()].join(", ");
    let mut insert = to.prepare(&format!("INSERT INTO {quoted} ({names}) VALUES ({marks})"))?;
    let mut rows = select.query([])?;
    let mut n = 0u64;
    while let Some(r) = rows.next()? {
        let mut values = (0..columns.len())
            .map(|i| r.get::<_, Value>(i))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        anon.row(&plan, &mut values);
        insert.execute(rusqlite::params_from_iter(values))?;
        n += 1;
        if n.is_multiple_of(10_000) {
            progress(&format!("{table}: {n} rows …"));
        }
    }
    Ok(n)
}

/// Chains the clone's audit entries afresh (their actors and objects changed, so the source's
/// hashes no longer fit), from a new start, and records the clone as its newest entry.
fn rechain(c: &Connection, source: &str) -> Result<()> {
    c.execute(
        "INSERT OR REPLACE INTO audit_chain (id, start_prev, head_id, head_hash)
         VALUES (1, zeroblob(32), 0, zeroblob(32))",
        [],
    )?;
    c.execute("UPDATE audit_log SET hash = NULL", [])?;
    audit::seal(c)?;
    audit::record(
        c,
        &audit::AuditEntry {
            actor: "operator",
            role: "operator",
            action: "tenant.clone",
            object: &format!("anonymised copy of {source}"),
            result: "success",
            ..Default::default()
        },
    )
}
