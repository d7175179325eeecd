//! Copies of a database under another key, and how to tell a copy holds the same rows: used
//! by backups, key changes, the copy taken before a migration, and tenant exports.

use crate::crypto::{self, Key};
use crate::error::{Error, Result};
use crate::store::connection::{self, Mode};
use crate::store::{remove_side_files, rows};
use rusqlite::Connection;
use std::fs;
use std::path::Path;

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

/// The database's own tables (not SQLite's), by name.
pub(crate) fn tables(c: &Connection) -> Result<Vec<String>> {
    rows::all(
        c,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        [],
        |r| r.get(0),
    )
}

/// SHA-256 over each table's rows in a total order (all columns), with SQLite's type of every
/// value, so any changed, missing or extra row shows. Tables in name order.
pub fn table_checksums(c: &rusqlite::Connection) -> Result<Vec<(String, String)>> {
    use rusqlite::types::ValueRef;
    let mut out = Vec::new();
    for t in tables(c)? {
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

/// Copies `src` into a new file `dest` under `key` ([`export`]) and tells whether every table
/// of the copy holds exactly the rows of `src`. A copy that differs is deleted again.
pub(crate) fn copy_checked(src: &Connection, dest: &Path, key: &Key) -> Result<bool> {
    let _ = fs::remove_file(dest);
    export(src, dest, key)?;
    let expected = table_checksums(src)?;
    let copied = table_checksums(&connection::open(dest, key, Mode::Existing)?)?;
    remove_side_files(dest);
    if copied != expected {
        let _ = fs::remove_file(dest);
        return Ok(false);
    }
    Ok(true)
}

/// Flushes a finished copy to disk before it may replace anything; `what` names it in errors.
pub(crate) fn sync_file(path: &Path, what: &str) -> Result<()> {
    fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(format!("syncing {what}"), e))
}

/// Puts `fresh` in the place of the database file `target` in one rename (so the file is
/// either the old or the new one, never a mix), dropping the old file's WAL side files first
/// and syncing the directory after; `what` names the new file in errors.
pub(crate) fn swap_in(fresh: &Path, target: &Path, what: &str) -> Result<()> {
    remove_side_files(target);
    fs::rename(fresh, target).map_err(|e| Error::io(format!("swapping {what} in"), e))?;
    if let Some(dir) = target.parent() {
        let _ = fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}
