//! Queries on conversations and their message log.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};

/// A conversation row.
#[derive(Debug, Clone)]
pub struct ConversationRow {
    /// Id.
    pub id: i64,
    /// The site it came from.
    pub site_key: String,
    /// waiting, open or closed.
    pub status: String,
    /// Visitor's name.
    pub visitor_name: String,
    /// Visitor's email.
    pub visitor_email: String,
    /// Department, if routed to one.
    pub department_id: Option<i64>,
    /// The agent who has it.
    pub agent_id: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
}

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

/// A new conversation to store.
#[derive(Debug, Clone)]
pub struct NewConversation<'a> {
    /// The site.
    pub site_key: &'a str,
    /// SHA-256 of the visitor token.
    pub token_hash: &'a [u8],
    /// Name (may be empty).
    pub name: &'a str,
    /// Email (may be empty).
    pub email: &'a str,
    /// UI language.
    pub lang: &'a str,
    /// Notice version the visitor accepted.
    pub consent_version: &'a str,
    /// Unix seconds.
    pub at: i64,
}

const CONVERSATION_COLUMNS: &str =
    "id, site_key, status, visitor_name, visitor_email, department_id, agent_id, created_at";

fn conversation_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ConversationRow> {
    Ok(ConversationRow {
        id: r.get(0)?,
        site_key: r.get(1)?,
        status: r.get(2)?,
        visitor_name: r.get(3)?,
        visitor_email: r.get(4)?,
        department_id: r.get(5)?,
        agent_id: r.get(6)?,
        created_at: r.get(7)?,
    })
}

/// Stores a new waiting conversation; returns its id.
pub fn insert_conversation(c: &Connection, n: &NewConversation<'_>) -> Result<i64> {
    c.execute(
        "INSERT INTO conversations (site_key, status, visitor_token_hash, visitor_name, visitor_email,
             lang, consent_at, consent_version, created_at)
         VALUES (?1, 'waiting', ?2, ?3, ?4, ?5, ?6, ?7, ?6)",
        params![n.site_key, n.token_hash, n.name, n.email, n.lang, n.at, n.consent_version],
    )?;
    Ok(c.last_insert_rowid())
}

/// The conversation a visitor token belongs to.
pub fn conversation_by_token(c: &Connection, token_hash: &[u8]) -> Result<Option<ConversationRow>> {
    Ok(c.query_row(
        &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE visitor_token_hash = ?1"),
        [token_hash],
        conversation_from_row,
    )
    .optional()?)
}

/// One conversation.
pub fn conversation(c: &Connection, id: i64) -> Result<Option<ConversationRow>> {
    Ok(c.query_row(
        &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?1"),
        [id],
        conversation_from_row,
    )
    .optional()?)
}

/// Every conversation not yet closed, oldest first.
pub fn active_conversations(c: &Connection) -> Result<Vec<ConversationRow>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE status <> 'closed' ORDER BY id"
    ))?;
    let rows = stmt.query_map([], conversation_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Highest sequence number of a conversation (0 when empty).
pub fn last_seq(c: &Connection, conversation_id: i64) -> Result<i64> {
    Ok(c.query_row(
        "SELECT coalesce(max(seq), 0) FROM messages WHERE conversation_id = ?1",
        [conversation_id],
        |r| r.get(0),
    )?)
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
    /// Unix seconds.
    pub at: i64,
}

/// Stores a message at `seq`, unless its client id was stored before.
pub fn insert_message(c: &Connection, m: &NewMessage<'_>) -> Result<Inserted> {
    let NewMessage {
        conversation_id,
        seq,
        author,
        agent_id,
        body,
        client_id,
        at,
    } = *m;
    if let Some(cid) = client_id {
        let existing: Option<i64> = c
            .prepare_cached(
                "SELECT seq FROM messages WHERE conversation_id = ?1 AND client_id = ?2",
            )?
            .query_row(params![conversation_id, cid], |r| r.get(0))
            .optional()?;
        if let Some(seq) = existing {
            return Ok(Inserted::Duplicate(seq));
        }
    }
    c.prepare_cached(
        "INSERT INTO messages (conversation_id, seq, author, agent_id, body, client_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        conversation_id,
        seq,
        author,
        agent_id,
        body,
        client_id,
        at
    ])?;
    Ok(Inserted::New(seq))
}

/// Messages after `after_seq`, in order, at most `limit`.
pub fn messages_after(
    c: &Connection,
    conversation_id: i64,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<MessageRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT seq, author, agent_id, body, created_at FROM messages
         WHERE conversation_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![conversation_id, after_seq, limit], |r| {
        Ok(MessageRow {
            seq: r.get(0)?,
            author: r.get(1)?,
            agent_id: r.get(2)?,
            body: r.get(3)?,
            created_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Assigns a conversation to an agent and opens it.
pub fn accept(c: &Connection, id: i64, agent_id: i64, at: i64) -> Result<()> {
    c.execute(
        "UPDATE conversations SET status = 'open', agent_id = ?2, accepted_at = coalesce(accepted_at, ?3)
         WHERE id = ?1",
        params![id, agent_id, at],
    )?;
    Ok(())
}

/// Closes a conversation.
pub fn close(c: &Connection, id: i64, at: i64) -> Result<()> {
    c.execute(
        "UPDATE conversations SET status = 'closed', closed_at = ?2 WHERE id = ?1",
        params![id, at],
    )?;
    Ok(())
}

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
