//! What routing a chat needs to know about agents and departments: an agent's capacity,
//! name and departments, and whether a department exists.

use crate::error::Result;
use crate::store::rows;
use rusqlite::{Connection, OptionalExtension};

/// How many chats each agent takes at once.
pub fn agent_capacity(c: &Connection, agent_id: i64) -> Result<i64> {
    Ok(c.query_row(
        "SELECT capacity FROM agents WHERE id = ?1",
        [agent_id],
        |r| r.get(0),
    )
    .optional()?
    .unwrap_or(0))
}

/// An agent's display name (empty if the agent is gone).
pub fn agent_name(c: &Connection, agent_id: i64) -> Result<String> {
    Ok(c.query_row(
        "SELECT display_name FROM agents WHERE id = ?1",
        [agent_id],
        |r| r.get(0),
    )
    .optional()?
    .unwrap_or_default())
}

/// Whether a department exists.
pub fn department_exists(c: &Connection, id: i64) -> Result<bool> {
    Ok(
        c.query_row("SELECT 1 FROM departments WHERE id = ?1", [id], |_| Ok(()))
            .optional()?
            .is_some(),
    )
}

/// The median wait (seconds from start to acceptance) of the chats accepted since `since`,
/// if any was: the "usually answered within" of the automatic queue message.
pub fn median_wait(c: &Connection, since: i64) -> Result<Option<i64>> {
    let waits: Vec<i64> = crate::store::rows::all_cached(
        c,
        "SELECT accepted_at - created_at FROM conversations
         WHERE accepted_at IS NOT NULL AND accepted_at >= ?1 ORDER BY 1",
        [since],
        |r| r.get(0),
    )?;
    // The middle value (the lower of the two middle ones for an even count): a wait that
    // really happened, not an average skewed by one chat left waiting for an hour.
    Ok(waits.get(waits.len().saturating_sub(1) / 2).copied())
}

/// The departments an agent belongs to.
pub fn agent_departments(c: &Connection, agent_id: i64) -> Result<Vec<i64>> {
    rows::all_cached(
        c,
        "SELECT department_id FROM agent_departments WHERE agent_id = ?1 ORDER BY department_id",
        [agent_id],
        |r| r.get(0),
    )
}
