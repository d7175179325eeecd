//! Replacing a tenant's database key (`kontor tenant rekey`): the database is copied under a
//! fresh key, checked table by table, and swapped in. The new wrapped key is stored as
//! `pending_key` before anything changes on disk, so after a crash at any step one of the two
//! keys opens the file, and opening promotes the pending one when it is the one that fits.

use super::Store;
use super::connection::{self, Mode};
use super::snapshot::{copy_checked, swap_in, sync_file};
use crate::crypto::Key;
use crate::error::{Error, Result};
use rusqlite::params;
use std::fs;

/// Gives the tenant `slug` a new key; `close` stops its live hub first.
pub fn rekey(store: &Store, slug: &str, close: &mut dyn FnMut(&str)) -> Result<()> {
    let rec = store.tenant_record(slug)?;
    let old = store.tenant_key(&rec.uuid)?;
    let new = Key::generate();
    let wrapped = store.wrap(&new, &rec.uuid);
    store.system(|c| {
        c.execute(
            "UPDATE tenants SET pending_key = ?2 WHERE uuid = ?1",
            params![rec.uuid, wrapped],
        )?;
        Ok(())
    })?;
    // Nothing may write while the copy is made: the hub stops, every user lets go, and
    // nobody opens the file again until the new one is in place.
    let hold = store.hold(&rec.uuid, close);
    let result = hold.and_then(|_hold| swap(store, &rec.uuid, &old, &new));
    if result.is_err() {
        // The file was not replaced: neither the copy nor the pending key is needed.
        let _ = fs::remove_file(store.tenant_path(&rec.uuid).with_extension("db.rekey"));
        let _ = store.system(|c| {
            c.execute(
                "UPDATE tenants SET pending_key = NULL WHERE uuid = ?1",
                [&rec.uuid],
            )?;
            Ok(())
        });
    }
    result
}

/// Copies the file under `new`, checks it, swaps it in and promotes the key.
fn swap(store: &Store, uuid: &str, old: &Key, new: &Key) -> Result<()> {
    let target = store.tenant_path(uuid);
    let fresh = target.with_extension("db.rekey");
    let src = connection::open(&target, old, Mode::Existing)?;
    if !copy_checked(&src, &fresh, new)? {
        return Err(Error::Internal(
            "the copy under the new key does not match; nothing was changed".into(),
        ));
    }
    drop(src);
    sync_file(&fresh, "the new file")?;
    swap_in(&fresh, &target, "the new file")?;
    promote(store, uuid)
}

/// Makes the pending key the tenant's key (its file is now under it), and shreds the old one.
pub fn promote(store: &Store, uuid: &str) -> Result<()> {
    store.system(|c| {
        let tx = c.transaction()?;
        tx.execute(
            "UPDATE tenants SET wrapped_key = zeroblob(length(wrapped_key)) WHERE uuid = ?1
             AND pending_key IS NOT NULL",
            [uuid],
        )?;
        tx.execute(
            "UPDATE tenants SET wrapped_key = pending_key, pending_key = NULL
             WHERE uuid = ?1 AND pending_key IS NOT NULL",
            [uuid],
        )?;
        tx.commit()?;
        connection::checkpoint(c)
    })
}

/// The wrapped key waiting to be promoted, if a key change was under way.
pub fn pending(c: &rusqlite::Connection, uuid: &str) -> Result<Option<Vec<u8>>> {
    Ok(c.query_row(
        "SELECT pending_key FROM tenants WHERE uuid = ?1",
        [uuid],
        |r| r.get(0),
    )?)
}
