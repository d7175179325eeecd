//! Team chat rows: each room's gap-free message log and every agent's read position. Rooms
//! are named by `model::team::Room`; which rooms an agent may read is decided above.

use crate::error::Result;
use crate::store::rows;
use rusqlite::{Connection, OptionalExtension, params};

/// A team message as stored and sent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct TeamMessage {
    /// The room's name.
    pub room: String,
    /// Its place in the room, gap-free from 1.
    pub seq: i64,
    /// The author.
    pub agent_id: i64,
    /// The author's display name.
    pub author_name: String,
    /// The text.
    pub text: String,
    /// Unix seconds.
    pub at: i64,
}

/// Stores a message under the room's next seq; a retry (same author and client id in the
/// room) is found and its seq returned instead, with `false`.
pub fn insert(
    c: &Connection,
    room: &str,
    agent_id: i64,
    client_id: &str,
    text: &str,
    at: i64,
) -> Result<(i64, bool)> {
    let known: Option<i64> = c
        .prepare_cached(
            "SELECT seq FROM team_messages WHERE room = ?1 AND agent_id = ?2 AND client_id = ?3",
        )?
        .query_row(params![room, agent_id, client_id], |r| r.get(0))
        .optional()?;
    if let Some(seq) = known {
        return Ok((seq, false));
    }
    let seq: i64 = c
        .prepare_cached(
            "INSERT INTO team_rooms (room, last_seq) VALUES (?1, 1)
             ON CONFLICT (room) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq",
        )?
        .query_row([room], |r| r.get(0))?;
    c.prepare_cached(
        "INSERT INTO team_messages (room, seq, agent_id, body, client_id, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![room, seq, agent_id, text, client_id, at])?;
    Ok((seq, true))
}

/// Every room that ever had a message, with its last seq.
pub fn last_seqs(c: &Connection) -> Result<Vec<(String, i64)>> {
    rows::all_cached(c, "SELECT room, last_seq FROM team_rooms", [], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
}

/// Where the agent has read up to, per room.
pub fn reads(c: &Connection, agent_id: i64) -> Result<Vec<(String, i64)>> {
    rows::all_cached(
        c,
        "SELECT room, seq FROM team_reads WHERE agent_id = ?1",
        [agent_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Moves the agent's read position forward (never back: another device may be further).
pub fn mark_read(c: &Connection, agent_id: i64, room: &str, seq: i64) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO team_reads (agent_id, room, seq) VALUES (?1, ?2, ?3)
         ON CONFLICT (agent_id, room) DO UPDATE SET seq = MAX(seq, excluded.seq)",
    )?
    .execute(params![agent_id, room, seq])?;
    Ok(())
}

const SELECT: &str = "SELECT m.room, m.seq, m.agent_id, COALESCE(a.display_name, ''), m.body, m.at
     FROM team_messages m LEFT JOIN agents a ON a.id = m.agent_id";

fn message(r: &rusqlite::Row<'_>) -> rusqlite::Result<TeamMessage> {
    Ok(from_row!(r => TeamMessage { room, seq, agent_id, author_name, text, at }))
}

/// A page of a room's log: the first `limit` after `after`, or (with `before`) the last
/// `limit` before it; oldest first either way.
pub fn page(
    c: &Connection,
    room: &str,
    after: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<TeamMessage>> {
    let mut rows: Vec<TeamMessage> = match before {
        Some(b) => rows::all(
            c,
            &format!(
                "{SELECT} WHERE m.room = ?1 AND m.seq > ?2 AND m.seq < ?3 ORDER BY m.seq DESC LIMIT ?4"
            ),
            params![room, after, b, limit],
            message,
        )?,
        None => rows::all(
            c,
            &format!("{SELECT} WHERE m.room = ?1 AND m.seq > ?2 ORDER BY m.seq LIMIT ?3"),
            params![room, after, limit],
            message,
        )?,
    };
    rows.sort_by_key(|m| m.seq);
    Ok(rows)
}

/// The newest messages containing `text` in the given rooms.
pub fn search(
    c: &Connection,
    rooms: &[String],
    text: &str,
    limit: i64,
) -> Result<Vec<TeamMessage>> {
    if rooms.is_empty() {
        return Ok(Vec::new());
    }
    // LIKE with escaped wildcards: the search text is data, never a pattern. The rooms are
    // bound one by one through a JSON array, never pasted into the statement.
    let pattern = format!(
        "%{}%",
        text.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let rooms = serde_json::Value::from(rooms.to_vec()).to_string();
    rows::all(
        c,
        &format!(
            "{SELECT} WHERE m.room IN (SELECT value FROM json_each(?1))
               AND m.body LIKE ?2 ESCAPE '\\' ORDER BY m.at DESC, m.id DESC LIMIT ?3"
        ),
        params![rooms, pattern, limit],
        message,
    )
}

/// Deletes the team messages written before `before` (retention); how many went.
pub fn purge(c: &Connection, before: i64) -> Result<usize> {
    Ok(c.execute("DELETE FROM team_messages WHERE at < ?1", [before])?)
}
