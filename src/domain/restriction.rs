//! Restriction of processing (GDPR Art. 18) as audited requests, for the dashboard and the CLI
//! alike: restrict a person (found as a data-subject request finds them) with a reason, list the
//! restrictions, lift one. What a restriction hides and keeps is in `store::restrictions`.

use super::privacy::{Actor, audit, pseudonym};
use crate::error::{Error, Result};
use crate::model::tenants;
use crate::store::TenantDb;
use crate::store::gdpr::{self, By};
use crate::store::restrictions::{self, Restriction};

/// The longest reason.
pub const REASON_MAX: usize = 500;

/// Restricts everything stored about the person. Refused while one of their chats waits or
/// runs (it would go on being processed): close it first.
pub fn restrict(
    db: &TenantDb,
    by: &By,
    reason: &str,
    actor: &Actor,
    at: i64,
) -> Result<Restriction> {
    let reason = match reason.trim() {
        "" => {
            return Err(Error::Invalid(
                "reason: say why processing is restricted".into(),
            ));
        }
        r => tenants::clean_name("reason", r, REASON_MAX)?,
    };
    let subject = pseudonym(db, by);
    db.with(|c| {
        let s = gdpr::resolve(c, by)?;
        if let Some(id) = open_chat(c, &s)? {
            return Err(Error::Conflict(format!(
                "chat {id} of this person is still open; close it first"
            )));
        }
        let r = restrictions::restrict(c, &s, &subject, &reason, actor.name, at)?;
        audit(
            c,
            actor,
            "gdpr.restrict",
            &format!("{subject} restriction#{}", r.id),
        )?;
        Ok(r)
    })
}

fn open_chat(c: &rusqlite::Connection, s: &gdpr::Subject) -> Result<Option<i64>> {
    use rusqlite::OptionalExtension;
    Ok(c.query_row(
        &format!(
            "SELECT id FROM conversations WHERE id IN ({}) AND status <> 'closed' LIMIT 1",
            gdpr::id_list(&s.conversations)
        ),
        [],
        |r| r.get(0),
    )
    .optional()?)
}

/// Lifts every active restriction covering the person; the ones lifted (none: not found).
pub fn unrestrict(db: &TenantDb, by: &By, actor: &Actor, at: i64) -> Result<Vec<Restriction>> {
    db.with(|c| {
        let s = gdpr::resolve(c, by)?;
        let lifted = restrictions::lift_for(c, &s, actor.name, at)?;
        if lifted.is_empty() {
            return Err(Error::NotFound(
                "no restriction of processing covers this person".into(),
            ));
        }
        for r in &lifted {
            audit(
                c,
                actor,
                "gdpr.unrestrict",
                &format!("{} restriction#{}", r.subject, r.id),
            )?;
        }
        Ok(lifted)
    })
}

/// Lifts one restriction by its number.
pub fn lift(db: &TenantDb, id: i64, actor: &Actor, at: i64) -> Result<Restriction> {
    db.with(|c| {
        let r = restrictions::lift(c, id, actor.name, at)?;
        audit(
            c,
            actor,
            "gdpr.unrestrict",
            &format!("{} restriction#{id}", r.subject),
        )?;
        Ok(r)
    })
}

/// Every restriction, newest first.
pub fn list(db: &TenantDb) -> Result<Vec<Restriction>> {
    db.read(|c| restrictions::all(c, None))
}
