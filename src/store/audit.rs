//! The tenant's audit trail as a hash chain: each entry's hash covers the previous entry's
//! hash and every field of its own, and `audit_chain` keeps the hash before the first entry
//! (entries older than the audit retention are purged from the start) and the id and hash of
//! the last one. Changing, inserting or removing any entry, at the start, in the middle or at
//! the end, breaks the chain; [`verify`] finds where.
//!
//! Someone holding the database key could rewrite the whole chain; `kontor audit verify`
//! prints the head hash so an operator can keep it elsewhere and compare later.

use super::rows;
use crate::clock::now;
use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// One audit entry to write.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry<'a> {
    /// Who: the agent's email, or what they typed when unknown.
    pub actor: &'a str,
    /// The actor's role when known (`admin`, `agent`), else empty.
    pub role: &'a str,
    /// What, e.g. `login`.
    pub action: &'a str,
    /// On what object.
    pub object: &'a str,
    /// `success`, `failure`, `throttled`, …
    pub result: &'a str,
    /// Truncated client address.
    pub ip: &'a str,
    /// The request's id.
    pub request_id: &'a str,
}

/// One stored audit entry.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct AuditRecord {
    /// Unix seconds, UTC.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// Their role, when known.
    pub role: String,
    /// What.
    pub action: String,
    /// On what.
    pub object: String,
    /// Outcome.
    pub result: String,
    /// Truncated client address.
    pub ip: String,
    /// Request id.
    pub request_id: String,
}

fn entry_hash(prev: &[u8], id: i64, r: &AuditRecord) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(b"kontor audit v1");
    ctx.update(prev);
    ctx.update(&id.to_le_bytes());
    ctx.update(&r.at.to_le_bytes());
    for field in [
        &r.actor,
        &r.role,
        &r.action,
        &r.object,
        &r.result,
        &r.ip,
        &r.request_id,
    ] {
        ctx.update(&(field.len() as u64).to_le_bytes());
        ctx.update(field.as_bytes());
    }
    ctx.finish().as_ref().to_vec()
}

const COLUMNS: &str = "id, at, actor, role, action, object, result, ip, request_id";

/// An entry's id and the entry, from the columns [`COLUMNS`] names.
fn entry_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, AuditRecord)> {
    Ok((
        r.get(0)?,
        from_row!(r, 1 => AuditRecord { at, actor, role, action, object, result, ip, request_id }),
    ))
}

/// (hash before the first entry, last id, last hash).
fn chain(c: &Connection) -> Result<(Vec<u8>, i64, Vec<u8>)> {
    Ok(c.query_row(
        "SELECT start_prev, head_id, head_hash FROM audit_chain WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?)
}

/// Chains every entry after the head (entries written before the chain existed, and the one
/// just inserted).
pub fn seal(c: &Connection) -> Result<()> {
    let (_, head_id, mut prev) = chain(c)?;
    let rows: Vec<(i64, AuditRecord)> = rows::all_cached(
        c,
        &format!("SELECT {COLUMNS} FROM audit_log WHERE id > ?1 ORDER BY id"),
        [head_id],
        entry_from_row,
    )?;
    let Some(last) = rows.last().map(|r| r.0) else {
        return Ok(());
    };
    for (id, r) in &rows {
        prev = entry_hash(&prev, *id, r);
        c.execute(
            "UPDATE audit_log SET hash = ?2 WHERE id = ?1",
            params![id, prev],
        )?;
    }
    c.execute(
        "UPDATE audit_chain SET head_id = ?1, head_hash = ?2 WHERE id = 1",
        params![last, prev],
    )?;
    Ok(())
}

/// Appends one entry and chains it, atomically (inside the caller's transaction or not).
pub fn append(c: &Connection, at: i64, e: &AuditEntry<'_>) -> Result<()> {
    c.execute_batch("SAVEPOINT audit_append")?;
    // Ids never repeat, even after retention emptied the table: the next is the head's + 1.
    let done = seal(c)
        .and_then(|_| chain(c))
        .and_then(|(_, head_id, _)| {
            Ok(c.execute(
                "INSERT INTO audit_log (id, at, actor, role, action, object, result, ip, request_id)
                 VALUES (?9, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    at,
                e.actor,
                e.role,
                e.action,
                e.object,
                e.result,
                    e.ip,
                    e.request_id,
                    head_id + 1
                ],
            )?)
        })
        .and_then(|_| seal(c));
    match done {
        Ok(()) => c.execute_batch("RELEASE audit_append")?,
        Err(e) => {
            c.execute_batch("ROLLBACK TO audit_append; RELEASE audit_append")?;
            return Err(e);
        }
    }
    Ok(())
}

/// Appends an entry, stamped now, to the tenant's hash-chained audit trail.
pub fn record(c: &Connection, e: &AuditEntry<'_>) -> Result<()> {
    append(c, now(), e)
}

/// What `kontor audit verify` found.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Verification {
    /// Entries checked.
    pub entries: u64,
    /// Whether the whole chain holds.
    pub intact: bool,
    /// The first entry where it does not (its id), and why.
    pub broken_at: Option<i64>,
    /// Why, in words.
    pub problem: Option<String>,
    /// Hex of the last entry's hash: keep it elsewhere to detect a rewritten chain later.
    pub head: String,
}

/// How far the chain was found intact: up to entry `id`, whose hash was `hash`, from a chain
/// that started at `start` (retention moves the start), `entries` entries in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    start: Vec<u8>,
    id: i64,
    hash: Vec<u8>,
    entries: u64,
}

/// Recomputes the chain from its start to its head.
pub fn verify(c: &Connection) -> Result<Verification> {
    verify_since(c, None).map(|(v, _)| v)
}

/// Recomputes the chain, from where an earlier check found it intact when that entry is still
/// there with the same hash and the chain still starts where it did (the dashboard's view, so
/// that a page load does not rehash the whole trail), else from its start. `kontor audit
/// verify` always checks the whole chain.
pub fn verify_since(
    c: &Connection,
    earlier: Option<&Checked>,
) -> Result<(Verification, Option<Checked>)> {
    let (start_prev, head_id, head_hash) = chain(c)?;
    let still: Option<Vec<u8>> = match earlier {
        Some(e) if e.start == start_prev => c
            .query_row("SELECT hash FROM audit_log WHERE id = ?1", [e.id], |r| {
                r.get(0)
            })
            .optional()?,
        _ => None,
    };
    let resume = earlier.filter(|e| still.as_deref() == Some(e.hash.as_slice()));
    let mut stmt = c.prepare(&format!(
        "SELECT {COLUMNS}, hash FROM audit_log WHERE id > ?1 ORDER BY id"
    ))?;
    let mut rows = stmt.query([resume.map_or(i64::MIN, |e| e.id)])?;
    let mut prev = resume.map_or(start_prev.clone(), |e| e.hash.clone());
    let mut entries = resume.map_or(0, |e| e.entries);
    let mut last_id = resume.map_or(0, |e| e.id);
    let broken = |id: i64, why: String, entries: u64| Verification {
        entries,
        intact: false,
        broken_at: Some(id),
        problem: Some(why),
        head: crate::crypto::hex(&head_hash),
    };
    while let Some(r) = rows.next()? {
        let (id, rec) = entry_from_row(r)?;
        let stored: Option<Vec<u8>> = r.get(9)?;
        entries += 1;
        if id > head_id {
            return Ok((
                broken(
                    id,
                    format!("entry {id} comes after the chain's last entry ({head_id})"),
                    entries,
                ),
                None,
            ));
        }
        let expected = entry_hash(&prev, id, &rec);
        if stored.as_deref() != Some(expected.as_slice()) {
            return Ok((
                broken(
                    id,
                    format!(
                        "entry {id} does not follow from the one before it: it was changed, \
                     inserted, or an entry before it was removed"
                    ),
                    entries,
                ),
                None,
            ));
        }
        prev = expected;
        last_id = id;
    }
    if prev != head_hash || (entries > 0 && last_id != head_id) {
        return Ok((
            broken(
                head_id,
                format!(
                    "the chain ends at entry {last_id}, but its last entry was {head_id}: entries were removed"
                ),
                entries,
            ),
            None,
        ));
    }
    let checked = Checked {
        start: start_prev,
        id: last_id,
        hash: prev,
        entries,
    };
    let verification = Verification {
        entries,
        intact: true,
        broken_at: None,
        problem: None,
        head: crate::crypto::hex(&head_hash),
    };
    Ok((verification, Some(checked)))
}

/// Whether an entry with this hash (hex) is in the chain: a head kept from an earlier
/// `verify` must still be there, unless retention has since removed it.
pub fn contains(c: &Connection, hash_hex: &str) -> Result<Option<i64>> {
    let Some(hash) = crate::crypto::unhex(hash_hex).filter(|h| h.len() == 32) else {
        return Err(crate::error::Error::Invalid(
            "a head is 64 hex digits, as `kontor audit verify` prints it".into(),
        ));
    };
    Ok(
        c.query_row("SELECT id FROM audit_log WHERE hash = ?1", [hash], |r| {
            r.get(0)
        })
        .optional()?,
    )
}

/// Deletes the entries older than `cutoff` from the start of the chain, keeping it verifiable:
/// everything before the first entry that is still within the period (so an entry with an
/// older time after a newer one, after a clock change, never takes newer ones with it).
pub fn purge_before(c: &Connection, cutoff: i64) -> Result<u64> {
    let keep_from: Option<i64> = c.query_row(
        "SELECT min(id) FROM audit_log WHERE at >= ?1",
        [cutoff],
        |r| r.get(0),
    )?;
    let last_old: Option<(i64, Vec<u8>)> = c
        .query_row(
            "SELECT id, hash FROM audit_log WHERE id < ?1 AND hash IS NOT NULL
             ORDER BY id DESC LIMIT 1",
            [keep_from.unwrap_or(i64::MAX)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((id, hash)) = last_old else {
        return Ok(0);
    };
    let n = c.execute("DELETE FROM audit_log WHERE id <= ?1", [id])?;
    c.execute(
        "UPDATE audit_chain SET start_prev = ?1 WHERE id = 1",
        [hash],
    )?;
    Ok(n as u64)
}

/// Which entries the dashboard asks for.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Filter {
    /// Entries from this unix second on.
    pub since: Option<i64>,
    /// Entries before this unix second.
    pub until: Option<i64>,
    /// Actor contains this.
    pub actor: Option<String>,
    /// Action starts with this.
    pub action: Option<String>,
    /// Exact result.
    pub result: Option<String>,
    /// Entries with an id below this (paging back).
    pub before_id: Option<i64>,
    /// At most this many (default 100, at most 500).
    pub limit: Option<u32>,
}

/// One entry as listed, with its id.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    /// Id (increasing).
    pub id: i64,
    /// The entry.
    #[serde(flatten)]
    pub entry: AuditRecord,
}

/// Entries matching `f`, newest first.
pub fn list(c: &Connection, f: &Filter) -> Result<Vec<Listed>> {
    let limit = f.limit.unwrap_or(100).clamp(1, 500);
    rows::all(
        c,
        &format!(
            "SELECT {COLUMNS} FROM audit_log
         WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR at < ?2)
           AND (?3 IS NULL OR instr(lower(actor), lower(?3)) > 0)
           AND (?4 IS NULL OR substr(action, 1, length(?4)) = ?4)
           AND (?5 IS NULL OR result = ?5) AND (?6 IS NULL OR id < ?6)
         ORDER BY id DESC LIMIT ?7"
        ),
        params![
            f.since,
            f.until,
            f.actor.as_deref().filter(|s| !s.is_empty()),
            f.action.as_deref().filter(|s| !s.is_empty()),
            f.result.as_deref().filter(|s| !s.is_empty()),
            f.before_id,
            limit
        ],
        |r| entry_from_row(r).map(|(id, entry)| Listed { id, entry }),
    )
}

/// The newest `limit` audit entries (at most 500), newest first.
pub fn recent(c: &Connection, limit: u32) -> Result<Vec<AuditRecord>> {
    let filter = Filter {
        limit: Some(limit),
        ..Default::default()
    };
    Ok(list(c, &filter)?.into_iter().map(|l| l.entry).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(c: &Connection, n: usize) {
        for i in 0..n {
            let actor = format!("agent#{i}");
            let e = AuditEntry {
                actor: &actor,
                action: "login",
                object: "session",
                result: "success",
                ..Default::default()
            };
            append(c, 1_000 + i as i64, &e).unwrap();
        }
    }

    #[test]
    fn a_later_check_hashes_only_what_was_added_and_restarts_when_its_entry_changed() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        crate::store::Store::init(&data).unwrap();
        let store = crate::store::Store::open(&data).unwrap();
        let t = store.create_tenant("acme", "Acme").unwrap();
        let db = store.tenant_db(&t.uuid).unwrap();
        db.with(|c| {
            entries(c, 5);
            let (first, cp) = verify_since(c, None)?;
            assert!(first.intact);
            entries(c, 2);
            let (later, cp) = verify_since(c, cp.as_ref())?;
            assert!(later.intact);
            assert_eq!(later.entries, first.entries + 2, "counted across both checks");
            // A change behind the checkpoint is for the full check (`kontor audit verify`)...
            c.execute("UPDATE audit_log SET actor = 'mallory' WHERE id = (SELECT min(id) FROM audit_log)", [])?;
            let (quick, cp) = verify_since(c, cp.as_ref())?;
            assert!(quick.intact, "only the new entries were hashed");
            assert!(!verify(c)?.intact, "the full check finds it");
            // ...but a changed checkpoint entry sends the quick check back to the start.
            c.execute("UPDATE audit_log SET hash = zeroblob(32) WHERE id = (SELECT max(id) FROM audit_log)", [])?;
            let (restarted, _) = verify_since(c, cp.as_ref())?;
            assert!(!restarted.intact);
            Ok(())
        })
        .unwrap();
    }
}
