//! Support access without chat data: a business's admin grants the operator's support staff
//! a time-limited, read-only login (`store::support`); the operator's `kontor support link`
//! gives the set-up link of that login while a grant holds; every sign-in and every request
//! of it lands in the tenant's audit trail; what it may read is fixed in
//! `model::rights::support_may`, checked before any handler runs.

use super::privacy::{Actor, audit};
use crate::error::{Error, Result};
use crate::model::rights::SUPPORT;
use crate::store::TenantDb;
use crate::store::support::{self as sstore, Grant};
use rusqlite::Connection;

/// The longest note.
pub const NOTE_MAX: usize = 200;

/// Opens the support login for `hours`.
pub fn grant(db: &TenantDb, hours: u32, note: &str, actor: &Actor, now: i64) -> Result<Grant> {
    let note = match note.trim() {
        "" => String::new(),
        n => crate::model::tenants::clean_name("note", n, NOTE_MAX)?,
    };
    db.with(|c| {
        let g = sstore::grant(c, hours, &note, actor.name, now)?;
        audit(
            c,
            actor,
            "support.grant",
            &format!("support#{} hours={hours}", g.id),
        )?;
        Ok(g)
    })
}

/// Ends a grant early (the support login's sessions end once no grant holds).
pub fn revoke(db: &TenantDb, id: i64, actor: &Actor, now: i64) -> Result<Grant> {
    db.with(|c| {
        let g = sstore::revoke(c, id, actor.name, now)?;
        audit(c, actor, "support.revoke", &format!("support#{id}"))?;
        Ok(g)
    })
}

/// Every grant, newest first.
pub fn list(db: &TenantDb) -> Result<Vec<Grant>> {
    db.read(|c| sstore::list(c))
}

/// The operator's set-up link for the support login (a new password), while a grant holds;
/// audited in the tenant's trail.
pub fn link(db: &TenantDb, now: i64) -> Result<(String, Grant)> {
    db.with(|c| {
        let Some(g) = sstore::active(c, now)? else {
            return Err(Error::Forbidden(
                "no support access is granted: an admin of the business grants it in \
                 Settings › Team › Support access"
                    .into(),
            ));
        };
        let agent = sstore::agent_id(c)?
            .ok_or_else(|| Error::Internal("the support login is missing".into()))?;
        let path =
            super::setup::issue(c, &db.uuid, agent, crate::store::links::Purpose::Reset, now)?;
        audit(
            c,
            &Actor::OPERATOR,
            "support.link",
            &format!("support#{}", g.id),
        )?;
        Ok((path, g))
    })
}

/// Whether an agent may be signed in at `now`: the support login only while a grant holds.
pub fn may_sign_in(c: &Connection, role_id: i64, now: i64) -> Result<bool> {
    Ok(role_id != SUPPORT || sstore::active(c, now)?.is_some())
}
