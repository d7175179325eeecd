//! Blocked visitors (see `model::blocks`): stored, listed, lifted, and the ones in force.

use crate::error::Result;
use crate::model::blocks::Block;
use crate::store::rows;
use rusqlite::{Connection, params};

/// A block to store.
#[derive(Debug, Clone)]
pub struct NewBlock<'a> {
    /// The visitor's anonymous daily key, if known.
    pub visitor_key: Option<[u8; 16]>,
    /// The truncated address, if blocked too.
    pub address: Option<&'a str>,
    /// The chat it was made from.
    pub conversation_id: Option<i64>,
    /// Why.
    pub reason: &'a str,
    /// The agent.
    pub created_by: i64,
    /// Unix seconds.
    pub at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Stores a block; returns its id.
pub fn insert(c: &Connection, b: &NewBlock<'_>) -> Result<i64> {
    c.execute(
        "INSERT INTO blocks (visitor_key, address, conversation_id, reason, created_by,
                             created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            b.visitor_key.map(|k| k.to_vec()),
            b.address,
            b.conversation_id,
            b.reason,
            b.created_by,
            b.at,
            b.expires_at
        ],
    )?;
    Ok(c.last_insert_rowid())
}

/// The blocks in force at `now`.
pub fn active(c: &Connection, now: i64) -> Result<Vec<Block>> {
    rows::all(
        c,
        "SELECT id, visitor_key, address, expires_at FROM blocks
         WHERE lifted_at IS NULL AND expires_at > ?1",
        [now],
        |r| {
            let key: Option<Vec<u8>> = r.get(1)?;
            Ok(Block {
                id: r.get(0)?,
                visitor_key: key.and_then(|k| <[u8; 16]>::try_from(k.as_slice()).ok()),
                address: r.get(2)?,
                expires_at: r.get(3)?,
            })
        },
    )
}

/// A block as the dashboard lists it (the key itself is not shown).
#[derive(Debug, Clone, serde::Serialize)]
pub struct BlockRow {
    /// Id.
    pub id: i64,
    /// Whether it names the visitor's browser (today's key).
    pub by_key: bool,
    /// The truncated address, if blocked.
    pub address: Option<String>,
    /// The chat it was made from.
    pub conversation_id: Option<i64>,
    /// Why.
    pub reason: String,
    /// Who blocked.
    pub created_by: Option<String>,
    /// When.
    pub created_at: i64,
    /// Until when.
    pub expires_at: i64,
    /// When it was lifted early, if it was.
    pub lifted_at: Option<i64>,
    /// Who lifted it.
    pub lifted_by: Option<String>,
}

/// Every stored block, newest first (those in force and those ended, until retention).
pub fn list(c: &Connection) -> Result<Vec<BlockRow>> {
    rows::all(
        c,
        "SELECT b.id, b.visitor_key IS NOT NULL, b.address, b.conversation_id, b.reason,
                a.display_name, b.created_at, b.expires_at, b.lifted_at, l.display_name
         FROM blocks b LEFT JOIN agents a ON a.id = b.created_by
                       LEFT JOIN agents l ON l.id = b.lifted_by
         ORDER BY b.id DESC LIMIT 500",
        [],
        |r| {
            Ok(
                from_row!(r => BlockRow { id, by_key, address, conversation_id, reason,
                                         created_by, created_at, expires_at, lifted_at,
                                         lifted_by }),
            )
        },
    )
}

/// Lifts a block in force; whether there was one.
pub fn lift(c: &Connection, id: i64, by: i64, at: i64) -> Result<bool> {
    Ok(c.execute(
        "UPDATE blocks SET lifted_at = ?3, lifted_by = ?2
         WHERE id = ?1 AND lifted_at IS NULL AND expires_at > ?3",
        params![id, by, at],
    )? == 1)
}

/// Deletes blocks that ended (expired or lifted) before `before`; returns how many.
pub fn purge_ended(c: &Connection, before: i64) -> Result<usize> {
    Ok(c.execute(
        "DELETE FROM blocks WHERE min(expires_at, coalesce(lifted_at, expires_at)) < ?1",
        [before],
    )?)
}
