//! Support access: the business's grants that open the operator's support login for a while
//! (see `model::rights::support_may` for what that login may read), and the one agent account
//! behind it.

use super::rows;
use crate::error::{Error, Result};
use crate::model::rights::SUPPORT;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// The support login's email: a reserved domain, so it can never be anyone's real address.
pub const EMAIL: &str = "support@operator.invalid";

/// The longest grant: 30 days.
pub const MAX_HOURS: u32 = 720;

/// One grant.
#[derive(Debug, Clone, Serialize)]
pub struct Grant {
    /// Its number.
    pub id: i64,
    /// When and by whom it was given.
    pub created_at: i64,
    /// The business's agent who gave it.
    pub created_by: String,
    /// When it ends by itself.
    pub expires_at: i64,
    /// What the support is for (the business's words).
    pub note: String,
    /// When it was ended early, and by whom.
    pub revoked_at: Option<i64>,
    /// Who ended it.
    pub revoked_by: Option<String>,
}

impl Grant {
    /// Whether it opens the support login at `now`.
    pub fn active(&self, now: i64) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

const COLUMNS: &str = "id, created_at, created_by, expires_at, note, revoked_at, revoked_by";

fn grant_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Grant> {
    Ok(Grant {
        id: r.get(0)?,
        created_at: r.get(1)?,
        created_by: r.get(2)?,
        expires_at: r.get(3)?,
        note: r.get(4)?,
        revoked_at: r.get(5)?,
        revoked_by: r.get(6)?,
    })
}

/// Every grant, newest first.
pub fn list(c: &Connection) -> Result<Vec<Grant>> {
    rows::all(
        c,
        &format!("SELECT {COLUMNS} FROM support_grants ORDER BY id DESC"),
        [],
        grant_from_row,
    )
}

/// The grant that holds at `now`, if any (the one ending last).
pub fn active(c: &Connection, now: i64) -> Result<Option<Grant>> {
    Ok(c.query_row(
        &format!(
            "SELECT {COLUMNS} FROM support_grants WHERE revoked_at IS NULL AND expires_at > ?1
             ORDER BY expires_at DESC LIMIT 1"
        ),
        [now],
        grant_from_row,
    )
    .optional()?)
}

/// Opens the support login for `hours` (1 to [`MAX_HOURS`]); creates its account the first
/// time (no usable password: the operator sets one through a link).
pub fn grant(c: &mut Connection, hours: u32, note: &str, by: &str, now: i64) -> Result<Grant> {
    if !(1..=MAX_HOURS).contains(&hours) {
        return Err(Error::Invalid(format!("hours: 1 to {MAX_HOURS} (30 days)")));
    }
    let tx = c.transaction()?;
    tx.execute(
        "INSERT INTO support_grants (created_at, created_by, expires_at, note)
         VALUES (?1, ?2, ?3, ?4)",
        params![now, by, now + i64::from(hours) * 3600, note],
    )?;
    let id = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO agents (email, display_name, role, role_id, password_hash, created_at)
         VALUES (?1, 'Operator support', 'agent', ?2, '!', ?3)
         ON CONFLICT (email) DO NOTHING",
        params![EMAIL, SUPPORT, now],
    )?;
    let g = tx.query_row(
        &format!("SELECT {COLUMNS} FROM support_grants WHERE id = ?1"),
        [id],
        grant_from_row,
    )?;
    tx.commit()?;
    Ok(g)
}

/// Ends a grant now; once no grant holds, the support login's sessions end too.
pub fn revoke(c: &mut Connection, id: i64, by: &str, now: i64) -> Result<Grant> {
    let tx = c.transaction()?;
    let n = tx.execute(
        "UPDATE support_grants SET revoked_at = ?2, revoked_by = ?3
         WHERE id = ?1 AND revoked_at IS NULL AND expires_at > ?2",
        params![id, now, by],
    )?;
    let g = tx
        .query_row(
            &format!("SELECT {COLUMNS} FROM support_grants WHERE id = ?1"),
            [id],
            grant_from_row,
        )
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("support grant {id}")))?;
    if n == 0 {
        return Err(Error::Conflict(format!(
            "support grant {id} has ended already"
        )));
    }
    if active(&tx, now)?.is_none()
        && let Some(agent) = agent_id(&tx)?
    {
        super::tenant::delete_agent_sessions(&tx, agent, None)?;
    }
    tx.commit()?;
    Ok(g)
}

/// The support login's agent id, once a grant created it.
pub fn agent_id(c: &Connection) -> Result<Option<i64>> {
    Ok(c.query_row(
        "SELECT id FROM agents WHERE role_id = ?1 LIMIT 1",
        [SUPPORT],
        |r| r.get(0),
    )
    .optional()?)
}
