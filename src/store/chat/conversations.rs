//! Conversations: starting one, finding it by id or visitor token, the state changes an
//! agent causes (accept, transfer, requeue, close), the visitor's rating, and the history
//! search.

use crate::error::Result;
use crate::store::rows;
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
    rows::all(c, &active_sql(), [], conversation_from_row)
}

/// Read at every start of a tenant's hub. Without `INDEXED BY` SQLite's planner preferred
/// scanning the whole table in id order to sorting the few open chats: a reopened tenant
/// read (and decrypted) every conversation it ever had before its first answer.
fn active_sql() -> String {
    format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations INDEXED BY conversations_status
         WHERE status <> 'closed' ORDER BY id"
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

/// Stores the visitor's rating.
pub fn rate(c: &Connection, id: i64, score: i64, comment: &str) -> Result<()> {
    c.execute(
        "UPDATE conversations SET rating = ?2, rating_comment = ?3 WHERE id = ?1",
        params![id, score, comment],
    )?;
    Ok(())
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
    hide_restricted: bool,
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
                           AND m.author <> 'system' AND m.body LIKE ?1 ESCAPE '\\')
                OR EXISTS (SELECT 1 FROM conversation_fields f WHERE f.conversation_id = c.id
                           AND (f.value LIKE ?1 ESCAPE '\\' OR f.option_de LIKE ?1 ESCAPE '\\'
                                OR f.option_en LIKE ?1 ESCAPE '\\')))
           AND (?2 IS NULL OR c.created_at >= ?2)
           AND (?3 IS NULL OR c.created_at < ?3)
           AND (?5 IS NULL OR c.agent_id = ?5)
           AND (?6 = 0 OR c.id NOT IN (SELECT row_id FROM restricted_rows
                                       WHERE kind = 'conversation'))
         ORDER BY c.id DESC LIMIT ?4",
        params![pattern, from, to, limit, only_agent, hide_restricted],
        |r| {
            Ok(from_row!(r => HistoryRow {
                id, status, visitor_name, visitor_email, agent_name, created_at, closed_at, rating,
            }))
        },
    )
}

/// Which conversations a page of the API's list holds.
#[derive(Debug, Clone, Default)]
pub struct PageFilter {
    /// waiting, open or closed.
    pub status: Option<String>,
    /// One site.
    pub site_key: Option<String>,
    /// One agent's.
    pub agent_id: Option<i64>,
    /// Started at or after (Unix seconds).
    pub since: Option<i64>,
    /// Started before (Unix seconds).
    pub until: Option<i64>,
    /// Only ids below this one (the cursor: pages go newest first).
    pub before_id: Option<i64>,
    /// Only this agent's chats and the waiting ones of their departments (without `chats.all`).
    pub own_only: Option<i64>,
    /// Leave out conversations under a restriction of processing.
    pub hide_restricted: bool,
}

/// A conversation as the public API shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ListedConversation {
    /// Id.
    pub id: i64,
    /// The site it came from.
    pub site_key: String,
    /// waiting, open or closed.
    pub status: String,
    /// The visitor's name (may be empty).
    pub visitor_name: String,
    /// The visitor's email (may be empty).
    pub visitor_email: String,
    /// Its department.
    pub department_id: Option<i64>,
    /// The agent who has (had) it.
    pub agent_id: Option<i64>,
    /// Started (Unix seconds).
    pub created_at: i64,
    /// Ended (Unix seconds).
    pub closed_at: Option<i64>,
    /// The visitor's rating, 1-5.
    pub rating: Option<i64>,
    /// The visitor's language.
    pub lang: String,
}

/// Up to `limit` conversations matching `f`, newest first.
pub fn page(c: &Connection, f: &PageFilter, limit: i64) -> Result<Vec<ListedConversation>> {
    rows::all(
        c,
        "SELECT c.id, c.site_key, c.status, c.visitor_name, c.visitor_email, c.department_id,
                c.agent_id, c.created_at, c.closed_at, c.rating, c.lang
         FROM conversations c
         WHERE (?1 IS NULL OR c.status = ?1) AND (?2 IS NULL OR c.site_key = ?2)
           AND (?3 IS NULL OR c.agent_id = ?3) AND (?4 IS NULL OR c.created_at >= ?4)
           AND (?5 IS NULL OR c.created_at < ?5) AND (?6 IS NULL OR c.id < ?6)
           AND (?7 IS NULL OR c.agent_id = ?7 OR (c.status = 'waiting' AND (c.department_id IS NULL
                OR c.department_id IN (SELECT department_id FROM agent_departments
                                       WHERE agent_id = ?7))))
           AND (?8 = 0 OR c.id NOT IN (SELECT row_id FROM restricted_rows
                                       WHERE kind = 'conversation'))
         ORDER BY c.id DESC LIMIT ?9",
        params![
            f.status,
            f.site_key,
            f.agent_id,
            f.since,
            f.until,
            f.before_id,
            f.own_only,
            f.hide_restricted,
            limit
        ],
        |r| {
            Ok(from_row!(r => ListedConversation {
                id, site_key, status, visitor_name, visitor_email, department_id, agent_id,
                created_at, closed_at, rating, lang,
            }))
        },
    )
}

/// One conversation as the API shows it.
pub fn listed(c: &Connection, id: i64) -> Result<Option<ListedConversation>> {
    let f = PageFilter {
        before_id: Some(id + 1),
        ..Default::default()
    };
    Ok(page(c, &f, 1)?.into_iter().find(|r| r.id == id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_chats_are_read_through_their_index_not_by_scanning_every_conversation() {
        let mut c = Connection::open_in_memory().unwrap();
        crate::store::migrations::apply(&mut c, crate::store::migrations::TENANT).unwrap();
        let plan: Vec<String> = c
            .prepare(&format!("EXPLAIN QUERY PLAN {}", active_sql()))
            .unwrap()
            .query_map([], |r| r.get(3))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert!(
            plan.iter()
                .any(|p| p.contains("USING INDEX conversations_status")),
            "{plan:?}"
        );
        assert!(!plan.iter().any(|p| p == "SCAN conversations"), "{plan:?}");
    }
}
