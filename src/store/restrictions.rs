//! Restriction of processing (GDPR Art. 18): the rows of a person (as a data-subject request
//! finds them) are marked; marked rows stay stored but are hidden from agents without the
//! data-subject-requests permission and are left out of the retention purge until the
//! restriction is lifted. An erasure takes the marks along (triggers, migration 028).

use super::gdpr::{Subject, id_list as list};
use super::rows;
use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// `AND`-able SQL: the conversation `alias.id` is under no restriction.
pub fn conversation_free(alias: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM restricted_rows rr WHERE rr.kind = 'conversation' \
         AND rr.row_id = {alias}.id)"
    )
}

/// Whether a row (`kind`: `conversation`, `offline`, `visitor`) is under a restriction.
pub fn is_restricted(c: &Connection, kind: &str, id: i64) -> Result<bool> {
    Ok(c.query_row(
        "SELECT 1 FROM restricted_rows WHERE kind = ?1 AND row_id = ?2 LIMIT 1",
        params![kind, id],
        |_| Ok(()),
    )
    .optional()?
    .is_some())
}

/// How many rows of each kind a restriction covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Covered {
    /// Chats.
    pub conversations: usize,
    /// Offline messages.
    pub offline_messages: usize,
    /// Visitor records.
    pub visitors: usize,
}

/// One restriction as listed.
#[derive(Debug, Clone, Serialize)]
pub struct Restriction {
    /// Its number.
    pub id: i64,
    /// The person's pseudonym (`email:subject#…`).
    pub subject: String,
    /// Why (the business's words).
    pub reason: String,
    /// When, and by whom.
    pub created_at: i64,
    /// Who restricted.
    pub created_by: String,
    /// When it was lifted, if it was.
    pub lifted_at: Option<i64>,
    /// Who lifted it.
    pub lifted_by: Option<String>,
    /// What it covers now (nothing once lifted).
    pub covered: Covered,
}

/// Marks everything of `s` as restricted; refuses when nothing is stored.
pub fn restrict(
    c: &mut Connection,
    s: &Subject,
    subject: &str,
    reason: &str,
    by: &str,
    at: i64,
) -> Result<Restriction> {
    if s.conversations.is_empty() && s.offline.is_empty() && s.visitors.is_empty() {
        return Err(Error::NotFound("nothing stored about this person".into()));
    }
    let tx = c.transaction()?;
    tx.execute(
        "INSERT INTO restrictions (subject, reason, created_at, created_by) VALUES (?1, ?2, ?3, ?4)",
        params![subject, reason, at, by],
    )?;
    let id = tx.last_insert_rowid();
    for (kind, ids) in [
        ("conversation", &s.conversations),
        ("offline", &s.offline),
        ("visitor", &s.visitors),
    ] {
        tx.execute(
            &format!(
                "INSERT OR IGNORE INTO restricted_rows (restriction_id, kind, row_id)
                 SELECT ?1, ?2, value FROM json_each('[{}]')",
                list(ids)
            ),
            params![id, kind],
        )?;
    }
    let r = get(&tx, id)?;
    tx.commit()?;
    Ok(r)
}

/// Lifts the active restrictions that cover any row of `s`; the ones lifted.
pub fn lift_for(c: &mut Connection, s: &Subject, by: &str, at: i64) -> Result<Vec<Restriction>> {
    let tx = c.transaction()?;
    let ids: Vec<i64> = rows::all(
        &tx,
        &format!(
            "SELECT DISTINCT restriction_id FROM restricted_rows
             WHERE (kind = 'conversation' AND row_id IN ({}))
                OR (kind = 'offline' AND row_id IN ({}))
                OR (kind = 'visitor' AND row_id IN ({}))",
            list(&s.conversations),
            list(&s.offline),
            list(&s.visitors)
        ),
        [],
        |r| r.get(0),
    )?;
    let mut lifted = Vec::new();
    for id in ids {
        lifted.push(lift_one(&tx, id, by, at)?);
    }
    tx.commit()?;
    Ok(lifted)
}

/// Lifts one restriction by its number.
pub fn lift(c: &mut Connection, id: i64, by: &str, at: i64) -> Result<Restriction> {
    let tx = c.transaction()?;
    let r = lift_one(&tx, id, by, at)?;
    tx.commit()?;
    Ok(r)
}

fn lift_one(c: &Connection, id: i64, by: &str, at: i64) -> Result<Restriction> {
    let n = c.execute(
        "UPDATE restrictions SET lifted_at = ?2, lifted_by = ?3 WHERE id = ?1 AND lifted_at IS NULL",
        params![id, at, by],
    )?;
    if n == 0 {
        get(c, id)?; // not found, or
        return Err(Error::Conflict(format!(
            "restriction {id} was lifted already"
        )));
    }
    c.execute(
        "DELETE FROM restricted_rows WHERE restriction_id = ?1",
        [id],
    )?;
    get(c, id)
}

/// One restriction.
pub fn get(c: &Connection, id: i64) -> Result<Restriction> {
    all(c, Some(id))?
        .pop()
        .ok_or_else(|| Error::NotFound(format!("restriction {id}")))
}

/// Every restriction (active and lifted), newest first; or only `id`.
pub fn all(c: &Connection, id: Option<i64>) -> Result<Vec<Restriction>> {
    let mut found: Vec<Restriction> = rows::all(
        c,
        "SELECT id, subject, reason, created_at, created_by, lifted_at, lifted_by
         FROM restrictions WHERE ?1 IS NULL OR id = ?1 ORDER BY id DESC",
        [id],
        |r| {
            Ok(Restriction {
                id: r.get(0)?,
                subject: r.get(1)?,
                reason: r.get(2)?,
                created_at: r.get(3)?,
                created_by: r.get(4)?,
                lifted_at: r.get(5)?,
                lifted_by: r.get(6)?,
                covered: Covered::default(),
            })
        },
    )?;
    for r in &mut found {
        let count = |kind: &str| -> Result<usize> {
            Ok(c.query_row(
                "SELECT count(*) FROM restricted_rows WHERE restriction_id = ?1 AND kind = ?2",
                params![r.id, kind],
                |x| x.get::<_, i64>(0),
            )? as usize)
        };
        r.covered = Covered {
            conversations: count("conversation")?,
            offline_messages: count("offline")?,
            visitors: count("visitor")?,
        };
    }
    Ok(found)
}
