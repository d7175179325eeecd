//! Encrypted backups: one tar archive per run, a manifest sealed with the backup key, and one
//! SQLCipher member per tenant, exported from a consistent snapshot (`sqlcipher_export` in one
//! read transaction) and keyed by the backup key, never by the live keys. Restoring checks
//! everything first, then re-keys each member under the live tenant key and swaps it in.

mod check;
mod create;
mod list;
mod manifest;
pub mod offsite;
mod restore;
mod seal;

pub use check::{Checked, check};
pub use create::{Created, create};
pub use list::{Listed, list};
pub use manifest::{FORMAT, Manifest, Member, TenantEntry, backup_key, backup_key_path};
pub use restore::{Restored, restore};
// Callers outside the store compare databases with it.
pub use crate::store::snapshot::table_checksums;
