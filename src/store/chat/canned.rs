//! Canned responses: texts agents insert by typing `/shortcut`, shared by the tenant or an
//! agent's own.

use crate::error::Result;
use crate::store::rows;
use rusqlite::{Connection, params};

/// A canned response.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CannedRow {
    /// Id.
    pub id: i64,
    /// Typed as `/shortcut`.
    pub shortcut: String,
    /// The text it inserts.
    pub text: String,
    /// Whether the whole tenant shares it (else it is the agent's own).
    pub shared: bool,
}

/// The tenant's shared canned responses and the agent's own, by shortcut.
pub fn list_canned(c: &Connection, agent_id: i64) -> Result<Vec<CannedRow>> {
    rows::all(
        c,
        "SELECT id, shortcut, body, agent_id IS NULL FROM canned_responses
         WHERE agent_id IS NULL OR agent_id = ?1 ORDER BY shortcut, agent_id IS NULL",
        [agent_id],
        |r| Ok(from_row!(r => CannedRow { id, shortcut, text, shared })),
    )
}

/// Adds a canned response (`owner` None: shared by the tenant).
pub fn insert_canned(
    c: &Connection,
    owner: Option<i64>,
    shortcut: &str,
    text: &str,
    at: i64,
) -> Result<CannedRow> {
    c.execute(
        "INSERT INTO canned_responses (agent_id, shortcut, body, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![owner, shortcut, text, at],
    )
    .map_err(|e| rows::conflict(e, || format!("the shortcut /{shortcut} exists already")))?;
    Ok(CannedRow {
        id: c.last_insert_rowid(),
        shortcut: shortcut.into(),
        text: text.into(),
        shared: owner.is_none(),
    })
}

/// Deletes a canned response the caller may delete (their own; shared ones only as admin).
/// Returns whether one was deleted.
pub fn delete_canned(c: &Connection, id: i64, agent_id: i64, admin: bool) -> Result<bool> {
    let n = c.execute(
        "DELETE FROM canned_responses WHERE id = ?1 AND (agent_id = ?2 OR (agent_id IS NULL AND ?3))",
        params![id, agent_id, admin],
    )?;
    Ok(n > 0)
}
