//! Tenant settings (a key-value table) and the chat settings kept in it.

use crate::error::Result;
use rusqlite::{Connection, OptionalExtension, params};

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
