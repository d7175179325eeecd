//! Offline messages: what visitors leave while no agent is online, and the inbox that lists
//! them.

use crate::error::Result;
use crate::store::rows;
use rusqlite::{Connection, params};

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
    /// The visitor's language.
    pub lang: &'a str,
    /// Unix seconds.
    pub at: i64,
}

/// The version of the offline form's notice (kontor's built-in text) its consents name.
pub const OFFLINE_NOTICE_VERSION: &str = "offline-1";

/// Stores an offline message.
pub fn insert_offline(c: &Connection, m: &NewOffline<'_>) -> Result<i64> {
    c.execute(
        "INSERT INTO offline_messages (site_key, name, email, message, consent_at, created_at,
                                       consent_version, lang)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7)",
        params![
            m.site_key,
            m.name,
            m.email,
            m.message,
            m.at,
            OFFLINE_NOTICE_VERSION,
            m.lang
        ],
    )?;
    Ok(c.last_insert_rowid())
}

/// An offline message as the inbox (and the public API) shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
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
    /// When it was answered by email, if it was.
    pub handled_at: Option<i64>,
    /// Who answered it.
    pub handled_by: Option<String>,
    /// The answer.
    pub reply: String,
}

/// The newest offline messages first.
pub fn list_offline(c: &Connection, hide_restricted: bool, limit: i64) -> Result<Vec<OfflineRow>> {
    rows::all(
        c,
        "SELECT o.id, o.name, o.email, o.message, o.created_at, o.handled_at, a.display_name, o.reply
         FROM offline_messages o LEFT JOIN agents a ON a.id = o.handled_by
         WHERE ?2 = 0 OR o.id NOT IN (SELECT row_id FROM restricted_rows WHERE kind = 'offline')
         ORDER BY o.id DESC LIMIT ?1",
        rusqlite::params![limit, hide_restricted],
        |r| {
            Ok(
                from_row!(r => OfflineRow { id, name, email, message, created_at, handled_at,
                                           handled_by, reply }),
            )
        },
    )
}

/// Up to `limit` offline messages with ids below `before_id`, newest first; `handled`: only
/// those answered (or not).
pub fn offline_page(
    c: &Connection,
    hide_restricted: bool,
    before_id: Option<i64>,
    handled: Option<bool>,
    limit: i64,
) -> Result<Vec<OfflineRow>> {
    rows::all(
        c,
        "SELECT o.id, o.name, o.email, o.message, o.created_at, o.handled_at, a.display_name, o.reply
         FROM offline_messages o LEFT JOIN agents a ON a.id = o.handled_by
         WHERE (?2 = 0 OR o.id NOT IN (SELECT row_id FROM restricted_rows WHERE kind = 'offline'))
           AND (?3 IS NULL OR o.id < ?3)
           AND (?4 IS NULL OR (o.handled_at IS NOT NULL) = ?4)
         ORDER BY o.id DESC LIMIT ?1",
        rusqlite::params![limit, hide_restricted, before_id, handled],
        |r| {
            Ok(
                from_row!(r => OfflineRow { id, name, email, message, created_at, handled_at,
                                           handled_by, reply }),
            )
        },
    )
}

/// Marks an offline message handled by `agent_id` at `at` (once: `false` when it was
/// already, or does not exist).
pub fn mark_handled(c: &Connection, id: i64, agent_id: i64, at: i64) -> Result<bool> {
    Ok(c.execute(
        "UPDATE offline_messages SET handled_at = ?2, handled_by = ?3
         WHERE id = ?1 AND handled_at IS NULL",
        rusqlite::params![id, at, agent_id],
    )? == 1)
}

/// Whether an offline message exists.
pub fn offline_exists(c: &Connection, id: i64) -> Result<bool> {
    Ok(c.query_row(
        "SELECT EXISTS (SELECT 1 FROM offline_messages WHERE id = ?1)",
        [id],
        |r| r.get(0),
    )?)
}
