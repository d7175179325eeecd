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

/// An erasure as it travels in backup archives and tenant exports: salted hashes of the
/// identifiers, the time, who asked and the counts; no content, no identifier in clear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Carried {
    /// When (unix seconds).
    pub at: i64,
    /// Who asked for it (an agent's email, or `operator`).
    pub by: String,
    /// Hashes of every identifier erased.
    pub identifiers: BTreeSet<String>,
    /// What was deleted, by kind.
    pub deleted: Counts,
}

/// A tenant's ledger in the form it travels in.
pub fn carried(c: &Connection, tenant_uuid: &str) -> Result<Vec<Carried>> {
    Ok(ledger(c, tenant_uuid)?
        .into_iter()
        .map(|e| Carried {
            at: e.protocol.at,
            by: e.protocol.by,
            identifiers: e.identifiers,
            deleted: e.protocol.deleted,
        })
        .collect())
}

/// Refuses a carried ledger that is not what kontor writes (an identifier that is no SHA-256
/// hex, a negative time, a multi-line or overlong actor).
pub fn well_formed(entries: &[Carried]) -> Result<()> {
    for e in entries {
        let hashes_ok = e
            .identifiers
            .iter()
            .all(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        if !hashes_ok || e.at < 0 || e.by.len() > 320 || e.by.chars().any(char::is_control) {
            return Err(Error::Invalid(
                "the erasure ledger it carries is malformed".into(),
            ));
        }
    }
    Ok(())
}

/// Adds the erasures this server's ledger lacks (the same time and identifiers count as the
/// same erasure), after [`well_formed`] passed them; returns how many were added.
pub fn merge(c: &Connection, tenant_uuid: &str, entries: &[Carried]) -> Result<usize> {
    well_formed(entries)?;
    let mut added = 0;
    for e in entries {
        let identifiers = serde_json::to_string(&e.identifiers).unwrap_or_default();
        let known: i64 = c.query_row(
            "SELECT count(*) FROM erasures WHERE tenant_uuid = ?1 AND at = ?2 AND identifiers = ?3",
            params![tenant_uuid, e.at, identifiers],
            |r| r.get(0),
        )?;
        if known == 0 {
            record(c, tenant_uuid, e.at, &e.by, &e.identifiers, &e.deleted)?;
            added += 1;
        }
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_carried_ledger_merges_once_and_only_when_well_formed() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(include_str!("../migrations/system/004_erasure_ledger.sql"))
            .unwrap();
        let hash = "ab".repeat(32);
        let e = Carried {
            at: 100,
            by: "ann@acme.example".into(),
            identifiers: [hash.clone()].into(),
            deleted: Counts::default(),
        };
        assert_eq!(merge(&c, "t1", std::slice::from_ref(&e)).unwrap(), 1);
        assert_eq!(
            merge(&c, "t1", std::slice::from_ref(&e)).unwrap(),
            0,
            "known already"
        );
        assert_eq!(carried(&c, "t1").unwrap(), vec![e.clone()]);
        assert!(carried(&c, "t2").unwrap().is_empty());
        for bad in [
            Carried {
                identifiers: ["not a hash".to_string()].into(),
                ..e.clone()
            },
            Carried {
                by: "x\nadmin login OK".into(),
                ..e.clone()
            },
            Carried { at: -1, ..e },
        ] {
            assert!(merge(&c, "t1", &[bad]).is_err());
        }
    }
}
