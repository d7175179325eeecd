//! A conversation's log: its entries in `seq` order, the client ids that make retries
//! idempotent, the log's identity, the files sent in it and the agents' notes on it.

use crate::error::Result;
use crate::model::attachment::FileRef;
use crate::store::rows;
use rusqlite::{Connection, OptionalExtension, params};

/// A stored message.
#[derive(Debug, Clone)]
pub struct MessageRow {
    /// Position.
    pub seq: i64,
    /// visitor, agent or system.
    pub author: String,
    /// The agent for agent messages.
    pub agent_id: Option<i64>,
    /// Text.
    pub body: String,
    /// An attached file.
    pub file: Option<FileRef>,
    /// Unix seconds.
    pub created_at: i64,
}

/// What inserting a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Stored under this sequence number.
    New(i64),
    /// The same client id was stored before, under this sequence number.
    Duplicate(i64),
}

/// A log entry to store.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    /// The conversation.
    pub conversation_id: i64,
    /// Its place: the conversation's last `seq` + 1.
    pub seq: i64,
    /// visitor, agent or system.
    pub author: &'a str,
    /// The agent for agent and agent-caused system entries.
    pub agent_id: Option<i64>,
    /// Text.
    pub body: &'a str,
    /// The sender's id, for idempotent retries.
    pub client_id: Option<&'a str>,
    /// An attached file.
    pub file_id: Option<i64>,
    /// Unix seconds.
    pub at: i64,
}

/// Highest sequence number of a conversation (0 when empty).
pub fn last_seq(c: &Connection, conversation_id: i64) -> Result<i64> {
    Ok(c.query_row(
        "SELECT coalesce(max(seq), 0) FROM messages WHERE conversation_id = ?1",
        [conversation_id],
        |r| r.get(0),
    )?)
}

/// Highest sequence number of every conversation that has entries.
pub fn last_seqs(c: &Connection) -> Result<std::collections::HashMap<i64, i64>> {
    rows::all(
        c,
        "SELECT conversation_id, max(seq) FROM messages GROUP BY conversation_id",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// The identity of the tenant's chat log (`docs/protocol.md`, "Log identity"): clients send it
/// back with their sequence numbers, so numbers from before a restore are not trusted.
pub fn log_epoch(c: &Connection) -> Result<String> {
    Ok(
        c.query_row("SELECT epoch FROM log_identity WHERE id = 1", [], |r| {
            r.get(0)
        })?,
    )
}

/// Gives the chat log a new identity (after a restore replaced it).
pub fn renew_log_epoch(c: &Connection) -> Result<()> {
    c.execute(
        "UPDATE log_identity SET epoch = lower(hex(randomblob(16))) WHERE id = 1",
        [],
    )?;
    Ok(())
}

/// Stores a message at `seq`. Retries are recognised before this (the hub keeps the latest
/// client ids of each open conversation, see `recent_client_ids`).
pub fn insert_message(c: &Connection, m: &NewMessage<'_>) -> Result<()> {
    let NewMessage {
        conversation_id,
        seq,
        author,
        agent_id,
        body,
        client_id,
        file_id,
        at,
    } = *m;
    c.prepare_cached(
        "INSERT INTO messages (conversation_id, seq, author, agent_id, body, client_id, file_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![conversation_id, seq, author, agent_id, body, client_id, file_id, at])?;
    Ok(())
}

/// The client ids of a conversation's latest `limit` messages, newest first, with their `seq`.
pub fn recent_client_ids(
    c: &Connection,
    conversation_id: i64,
    limit: usize,
) -> Result<Vec<(String, i64)>> {
    rows::all_cached(
        c,
        "SELECT client_id, seq FROM messages WHERE conversation_id = ?1 AND client_id IS NOT NULL
         ORDER BY seq DESC LIMIT ?2",
        params![conversation_id, limit as i64],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Messages after `after_seq`, in order, at most `limit`.
pub fn messages_after(
    c: &Connection,
    conversation_id: i64,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<MessageRow>> {
    rows::all_cached(
        c,
        "SELECT m.seq, m.author, m.agent_id, m.body, m.created_at, f.id, f.name, f.mime, f.size
         FROM messages m LEFT JOIN files f ON f.id = m.file_id
         WHERE m.conversation_id = ?1 AND m.seq > ?2 ORDER BY m.seq LIMIT ?3",
        params![conversation_id, after_seq, limit],
        |r| {
            // The file's columns are NULL when the entry has none.
            let file = match r.get::<_, Option<i64>>(5)? {
                Some(_) => Some(from_row!(r, 5 => FileRef { id, name, mime, size })),
                None => None,
            };
            Ok(MessageRow {
                seq: r.get(0)?,
                author: r.get(1)?,
                agent_id: r.get(2)?,
                body: r.get(3)?,
                created_at: r.get(4)?,
                file,
            })
        },
    )
}

/// The whole log of a conversation, in order.
pub fn all_messages(c: &Connection, conversation_id: i64) -> Result<Vec<MessageRow>> {
    messages_after(c, conversation_id, 0, i64::MAX)
}

/// Stores an uploaded file; returns its reference.
pub fn insert_file(
    c: &Connection,
    conversation_id: i64,
    name: &str,
    mime: &str,
    data: &[u8],
    at: i64,
) -> Result<FileRef> {
    c.execute(
        "INSERT INTO files (conversation_id, name, mime, size, data, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![conversation_id, name, mime, data.len() as i64, data, at],
    )?;
    Ok(FileRef {
        id: c.last_insert_rowid(),
        name: name.into(),
        mime: mime.into(),
        size: data.len() as i64,
    })
}

/// How many files a conversation received at or after `since` (Unix seconds), and their bytes.
pub fn files_since(c: &Connection, conversation_id: i64, since: i64) -> Result<(u64, u64)> {
    Ok(c.query_row(
        "SELECT count(*), coalesce(sum(size), 0) FROM files WHERE conversation_id = ?1 AND created_at >= ?2",
        params![conversation_id, since],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )?)
}

/// The bytes of every stored file.
pub fn files_bytes(c: &Connection) -> Result<u64> {
    let n: i64 = c.query_row("SELECT coalesce(sum(size), 0) FROM files", [], |r| r.get(0))?;
    Ok(n as u64)
}

/// A file with its bytes and the conversation it belongs to.
pub fn file(c: &Connection, id: i64) -> Result<Option<(i64, FileRef, Vec<u8>)>> {
    Ok(c.query_row(
        "SELECT conversation_id, id, name, mime, size, data FROM files WHERE id = ?1",
        [id],
        |r| {
            Ok((
                r.get(0)?,
                from_row!(r, 1 => FileRef { id, name, mime, size }),
                r.get(5)?,
            ))
        },
    )
    .optional()?)
}

/// A stored internal note.
#[derive(Debug, Clone)]
pub struct NoteRow {
    /// Id.
    pub id: i64,
    /// Who wrote it.
    pub agent_id: Option<i64>,
    /// Text.
    pub body: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// Stores a note unless its client id was stored before; returns its id and whether it is new.
pub fn insert_note(
    c: &Connection,
    conversation_id: i64,
    agent_id: i64,
    body: &str,
    client_id: &str,
    at: i64,
) -> Result<(i64, bool)> {
    let existing: Option<i64> = c
        .query_row(
            "SELECT id FROM notes WHERE conversation_id = ?1 AND client_id = ?2",
            params![conversation_id, client_id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = existing {
        return Ok((id, false));
    }
    c.execute(
        "INSERT INTO notes (conversation_id, agent_id, body, client_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![conversation_id, agent_id, body, client_id, at],
    )?;
    Ok((c.last_insert_rowid(), true))
}

/// A conversation's notes, oldest first.
pub fn notes(c: &Connection, conversation_id: i64) -> Result<Vec<NoteRow>> {
    rows::all_cached(
        c,
        "SELECT id, agent_id, body, created_at FROM notes WHERE conversation_id = ?1 ORDER BY id",
        [conversation_id],
        |r| Ok(from_row!(r => NoteRow { id, agent_id, body, created_at })),
    )
}
