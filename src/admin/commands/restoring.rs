//! What `backup restore` and `backup restore --from` share: the backup key, and restoring a
//! checked archive with its audit entry and the erasure ledger replayed.

use crate::admin::{Ctx, tenant_audit};
use crate::crypto::Key;
use crate::error::Result;
use crate::store::backup;
use std::path::{Path, PathBuf};

/// Restores a checked archive (every tenant, or one), audits it as `object`, and replays the
/// erasure ledger over each restored tenant, so that an older backup brings no erased person
/// back.
pub(super) fn restore_and_replay(
    cx: &mut Ctx<'_>,
    key: &Key,
    checked: &backup::Checked,
    tenant: Option<&str>,
    object: &str,
) -> Result<Vec<backup::Restored>> {
    let store = cx.store;
    let tenants = backup::restore(store, key, checked, tenant, cx.close, &mut |line| {
        tracing::info!("restore: {line}");
    })?;
    for slug in tenants.iter().map(|t| &t.slug) {
        tenant_audit(store, slug, "backup.restore", object);
        let rec = store.tenant_record(slug)?;
        let again = crate::domain::privacy::replay(store, &rec.uuid)?;
        if !again.is_empty() {
            (cx.progress)(&format!(
                "{slug}: erased {} items again from the erasure ledger",
                again.total()
            ));
        }
    }
    Ok(tenants)
}

/// The backup key from `file`, else from its default place for `data_dir`; only a backup
/// being written creates a missing one.
pub(super) fn open_key(data_dir: &Path, file: &Option<PathBuf>, create: bool) -> Result<Key> {
    backup::backup_key(&backup::backup_key_path(data_dir, file.as_deref()), create)
}
