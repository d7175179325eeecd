//! Queries on conversations and their message log.

use super::rows;
use crate::error::Result;
use crate::model::attachment::FileRef;
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
    /// The visitor's UI language.
    pub lang: String,
    /// The version of the notice the visitor accepted.
    pub consent_version: String,
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

const CONVERSATION_COLUMNS: &str = "id, site_key, status, visitor_name, visitor_email, department_id, agent_id, created_at, lang, consent_version";

fn conversation_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ConversationRow> {
    Ok(from_row!(r => ConversationRow {
        id, site_key, status, visitor_name, visitor_email, department_id, agent_id, created_at,
        lang, consent_version,
    }))
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
    rows::all(
        c,
        &format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE status <> 'closed' ORDER BY id"
        ),
        [],
        conversation_from_row,
    )
}

/// Highest sequence number of a conversation (0 when empty).
pub fn last_seq(c: &Connection, conversation_id: i64) -> Result<i64> {
    Ok(c.query_row(
        "SELECT coalesce(max(seq), 0) FROM messages WHERE conversation_id = ?1",
        [conversation_id],
        |r| r.get(0),
    )?)
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

/// Highest sequence number of every conversation that has entries.
pub fn last_seqs(c: &Connection) -> Result<std::collections::HashMap<i64, i64>> {
    rows::all(
        c,
        "SELECT conversation_id, max(seq) FROM messages GROUP BY conversation_id",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
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

/// Stores the visitor's rating.
pub fn rate(c: &Connection, id: i64, score: i64, comment: &str) -> Result<()> {
    c.execute(
        "UPDATE conversations SET rating = ?2, rating_comment = ?3 WHERE id = ?1",
        params![id, score, comment],
    )?;
    Ok(())
}

/// The whole log of a conversation, in order.
pub fn all_messages(c: &Connection, conversation_id: i64) -> Result<Vec<MessageRow>> {
    messages_after(c, conversation_id, 0, i64::MAX)
}

/// An offline message to store.
#[derive(Debug, Clone)]
pub struct NewOffline<'a> {
    /// The site.
    pub site_key: &'a str,
    /// Name.
    pub name: &'a str,
    /// Email to answer to.
    pub email: &'a str,
    /// The message.
    pub message: &'a str,
    /// Unix seconds.
    pub at: i64,
}

/// The version of the offline form's notice (kontor's built-in text) its consents name.
pub const OFFLINE_NOTICE_VERSION: &str = "offline-1";

/// Stores an offline message.
pub fn insert_offline(c: &Connection, m: &NewOffline<'_>) -> Result<i64> {
    c.execute(
        "INSERT INTO offline_messages (site_key, name, email, message, consent_at, created_at,
                                       consent_version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
        params![
            m.site_key,
            m.name,
            m.email,
            m.message,
            m.at,
            OFFLINE_NOTICE_VERSION
        ],
    )?;
    Ok(c.last_insert_rowid())
}

/// An offline message as the inbox shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OfflineRow {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Message.
    pub message: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// The newest offline messages first.
pub fn list_offline(c: &Connection, limit: i64) -> Result<Vec<OfflineRow>> {
    rows::all(
        c,
        "SELECT id, name, email, message, created_at FROM offline_messages
         ORDER BY id DESC LIMIT ?1",
        [limit],
        |r| Ok(from_row!(r => OfflineRow { id, name, email, message, created_at })),
    )
}

/// A past or current conversation as history lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HistoryRow {
    /// Id.
    pub id: i64,
    /// waiting, open, closed.
    pub status: String,
    /// Visitor's name.
    pub visitor_name: String,
    /// Visitor's email.
    pub visitor_email: String,
    /// The agent who had it.
    pub agent_name: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub closed_at: Option<i64>,
    /// 1-5.
    pub rating: Option<i64>,
}

/// Conversations matching a search: `text` in name, email or any message; `from`/`to` unix
/// seconds on the start time. Newest first.
pub fn search(
    c: &Connection,
    text: &str,
    from: Option<i64>,
    to: Option<i64>,
    only_agent: Option<i64>,
    limit: i64,
) -> Result<Vec<HistoryRow>> {
    // LIKE with escaped wildcards: the search text is data, never a pattern.
    let pattern = format!(
        "%{}%",
        text.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    rows::all(
        c,
        "SELECT c.id, c.status, c.visitor_name, c.visitor_email, a.display_name, c.created_at,
                c.closed_at, c.rating
         FROM conversations c LEFT JOIN agents a ON a.id = c.agent_id
         WHERE (?1 = '%%' OR c.visitor_name LIKE ?1 ESCAPE '\\' OR c.visitor_email LIKE ?1 ESCAPE '\\'
                OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id
                           AND m.author <> 'system' AND m.body LIKE ?1 ESCAPE '\\'))
           AND (?2 IS NULL OR c.created_at >= ?2)
           AND (?3 IS NULL OR c.created_at < ?3)
           AND (?5 IS NULL OR c.agent_id = ?5)
         ORDER BY c.id DESC LIMIT ?4",
        params![pattern, from, to, limit, only_agent],
        |r| {
            Ok(from_row!(r => HistoryRow {
                id, status, visitor_name, visitor_email, agent_name, created_at, closed_at, rating,
            }))
        },
    )
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

/// Hands a conversation to another agent (it stays open).
pub fn reassign(c: &Connection, id: i64, agent_id: i64) -> Result<()> {
    c.execute(
        "UPDATE conversations SET agent_id = ?2 WHERE id = ?1",
        params![id, agent_id],
    )?;
    Ok(())
}

/// Puts a conversation back into the queue of a department.
pub fn requeue(c: &Connection, id: i64, department_id: i64) -> Result<()> {
    c.execute(
        "UPDATE conversations SET status = 'waiting', agent_id = NULL, department_id = ?2 WHERE id = ?1",
        params![id, department_id],
    )?;
    Ok(())
}

/// Puts an open chat back into the queue with its department.
pub fn release(c: &Connection, id: i64) -> Result<()> {
    c.execute(
        "UPDATE conversations SET status = 'waiting', agent_id = NULL WHERE id = ?1",
        [id],
    )?;
    Ok(())
}

/// Sets the department a new conversation asked for.
pub fn set_department(c: &Connection, id: i64, department_id: i64) -> Result<()> {
    c.execute(
        "UPDATE conversations SET department_id = ?2 WHERE id = ?1",
        params![id, department_id],
    )?;
    Ok(())
}

/// Whether a department exists.
pub fn department_exists(c: &Connection, id: i64) -> Result<bool> {
    Ok(
        c.query_row("SELECT 1 FROM departments WHERE id = ?1", [id], |_| Ok(()))
            .optional()?
            .is_some(),
    )
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

/// A tenant setting, if set.
pub fn setting(c: &Connection, key: &str) -> Result<Option<String>> {
    Ok(
        c.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?,
    )
}

/// Sets a tenant setting.
pub fn set_setting(c: &Connection, key: &str, value: &str) -> Result<()> {
    c.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
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

/// The tenant's chat settings.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatSettings {
    /// Agents see what the visitor is typing before it is sent (the visitor is told).
    pub typing_preview: bool,
}

/// Reads the chat settings (defaults when never set).
pub fn chat_settings(c: &Connection) -> Result<ChatSettings> {
    Ok(ChatSettings {
        typing_preview: setting(c, "typing_preview")?.as_deref() == Some("on"),
    })
}
