//! The erasure ledger in `system.db`: per erasure its time, who asked, how many items of each
//! kind went, and salted hashes of every identifier erased (never content), so a restore can
//! erase them again.

use super::subject::Counts;
use crate::error::{Error, Result};
use crate::store::rows;
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One erasure as the ledger and the deletion protocol show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Protocol {
    /// Ledger id.
    pub id: i64,
    /// When (unix seconds).
    pub at: i64,
    /// Who asked for it (an agent's email, or `operator`).
    pub by: String,
    /// What was deleted, by kind.
    pub deleted: Counts,
}

/// The ledger: one erasure of a tenant.
pub struct LedgerEntry {
    /// The protocol.
    pub protocol: Protocol,
    /// Hashes of every identifier erased.
    pub identifiers: BTreeSet<String>,
}

/// Records an erasure in the ledger (`system.db`).
pub fn record(
    c: &Connection,
    tenant_uuid: &str,
    at: i64,
    by: &str,
    identifiers: &BTreeSet<String>,
    deleted: &Counts,
) -> Result<i64> {
    c.execute(
        "INSERT INTO erasures (tenant_uuid, at, actor, identifiers, deleted)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            tenant_uuid,
            at,
            by,
            serde_json::to_string(identifiers).unwrap_or_default(),
            serde_json::to_string(deleted).unwrap_or_default(),
        ],
    )?;
    Ok(c.last_insert_rowid())
}

/// A tenant's ledger, oldest first.
pub fn ledger(c: &Connection, tenant_uuid: &str) -> Result<Vec<LedgerEntry>> {
    let stored: Vec<(i64, i64, String, String, String)> = rows::all(
        c,
        "SELECT id, at, actor, identifiers, deleted FROM erasures WHERE tenant_uuid = ?1
         ORDER BY id",
        [tenant_uuid],
        |r| <(i64, i64, String, String, String)>::try_from(r),
    )?;
    stored
        .into_iter()
        .map(|(id, at, by, identifiers, deleted)| {
            Ok(LedgerEntry {
                protocol: Protocol {
                    id,
                    at,
                    by,
                    deleted: serde_json::from_str(&deleted)
                        .map_err(|e| Error::Internal(format!("erasure ledger: {e}")))?,
                },
                identifiers: serde_json::from_str(&identifiers)
                    .map_err(|e| Error::Internal(format!("erasure ledger: {e}")))?,
            })
        })
        .collect()
}
