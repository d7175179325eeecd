//! `backup restore`: each tenant of a checked archive copied under its live key, compared row
//! for row with the snapshot, and swapped in while nobody has the tenant open; what the
//! replaced chat log held beyond the restored one is counted.

use super::check::Checked;
use super::manifest::{TenantEntry, member_key};
use crate::crypto::Key;
use crate::error::{Error, Result};
use crate::store::connection::{self, Mode};
use crate::store::snapshot::{copy_checked, swap_in, sync_file};
use crate::store::{Store, chat, gdpr, migrations, remove_side_files, system};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

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
        // Bit for bit: every table of the new file matches the snapshot before it goes live.
        let matches = {
            let mut src = connection::open(&checked.member_path(&t.uuid), &member, Mode::Existing)?;
            migrations::apply(&mut src, migrations::TENANT)?;
            copy_checked(&src, &fresh, &live_key)?
        };
        if !matches {
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
        sync_file(&fresh, "the restored file")?;
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
            // The archive's erasures join this server's ledger, so the replay that follows a
            // restore (here, and of any older archive later) erases them again.
            gdpr::merge(c, &t.uuid, &t.erasures)?;
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
        swap_in(&fresh, &target, "the restored file")?;
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
